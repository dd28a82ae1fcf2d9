"""pytest configuration of the mproc package's tests: every test leaves no child process, no file
descriptor and no fork server behind. Run by ctest (tests/python/CMakeLists.txt) with
MPROC_LIBRARY set to the built library and capi/python on PYTHONPATH."""

import gc
import os
import time

import pytest

import mproc
from mproc import _lib

WAIT = 60.0  # bound on every wait; never reached when the tests pass

_stop_forkserver = _lib.declare("mproc_forkserver_stop", _lib._int, [])


def children():
    """The pids of this process's children (running or zombies)."""
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            found.append(int(entry))
    # Python's own resource tracker (started by multiprocessing.shared_memory in the
    # interoperability tests) lives as long as the interpreter, by design.
    import sys
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    if tracker is not None:
        found = [pid for pid in found if pid != tracker._resource_tracker._pid]
    return found


def open_fds():
    return set(int(fd) for fd in os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True, scope="session")
def segment_tracker():
    """The library's segment tracker (a process, its socket and its pidfd, watched by a thread) is
    started by the first named segment a process makes and lives as long as the process: started
    here, before any test, so that no test counts its descriptors as leaked (and the same for the
    sync arena's first chunk)."""
    mproc.Queue().close()
    # A Condition over a given lock keeps its state in the library's sync arena, whose first chunk
    # (a memfd) also lives as long as the process.
    mproc.Condition(mproc.Lock())


def own_segments():
    """This process's shared-memory segments (the library names them /mproc-<pid>-...)."""
    prefix = f"mproc-{os.getpid()}-"
    return set(name for name in os.listdir("/dev/shm") if name.startswith(prefix))


@pytest.fixture(autouse=True)
def no_leaks(segment_tracker):
    fds_before = open_fds()
    segments_before = own_segments()
    yield
    gc.collect()
    _stop_forkserver()  # kills its workers too; started again by the next Pool
    deadline = time.monotonic() + WAIT
    while children() and time.monotonic() < deadline:
        for p in mproc.active_children():
            p.join(0.1)
        time.sleep(0.01)
    assert children() == [], "the test left child processes behind"
    leaked = open_fds() - fds_before
    # /proc/self/fd's own descriptor may appear in the listing once
    leaked = {fd for fd in leaked if os.path.exists(f"/proc/self/fd/{fd}")}
    assert not leaked, f"the test leaked file descriptors {sorted(leaked)}"
    # Objects the test dropped took their segments with them (not left for the tracker at exit).
    kept = own_segments() - segments_before
    assert not kept, f"the test left shared-memory segments behind: {sorted(kept)}"


def script_env():
    """The environment for a script run with stdout piped, as CI runs it: block-buffered, as
    Python's stdout is on a pipe (PYTHONUNBUFFERED would hide a missing flush)."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    return env
