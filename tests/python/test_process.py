"""Process with multiprocessing's rules: exit codes, names, daemon, pid, sentinel, terminate,
current_process / parent_process / active_children, stdio flushed before fork."""

import os
import select
import signal
import subprocess
import sys
import textwrap

import pytest

import mproc
from conftest import WAIT, script_env


def returns_7():
    return 7


def leaves_with(code):
    sys.exit(code)


def raises():
    raise RuntimeError("expected in the child")


def blocks(r, w):
    os.close(w)
    os.read(r, 1)  # until the parent closes its end, or a signal ends us


def report(conn):
    me, parent = mproc.current_process(), mproc.parent_process()
    conn.send((me.name, me.pid, os.getpid(), parent.name, parent.pid))


def test_exit_codes_follow_python(capfd):
    cases = [(returns_7, (), 0), (leaves_with, (4,), 4), (leaves_with, (None,), 0),
             (leaves_with, ("text",), 1), (raises, (), 1)]
    processes = [mproc.Process(target=t, args=a) for t, a, _ in cases]
    for p in processes:
        assert p.pid is None and p.exitcode is None and not p.is_alive()
        p.start()
    for p, (_, _, code) in zip(processes, cases):
        p.join(WAIT)
        assert p.exitcode == code, (p, code)
    err = capfd.readouterr().err
    assert "RuntimeError: expected in the child" in err and "Traceback" in err
    assert "text" in err


def test_signal_gives_minus_signo_and_sentinel_wakes():
    r, w = os.pipe()
    try:
        t, k = mproc.Process(target=blocks, args=(r, w)), mproc.Process(target=blocks, args=(r, w))
        t.start()
        k.start()
        assert t.is_alive()
        t.join(0.01)
        assert t.exitcode is None
        assert select.select([t.sentinel], [], [], 0)[0] == []
        t.terminate()
        assert select.select([t.sentinel], [], [], WAIT)[0] == [t.sentinel]
        t.join(WAIT)
        assert t.exitcode == -signal.SIGTERM
        k.kill()
        k.join(WAIT)
        assert k.exitcode == -signal.SIGKILL and not k.is_alive()
        t.close()
        k.close()
        with pytest.raises(ValueError):
            t.is_alive()
    finally:
        os.close(r)
        os.close(w)


def test_names_current_and_parent_process():
    assert mproc.current_process().name == "MainProcess"
    assert mproc.parent_process() is None
    a, b = mproc.Pipe()
    p = mproc.Process(target=report, args=(b,), name="reporter")
    p.start()
    name, pid, real_pid, parent_name, parent_pid = a.recv()
    p.join(WAIT)
    assert (name, pid, real_pid) == ("reporter", p.pid, p.pid)
    assert (parent_name, parent_pid) == ("MainProcess", os.getpid())
    assert mproc.Process(target=returns_7).name.startswith("Process-")


class Subclassed(mproc.Process):
    def __init__(self, conn):
        super().__init__()
        self.conn = conn

    def run(self):
        self.conn.send("run() ran in " + str(os.getpid()))


def test_subclass_run_and_active_children():
    a, b = mproc.Pipe()
    p = Subclassed(b)
    p.start()
    assert a.recv() == f"run() ran in {p.pid}"
    p.join(WAIT)
    assert p.exitcode == 0
    assert p not in mproc.active_children()
    r, w = os.pipe()
    try:
        q = mproc.Process(target=blocks, args=(r, w))
        q.start()
        assert q in mproc.active_children()
        os.close(w)
        w = None
        q.join(WAIT)
        assert mproc.active_children() == [] and q.exitcode == 0
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


def test_start_twice_and_daemon_rules():
    p = mproc.Process(target=returns_7, daemon=True)
    assert p.daemon
    p.start()
    with pytest.raises(AssertionError):
        p.start()
    with pytest.raises(AssertionError):
        p.daemon = False
    p.join(WAIT)
    with pytest.raises(AssertionError):
        mproc.Process(target=returns_7).join()


def test_stdout_is_flushed_before_fork_through_a_pipe(tmp_path):
    """With stdout piped (block-buffered), the parent's first lines appear once, not once per
    child."""
    script = tmp_path / "flush.py"
    script.write_text(textwrap.dedent("""
        import mproc
        def child(i):
            print("child", i)
        if __name__ == "__main__":
            print("first line")
            ps = [mproc.Process(target=child, args=(i,)) for i in range(4)]
            for p in ps:
                p.start()
            for p in ps:
                p.join()
            print("last line")
    """))
    out = subprocess.run([sys.executable, str(script)], stdout=subprocess.PIPE, check=True,
                         timeout=WAIT, env=script_env()).stdout.decode()
    assert out.count("first line") == 1, out
    assert out.count("last line") == 1
    assert sorted(line for line in out.splitlines() if line.startswith("child")) == \
        [f"child {i}" for i in range(4)]


