"""Runs a test suite and fails it if it leaves processes or /dev/shm entries behind.

usage: leak_guard.py [--private-shm] -- command [args...]

Processes: this wrapper makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so a
process of the suite whose parent exits is reparented to it rather than to init. Once the command
has ended, every process still running and reparented here was left by the suite: each is reported,
then killed (only those, by pid) and reaped. Zombies reparented here (processes that ended after a
test killed their parent, as init would reap them) and finished shm trackers are reaped and noted.

/dev/shm: with --private-shm the caller has mounted a fresh tmpfs on /dev/shm in a mount namespace
of its own (see .ci/run), so every entry left there is the suite's. Without it, /dev/shm is shared
with the rest of the machine: entries named *mproc* that appeared during the run and that no live
process has open or mapped are counted (ours, since the suite's processes are all gone by then).

Exit status: the command's if it failed, else 1 if anything leaked, else 0.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
SHM = "/dev/shm"


def say(text):
    print(text, flush=True)


def children():
    """{pid: (state, comm)} of the processes whose parent is this one."""
    me, found = os.getpid(), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if int(ppid) == me:
            found[int(entry)] = (state, comm)
    return found


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


# The shared-memory tracker (src/shm/tracker.cpp) is detached on purpose: a grandchild of the process
# that creates a named segment, reparented to init (here: to us) as soon as its parent returns, that
# outlives its creator just long enough to unlink what the creator left, then exits. Its zombie is
# therefore expected here and is reaped, not reported; a tracker still running once its creator is
# gone gets a bounded grace period to finish, and counts as a leak after it.
TRACKER_COMM = "mproc-shm-track"
TRACKER_GRACE_SECONDS = 10


def reap_finished_trackers():
    deadline = time.monotonic() + TRACKER_GRACE_SECONDS
    while True:
        trackers = {pid: state for pid, (state, comm) in children().items()
                    if comm == TRACKER_COMM}
        for pid, state in trackers.items():
            if state == "Z":
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        if all(state == "Z" for state in trackers.values()) or time.monotonic() >= deadline:
            return
        time.sleep(0.05)


def report_and_reap_orphans():
    """Reports what is left reparented to us, then kills and reaps it. Returns the count."""
    reap_finished_trackers()
    # A zombie reparented to us is a process that has already ended and whose parent died before
    # reaping it (a test SIGKILLs parents on purpose): outside CI, init reaps it. It holds nothing,
    # so it is reaped and noted, not counted. Running orphans are the leaks.
    for pid, (state, comm) in sorted(children().items()):
        if state == "Z":
            say("note: reaped pid %d (%s), which ended after its parent died" % (pid, comm))
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
    left = children()
    for pid, (state, comm) in sorted(left.items()):
        what = ("zombie: its parent exited without reaping it" if state == "Z"
                else "still running after its parent exited")
        say("LEAK: pid %d (%s) %s %s" % (pid, comm, what, cmdline(pid)))
    say("LEAK: the tests left %d process(es) behind" % len(left) if left
        else "no process left behind")
    # Killing one may reparent its own children to us: repeat until none is left.
    remaining, deadline = left, time.monotonic() + 30
    while remaining and time.monotonic() < deadline:
        for pid in remaining:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.05)
        remaining = children()
    if remaining:
        say("could not reap: %s" % sorted(remaining))
    return len(left)


def shm_entries(pattern_only):
    try:
        names = os.listdir(SHM)
    except OSError:
        return set()
    return {n for n in names if not pattern_only or "mproc" in n}


def in_use(path):
    """True if a live process has `path` open or mapped."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/maps" % pid) as f:
                if path in f.read():
                    return True
            for fd in os.listdir("/proc/%s/fd" % pid):
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == path:
                    return True
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return False


def main(argv):
    private_shm = "--private-shm" in argv[:argv.index("--")]
    command = argv[argv.index("--") + 1:]

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(ctypes.get_errno()))
    shm_before = set() if private_shm else shm_entries(pattern_only=True)

    status = subprocess.call(command)

    leaks = report_and_reap_orphans()
    if private_shm:
        left = sorted(shm_entries(pattern_only=False))
    else:
        new = shm_entries(pattern_only=True) - shm_before
        left = sorted(n for n in new if not in_use(os.path.join(SHM, n)))
    for name in left:
        say("LEAK: %s/%s left by the tests" % (SHM, name))
    say("LEAK: %d /dev/shm entries left behind" % len(left) if left
        else "no /dev/shm entry left behind (%s /dev/shm)" % ("private" if private_shm else "shared"))
    leaks += len(left)

    return status if status != 0 else (1 if leaks else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
