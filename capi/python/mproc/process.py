"""Process, current_process, parent_process, active_children: multiprocessing's, on os.fork.

A child is made with os.fork, so that CPython runs its own fork handling (PyOS_BeforeFork /
PyOS_AfterFork_Child: the GIL, the import lock, the thread states, the at-fork hooks) and the
library's pthread_atfork handler runs too. The child is watched through a pidfd (the sentinel;
signals go through it, never to a recycled pid) and reaped with waitpid on its own pid, never
waitpid(-1). Exit codes follow Python's rules: 0 when run() returns, n for sys.exit(n), 1 for an
exception (its traceback printed to stderr), -signo when a signal ended the child.
"""

import atexit
import itertools
import os
import select
import signal
import sys
import threading
import warnings

__all__ = ["Process", "current_process", "parent_process", "active_children"]

_children = set()
_counter = itertools.count(1)


# The library names its own threads (the segment tracker's watcher, a pool's dispatcher, a
# worker's parent watcher) so that they can be told from the program's.
_LIBRARY_THREAD_PREFIX = "mproc-"


def _only_library_threads_besides_this_one():
    """True if every other OS thread of this process is one of the library's own, which the
    library makes safe across fork (its pthread_atfork handler takes their locks; they hold none
    while they wait)."""
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return False
    others = 0
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue  # ended meanwhile
        if not name.startswith(_LIBRARY_THREAD_PREFIX):
            others += 1
    return others <= 1


def _fork():
    """os.fork, without Python 3.12's DeprecationWarning "This process is multi-threaded, use of
    fork() may lead to deadlocks" when the only other threads are the library's: a segment
    (a Queue, a Value) starts the tracker's watcher thread, which must exist so that a killed
    tracker is replaced at once. Any thread of the program's own keeps the warning."""
    if not _only_library_threads_besides_this_one():
        return os.fork()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"This process .* is multi-threaded",
                                category=DeprecationWarning)
        return os.fork()


def _flush_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


