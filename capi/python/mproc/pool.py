"""Pool: multiprocessing.Pool on the library's Pool, whose workers run Python callables.

How a Python task runs. Every task is one call of a single ctypes callback, `_TRAMPOLINE`, made in
a worker with a pickle of (mode, initializer, function, arguments): it unpickles them, calls the
function (once, or over a chunk of map's items), and sets the task's output to a pickle of
(True, result) or (False, exception, traceback text). The caller unpickles that, and raises the
worker's exception again with the remote traceback as its __cause__, as multiprocessing does.

Why a fork server. A worker must run Python, so the thread that forks it must hold the GIL: a
process forked from a thread that does not (the library's dispatcher thread, which forks the
workers of a MPROC_START_FORK pool and their replacements) inherits a GIL held by a thread that
does not exist in it, and deadlocks at its first Python call. So the pools here use the library's
forkserver start method, and the server is forked by a call through ctypes.PyDLL (which keeps the
GIL) from the thread that creates the Pool: the server is a single-threaded copy of the interpreter
whose only thread holds the GIL, and every worker, the replacements of dead ones included, is a
fork of it. Each worker starts with PyOS_AfterFork_Child, as os.fork's child does: the GIL, the
import lock and the thread states of threads that do not exist there are reset and the at-fork
hooks run (random reseeds). It must run in C, before the worker runs any Python code: it is the
pool's plain_initializer, which the worker's C loop calls first. The server's memory is a copy of
this process taken while other Python threads may be waiting for the GIL; one that waited longer
than the switch interval has set the interpreter's "drop the GIL" request, and Python code run in
the worker before PyOS_AfterFork_Child would honour it: drop the GIL and wait, forever, for a
thread that does not exist in the worker to take it. Workers are copies of the program as it was
when the server started: the server is started again (a fresh copy) whenever a Pool is made while
no other Pool of this process is alive, so a Pool sees what its creator had defined, as with
multiprocessing's fork.
Functions cross by reference (pickle), so they must be importable: module-level, as in Python.
"""

import atexit
import ctypes
import itertools
import os
import pickle
import sys
import threading
import traceback
import weakref

from . import _lib
from ._lib import _int, _int64, _size, _voidp, _pvoidp, _psize, check

__all__ = ["Pool", "ThreadPool", "AsyncResult", "ApplyResult", "MapResult", "IMapIterator"]


def __getattr__(name):
    """ThreadPool is Python's own (threads: nothing for mproc to do), imported when first used."""
    if name == "ThreadPool":
        from multiprocessing.pool import ThreadPool
        return ThreadPool
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TASK_FN = ctypes.CFUNCTYPE(_int, _voidp, _size, _voidp, _voidp)
_dumps, _loads, _PROTOCOL = pickle.dumps, pickle.loads, pickle.HIGHEST_PROTOCOL
_APPLY, _MAP, _STARMAP = 0, 1, 2
_DEFAULT_CHUNKS_PER_WORKER = 8
_MAX_DEFAULT_CHUNK = 16384


class _PoolOptions(ctypes.Structure):
    _fields_ = [("struct_size", _size), ("processes", _int), ("start_method", _int),
                ("maxtasksperchild", _size), ("initializer", _voidp),
                ("initializer_data", _voidp), ("on_progress", _voidp),
                ("progress_data", _voidp), ("plain_initializer", _voidp)]


class _Bytes(ctypes.Structure):
    _fields_ = [("data", _voidp), ("len", _size)]


_d = _lib.declare
_options_init = _d("mproc_pool_options_init", None, [ctypes.POINTER(_PoolOptions)])
_create = _d("mproc_pool_create", _int, [ctypes.POINTER(_PoolOptions), _pvoidp])
# Forks the server: through PyDLL, with the GIL held (see the module's docstring).
_start_forkserver = _d("mproc_forkserver_start", _int, [], dll=_lib.pylib)
_stop_forkserver = _d("mproc_forkserver_stop", _int, [])
_submit = _d("mproc_pool_submit", _int,
             [_voidp, _TASK_FN, ctypes.c_char_p, _size, _voidp, _voidp, _pvoidp])