def test_daemon_children_are_terminated_and_others_joined_at_exit(tmp_path):
    script = tmp_path / "atexit.py"
    script.write_text(textwrap.dedent("""
        import os, time, mproc
        def forever():
            time.sleep(600)
        def short():
            time.sleep(0.2)
            print("non-daemon child finished", flush=True)
        if __name__ == "__main__":
            d = mproc.Process(target=forever, daemon=True)
            d.start()
            mproc.Process(target=short).start()
            print("daemon", d.pid, flush=True)
    """))
    out = subprocess.run([sys.executable, str(script)], stdout=subprocess.PIPE, check=True,
                         timeout=WAIT, env=script_env()).stdout.decode()
    assert "non-daemon child finished" in out
    daemon_pid = int(out.split("daemon ")[1].split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(daemon_pid, 0)  # terminated and reaped by its parent before it exited


def test_bad_arguments():
    with pytest.raises(ValueError):
        mproc.Process(group=1)
    p = mproc.Process(target=returns_7)
    with pytest.raises(ValueError):
        p.sentinel  # not started
    with pytest.raises(AssertionError):
        p.name = 3


def test_a_child_without_a_pidfd_is_not_left_behind(tmp_path):
    """pidfd_open failing (no descriptor left) makes start() raise, with the child killed and
    reaped, as the C++ Process does: never a child that nothing watches."""
    script = tmp_path / "no_pidfd.py"
    script.write_text(textwrap.dedent("""
        import errno, os, resource, mproc
        if __name__ == "__main__":
            # One start first, with descriptors to spare: what a process sets up once for its
            # first fork (and UBSan's type cache, whose first look at memory needs a pipe) is
            # then in place, so that only the pidfd meets the limit.
            warm = mproc.Process(target=os._exit, args=(0,))
            warm.start()
            warm.join()
            p = mproc.Process(target=os._exit, args=(0,))
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
            held = []
            try:
                while True:
                    held.append(os.dup(0))
            except OSError:
                pass
            try:
                p.start()
                print("started")
            except OSError as e:
                print("refused", e.errno == errno.EMFILE)
            for fd in held:
                os.close(fd)
            try:
                print("children left", os.waitpid(-1, os.WNOHANG))
            except ChildProcessError:
                print("no child left")
    """))
    out = subprocess.run([sys.executable, str(script)], stdout=subprocess.PIPE, check=True,
                         timeout=WAIT, env=script_env()).stdout.decode()
    assert "refused True" in out, out
    assert "no child left" in out, out


def test_compatibility_functions_of_multiprocessing():
    mproc.set_executable("/usr/bin/python3")  # accepted, nothing to do (mproc forks)
    mproc.allow_connection_pickling()
    mproc.set_forkserver_preload(["json", "no_such_module_here"])
    import sys
    assert "json" in sys.modules
    from mproc.pool import ThreadPool
    with ThreadPool(2) as tp:
        assert tp.map(abs, [-1, -2]) == [1, 2]


def thread_names():
    names = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as comm:
                names.append(comm.read().strip())
        except OSError:
            pass
    return names


def test_the_fork_warning_is_kept_for_the_programs_threads_only(monkeypatch):
    """Python 3.12 warns on os.fork in a multi-threaded process. The segment tracker's watcher
    thread (started by the session's first segment, see conftest) is the library's and safe across
    fork by design, so Process.start silences that warning when the library's threads are the only
    others, and only then. Debian's 3.11 does not warn: a fork that warns as 3.12's does stands in."""
    import threading
    import warnings

    real_fork = os.fork

    def fork_that_warns_like_3_12():
        if len(os.listdir("/proc/self/task")) > 1:
            warnings.warn(f"This process (pid={os.getpid()}) is multi-threaded, use of fork() may "
                          "lead to deadlocks in the child.", DeprecationWarning, stacklevel=2)
        return real_fork()

    monkeypatch.setattr(os, "fork", fork_that_warns_like_3_12)
    assert "mproc-tracker" in thread_names()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        p = mproc.Process(target=returns_7)
        p.start()
        p.join(WAIT)
    assert p.exitcode == 0

    stop = threading.Event()
    mine = threading.Thread(target=stop.wait, args=(WAIT,))
    mine.start()
    try:
        with pytest.warns(DeprecationWarning, match="multi-threaded"):
            p = mproc.Process(target=returns_7)
            p.start()
        p.join(WAIT)
        assert p.exitcode == 0
    finally:
        stop.set()
        mine.join()