class BaseProcess:
    """multiprocessing.Process: run target(*args, **kwargs) (or an overridden run()) in a child.

    Thread-safety: one Process object from one thread at a time."""

    def __init__(self, group=None, target=None, name=None, args=(), kwargs=None, *, daemon=None):
        if group is not None:
            raise ValueError("group argument must be None for now")
        parent = _current_process
        self._identity = parent._identity + (next(parent._counter),)
        self._parent_pid = os.getpid()
        self._parent_name = parent.name
        self._target = target
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._name = name or type(self).__name__ + "-" + ":".join(map(str, self._identity))
        self._daemonic = parent.daemon if daemon is None else bool(daemon)
        self._authkey = parent.authkey
        self._pid = None
        self._pidfd = None
        self._exitcode = None
        self._closed = False
        self._counter = itertools.count(1)

    # -- what runs in the child -----------------------------------------------------------------

    def run(self):
        """Runs in the child; override it in a subclass, or pass a target."""
        if self._target is not None:
            self._target(*self._args, **self._kwargs)

    def _bootstrap(self):
        global _current_process, _parent_process, _children
        exitcode = 1
        try:
            _parent_process = _ParentProcess(self._parent_name, self._parent_pid)
            _current_process = self
            _children = set()
            self._pid = os.getpid()
            try:
                self.run()
                exitcode = 0
            finally:
                _exit_function()
        except SystemExit as e:
            if e.code is None:
                exitcode = 0
            elif isinstance(e.code, int):
                exitcode = e.code
            else:
                sys.stderr.write(str(e.code) + "\n")
                exitcode = 1
        except BaseException:
            exitcode = 1
            import traceback
            sys.stderr.write(f"Process {self.name}:\n")
            traceback.print_exc()
        finally:
            _flush_stdio()
        return exitcode

    # -- the parent's side ----------------------------------------------------------------------

    def _check_closed(self):
        if self._closed:
            raise ValueError("process object is closed")

    def start(self):
        """Forks the child. Python's stdout and stderr are flushed first, so that the child does
        not print the parent's buffered output again."""
        self._check_closed()
        assert self._pid is None, "cannot start a process twice"
        assert self._parent_pid == os.getpid(), \
            "can only start a process object created by current process"
        assert not _current_process.daemon, "daemonic processes are not allowed to have children"
        _cleanup()
        _flush_stdio()
        pid = _fork()
        if pid == 0:
            code = 1
            try:
                code = self._bootstrap()
            finally:
                os._exit(code & 0xFF if code >= 0 else 1)
        try:
            self._pidfd = os.pidfd_open(pid)
        except BaseException:
            # Without a pidfd the child cannot be watched: do not leave it running untracked.
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        self._pid = pid
        _children.add(self)

    def _reap(self, block):
        """Collects the exit status if the child ended (waiting if block). True once ended."""
        if self._exitcode is not None:
            return True
        if self._pid is None:
            return False
        try:
            pid, status = os.waitpid(self._pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return self._exitcode is not None
        if pid == 0:
            return False
        self._exitcode = os.waitstatus_to_exitcode(status)
        _children.discard(self)
        return True

    def join(self, timeout=None):
        """Waits for the child to end, at most `timeout` seconds (None: no limit)."""
        self._check_closed()
        assert self._parent_pid == os.getpid(), "can only join a child process"
        assert self._pid is not None, "can only join a started process"
        if self._exitcode is not None:
            return
        if timeout is None:
            while not self._reap(False):
                select.select([self._pidfd], [], [], 0.5)
            return
        if select.select([self._pidfd], [], [], max(0.0, timeout))[0]:
            self._reap(False)

    def is_alive(self):
        self._check_closed()
        if self is _current_process:
            return True
        if self._pid is None or self._parent_pid != os.getpid():
            return False
        return not self._reap(False)

    def terminate(self):
        """SIGTERM to the child, through its pidfd. No effect once it ended."""
        self._signal(signal.SIGTERM)

    def kill(self):
        """SIGKILL to the child, through its pidfd. No effect once it ended."""
        self._signal(signal.SIGKILL)

    def _signal(self, signo):
        self._check_closed()
        if self._pidfd is not None and self._exitcode is None:
            try:
                signal.pidfd_send_signal(self._pidfd, signo)
            except ProcessLookupError:
                pass

    def close(self):
        """Releases the pidfd; ValueError while the child runs."""
        if self._closed:
            return
        if self._pid is not None and not self._reap(False):
            raise ValueError("Cannot close a process while it is still running. "
                             "You should first call join() or terminate().")
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self._closed = True

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        assert isinstance(value, str), "name must be a string"
        self._name = value

    @property
    def daemon(self):
        return self._daemonic

    @daemon.setter
    def daemon(self, value):
        assert self._pid is None, "process has already started"
        self._daemonic = bool(value)

    @property
    def pid(self):
        """The child's pid; None before start()."""
        self._check_closed() if self is not _current_process else None
        return self._pid

    ident = pid

    @property
    def exitcode(self):
        """None before start and while running; the exit code; -N if signal N ended it."""
        self._check_closed()
        if self._pid is None or self is _current_process:
            return None
        self._reap(False)
        return self._exitcode

    @property
    def sentinel(self):
        """A file descriptor (the child's pidfd) that becomes readable when the child ends."""
        self._check_closed()
        if self._pidfd is None:
            raise ValueError("process not started")
        return self._pidfd

    @property
    def authkey(self):
        """The key a Manager or Listener uses when given none (as Python's: the main process's
        is random, a child inherits its parent's)."""
        return self._authkey

    @authkey.setter
    def authkey(self, authkey):
        if not isinstance(authkey, bytes):
            raise TypeError("authkey should be a byte string")
        self._authkey = authkey

    def __repr__(self):
        if self._closed:
            status = "closed"
        elif self is _current_process:
            status = "started"
        elif self._pid is None:
            status = "initial"
        else:
            code = self.exitcode
            status = "started" if code is None else f"stopped exitcode={code}"
        daemon = " daemon" if self._daemonic else ""
        return f"<{type(self).__name__} name={self._name!r} {status}{daemon}>"

    def __del__(self):
        try:
            if self._pidfd is not None and self._parent_pid == os.getpid():
                if self._exitcode is None:
                    return  # still running: active_children / exit reap it (kept in _children)
                os.close(self._pidfd)
                self._pidfd = None
        except Exception:
            pass


class Process(BaseProcess):
    pass


class _MainProcess(BaseProcess):
    def __init__(self):
        self._identity = ()
        self._name = "MainProcess"
        self._daemonic = False
        self._authkey = os.urandom(32)
        self._pid = None
        self._pidfd = None
        self._exitcode = None
        self._closed = False
        self._counter = itertools.count(1)
        self._parent_pid = None

    @property
    def pid(self):
        return os.getpid()

    ident = pid


class _ParentProcess(BaseProcess):
    """parent_process() in a child: its name and pid (Python's too gives no control of it)."""

    def __init__(self, name, pid):
        self._identity = ()
        self._name = name
        self._authkey = None
        self._pid = pid
        self._parent_pid = None
        self._daemonic = False
        self._closed = False
        self._exitcode = None
        self._pidfd = None

    def is_alive(self):
        try:
            os.kill(self._pid, 0)
            return os.getppid() == self._pid
        except OSError:
            return False

    @property
    def pid(self):
        return self._pid

    ident = pid

    def join(self, timeout=None):
        raise AssertionError("can only join a child process")


_current_process = _MainProcess()
_parent_process = None
_lock = threading.Lock()


def current_process():
    """The Process object of the calling process."""
    return _current_process


def parent_process():
    """The parent's Process object in a child; None in the main process."""
    return _parent_process


def _cleanup():
    for p in list(_children):
        p._reap(False)


def active_children():
    """The children of this process still running (reaping those that ended)."""
    _cleanup()
    return list(_children)


def _exit_function():
    """At exit, as Python: daemonic children are terminated, the others joined."""
    for p in list(_children):
        if p.daemon and p._parent_pid == os.getpid():
            p.terminate()
    for p in list(_children):
        if p._parent_pid == os.getpid():
            p.join()


atexit.register(_exit_function)
