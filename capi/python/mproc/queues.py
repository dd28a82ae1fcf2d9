"""Queue, SimpleQueue, JoinableQueue: multiprocessing's, on the library's shared-memory rings.

Objects are pickled into a ring in a named shared-memory segment; there is no feeder thread, so a
put has happened when it returns. A queue is inherited by forked children and can be pickled (into
Pool tasks, through another queue): the pickle is the segment's handle, attached on arrival. By
default a queue is bounded only by memory (and maxsize), as multiprocessing's. With capacity_bytes
given it keeps one fixed ring of that size instead: a put of an object whose pickle is longer than
that ring can ever hold raises ValueError, and a put into a full ring waits for room even when
maxsize is 0.
"""

import ctypes
import pickle
import queue as _queue
import threading

from . import _lib
from ._handle import Handle
from ._lib import _int, _int64, _size, _voidp, _pvoidp, _psize, check

__all__ = ["Queue", "SimpleQueue", "JoinableQueue"]

_KIND_QUEUE, _KIND_SIMPLE, _KIND_JOINABLE = 0, 1, 2


class _Options(ctypes.Structure):
    _fields_ = [("struct_size", _size), ("kind", _int), ("maxsize", _int64),
                ("capacity_bytes", _int64)]


_create = _lib.declare("mproc_queue_create", _int, [ctypes.POINTER(_Options), _pvoidp])
_attach = _lib.declare("mproc_queue_attach", _int, [ctypes.c_char_p, _pvoidp])
_handle = _lib.declare("mproc_queue_handle", _int, [_voidp, ctypes.c_char_p, _size])
_kind = _lib.declare("mproc_queue_kind", _int, [_voidp])
_put = _lib.declare("mproc_queue_put", _int, [_voidp, ctypes.c_char_p, _size, _int64])
_get_into = _lib.declare("mproc_queue_get_into", _int, [_voidp, _voidp, _size, _psize, _int64])
_qsize = _lib.declare("mproc_queue_qsize", _int, [_voidp])
_empty = _lib.declare("mproc_queue_empty", _int, [_voidp])
_full = _lib.declare("mproc_queue_full", _int, [_voidp])
_task_done = _lib.declare("mproc_queue_task_done", _int, [_voidp])
_join = _lib.declare("mproc_queue_join", _int, [_voidp, _int64])
_close = _lib.declare("mproc_queue_close", _int, [_voidp])
_destroy = _lib.declare("mproc_queue_destroy", _int, [_voidp])
# The same two calls without argument conversion, for put/get's common case (see declare_raw).
_put_raw = _lib.declare_raw("mproc_queue_put")
_get_into_raw = _lib.declare_raw("mproc_queue_get_into")

_SMALL = 4096
_SLICE = _lib.SLICE_MS
_EEMPTY = _lib.EEMPTY
_byref = ctypes.byref
_KEEP_MAX = 16 << 20
_dumps, _loads, _PROTOCOL = pickle.dumps, pickle.loads, pickle.HIGHEST_PROTOCOL
_NO_WAIT, _SLICE_C = _int64(0), _int64(_SLICE)


class _GetState(threading.local):
    """Each thread's receive buffer for get() with its ctypes arguments made once (per thread,
    because the C call runs without the GIL): `state` = (buffer, its size as c_size_t, the
    length out, byref of it, a memoryview of the buffer)."""

    def __init__(self):
        self.set(ctypes.create_string_buffer(_SMALL))

    def set(self, buf):
        length = _size()
        self.state = (buf, _size(len(buf)), length, _byref(length), memoryview(buf).cast("B"))
        return self.state


_local = _GetState()


# MPROC_ETIMEDOUT from a put or get: another process held the queue's lock for the whole wait (a
# stopped process). Nothing was put or taken, so it is Python's Full or Empty, and a longer wait
# goes on to its next slice.
def _put_once(h, data, ms):
    rc = _put(h, data, len(data), ms)
    return _lib.EFULL if rc == _lib.ETIMEDOUT else rc


def _get_once(h, buf, length, ms):
    rc = _get_into(h, buf, len(buf), _byref(length), ms)
    return _EEMPTY if rc == _lib.ETIMEDOUT else rc


def _attach_queue(cls, handle):
    out = _voidp()
    check(_attach(handle.encode(), ctypes.byref(out)))
    q = cls.__new__(cls)
    q._init_handle(out.value)
    return q


