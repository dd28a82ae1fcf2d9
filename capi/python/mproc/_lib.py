"""The C ABI of libmproc.so.0 (capi/mproc.h) through ctypes: loading, errors, shared helpers.

Two handles on the same library: `lib` (ctypes.CDLL) releases the GIL during every call, so a
blocking call (a lock, a queue, a join) lets the other Python threads run; `pylib` (ctypes.PyDLL)
keeps the GIL, and is used only for the call that forks the pool's fork server, so that the fork
happens on a thread that holds the GIL (see pool.py).
"""

import ctypes
import ctypes.util
import errno as _errno
import math
import os

_int, _voidp, _charp, _size = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
_int64, _uint64 = ctypes.c_int64, ctypes.c_uint64
_pvoidp, _psize = ctypes.POINTER(_voidp), ctypes.POINTER(_size)

WAIT_FOREVER = -1
LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF = 0, 1, 2, 3, 4, 6
# mproc_log_category: the parts of the library, in the order of their values.
LOG_CATEGORIES = ("process", "sync", "shm", "transport", "pool", "manager", "mpi")


def _library_path():
    path = os.environ.get("MPROC_LIBRARY")
    if path:
        return path
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_libpath.txt")
    try:  # written by `cmake --install`: the installed library's absolute path
        with open(here) as f:
            candidate = f.read().strip()
        if candidate and os.path.exists(candidate):
            return candidate
    except OSError:
        pass
    try:
        ctypes.CDLL("libmproc.so.0")
        return "libmproc.so.0"
    except OSError:
        found = ctypes.util.find_library("mproc")
        if found is None:
            raise ImportError("libmproc.so.0 not found: install mproc (cmake --install) or set "
                              "MPROC_LIBRARY to the library's path") from None
        return found


LIBRARY_PATH = _library_path()
lib = ctypes.CDLL(LIBRARY_PATH)
pylib = ctypes.PyDLL(LIBRARY_PATH)
library = lib  # the old module's name for it


def declare(name, restype, argtypes, dll=None):
    function = getattr(dll or lib, name)
    function.restype = restype
    function.argtypes = argtypes
    return function


def declare_raw(name, restype=_int):
    """A second function object for `name` without argtypes, for the hottest calls (a queue's
    put/get, a Manager dict's d[k]): ctypes then converts no argument, which saves a third of the
    call. Every argument must already be what C expects: a ctypes instance (c_void_p of the handle,
    c_size_t of a length, c_int64 of a timeout), bytes (a const pointer to its data), a ctypes
    buffer or byref(); never a Python int (ctypes would pass it as a C int)."""
    function = lib[name]  # indexing makes a new object: the declared one keeps its argtypes
    function.restype = restype
    return function


strerror_ = declare("mproc_strerror", _charp, [_int])
err_name_ = declare("mproc_err_name", _charp, [_int])
last_error_message_ = declare("mproc_last_error_message", _charp, [])
buffer_free = declare("mproc_buffer_free", None, [_voidp])


def strerror(code):
    """A sentence for `code` (MPROC_E*, -errno or 0)."""
    return strerror_(code).decode()


def err_name(code):
    """The symbolic name of `code`: "MPROC_ESTATE", "EINVAL", "OK", "UNKNOWN"."""
    return err_name_(code).decode()


def last_error_message():
    """The detail of the last failed mproc call on this thread ("" if none failed)."""
    return last_error_message_().decode(errors="replace")


# mproc's own codes, read from the library so that they follow it: EBADHANDLE = -1001, ...
# They are contiguous from -1001 and only ever appended.
CODES = {}
_code = -1001
while err_name(_code).startswith("MPROC_E"):
    CODES[err_name(_code)[len("MPROC_"):]] = _code
    _code -= 1
globals().update(CODES)
EBADHANDLE, ESTATE, ETIMEDOUT = CODES["EBADHANDLE"], CODES["ESTATE"], CODES["ETIMEDOUT"]
EFULL, EEMPTY, ECLOSED, EEOF = CODES["EFULL"], CODES["EEMPTY"], CODES["ECLOSED"], CODES["EEOF"]
ETOOBIG, EOWNERDEAD, EBROKEN = CODES["ETOOBIG"], CODES["EOWNERDEAD"], CODES["EBROKEN"]
EWORKERDIED, ETASKFAILED = CODES["EWORKERDIED"], CODES["ETASKFAILED"]
ETERMINATED, ECANCELLED = CODES["ETERMINATED"], CODES["ECANCELLED"]


