"""mproc: Python's multiprocessing on the mproc C library, through ctypes.

`import mproc as multiprocessing` runs programs written for multiprocessing: Process, Pipe, Queue,
the locks, Value / Array, shared_memory.SharedMemory, Manager and Pool have multiprocessing's names
and semantics; objects cross processes by pickle. The library does the work underneath: message
pipes, queues in shared memory, robust process-shared locks, a Pool that never hangs when a worker
dies. See the README's "From Python" section for what differs and why.

The library is loaded from $MPROC_LIBRARY, else from the path recorded at install, else by its
soname libmproc.so.0.
"""

import os as _os
import sys as _sys

from ._lib import (  # noqa: F401  (the low-level API of the old mproc.py module)
    LIBRARY_PATH, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_OFF, LOG_TRACE, LOG_WARN, WAIT_FOREVER,
    BrokenPoolError, MprocError, WorkerDiedError, err_name, last_error_message, library,
    strerror, CODES as _CODES)
from . import _lib
from .process import Process, active_children, current_process, parent_process
from .connection import Pipe
from .queues import JoinableQueue, Queue, SimpleQueue
from .synchronize import (Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore)

globals().update(_CODES)  # EBADHANDLE, ESTATE, ... (negative codes)


class ProcessError(Exception):
    pass


class BufferTooShort(ProcessError):
    pass


class TimeoutError(ProcessError):
    pass


class AuthenticationError(ProcessError):
    pass


def __getattr__(name):
    # Loaded on first use: Pool starts no fork server, Manager makes no segment, until asked.
    if name == "Pool":
        from .pool import Pool
        return Pool
    if name in ("Value", "Array", "RawValue", "RawArray"):
        from . import sharedctypes
        return getattr(sharedctypes, name)
    if name == "Manager":
        from .managers import Manager
        return Manager
    raise AttributeError(f"module 'mproc' has no attribute {name!r}")


def cpu_count():
    """The CPUs this process may run on (its affinity mask); at least 1."""
    return _lib.cpu_count_()


def version():
    """The library's version as 0xMMmmpp."""
    return _lib.version_()


def version_string():
    return _lib.version_string_().decode()


def log_set_level(level):
    _lib.check(_lib.log_set_level_(level))


def log_get_level():
    return _lib.log_get_level_()


def log_set_level_for(category, level):
    """Gives one part of the library its own log level: category is a name of
    _lib.LOG_CATEGORIES ("pool", "shm", ...), level a LOG_* value, or None to follow
    log_set_level() again."""
    if category not in _lib.LOG_CATEGORIES:
        raise ValueError(f"{category!r} is not one of {', '.join(_lib.LOG_CATEGORIES)}")
    own = -1 if level is None else level  # MPROC_LOG_FOLLOW_GLOBAL
    _lib.check(_lib.log_set_level_for_(_lib.LOG_CATEGORIES.index(category), own))


def log_get_level_for(category):
    """The log level that applies to one part of the library: its own, else the global one."""
    if category not in _lib.LOG_CATEGORIES:
        raise ValueError(f"{category!r} is not one of {', '.join(_lib.LOG_CATEGORIES)}")
    return _lib.check(_lib.log_get_level_for_(_lib.LOG_CATEGORIES.index(category)))


def fork():
    """mproc_fork without Python's own fork handling: prefer os.fork (or Process) in Python.
    With other Python threads running, the child can hang at its first Python code (it may have
    inherited another thread's request for the GIL, which only PyOS_AfterFork_Child clears)."""
    return _lib.check(_lib.fork_())


def getpid():
    return _lib.getpid_()


def getppid():
    return _lib.getppid_()


def freeze_support():
    """For Windows executables in Python; nothing to do here."""


def get_start_method(allow_none=False):
    return "fork"


def set_start_method(method, force=False):
    if method not in ("fork", None):
        raise ValueError(f"mproc forks its processes: start method {method!r} is not available")


def get_all_start_methods():
    return ["fork"]


def get_context(method=None):
    """This module: mproc has one context (its processes are forked)."""
    set_start_method(method)
    return _sys.modules[__name__]


def set_executable(executable):
    """Accepted for compatibility: mproc forks, it never starts an executable."""


def set_forkserver_preload(module_names):
    """Imports the modules now: the fork server of mproc's pools is a copy of this process, made
    when a Pool starts, so what is imported here is in every worker (Python's preload)."""
    import importlib
    for name in module_names:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # as Python's server: a module that fails to import is skipped


def allow_connection_pickling():
    """Nothing to do: mproc's Connections always pickle (see mproc.connection)."""


def get_logger():
    import logging
    return logging.getLogger("mproc")


def log_to_stderr(level=None):
    import logging
    logger = get_logger()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(levelname)s/%(processName)s] %(message)s"))
    logger.addHandler(handler)
    if level:
        logger.setLevel(level)
    return logger


__all__ = [
    "Process", "current_process", "parent_process", "active_children", "cpu_count", "Pipe",
    "Queue", "SimpleQueue", "JoinableQueue", "Lock", "RLock", "Semaphore", "BoundedSemaphore",
    "Event", "Condition", "Barrier", "Value", "Array", "RawValue", "RawArray", "Manager", "Pool",
    "ProcessError", "BufferTooShort", "TimeoutError", "AuthenticationError", "MprocError",
    "WorkerDiedError", "BrokenPoolError", "freeze_support", "get_context", "get_start_method",
    "set_start_method", "get_all_start_methods", "get_logger", "log_to_stderr",
    "set_executable", "set_forkserver_preload", "allow_connection_pickling",
]