class Queue(Handle):
    """multiprocessing.Queue(maxsize=0). Thread-safety: any thread, any process, at once."""

    _kind = _KIND_QUEUE

    def __init__(self, maxsize=0, *, capacity_bytes=0, ctx=None):
        if maxsize is None or maxsize < 0:
            maxsize = 0
        options = _Options(ctypes.sizeof(_Options), self._kind, maxsize, capacity_bytes)
        out = _voidp()
        check(_create(ctypes.byref(options), ctypes.byref(out)))
        self._init_handle(out.value)
        self._maxsize = maxsize

    def _init_handle(self, handle):
        self._h = handle
        self._hv = _voidp(handle)  # for the raw calls
        self._closed = False
        self._buf_key = id(self)

    @classmethod
    def _from_handle(cls, handle):
        q = cls.__new__(cls)
        q._init_handle(handle)
        return q

    def _raise(self, rc):
        if rc == _lib.ECLOSED:
            raise ValueError(f"Queue {self!r} is closed")
        if rc == _lib.ETOOBIG:
            raise ValueError("object too large for the queue: " + _lib.last_error_message())
        raise _lib.error(rc)

    def put(self, obj, block=True, timeout=None):
        """Puts a picklable object; queue.Full if there is no room in time."""
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        ms = -1 if block and timeout is None else _lib.timeout_ms(timeout, block)  # checks it
        data = _dumps(obj, _PROTOCOL)
        rc = _put_raw(self._hv, data, _size(len(data)), _NO_WAIT)  # the common case: room
        if rc == 0:
            return
        if rc == _lib.ETIMEDOUT:
            rc = _lib.EFULL
        if rc == _lib.EFULL and ms != 0:
            rc = _lib.wait_sliced(lambda ms_: _put_once(self._h, data, ms_), ms, _lib.EFULL)
            if rc == 0:
                return
        if rc == _lib.EFULL:
            raise _queue.Full
        self._raise(rc)

    def put_nowait(self, obj):
        return self.put(obj, False)

    def get(self, block=True, timeout=None):
        """Takes the next object; queue.Empty if there is none in time."""
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        buf, size, length, plength, view = _local.state
        if block and timeout is None:  # the common case: no conversion
            ms, first = -1, _SLICE
            rc = _get_into_raw(self._hv, buf, size, plength, _SLICE_C)
        else:
            ms = _lib.timeout_ms(timeout, block)
            first = _SLICE if ms == -1 or ms > _SLICE else ms  # one call in the common case
            rc = _get_into_raw(self._hv, buf, size, plength, _int64(first))
        if rc == 0:
            return _loads(view[:length.value])
        if rc == _lib.ETIMEDOUT:
            rc = _EEMPTY
        if rc == _EEMPTY and ms != first:  # a longer wait: in slices, for Ctrl-C
            rc = _lib.wait_sliced(lambda ms_: _get_once(self._h, buf, length, ms_), ms, _EEMPTY)
        while rc == _lib.ETOOBIG:
            # The message stays first in the queue: take it into a buffer of its size (kept for
            # the next ones up to 16 MiB), one copy out of the ring.
            buf = ctypes.create_string_buffer(length.value)
            if length.value <= _KEEP_MAX:
                _local.set(buf)
            rc = _get_once(self._h, buf, length, 0)
            if rc == _lib.EEMPTY:  # another consumer took it meanwhile
                return self.get(block, timeout)
        if rc == 0:
            return _loads(memoryview(buf)[:length.value])
        if rc == _lib.EEMPTY:
            raise _queue.Empty
        self._raise(rc)

    def get_nowait(self):
        return self.get(False)

    def qsize(self):
        rc = _qsize(self._h)
        return rc if rc >= 0 else self._raise(rc)

    def empty(self):
        rc = _empty(self._h)
        return rc == 1 if rc >= 0 else self._raise(rc)

    def full(self):
        rc = _full(self._h)
        return rc == 1 if rc >= 0 else self._raise(rc)

    def close(self):
        """This handle's use of the queue ends (Python's close: no more puts from here)."""
        if not self._closed:
            self._closed = True
            _close(self._h)

    def join_thread(self):
        """Python's Queue has a feeder thread to join; this one has none."""

    def cancel_join_thread(self):
        """Python's Queue has a feeder thread; this one has none."""

    def handle(self):
        """The queue's handle: a short string that mproc_queue_attach opens in any process."""
        return _lib.copy_string(_handle, self._h, 64)

    def __reduce__(self):
        return (_attach_queue, (type(self), self.handle()))

    def _destroy_handle(self, h):
        _destroy(h)

    def __repr__(self):
        return f"<mproc.{type(self).__name__} at {id(self):#x}>"


class JoinableQueue(Queue):
    """multiprocessing.JoinableQueue: adds task_done() and join()."""

    _kind = _KIND_JOINABLE

    def task_done(self):
        rc = _task_done(self._h)
        if rc == _lib.ESTATE:
            raise ValueError("task_done() called too many times")
        if rc < 0:
            self._raise(rc)

    def join(self, timeout=None):
        """Waits until every item put has been marked done (timeout: an mproc extension;
        TimeoutError when it passes)."""
        ms = _lib.timeout_ms(timeout)
        rc = _lib.wait_sliced(lambda ms_: _join(self._h, ms_), ms, _lib.ETIMEDOUT)
        if rc == _lib.ETIMEDOUT:
            raise TimeoutError("JoinableQueue.join timed out")
        if rc < 0:
            self._raise(rc)


class SimpleQueue(Queue):
    """multiprocessing.SimpleQueue: put, get, empty, close."""

    _kind = _KIND_SIMPLE

    def __init__(self, *, capacity_bytes=0, ctx=None):
        super().__init__(0, capacity_bytes=capacity_bytes)

    def put(self, obj):
        return Queue.put(self, obj)

    def get(self):
        return Queue.get(self)