_future_wait = _d("mproc_future_wait", _int, [_voidp, _int64])
_future_ready = _d("mproc_future_ready", _int, [_voidp])
_future_get = _d("mproc_future_get", _int, [_voidp, _int64, _pvoidp, _psize])
_future_destroy = _d("mproc_future_destroy", _int, [_voidp])
_imap = _d("mproc_pool_imap", _int, [_voidp, _TASK_FN, _voidp, ctypes.POINTER(_Bytes), _size,
                                     _size, _voidp, _pvoidp])
_imap_unordered = _d("mproc_pool_imap_unordered", _int,
                     [_voidp, _TASK_FN, _voidp, ctypes.POINTER(_Bytes), _size, _size, _voidp,
                      _pvoidp])
_iterator_next = _d("mproc_pool_iterator_next", _int, [_voidp, _int64, _pvoidp, _psize])
_iterator_destroy = _d("mproc_pool_iterator_destroy", _int, [_voidp])
_close = _d("mproc_pool_close", _int, [_voidp])
_join = _d("mproc_pool_join", _int, [_voidp])
_terminate = _d("mproc_pool_terminate", _int, [_voidp])
_destroy = _d("mproc_pool_destroy", _int, [_voidp])
_worker_pids = _d("mproc_pool_worker_pids", _int, [_voidp, ctypes.POINTER(_int), _size])
_result_set = _d("mproc_task_result_set", _int, [_voidp, ctypes.c_char_p, _size])
_buffer_free = _lib.buffer_free
_byref = ctypes.byref
_ETIMEDOUT = _lib.ETIMEDOUT
_string_at = ctypes.string_at
# A read-only memoryview of C memory (CPython's C API, called with the GIL held): an output is
# unpickled where the library put it, without string_at's copy into a bytes object. Measured on
# a 12 500-int chunk's pickle (37 KB): 106 us against 137 us with the copy. Its own function
# pointer, so that ctypes.pythonapi's shared attribute keeps whatever types its users set.
_memory_view = ctypes.PYFUNCTYPE(ctypes.py_object, _voidp, ctypes.c_ssize_t, _int)(
    ("PyMemoryView_FromMemory", ctypes.pythonapi))
_PYBUF_READ = 0x100


def _unpickle_at(address, length):
    """The object pickled at address[0, length) (C memory the caller frees afterwards: the view
    is released first, and unpickling copies what it keeps). A small one is copied after all:
    the view's making and release cost 0.2 us more than the copy of a 17-byte apply result."""
    if length < 4096:
        return _loads(_string_at(address, length))
    with _memory_view(address, length, _PYBUF_READ) as view:
        return _loads(view)


# ---- in the worker ------------------------------------------------------------------------------

_worker_pid = None
_initialized = set()


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (the __cause__ of the one raised here)."""

    def __init__(self, tb):
        super().__init__(tb)
        self.tb = tb

    def __str__(self):
        return self.tb


class MaybeEncodingError(Exception):
    """A worker's result or exception that could not be pickled."""

    def __init__(self, exc, value):
        self.exc, self.value = repr(exc), repr(value)
        super().__init__(self.exc, self.value)

    def __str__(self):
        return f"Error sending result: '{self.value}'. Reason: '{self.exc}'"


def _become_worker():
    """The first task in a new worker (which has run PyOS_AfterFork_Child already, see the
    module's docstring): the worker's own identity."""
    global _worker_pid
    _worker_pid = os.getpid()
    _initialized.clear()
    from . import process
    worker = process.Process.__new__(process.Process)
    authkey = process._current_process.authkey  # the pool's creator's, as Python's workers
    process._MainProcess.__init__(worker)
    worker._authkey = authkey
    worker._name = f"ForkPoolWorker-{_worker_pid}"
    worker._daemonic = True
    worker._pid = _worker_pid
    process._current_process = worker
    process._parent_process = process._ParentProcess("MainProcess", os.getppid())
    process._children = set()


def _failure(exc):
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    tb = '\n"""\n' + tb + '"""'
    try:
        return _dumps((False, exc, tb), _PROTOCOL)
    except BaseException as e:
        return _dumps((False, MaybeEncodingError(e, exc), tb), _PROTOCOL)


