"""The Python ctypes binding (capi/python/mproc.py) against the built libmproc.so.

Run by ctest with MPROC_LIBRARY set to the built library and capi/python on PYTHONPATH. Every
child is forked from inside a ctypes call and runs Python code through a ctypes callback. Ends
with the line "N passed, N failed"; exits non-zero if a test failed.
"""

import ctypes
import errno
import os
import select
import signal
import sys
import traceback

import mproc

WAIT = 60.0  # bound on every wait for a child; never reached when the tests pass


def open_fds():
    return set(int(fd) for fd in os.listdir("/proc/self/fd")) - {-1}


def has_children():
    try:
        # WNOWAIT: look without reaping. ChildProcessError (ECHILD): no child at all.
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return True
    except ChildProcessError:
        return False


def expect_error(name, call, *args):
    try:
        call(*args)
    except mproc.MprocError as e:
        assert e.name == name, f"expected {name}, got {e.name} ({e.message})"
        assert e.code < 0
        assert mproc.err_name(e.code) == name
        return e
    raise AssertionError(f"expected MprocError {name}, nothing raised")


# -- tests ------------------------------------------------------------------------------------


def test_version():
    hex_version = mproc.version()
    assert hex_version == mproc.library.mproc_version()
    expected = f"{hex_version >> 16 & 0xFF}.{hex_version >> 8 & 0xFF}.{hex_version & 0xFF}"
    assert mproc.version_string() == expected, mproc.version_string()
    source_dir = os.environ.get("MPROC_SOURCE_DIR")
    if source_dir:
        with open(os.path.join(source_dir, "include", "mproc", "version.h")) as header:
            parts = {}
            for line in header:
                fields = line.split()
                if len(fields) == 3 and fields[0] == "#define" and fields[2].isdigit():
                    parts[fields[1]] = int(fields[2])
        assert mproc.version_string() == "{}.{}.{}".format(
            parts["MPROC_VERSION_MAJOR"], parts["MPROC_VERSION_MINOR"],
            parts["MPROC_VERSION_PATCH"])


def test_error_names_and_codes():
    assert mproc.EBADHANDLE == -1001
    assert mproc.ESTATE == -1002
    assert mproc.ETIMEDOUT == -1003
    assert mproc.EINTERNAL == -1016
    assert mproc.err_name(mproc.ESTATE) == "MPROC_ESTATE"
    assert mproc.err_name(0) == "OK"
    assert mproc.err_name(-errno.EINVAL) == "EINVAL"
    assert mproc.err_name(-1500) == "UNKNOWN"
    assert mproc.strerror(mproc.ETIMEDOUT) == "operation timed out"
    assert mproc.strerror(-errno.EINVAL) == os.strerror(errno.EINVAL)


def test_raw_ctypes_callback_returning_3():
    """The C ABI called directly: a CFUNCTYPE callback that returns 3 is the child's body."""
    lib = mproc.library
    callback = mproc.PROCESS_FN(lambda user_data: 3)
    handle = ctypes.c_void_p()
    assert lib.mproc_process_create(callback, None, ctypes.byref(handle)) == 0
    try:
        assert lib.mproc_process_start(handle) == 0
        assert lib.mproc_process_join(handle, int(WAIT * 1000)) == 0
        code = ctypes.c_int(-12345)
        assert lib.mproc_process_exitcode(handle, ctypes.byref(code)) == 1
        assert code.value == 3, code.value
    finally:
        assert lib.mproc_process_destroy(handle) == 0


def test_process_target_returning_3():
    with mproc.Process(target=lambda: 3) as p:
        assert p.pid is None and p.exitcode is None and not p.is_alive()
        p.start()
        assert p.pid > 0 and p.pid != os.getpid()
        assert p.join(WAIT)
        assert p.exitcode == 3, p.exitcode
        assert not p.is_alive()


def test_join_before_start_raises_estate():
    with mproc.Process(target=lambda: 0) as p:
        e = expect_error("MPROC_ESTATE", p.join)
        assert e.code == mproc.ESTATE
        assert "mproc_process_join" in e.message, e.message
        assert "not been started" in e.message, e.message
        assert str(e).startswith("MPROC_ESTATE: ")
        assert mproc.last_error_message() == e.message