class MprocError(OSError):
    """A failed mproc call: code (negative), name ("MPROC_ETIMEDOUT", "EINVAL") and message.

    An OSError: for a system error (-errno) its errno is set, as Python's own OSErrors."""

    def __init__(self, code, name=None, message=None):
        name = err_name(code) if name is None else name
        message = last_error_message() if message is None else message
        super().__init__(-code if -code < 1000 else None, message or strerror(code))
        self.code, self.name, self.message = code, name, message
        self.args = (code, name, message)

    def __str__(self):
        return f"{self.name}: {self.message}" if self.message else self.name

    def __reduce__(self):
        return (type(self), (self.code, self.name, self.message))


class WorkerDiedError(MprocError):
    """A Pool task whose worker process died while running it (signal, exit, crash): the worker
    was replaced and every other task went on. The message names the pid and the signal."""


class BrokenPoolError(MprocError):
    """A Pool whose initializer keeps failing, or that was terminated before the task ran."""


def error(code, message=None):
    """The Python exception for a C error code: Python's own types where Python would raise one
    (ValueError for bad arguments, FileNotFoundError, ...), else MprocError."""
    message = last_error_message() if message is None else message
    if code == -_errno.EINVAL or code == EBADHANDLE:
        return ValueError(f"{err_name(code)}: {message}")
    if code == EWORKERDIED:
        return WorkerDiedError(code, None, message)
    if code in (EBROKEN, ETERMINATED):
        return BrokenPoolError(code, None, message)
    if -1000 < code < 0:
        exc = OSError(-code, f"{os.strerror(-code)}: {message}")
        return exc  # OSError(errno, ...) picks the subclass: FileNotFoundError, ...
    return MprocError(code, None, message)


def check(code):
    """Raises error(code) for a negative code; returns the code otherwise."""
    if code < 0:
        raise error(code)
    return code


def timeout_ms(timeout, block=True):
    """Python's (block, timeout seconds) as the C ABI's milliseconds: None -> forever, rounded up
    so that a short wait is not 0. A negative timeout is ValueError, as in Python's queue."""
    if not block:
        return 0
    if timeout is None:
        return WAIT_FOREVER
    if timeout < 0 or math.isnan(timeout):
        raise ValueError("'timeout' must be a non-negative number")
    if timeout > 1e12:
        return WAIT_FOREVER
    return math.ceil(timeout * 1000)


# A blocking call without limit is made in slices, so that Ctrl-C (whose handler runs only between
# Python bytecodes) interrupts a wait as in Python.
SLICE_MS = 500


def wait_sliced(call, ms, timeout_code, *args):
    """call(*args, slice) until it returns something else than timeout_code, for at most ms
    (WAIT_FOREVER: no limit). Returns the last result."""
    if ms != WAIT_FOREVER and ms <= SLICE_MS:
        return call(*args, ms)
    import time
    deadline = None if ms == WAIT_FOREVER else time.monotonic() + ms / 1000
    while True:
        step = SLICE_MS
        if deadline is not None:
            step = max(0, min(SLICE_MS, math.ceil((deadline - time.monotonic()) * 1000)))
        rc = call(*args, step)
        if rc != timeout_code or (deadline is not None and time.monotonic() >= deadline):
            return rc


def take_buffer(ptr, length):
    """The bytes of a library-owned buffer, which is released."""
    try:
        return ctypes.string_at(ptr, length)
    finally:
        buffer_free(ptr)


def copy_string(function, handle, size=256):
    """A NUL-terminated string copied out with the snprintf convention (handles, names)."""
    buf = ctypes.create_string_buffer(size)
    n = check(function(handle, buf, size))
    if n >= size:
        buf = ctypes.create_string_buffer(n + 1)
        check(function(handle, buf, n + 1))
    return buf.value.decode()


version_ = declare("mproc_version", ctypes.c_uint, [])
version_string_ = declare("mproc_version_string", _charp, [])
log_set_level_ = declare("mproc_log_set_level", _int, [_int])
log_get_level_ = declare("mproc_log_level", _int, [])
log_set_level_for_ = declare("mproc_log_set_level_for", _int, [_int, _int])
log_get_level_for_ = declare("mproc_log_level_for", _int, [_int])
fork_ = declare("mproc_fork", _int, [], dll=pylib)
getpid_ = declare("mproc_getpid", _int, [])
getppid_ = declare("mproc_getppid", _int, [])
cpu_count_ = declare("mproc_cpu_count", _int, [])