def _run_task(data, length, _user_data, result):
    """The task callback (runs in a worker). Never raises: ctypes would print and return 0."""
    try:
        try:
            if _worker_pid != os.getpid():
                _become_worker()
            mode, init, func, args, kwds = _loads(_string_at(data, length))
            if init is not None and init[0] not in _initialized:
                init[1](*init[2])
                _initialized.add(init[0])
            if mode == _APPLY:
                value = func(*args, **kwds)
            elif mode == _MAP:
                value = list(map(func, args))
            else:
                value = list(itertools.starmap(func, args))
            try:
                out = _dumps((True, value), _PROTOCOL)
            except BaseException as e:
                out = _dumps((False, MaybeEncodingError(e, value), ""), _PROTOCOL)
        except BaseException as e:
            out = _failure(e)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        _result_set(result, out, len(out))
        return 0
    except BaseException:
        return 1


# Made at import, before any fork server exists: the server and its workers are copies of this
# process, so the callback's code must be in memory before the server is forked.
_TRAMPOLINE = _TASK_FN(_run_task)
# CPython's fork handling for a child forked by C code, run by each worker before its first task.
_AFTER_FORK_CHILD = ctypes.cast(ctypes.pythonapi.PyOS_AfterFork_Child, _voidp).value


# ---- in the caller ------------------------------------------------------------------------------

_live_pools = weakref.WeakSet()
_server_lock = threading.Lock()
_fetch_lock = threading.Lock()


def _ensure_forkserver():
    """Starts the fork server (anew when no Pool of ours is alive, so that workers see what the
    program has defined by now), from this thread, with the GIL held."""
    with _server_lock:
        if not _live_pools:
            check(_stop_forkserver())
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, ValueError, OSError):
                pass
        check(_start_forkserver())


def _at_exit():
    """As multiprocessing's exit handler: pools still alive are terminated; then the fork server
    is stopped (it would otherwise notice this process's end within a second)."""
    for pool in list(_live_pools):
        try:
            if pool._owner == os.getpid():
                pool.terminate()
        except Exception:
            pass
    _stop_forkserver()


atexit.register(_at_exit)


def _sequence(iterable):
    """The items of `iterable` as a sequence: a range, list or tuple as it is (sliced without a
    copy), anything else listed."""
    return iterable if type(iterable) in (range, list, tuple) else list(iterable)


def _raise_remote(ok_payload):
    ok, exc, tb = ok_payload
    if tb:
        exc.__cause__ = RemoteTraceback(tb)
    raise exc


def _decode(rc, out, length):
    """A future's or iterator's output: (True, value) or (False, exception, tb)."""
    if rc == 0:
        try:
            return _unpickle_at(out, length.value)
        finally:
            _buffer_free(out)
    return (False, _lib.error(rc), "")


