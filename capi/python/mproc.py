"""mproc through ctypes: the C ABI of libmproc.so (capi/mproc.h) for Python.

The library is loaded from the path in the environment variable MPROC_LIBRARY, else by its soname
libmproc.so.0 (the dynamic loader's search path), else wherever ctypes.util.find_library("mproc")
finds it. Every failing call raises MprocError(code, name, message): `code` is the negative C code
(MPROC_E* or -errno), `name` its symbolic name ("MPROC_ESTATE", "EINVAL"), `message` the library's
detail for that call.

Process runs a Python callable in a forked child, like multiprocessing.Process with the "fork"
start method. The child is forked from inside a foreign call (ctypes releases the GIL around it)
and runs the target through a ctypes callback, so the interpreter must be single-threaded when
start() is called, as for os.fork. Two departures from Python: a target that returns an int sets
the exit code (as the C ABI does), and join(timeout) returns True once the child has ended.

Thread-safety: the functions may be called from any thread; one Process object from one thread at
a time.
"""

import ctypes
import ctypes.util
import math
import os
import sys
import traceback

__all__ = [
    "MprocError", "Process", "strerror", "err_name", "last_error_message", "version",
    "version_string", "log_set_level", "log_get_level", "fork", "getpid", "getppid", "cpu_count",
    "LOG_TRACE", "LOG_DEBUG", "LOG_INFO", "LOG_WARN", "LOG_ERROR", "LOG_OFF", "WAIT_FOREVER",
    "library",
]

LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF = 0, 1, 2, 3, 4, 6
WAIT_FOREVER = -1

# The C prototype of a child's body: int (*)(void *user_data).
PROCESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


def _load():
    path = os.environ.get("MPROC_LIBRARY")
    if path:
        return ctypes.CDLL(path)
    try:
        return ctypes.CDLL("libmproc.so.0")
    except OSError:
        found = ctypes.util.find_library("mproc")
        if found is None:
            raise OSError("libmproc.so.0 not found: install mproc or set MPROC_LIBRARY") from None
        return ctypes.CDLL(found)


library = _load()


class MprocError(Exception):
    """A failed mproc call: code (negative), name ("MPROC_ETIMEDOUT", "EINVAL") and message."""

    def __init__(self, code, name, message):
        super().__init__(code, name, message)
        self.code = code
        self.name = name
        self.message = message

    def __str__(self):
        return f"{self.name}: {self.message}" if self.message else self.name


def _check(result, func, args):
    """errcheck for every fallible function: a negative result becomes MprocError."""
    if result < 0:
        raise MprocError(result, err_name(result), last_error_message())
    return result


def _declare(name, restype, argtypes, fallible=True):
    function = getattr(library, name)
    function.restype = restype
    function.argtypes = argtypes
    if fallible:
        function.errcheck = _check
    return function


_int, _voidp, _charp = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p
_strerror = _declare("mproc_strerror", _charp, [_int], fallible=False)
_err_name = _declare("mproc_err_name", _charp, [_int], fallible=False)
_last_error_message = _declare("mproc_last_error_message", _charp, [], fallible=False)
_version = _declare("mproc_version", ctypes.c_uint, [], fallible=False)
_version_string = _declare("mproc_version_string", _charp, [], fallible=False)
_log_set_level = _declare("mproc_log_set_level", _int, [_int])
_log_get_level = _declare("mproc_log_get_level", _int, [])
_fork = _declare("mproc_fork", _int, [])
_getpid = _declare("mproc_getpid", _int, [], fallible=False)
_getppid = _declare("mproc_getppid", _int, [], fallible=False)
_cpu_count = _declare("mproc_cpu_count", _int, [])
_create = _declare("mproc_process_create", _int, [PROCESS_FN, _voidp, ctypes.POINTER(_voidp)])
_set_name = _declare("mproc_process_set_name", _int, [_voidp, _charp])
_get_name = _declare("mproc_process_get_name", _int, [_voidp, _charp, ctypes.c_size_t])
_set_daemon = _declare("mproc_process_set_daemon", _int, [_voidp, _int])
_start = _declare("mproc_process_start", _int, [_voidp])
_join = _declare("mproc_process_join", _int, [_voidp, ctypes.c_int64])
_is_alive = _declare("mproc_process_is_alive", _int, [_voidp])
_pid = _declare("mproc_process_pid", _int, [_voidp])
_exitcode = _declare("mproc_process_exitcode", _int, [_voidp, ctypes.POINTER(_int)])
_terminate = _declare("mproc_process_terminate", _int, [_voidp])
_kill = _declare("mproc_process_kill", _int, [_voidp])
_sentinel = _declare("mproc_process_sentinel", _int, [_voidp])
_close = _declare("mproc_process_close", _int, [_voidp])
_destroy = _declare("mproc_process_destroy", _int, [_voidp])


def strerror(code):
    """A sentence for `code` (MPROC_E*, -errno or 0)."""
    return _strerror(code).decode()


def err_name(code):
    """The symbolic name of `code`: "MPROC_ESTATE", "EINVAL", "OK", "UNKNOWN"."""
    return _err_name(code).decode()


def last_error_message():
    """The detail of the last failed mproc call on this thread ("" if none failed)."""
    return _last_error_message().decode(errors="replace")