def test_child_runs_python_code_with_arguments():
    """The interpreter works in the child: allocation, imports, arguments, a pipe to the parent."""
    read_fd, write_fd = os.pipe()

    def work(fd, numbers, scale=1):
        import json
        os.write(fd, json.dumps({"sum": sum(numbers) * scale, "pid": os.getpid()}).encode())

    try:
        with mproc.Process(target=work, args=(write_fd, list(range(100))), kwargs={"scale": 2},
                           name="py-worker") as p:
            assert p.name == "py-worker"
            p.start()
            assert p.join(WAIT)
            assert p.exitcode == 0
            import json
            report = json.loads(os.read(read_fd, 4096))
            assert report == {"sum": 9900, "pid": p.pid}, report
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_exceptions_and_sys_exit_set_the_exit_code():
    def fail():
        raise RuntimeError("expected in the child")

    def leave():
        sys.exit(4)

    # The traceback printed by the failing child goes to stderr; keep it out of the test output.
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        with mproc.Process(target=fail) as failing, mproc.Process(target=leave) as leaving:
            failing.start()
            leaving.start()
            assert failing.join(WAIT) and leaving.join(WAIT)
            assert failing.exitcode == 1, failing.exitcode
            assert leaving.exitcode == 4, leaving.exitcode
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def test_timeout_terminate_kill_and_sentinel():
    read_fd, write_fd = os.pipe()

    def block():
        os.close(write_fd)
        os.read(read_fd, 1)  # until the parent closes its end, or a signal ends us

    try:
        with mproc.Process(target=block) as terminated, mproc.Process(target=block) as killed:
            terminated.start()
            killed.start()
            assert terminated.join(0) is False
            assert terminated.join(0.01) is False
            assert terminated.is_alive() and terminated.exitcode is None
            expect_error("EINVAL", terminated.join, -1)
            expect_error("MPROC_ESTATE", terminated.close)
            sentinel = terminated.sentinel
            assert select.select([sentinel], [], [], 0)[0] == []
            terminated.terminate()
            assert select.select([sentinel], [], [], WAIT)[0] == [sentinel]
            assert terminated.join(WAIT)
            assert terminated.exitcode == -signal.SIGTERM, terminated.exitcode
            killed.kill()
            assert killed.join(WAIT)
            assert killed.exitcode == -signal.SIGKILL, killed.exitcode
            terminated.close()
            expect_error("MPROC_ECLOSED", terminated.join)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_destroyed_process_raises_ebadhandle():
    p = mproc.Process(target=lambda: 0)
    p.destroy()
    p.destroy()  # idempotent in Python
    e = expect_error("MPROC_EBADHANDLE", p.start)
    assert "mproc_process_start" in e.message, e.message
    expect_error("MPROC_EBADHANDLE", p.is_alive)
    expect_error("MPROC_EBADHANDLE", lambda: p.exitcode)
    # The C call itself on the stale handle: rejected too, never a crash.
    e = expect_error("MPROC_EBADHANDLE", mproc.library.mproc_process_destroy, p._handle)
    assert "mproc_process_destroy" in e.message, e.message


def test_daemon_and_names():
    with mproc.Process(target=lambda: 0, daemon=True) as p:
        assert p.daemon
        assert p.name.startswith("Process-")
        p.name = "renamed"
        assert p.name == "renamed"
        p.start()
        expect_error("MPROC_ESTATE", setattr, p, "daemon", False)
        assert p.join(WAIT) and p.exitcode == 0


def test_die_with_parent_is_an_opt_in_set_before_start():
    with mproc.Process(target=lambda: 0) as p:
        assert not p.die_with_parent
        p.die_with_parent = True
        assert p.die_with_parent
        p.start()
        expect_error("MPROC_ESTATE", setattr, p, "die_with_parent", False)
        assert p.join(WAIT) and p.exitcode == 0


def test_log_level():
    initial = mproc.log_get_level()
    try:
        for level in (mproc.LOG_TRACE, mproc.LOG_DEBUG, mproc.LOG_INFO, mproc.LOG_WARN,
                      mproc.LOG_ERROR, mproc.LOG_OFF):
            mproc.log_set_level(level)
            assert mproc.log_get_level() == level
        e = expect_error("EINVAL", mproc.log_set_level, 5)
        assert e.code == -errno.EINVAL
        assert "mproc_log_set_level" in e.message
        assert mproc.log_get_level() == mproc.LOG_OFF
    finally:
        mproc.log_set_level(initial)


def test_fork_and_cpu_count():
    assert mproc.cpu_count() >= 1
    assert mproc.cpu_count() == len(os.sched_getaffinity(0))
    parent = os.getpid()
    pid = mproc.fork()
    if pid == 0:
        os._exit(42 if mproc.getppid() == parent and mproc.getpid() == os.getpid() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 42


TESTS = [value for name, value in list(globals().items()) if name.startswith("test_")]


def main():
    fds_at_start = open_fds()
    passed = failed = 0
    for test in TESTS:
        fds_before = open_fds()
        try:
            test()
            ok = True
        except Exception:
            traceback.print_exc()
            ok = False
        if has_children():
            print(f"{test.__name__}: left a child process behind", file=sys.stderr)
            ok = False
        leaked = open_fds() - fds_before
        if leaked:
            print(f"{test.__name__}: leaked file descriptors {sorted(leaked)}", file=sys.stderr)
            ok = False
        print(f"[{' OK ' if ok else 'FAIL'}] {test.__name__}", flush=True)
        passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    if open_fds() != fds_at_start:
        print("after all tests: the open file descriptors changed", file=sys.stderr)
        failed += 1
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