class ApplyResult:
    """The result of apply_async: get(timeout), wait(timeout), ready(), successful()."""

    def __init__(self, pool, future, callback=None, error_callback=None, held=None):
        self._pool = pool
        self._future = future
        self._outcome = None
        # The task's arguments, until its outcome is here: a shared object among them (a Lock, a
        # Queue) travels by handle, which names nothing once its last object here is gone, so the
        # caller may drop its own before the worker attaches.
        self._held = held
        self._callback = callback
        self._error_callback = error_callback
        self._callbacks_done = None
        if callback is not None or error_callback is not None:
            self._callbacks_done = threading.Event()
            pool._watch(self)

    def _fetch(self, ms):
        """Takes the outcome once resolved; False if not resolved within ms."""
        if self._outcome is not None:
            return True
        out, length = _voidp(), _size()
        first = _lib.SLICE_MS if ms == -1 or ms > _lib.SLICE_MS else ms
        rc = _future_get(self._future, first, _byref(out), _byref(length))
        if rc == _ETIMEDOUT and ms != first:  # a long wait: in slices, for Ctrl-C
            rc = _lib.wait_sliced(
                lambda ms_: _future_get(self._future, ms_, _byref(out), _byref(length)),
                ms, _ETIMEDOUT)
        with _fetch_lock:  # two threads may get() one result: the first one takes it
            if self._outcome is not None:
                if rc == 0:
                    _buffer_free(out.value)
                return True
            if rc == _ETIMEDOUT:
                if _future_ready(self._future) != 1:
                    return False
                rc = _future_get(self._future, 0, _byref(out), _byref(length))  # resolved since
            self._outcome = _decode(rc, out.value, length)
            self._held = None
        # The future is destroyed with this object (__del__), never here: another thread may be
        # inside a call on it (a second get(), the callback thread's wait while terminate() fetches
        # every result), and destroying it under that call would free what the call is using.
        return True

    def _finish_callbacks(self):
        """In the pool's callback thread: the callback or error_callback, once."""
        try:
            if self._outcome[0]:
                if self._callback is not None:
                    self._callback(self._outcome[1])
            elif self._error_callback is not None:
                exc = self._outcome[1]
                self._error_callback(exc)
        except BaseException:
            traceback.print_exc()
        finally:
            self._callbacks_done.set()

    def ready(self):
        if self._outcome is not None:
            return self._callbacks_done is None or self._callbacks_done.is_set()
        return _future_ready(self._future) == 1 and self._callbacks_done is None

    def successful(self):
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        self._fetch(0)
        return bool(self._outcome[0])

    def wait(self, timeout=None):
        ms = _lib.timeout_ms(None if timeout is None else max(0.0, timeout))
        if self._callbacks_done is not None:
            self._callbacks_done.wait(timeout)
            return
        self._fetch(ms)

    def get(self, timeout=None):
        """The task's result; its exception raised again; multiprocessing.TimeoutError if it is
        not ready in time; WorkerDiedError if its worker died."""
        ms = _lib.timeout_ms(None if timeout is None else max(0.0, timeout))
        if self._callbacks_done is not None:
            if not self._callbacks_done.wait(timeout):
                from . import TimeoutError as MpTimeoutError
                raise MpTimeoutError
        elif not self._fetch(ms):
            from . import TimeoutError as MpTimeoutError
            raise MpTimeoutError
        if self._outcome[0]:
            return self._outcome[1]
        _raise_remote(self._outcome)

    def __del__(self):
        try:
            if self._future is not None:
                future, self._future = self._future, None
                if self._held is not None and self._pool._h is not None:
                    self._pool._watch(_Orphan(self._pool, future, self._held))
                else:
                    _future_destroy(future)
        except Exception:
            pass


AsyncResult = ApplyResult


class _Orphan(ApplyResult):
    """A pending result its caller dropped: the callback thread keeps its task's arguments until
    its outcome arrives (as Python's pool keeps the task in its cache), then lets both go."""

    def __init__(self, pool, future, held):
        super().__init__(pool, future, held=held)
        self._callbacks_done = threading.Event()  # what the callback thread sets when done


class MapResult(ApplyResult):
    """The result of map_async / starmap_async: one future per chunk."""

    def __init__(self, pool, futures, callback=None, error_callback=None, length=0, held=None):
        self._parts = [ApplyResult(pool, f) for f in futures]
        self._length = length
        super().__init__(pool, None, callback, error_callback, held)

    def _fetch(self, ms):
        if self._outcome is not None:
            return True
        import time
        deadline = None if ms == -1 else time.monotonic() + ms / 1000
        # The whole list at once, each chunk's results assigned into it: growing it chunk by
        # chunk (extend) reallocated it some 20 times over 200 000 items, and each reallocation
        # of a large list touches fresh pages: 522 page faults per map against 99.
        values = [None] * self._length
        at = 0
        failure = None
        out, length = _voidp(), _size()
        for part in self._parts:
            # The common case inline (a chunk's list of results, the future still ours): one
            # C call and one unpickle per chunk, no per-part bookkeeping.
            future = part._future
            if part._outcome is None and future is not None and deadline is None:
                rc = _future_get(future, _lib.SLICE_MS, _byref(out), _byref(length))
                if rc == 0:
                    try:
                        outcome = _unpickle_at(out.value, length.value)
                    finally:
                        _buffer_free(out.value)
                    if outcome[0]:
                        chunk = outcome[1]
                        end = at + len(chunk)
                        values[at:end] = chunk
                        at = end
                        continue
                    part._outcome = outcome
                elif rc != _ETIMEDOUT:
                    part._outcome = _decode(rc, None, length)
            if part._outcome is None:
                left = -1 if deadline is None else \
                    max(0, int((deadline - time.monotonic()) * 1000))
                if not part._fetch(left):
                    return False
            if part._outcome[0]:
                chunk = part._outcome[1]
                end = at + len(chunk)
                values[at:end] = chunk
                at = end
            elif failure is None:
                failure = part._outcome
        self._outcome = failure if failure is not None else (True, values)
        self._held = None
        return True

    def ready(self):
        if self._outcome is not None:
            return self._callbacks_done is None or self._callbacks_done.is_set()
        return self._callbacks_done is None and all(p.ready() for p in self._parts)

    def __del__(self):
        # Dropped before its outcome: each pending chunk keeps the inputs (see ApplyResult.__del__).
        if self._held is not None:
            for part in self._parts:
                if part._outcome is None:
                    part._held = self._held