def version():
    """The library's version as 0xMMmmpp."""
    return _version()


def version_string():
    return _version_string().decode()


def log_set_level(level):
    _log_set_level(level)


def log_get_level():
    return _log_get_level()


def fork():
    """mproc_fork: the child's pid in the parent, 0 in the child (like os.fork, but without
    Python's own at-fork handling: call it from a single-threaded interpreter)."""
    return _fork()


def getpid():
    return _getpid()


def getppid():
    return _getppid()


def cpu_count():
    return _cpu_count()


# mproc's own codes, read from the library so that they follow it: EBADHANDLE = -1001, ...
# The codes are contiguous from -1001 and only ever appended.
def _define_codes():
    code = -1001
    while True:
        name = err_name(code)
        if not name.startswith("MPROC_E"):
            return
        globals()[name[len("MPROC_"):]] = code
        __all__.append(name[len("MPROC_"):])
        code -= 1


_define_codes()


def _timeout_ms(timeout):
    """None -> WAIT_FOREVER; seconds -> milliseconds, rounded up so that a short wait is not 0.
    A negative timeout is passed on as an invalid value, so the library reports EINVAL."""
    if timeout is None:
        return WAIT_FOREVER
    if timeout < 0 or math.isnan(timeout):
        return -2
    return math.ceil(timeout * 1000)


class Process:
    """A child process running target(*args, **kwargs), created with mproc_process_create.

    The handle (and the ctypes callback the library calls in the child) lives until destroy(), the
    end of a `with` block, or garbage collection. Destroying a Process whose child still runs
    detaches it, as multiprocessing does: the child runs on and the library reaps it.
    Thread-safety: one Process object from one thread at a time.
    """

    def __init__(self, target=None, name=None, args=(), kwargs=None, *, daemon=None):
        self._target = target
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._daemon = False
        self._live = False
        # Kept for the handle's life: the library holds only the C function pointer.
        self._callback = PROCESS_FN(self._bootstrap)
        handle = _voidp()
        _create(self._callback, None, ctypes.byref(handle))
        self._handle = handle.value
        self._live = True
        if name is not None:
            self.name = name
        if daemon is not None:
            self.daemon = daemon

    # -- what runs in the child -----------------------------------------------------------------

    def run(self):
        """Runs in the child; override it in a subclass, or pass a target."""
        if self._target is not None:
            return self._target(*self._args, **self._kwargs)
        return None

    def _bootstrap(self, _user_data):
        # An exception must not escape a ctypes callback (ctypes would print it and return 0).
        try:
            result = self.run()
            code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        except SystemExit as e:
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        # The library ends the child with _exit: flush Python's buffers ourselves.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        return code & 0xFF

    # -- the parent's side ----------------------------------------------------------------------

    def _h(self):
        # After destroy() the stale handle is still passed on: the library recognises it and
        # raises MPROC_EBADHANDLE naming the call, without touching freed memory.
        return self._handle

    def start(self):
        _start(self._h())

    def join(self, timeout=None):
        """Waits for the child to end (at most `timeout` seconds); True once it has ended."""
        try:
            _join(self._h(), _timeout_ms(timeout))
        except MprocError as e:
            if e.code == ETIMEDOUT:  # noqa: F821 (defined by _define_codes)
                return False
            raise
        return True

    def is_alive(self):
        return _is_alive(self._h()) == 1

    @property
    def pid(self):
        """The child's pid, None before start()."""
        try:
            return _pid(self._h())
        except MprocError as e:
            if e.code == ESTATE:  # noqa: F821
                return None
            raise

    ident = pid

    @property
    def exitcode(self):
        """None before start and while running; the exit code; -N if signal N ended the child."""
        code = _int()
        return code.value if _exitcode(self._h(), ctypes.byref(code)) == 1 else None

    @property
    def sentinel(self):
        """A file descriptor that becomes readable when the child ends (owned by the Process)."""
        return _sentinel(self._h())

    @property
    def name(self):
        length = _get_name(self._h(), None, 0)
        buf = ctypes.create_string_buffer(length + 1)
        _get_name(self._h(), buf, len(buf))
        return buf.value.decode(errors="replace")

    @name.setter
    def name(self, value):
        _set_name(self._h(), str(value).encode())

    @property
    def daemon(self):
        return self._daemon

    @daemon.setter
    def daemon(self, value):
        _set_daemon(self._h(), 1 if value else 0)
        self._daemon = bool(value)

    def terminate(self):
        _terminate(self._h())

    def kill(self):
        _kill(self._h())

    def close(self):
        _close(self._h())

    def destroy(self):
        """Releases the handle (a child that still runs is detached and reaped later). Idempotent."""
        if self._live:
            self._live = False
            _destroy(self._handle)
            self._callback = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.destroy()

    def __del__(self):
        # In a forked child the copy of a handle belongs to the parent's child table: the library
        # leaves another process's children alone, so destroying it there is harmless.
        try:
            self.destroy()
        except Exception:
            pass

    def __repr__(self):
        if not self._live:
            return "<mproc.Process destroyed>"
        return f"<mproc.Process name={self.name!r} pid={self.pid} exitcode={self.exitcode}>"
