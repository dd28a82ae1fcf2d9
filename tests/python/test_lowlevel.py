"""The low-level part of the binding: the library's version, error codes and names, logging,
mproc_fork, and the C ABI's own process functions called through ctypes with a CFUNCTYPE body
(the ABI usable without a C compiler). Also run under the sanitized build (libasan preloaded)."""

import ctypes
import errno
import os

import pytest

import mproc
from conftest import WAIT

PROCESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


def test_version():
    hex_version = mproc.version()
    assert hex_version == mproc.library.mproc_version()
    expected = f"{hex_version >> 16 & 0xFF}.{hex_version >> 8 & 0xFF}.{hex_version & 0xFF}"
    assert mproc.version_string() == expected
    source_dir = os.environ.get("MPROC_SOURCE_DIR")
    if source_dir:
        parts = {}
        with open(os.path.join(source_dir, "include", "mproc", "version.h")) as header:
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


def test_mproc_error_is_an_oserror():
    e = mproc.MprocError(mproc.ESTATE, "MPROC_ESTATE", "detail")
    assert isinstance(e, OSError)
    assert str(e) == "MPROC_ESTATE: detail"
    assert e.code == mproc.ESTATE and e.name == "MPROC_ESTATE"


def test_raw_ctypes_callback_returning_3():
    """The C ABI called directly: a CFUNCTYPE callback that returns 3 is the child's body."""
    lib = mproc.library
    callback = PROCESS_FN(lambda user_data: 3)
    handle = ctypes.c_void_p()
    assert lib.mproc_process_create(callback, None, ctypes.byref(handle)) == 0
    try:
        assert lib.mproc_process_start(handle) == 0
        assert lib.mproc_process_join(handle, ctypes.c_int64(int(WAIT * 1000))) == 0
        code = ctypes.c_int(-12345)
        assert lib.mproc_process_exitcode(handle, ctypes.byref(code)) == 1
        assert code.value == 3
    finally:
        assert lib.mproc_process_destroy(handle) == 0


def test_stale_handle_is_ebadhandle_with_a_message():
    lib = mproc.library
    handle = ctypes.c_void_p()
    callback = PROCESS_FN(lambda user_data: 0)
    assert lib.mproc_process_create(callback, None, ctypes.byref(handle)) == 0
    assert lib.mproc_process_destroy(handle) == 0
    assert lib.mproc_process_start(handle) == mproc.EBADHANDLE
    assert "mproc_process_start" in mproc.last_error_message()


def test_log_level():
    initial = mproc.log_get_level()
    try:
        for level in (mproc.LOG_TRACE, mproc.LOG_DEBUG, mproc.LOG_INFO, mproc.LOG_WARN,
                      mproc.LOG_ERROR, mproc.LOG_OFF):
            mproc.log_set_level(level)
            assert mproc.log_get_level() == level
        with pytest.raises(ValueError, match="mproc_log_set_level"):
            mproc.log_set_level(5)
        assert mproc.log_get_level() == mproc.LOG_OFF
    finally:
        mproc.log_set_level(initial)


def test_a_category_has_a_log_level_of_its_own():
    initial = mproc.log_get_level()
    try:
        mproc.log_set_level(mproc.LOG_WARN)
        mproc.log_set_level_for("pool", mproc.LOG_DEBUG)
        assert mproc.log_get_level_for("pool") == mproc.LOG_DEBUG
        assert mproc.log_get_level_for("shm") == mproc.LOG_WARN
        mproc.log_set_level(mproc.LOG_ERROR)
        assert mproc.log_get_level_for("pool") == mproc.LOG_DEBUG  # its own stays
        assert mproc.log_get_level_for("shm") == mproc.LOG_ERROR
        with pytest.raises(ValueError, match="mproc_log_set_level_for"):
            mproc.log_set_level_for("pool", 5)
        with pytest.raises(ValueError, match="loud"):
            mproc.log_set_level_for("loud", mproc.LOG_DEBUG)
        mproc.log_set_level_for("pool", None)
        assert mproc.log_get_level_for("pool") == mproc.LOG_ERROR
    finally:
        mproc.log_set_level_for("pool", None)
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