class IMapIterator:
    """imap / imap_unordered: next(timeout) -> the next result; a chunk whose task failed raises
    its exception (once per chunk) and the iteration goes on."""

    def __init__(self, pool, payloads, unordered, chunked, held):
        self._pool = pool
        self._payloads = payloads  # must outlive the iteration: the library reads them lazily
        self._held = held  # the inputs: their shared objects stay valid (see ApplyResult)
        self._inputs = (_Bytes * max(1, len(payloads)))()
        for item, payload in zip(self._inputs, payloads):
            item.data = ctypes.cast(ctypes.c_char_p(payload), _voidp)
            item.len = len(payload)
        out = _voidp()
        create = _imap_unordered if unordered else _imap
        check(create(pool._h, _TRAMPOLINE, None, self._inputs, len(payloads), 1, None,
                     ctypes.byref(out)))
        self._it = out.value
        self._chunked = chunked
        self._buffered = []

    def __iter__(self):
        return self

    def next(self, timeout=None):
        if self._buffered:
            return self._buffered.pop()
        if self._it is None:
            raise StopIteration
        out, length = _voidp(), _size()
        ms = _lib.timeout_ms(None if timeout is None else max(0.0, timeout))
        rc = _lib.wait_sliced(
            lambda ms_: _iterator_next(self._it, ms_, ctypes.byref(out), ctypes.byref(length)),
            ms, _lib.ETIMEDOUT)
        if rc == _ETIMEDOUT:
            from . import TimeoutError as MpTimeoutError
            raise MpTimeoutError
        if rc == _lib.EEOF:
            it, self._it = self._it, None
            _iterator_destroy(it)
            self._payloads = self._inputs = None
            raise StopIteration
        outcome = _decode(rc, out.value, length)
        if not outcome[0]:
            _raise_remote(outcome)
        if not self._chunked:
            return outcome[1]
        values = outcome[1]
        values.reverse()
        self._buffered = values
        return self.next(timeout)

    __next__ = next

    def __del__(self):
        try:
            if self._it is not None:
                it, self._it = self._it, None
                _iterator_destroy(it)
        except Exception:
            pass


class Pool:
    """multiprocessing.Pool(processes=None, initializer=None, initargs=(), maxtasksperchild=None).

    Unlike Python's, a worker that dies (a signal, os._exit, a crash) fails only the task it was
    running, with WorkerDiedError naming its pid and signal; the worker is replaced, every other
    task goes on and join() returns. Thread-safety: any thread may submit and get results."""

    _tokens = itertools.count(1)

    def __init__(self, processes=None, initializer=None, initargs=(), maxtasksperchild=None,
                 context=None):
        if processes is None:
            processes = _lib.cpu_count_()
        if not isinstance(processes, int) or processes < 1:
            raise ValueError("Number of processes must be at least 1")
        if maxtasksperchild is not None and (not isinstance(maxtasksperchild, int) or
                                             maxtasksperchild <= 0):
            raise ValueError("maxtasksperchild must be a positive int or None")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._processes = processes
        self._init = None
        if initializer is not None:
            self._init = (f"{os.getpid()}-{next(self._tokens)}", initializer, tuple(initargs))
        self._state = "RUN"
        self._watched = []
        self._watch_cond = threading.Condition()
        self._watcher = None
        self._h = None
        options = _PoolOptions()
        _options_init(ctypes.byref(options))
        options.processes = processes
        options.start_method = 1  # MPROC_START_FORKSERVER
        options.maxtasksperchild = maxtasksperchild or 0
        options.plain_initializer = _AFTER_FORK_CHILD
        _ensure_forkserver()
        out = _voidp()
        check(_create(ctypes.byref(options), ctypes.byref(out)))
        self._h = out.value
        self._owner = os.getpid()
        _live_pools.add(self)

    # -- submission -----------------------------------------------------------------------------

    def _check_running(self):
        if self._state != "RUN":
            raise ValueError("Pool not running")

    def _submit(self, payload):
        future = _voidp()
        rc = _submit(self._h, _TRAMPOLINE, payload, len(payload), None, None,
                     ctypes.byref(future))
        if rc < 0:
            if rc in (_lib.ECLOSED, _lib.ETERMINATED):
                raise ValueError("Pool not running")
            raise _lib.error(rc)
        return future.value

    def apply_async(self, func, args=(), kwds={}, callback=None, error_callback=None):
        self._check_running()
        payload = _dumps((_APPLY, self._init, func, args, kwds), _PROTOCOL)
        return ApplyResult(self, self._submit(payload), callback, error_callback, (args, kwds))

    def apply(self, func, args=(), kwds={}):
        return self.apply_async(func, args, kwds).get()

    def _chunks(self, func, iterable, chunksize, mode):
        """(the items as a sequence, a generator of the chunks' payloads)."""
        # A range's chunks are ranges, whose pickles are three numbers: the items are neither
        # pickled here nor unpickled in the worker (the results still are).
        items = _sequence(iterable)
        if chunksize is None:
            chunksize, extra = divmod(len(items), self._processes * _DEFAULT_CHUNKS_PER_WORKER)
            if extra or not chunksize:
                chunksize += 1
            # Python's rule with 8 chunks per worker instead of 4, capped: each chunk costs a
            # submit, a wake-up of the caller and an unpickle of its list, while more chunks than
            # Python's keep both workers busy to the end when one is descheduled. Measured on a
            # loaded 2-core machine, 200 000 tiny items (alternating in one pool, 20 rounds):
            # chunks of 12 500 took 12.7 ms of CPU (caller 4.7 ms, fastest wall 8.0 ms), of 2048
            # 14.5 ms (caller 6.2 ms, fastest 10.0 ms), of 25 000 (Python's) 13.0 ms (11.1 ms).
            # Chunks that shrink towards the end (a guided schedule: 20 or 25 chunks, the last
            # ones of ~1000 items, to shorten the caller's unpickling after the workers finish)
            # measured no better, at real-time priority to take the machine's load out (wall
            # medians 11.6-12.2 ms either way, 30 rounds alternating).
            chunksize = min(chunksize, _MAX_DEFAULT_CHUNK)
        if chunksize < 1:
            raise ValueError(f"Chunksize must be 1+, not {chunksize:d}")
        # A generator: map_async submits each chunk as soon as it is pickled, so the workers
        # start while the rest is being pickled.
        return items, (_dumps((mode, self._init, func, items[i:i + chunksize], None),
                              _PROTOCOL) for i in range(0, len(items), chunksize))

    def map_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        self._check_running()
        items, payloads = self._chunks(func, iterable, chunksize, _MAP)
        return MapResult(self, [self._submit(p) for p in payloads], callback, error_callback,
                         len(items), items)

    def starmap_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        self._check_running()
        items, payloads = self._chunks(func, iterable, chunksize, _STARMAP)
        return MapResult(self, [self._submit(p) for p in payloads], callback, error_callback,
                         len(items), items)

    def map(self, func, iterable, chunksize=None):
        return self.map_async(func, iterable, chunksize).get()

    def starmap(self, func, iterable, chunksize=None):
        return self.starmap_async(func, iterable, chunksize).get()

    def _imap(self, func, iterable, chunksize, unordered):
        self._check_running()
        if chunksize < 1:
            raise ValueError(f"Chunksize must be 1+, not {chunksize:d}")
        items = _sequence(iterable)
        if chunksize == 1:
            payloads = [_dumps((_APPLY, self._init, func, (x,), {}), _PROTOCOL) for x in items]
            return IMapIterator(self, payloads, unordered, False, items)
        return IMapIterator(self, list(self._chunks(func, items, chunksize, _MAP)[1]),
                            unordered, True, items)

    def imap(self, func, iterable, chunksize=1):
        return self._imap(func, iterable, chunksize, False)

    def imap_unordered(self, func, iterable, chunksize=1):
        return self._imap(func, iterable, chunksize, True)

    # -- callbacks: run in one thread of this process, as Python's result handler ---------------

    def _watch(self, result):
        with self._watch_cond:
            self._watched.append(result)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch_loop, daemon=True,
                                                 name="mproc-pool-callbacks")
                self._watcher.start()
            self._watch_cond.notify()

    def _watch_loop(self):
        while True:
            with self._watch_cond:
                while not self._watched:
                    if self._state == "DONE":
                        self._watcher = None
                        return
                    self._watch_cond.wait(0.5)
                pending = list(self._watched)
            done = []
            if not pending[0]._fetch(20):  # the oldest first, then whatever else is ready
                done = [r for r in pending[1:] if r._outcome is not None or r.ready_raw()]
            else:
                done = [pending[0]] + [r for r in pending[1:] if r.ready_raw()]
            for r in done:
                r._fetch(0)
                r._finish_callbacks()
            if done:
                with self._watch_cond:
                    ids = set(map(id, done))
                    self._watched = [r for r in self._watched if id(r) not in ids]
                    self._watch_cond.notify_all()

    def _wait_callbacks(self):
        with self._watch_cond:
            while self._watched:
                self._watch_cond.wait(0.5)

    # -- lifetime -------------------------------------------------------------------------------

    def close(self):
        """No more tasks; the workers exit once the submitted ones are done."""
        if self._state == "RUN":
            self._state = "CLOSE"
            check(_close(self._h))

    def terminate(self):
        """Kills the workers now; tasks not finished fail with BrokenPoolError."""
        if self._h is None:
            return
        self._state = "TERMINATE"
        check(_terminate(self._h))
        with self._watch_cond:
            for r in self._watched:
                r._fetch(0)
                r._callbacks_done.set()
            self._watched = []
            self._watch_cond.notify_all()
        self._release()

    def join(self):
        """Waits for every submitted task (and its callback) and for the workers to exit."""
        if self._state == "RUN":
            raise ValueError("Pool is still running")
        if self._h is None:
            return
        check(_join(self._h))
        self._wait_callbacks()
        self._release()

    def _release(self):
        h, self._h = self._h, None
        if h is not None and self._owner == os.getpid():
            _destroy(h)
        with self._watch_cond:
            self._state = "DONE" if self._state != "RUN" else self._state
            self._watch_cond.notify_all()
        _live_pools.discard(self)

    def worker_pids(self):
        """The pids of the live workers (an mproc extension: they change as workers are
        replaced)."""
        if self._h is None:
            return []
        pids = (_int * 1024)()
        n = check(_worker_pids(self._h, pids, 1024))
        return list(pids[:min(n, 1024)])

    def __enter__(self):
        self._check_running()
        return self

    def __exit__(self, *exc_info):
        self.terminate()

    def __del__(self):
        try:
            if self._h is not None and self._owner == os.getpid():
                self._state = "TERMINATE"
                self._release()
        except Exception:
            pass

    def __repr__(self):
        return f"<mproc.pool.Pool state={self._state} pool_size={self._processes}>"


def _ready_raw(self):
    return self._outcome is not None or (self._future is not None and
                                         _future_ready(self._future) == 1)


def _map_ready_raw(self):
    return self._outcome is not None or all(_ready_raw(p) for p in self._parts)


ApplyResult.ready_raw = _ready_raw
MapResult.ready_raw = _map_ready_raw
