"""Manager: multiprocessing.Manager's dict, list, Namespace, Queue, Value, Array and locks, in the
library's shared-memory containers instead of a server process.

Keys, values, items and attributes are pickled into the container's segment; an operation costs
a robust lock and a copy, not a socket round trip. Keys are compared by their pickles, so use keys
whose pickles are canonical (str, bytes, int, tuples of these), as a dict key's hash would be.
Every proxy is inherited by forked children and can be pickled (into Pool tasks, through a Queue):
the pickle is its handle. A process killed in the middle of an update leaves the container
consistent. Lifetime: what a Manager makes lives while any process holds a proxy to it (so
Manager().Queue() stays usable); shutdown() (or the end of its `with` block, or its process's
death) removes the names at once, and proxies already open keep working.
"""

import ctypes
import os
import pickle
import struct
import threading

from . import _lib
from ._handle import Handle
from ._lib import _int, _int64, _size, _voidp, _pvoidp, _psize, check
from . import queues, sharedctypes, synchronize
from ._basemanager import (BaseManager, BaseProxy, Server, Token, RemoteError, AutoProxy,
                           MakeProxyType, public_methods)

__all__ = ["BaseManager", "BaseProxy", "Server", "Token", "RemoteError", "AutoProxy",
           "MakeProxyType", "public_methods", "Manager", "SyncManager", "DictProxy", "ListProxy",
           "Namespace", "SharedMemoryManager"]

_d = _lib.declare
_charp = ctypes.c_char_p
_manager_create = _d("mproc_manager_create", _int, [_pvoidp])
_manager_dict = _d("mproc_manager_dict", _int, [_voidp, _charp, _pvoidp])
_manager_list = _d("mproc_manager_list", _int, [_voidp, _charp, _pvoidp])
_manager_namespace = _d("mproc_manager_namespace", _int, [_voidp, _charp, _pvoidp])
_manager_queue = _d("mproc_manager_queue", _int, [_voidp, _charp, _int64, _pvoidp])
_manager_array = _d("mproc_manager_array", _int, [_voidp, _charp, _size, _size, _size, _int,
                                                  _pvoidp])
_manager_lock = _d("mproc_manager_lock", _int, [_voidp, _charp, _pvoidp])
_manager_shutdown = _d("mproc_manager_shutdown", _int, [_voidp])
_manager_destroy = _d("mproc_manager_destroy", _int, [_voidp])

_dict_attach = _d("mproc_dict_attach", _int, [_charp, _pvoidp])
_dict_handle = _d("mproc_dict_handle", _int, [_voidp, _charp, _size])
_dict_set = _d("mproc_dict_set", _int, [_voidp, _charp, _size, _charp, _size])
_dict_get_into = _d("mproc_dict_get_into", _int, [_voidp, _charp, _size, _voidp, _size, _psize])
_dict_contains = _d("mproc_dict_contains", _int, [_voidp, _charp, _size])
_dict_pop = _d("mproc_dict_pop", _int, [_voidp, _charp, _size, _pvoidp, _psize])
_dict_setdefault = _d("mproc_dict_setdefault", _int,
                      [_voidp, _charp, _size, _charp, _size, _pvoidp, _psize])
_dict_size = _d("mproc_dict_size", _int, [_voidp, _psize])
_dict_clear = _d("mproc_dict_clear", _int, [_voidp])
_dict_keys = _d("mproc_dict_keys", _int, [_voidp, _pvoidp, _psize, _psize])
_dict_items = _d("mproc_dict_items", _int, [_voidp, _pvoidp, _psize, _psize])
_dict_destroy = _d("mproc_dict_destroy", _int, [_voidp])
# d[k] = v and d[k] without argument conversion (see _lib.declare_raw).
_dict_set_raw = _lib.declare_raw("mproc_dict_set")
_dict_get_into_raw = _lib.declare_raw("mproc_dict_get_into")

_list_attach = _d("mproc_list_attach", _int, [_charp, _pvoidp])
_list_handle = _d("mproc_list_handle", _int, [_voidp, _charp, _size])
_list_append = _d("mproc_list_append", _int, [_voidp, _charp, _size])
_list_get = _d("mproc_list_get", _int, [_voidp, _int64, _pvoidp, _psize])
_list_set = _d("mproc_list_set", _int, [_voidp, _int64, _charp, _size])
_list_insert = _d("mproc_list_insert", _int, [_voidp, _int64, _charp, _size])
_list_pop = _d("mproc_list_pop", _int, [_voidp, _int64, _pvoidp, _psize])
_list_size = _d("mproc_list_size", _int, [_voidp, _psize])
_list_clear = _d("mproc_list_clear", _int, [_voidp])
_list_snapshot = _d("mproc_list_snapshot", _int, [_voidp, _pvoidp, _psize, _psize])
_list_destroy = _d("mproc_list_destroy", _int, [_voidp])
_list_slice = _d("mproc_list_slice", _int, [_voidp, _int64, _int64, _int64, _pvoidp, _psize, _psize])
_list_set_slice = _d("mproc_list_set_slice", _int,
                     [_voidp, _int64, _int64, _int64, ctypes.POINTER(_charp), _psize, _size])
_list_del_slice = _d("mproc_list_del_slice", _int, [_voidp, _int64, _int64, _int64])

_ns_attach = _d("mproc_namespace_attach", _int, [_charp, _pvoidp])
_ns_handle = _d("mproc_namespace_handle", _int, [_voidp, _charp, _size])
_ns_set = _d("mproc_namespace_set", _int, [_voidp, _charp, _charp, _size])
_ns_get = _d("mproc_namespace_get", _int, [_voidp, _charp, _pvoidp, _psize])
_ns_del = _d("mproc_namespace_del", _int, [_voidp, _charp])
_ns_destroy = _d("mproc_namespace_destroy", _int, [_voidp])

_dumps, _loads, _PROTOCOL = pickle.dumps, pickle.loads, pickle.HIGHEST_PROTOCOL
_ENOENT, _ERANGE = -2, -34
_INT64_MAX = 2**63 - 1
_SLICE_OMITTED = -2**63  # MPROC_SLICE_OMITTED
_Q = struct.Struct("=Q")
_string_at, _free, _byref = ctypes.string_at, _lib.buffer_free, ctypes.byref


class _Buffer:
    def __init__(self, n):
        self.raw = ctypes.create_string_buffer(n)
        self.capacity = n
        self.view = memoryview(self.raw).cast("B")
        self.length = _size()
        # d[k]'s arguments, made once: (buffer, its size as c_size_t, byref(length), length, view)
        self.args = (self.raw, _size(n), _byref(self.length), self.length, self.view)


class _GetBuffer(threading.local):
    """Each thread's buffer for d[key] (mproc_dict_get_into: one copy, no allocation, no free);
    per thread, because the C call runs without the GIL. It grows up to 1 MiB; a larger value
    gets a buffer of its own."""

    def __init__(self):
        self.buffer = _Buffer(1024)
        self.args = self.buffer.args

    def at_least(self, n):
        if n > 1 << 20:
            return _Buffer(n)
        self.buffer = _Buffer(max(n, 2 * self.buffer.capacity))
        self.args = self.buffer.args
        return self.buffer


_get_buffer = _GetBuffer()


def _unpack(ptr, length):
    """The packed list of byte strings of keys / items / snapshot (each: u64 length, bytes)."""
    data = _lib.take_buffer(ptr, length)
    out, offset = [], 0
    while offset < len(data):
        (n,) = _Q.unpack_from(data, offset)
        offset += 8
        out.append(data[offset:offset + n])
        offset += n
    return out


class _Proxy(Handle):
    _destroy_fn = None
    _handle_fn = None

    def __init__(self, handle):
        self._h = handle
        self._hv = _voidp(handle)  # for the raw calls

    def _handle(self):
        return _lib.copy_string(self._handle_fn, self._h, 256)

    def __reduce__(self):
        return (_attach_proxy, (type(self), self._handle()))

    def _destroy_handle(self, h):
        type(self)._destroy_fn(h)


def _attach_proxy(cls, handle):
    out = _voidp()
    check(cls._attach_fn(handle.encode(), _byref(out)))
    return cls(out.value)


class DictProxy(_Proxy):
    """A Manager's dict: the dict interface, every operation on the shared copy."""
    _attach_fn, _handle_fn, _destroy_fn = _dict_attach, _dict_handle, _dict_destroy

    def __setitem__(self, key, value):
        k, v = _dumps(key, _PROTOCOL), _dumps(value, _PROTOCOL)
        rc = _dict_set_raw(self._hv, k, _size(len(k)), v, _size(len(v)))
        if rc < 0:
            raise _lib.error(rc)

    def __getitem__(self, key):
        k = _dumps(key, _PROTOCOL)
        raw, capacity, plength, length, view = _get_buffer.args
        rc = _dict_get_into_raw(self._hv, k, _size(len(k)), raw, capacity, plength)
        if rc == 0:
            return _loads(view[:length.value])
        while rc == _ERANGE:  # larger than this thread's buffer: a larger one, and read again
            b = _get_buffer.at_least(length.value)
            length = b.length
            rc = _dict_get_into(self._h, k, len(k), b.raw, b.capacity, _byref(length))
        if rc == 0:
            return _loads(b.view[:length.value])
        if rc == _ENOENT:
            raise KeyError(key)
        raise _lib.error(rc)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key):
        k = _dumps(key, _PROTOCOL)
        return check(_dict_contains(self._h, k, len(k))) == 1

    has_key = __contains__

    def pop(self, key, *default):
        k = _dumps(key, _PROTOCOL)
        out, length = _voidp(), _size()
        rc = _dict_pop(self._h, k, len(k), _byref(out), _byref(length))
        if rc == _ENOENT:
            if default:
                return default[0]
            raise KeyError(key)
        check(rc)
        return _loads(_lib.take_buffer(out.value, length.value))

    def __delitem__(self, key):
        k = _dumps(key, _PROTOCOL)
        rc = _dict_pop(self._h, k, len(k), None, None)
        if rc == _ENOENT:
            raise KeyError(key)
        check(rc)

    def setdefault(self, key, default=None):
        k, v = _dumps(key, _PROTOCOL), _dumps(default, _PROTOCOL)
        out, length = _voidp(), _size()
        check(_dict_setdefault(self._h, k, len(k), v, len(v), _byref(out), _byref(length)))
        return _loads(_lib.take_buffer(out.value, length.value))

    def __len__(self):
        n = _size()
        check(_dict_size(self._h, _byref(n)))
        return n.value

    def clear(self):
        check(_dict_clear(self._h))

    def keys(self):
        out, length, count = _voidp(), _size(), _size()
        check(_dict_keys(self._h, _byref(out), _byref(length), _byref(count)))
        return [_loads(k) for k in _unpack(out.value, length.value)]

    def items(self):
        out, length, count = _voidp(), _size(), _size()
        check(_dict_items(self._h, _byref(out), _byref(length), _byref(count)))
        flat = _unpack(out.value, length.value)
        return [(_loads(flat[i]), _loads(flat[i + 1])) for i in range(0, len(flat), 2)]

    def values(self):
        return [v for _, v in self.items()]

    def copy(self):
        return dict(self.items())

    def update(self, other=(), **kwargs):
        for k, v in (other.items() if hasattr(other, "items") else other):
            self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def popitem(self):
        for k in self.keys():
            try:
                return k, self.pop(k)
            except KeyError:
                continue
        raise KeyError("popitem(): dictionary is empty")

    def __iter__(self):
        return iter(self.keys())

    def __eq__(self, other):
        return self.copy() == (other.copy() if isinstance(other, DictProxy) else other)

    def __repr__(self):
        return repr(self.copy())

    __str__ = __repr__


class ListProxy(_Proxy):
    """A Manager's list: the list interface, every operation on the shared copy."""
    _attach_fn, _handle_fn, _destroy_fn = _list_attach, _list_handle, _list_destroy

    def __len__(self):
        n = _size()
        check(_list_size(self._h, _byref(n)))
        return n.value

    def _index(self, i):
        # The library takes Python's indexes (negative from the end) in one atomic call.
        if not isinstance(i, int):
            raise TypeError(f"list indices must be integers or slices, not {type(i).__name__}")
        return max(-_INT64_MAX, min(_INT64_MAX, i))

    @staticmethod
    def _bounds(s):
        """A slice's start, stop, step for the C ABI (None: MPROC_SLICE_OMITTED)."""
        def bound(v):
            return _SLICE_OMITTED if v is None else max(-_INT64_MAX, min(_INT64_MAX, v.__index__()))
        step = 1 if s.step is None else s.step.__index__()
        if step == 0:
            raise ValueError("slice step cannot be zero")
        return bound(s.start), bound(s.stop), max(-_INT64_MAX, min(_INT64_MAX, step))

    def append(self, value):
        v = _dumps(value, _PROTOCOL)
        check(_list_append(self._h, v, len(v)))

    def extend(self, values):
        for value in values:
            self.append(value)

    def __iadd__(self, values):
        self.extend(values)
        return self

    def _snapshot(self):
        out, length, count = _voidp(), _size(), _size()
        check(_list_snapshot(self._h, _byref(out), _byref(length), _byref(count)))
        return [_loads(v) for v in _unpack(out.value, length.value)]

    def __getitem__(self, i):
        if isinstance(i, slice):
            out, length, count = _voidp(), _size(), _size()
            check(_list_slice(self._h, *self._bounds(i), _byref(out), _byref(length),
                              _byref(count)))
            return [_loads(v) for v in _unpack(out.value, length.value)]
        out, length = _voidp(), _size()
        rc = _list_get(self._h, self._index(i), _byref(out), _byref(length))
        if rc == _ERANGE:
            raise IndexError("list index out of range")
        check(rc)
        return _loads(_lib.take_buffer(out.value, length.value))

    def __setitem__(self, i, value):
        if isinstance(i, slice):
            return self._set_slice(i, value)
        v = _dumps(value, _PROTOCOL)
        rc = _list_set(self._h, self._index(i), v, len(v))
        if rc == _ERANGE:
            raise IndexError("list assignment index out of range")
        check(rc)

    def _set_slice(self, s, values):
        pickles = [_dumps(v, _PROTOCOL) for v in values]
        n = len(pickles)
        rc = _list_set_slice(self._h, *self._bounds(s), (_charp * n)(*pickles),
                             (_size * n)(*[len(p) for p in pickles]), n)
        if rc == -22 and (s.step or 1) != 1:
            raise ValueError(f"attempt to assign sequence of size {n} to extended slice")
        check(rc)

    def insert(self, i, value):
        i = self._index(i)  # the library clamps, as Python's insert
        v = _dumps(value, _PROTOCOL)
        check(_list_insert(self._h, i, v, len(v)))

    def pop(self, i=-1):
        out, length = _voidp(), _size()
        rc = _list_pop(self._h, self._index(i), _byref(out), _byref(length))
        if rc == _ERANGE:
            raise IndexError("pop index out of range")
        check(rc)
        return _loads(_lib.take_buffer(out.value, length.value))

    def __delitem__(self, i):
        if isinstance(i, slice):
            return check(_list_del_slice(self._h, *self._bounds(i)))
        rc = _list_pop(self._h, self._index(i), None, None)
        if rc == _ERANGE:
            raise IndexError("list assignment index out of range")
        check(rc)

    def clear(self):
        check(_list_clear(self._h))

    def reverse(self):
        values = self._snapshot()
        values.reverse()
        self._replace(values)

    def sort(self, key=None, reverse=False):
        self._replace(sorted(self._snapshot(), key=key, reverse=reverse))

    def _replace(self, values):
        self._set_slice(slice(None, None), values)  # one atomic step

    def index(self, value, *args):
        return self._snapshot().index(value, *args)

    def count(self, value):
        return self._snapshot().count(value)

    def remove(self, value):
        del self[self.index(value)]

    def __contains__(self, value):
        return value in self._snapshot()

    def __iter__(self):
        return iter(self._snapshot())

    def __eq__(self, other):
        return self._snapshot() == (list(other) if isinstance(other, ListProxy) else other)

    def __repr__(self):
        return repr(self._snapshot())

    __str__ = __repr__


class Namespace(_Proxy):
    """A Manager's Namespace: ns.attr = value, ns.attr, del ns.attr; names starting with '_' are
    the proxy's own, as in Python."""
    _attach_fn, _handle_fn, _destroy_fn = _ns_attach, _ns_handle, _ns_destroy

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        out, length = _voidp(), _size()
        rc = _ns_get(self._h, name.encode(), _byref(out), _byref(length))
        if rc == _ENOENT:
            raise AttributeError(f"'Namespace' object has no attribute '{name}'")
        check(rc)
        return _loads(_lib.take_buffer(out.value, length.value))

    def __setattr__(self, name, value):
        if name.startswith("_"):
            return object.__setattr__(self, name, value)
        v = _dumps(value, _PROTOCOL)
        check(_ns_set(self._h, name.encode(), v, len(v)))

    def __delattr__(self, name):
        if name.startswith("_"):
            return object.__delattr__(self, name)
        rc = _ns_del(self._h, name.encode())
        if rc == _ENOENT:
            raise AttributeError(name)
        check(rc)

    def __repr__(self):
        return "Namespace(...)"


class SyncManager(BaseManager):
    """Manager(): the factories of multiprocessing's SyncManager, and a BaseManager. Its own
    types (dict, list, Namespace, Queue, Value, Array, Lock, ...) live in shared memory, without a
    server, and work from construction on; types registered on it or on a subclass
    (SyncManager.register(typeid, callable, ...), as multiprocessing's "Customized managers") are
    served by a server process that start() (or Manager(), or the with block) starts, only when
    there are any, as BaseManager's. shutdown() stops that server and removes the names of what
    the manager made. Thread-safety: any thread."""

    _registry = {}  # the types registered on SyncManager (subclasses copy it, as BaseManager's)

    def __init__(self, address=None, authkey=None, serializer="pickle", ctx=None, *,
                 shutdown_timeout=1.0):
        BaseManager.__init__(self, address, authkey, serializer, ctx,
                             shutdown_timeout=shutdown_timeout)
        out = _voidp()
        check(_manager_create(_byref(out)))
        self._h = out.value
        self._owner = os.getpid()

    def start(self, initializer=None, initargs=()):
        """Starts the server of the registered types, if any (the initializer runs there, as in
        Python); without registered types, runs the initializer here."""
        if self._registry and self._state == "INITIAL":
            BaseManager.start(self, initializer, initargs)
            return
        if initializer is not None:
            if not callable(initializer):
                raise TypeError("initializer must be a callable")
            initializer(*initargs)
        if self._state == "INITIAL":
            self._state = "STARTED"

    def connect(self):
        """Reaches the server of the registered types at the manager's address (if any)."""
        if self._registry:
            BaseManager.connect(self)
        else:
            self._state = "STARTED"

    def _make(self, fn, cls):
        out = _voidp()
        check(fn(self._h, None, _byref(out)))
        return cls(out.value)

    def dict(self, *args, **kwargs):
        d = self._make(_manager_dict, DictProxy)
        if args or kwargs:
            d.update(dict(*args, **kwargs))
        return d

    def list(self, sequence=()):
        lst = self._make(_manager_list, ListProxy)
        lst.extend(sequence)
        return lst

    def Namespace(self, **kwargs):
        ns = self._make(_manager_namespace, Namespace)
        for k, v in kwargs.items():
            setattr(ns, k, v)
        return ns

    def Queue(self, maxsize=0):
        out = _voidp()
        check(_manager_queue(self._h, None, max(0, maxsize or 0), _byref(out)))
        return queues.Queue._from_handle(out.value)

    def JoinableQueue(self, maxsize=0):
        return queues.JoinableQueue(maxsize)

    def Value(self, typecode, value, lock=True):
        ctype = sharedctypes._ctype(typecode)
        out = _voidp()
        check(_manager_array(self._h, None, ctypes.sizeof(ctype), ctypes.alignment(ctype), 1,
                             1, _byref(out)))
        v = sharedctypes.Synchronized(sharedctypes._Segment(out.value), ctype, True)
        v._obj.value = value
        return v

    def Array(self, typecode, sequence, lock=True):
        ctype = sharedctypes._ctype(typecode)
        values = list(sequence)
        out = _voidp()
        check(_manager_array(self._h, None, ctypes.sizeof(ctype), ctypes.alignment(ctype),
                             max(1, len(values)), 1, _byref(out)))
        a = sharedctypes.SynchronizedArray(sharedctypes._Segment(out.value), ctype, len(values),
                                           True)
        a._obj.__init__(*values)
        return a

    def Lock(self):
        out = _voidp()
        check(_manager_lock(self._h, None, _byref(out)))
        lock = synchronize.Lock.__new__(synchronize.Lock)
        lock._h = out.value
        return lock

    def RLock(self):
        return synchronize.RLock()

    def Semaphore(self, value=1):
        return synchronize.Semaphore(value)

    def BoundedSemaphore(self, value=1):
        return synchronize.BoundedSemaphore(value)

    def Event(self):
        return synchronize.Event()

    def Condition(self, lock=None):
        return synchronize.Condition(lock)

    def Barrier(self, parties, action=None, timeout=None):
        return synchronize.Barrier(parties, action, timeout)

    def Pool(self, *args, **kwargs):
        from .pool import Pool
        return Pool(*args, **kwargs)

    def shutdown(self):
        if self._state == "STARTED" and self._process is not None:
            BaseManager.shutdown(self)  # the registered types' server
        self._state = "SHUTDOWN"
        if self._h is not None:
            h, self._h = self._h, None
            _manager_shutdown(h)
            _manager_destroy(h)

    def __enter__(self):
        if self._state == "INITIAL":
            self.start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()

    def __del__(self):
        # Dropped without shutdown(): only the handle goes. What it made lives while any process
        # holds it, as a proxy keeps Python's manager alive (Manager().Queue() stays usable).
        try:
            h, self._h = self._h, None
            if h is not None and self._owner == os.getpid():  # a forked child's copy owns nothing
                _manager_destroy(h)
        except Exception:
            pass


def Manager():
    """A started SyncManager (multiprocessing.Manager())."""
    manager = SyncManager()
    manager.start()
    return manager


class SharedMemoryManager:
    """multiprocessing.managers.SharedMemoryManager without a server process: SharedMemory(size)
    and ShareableList(sequence) make segments that shutdown() (or the end of the with block)
    unlinks, every one, in the process that made the manager. (The segments would otherwise also
    be removed by the library's tracker when that process ends.)"""

    def __init__(self, address=None, authkey=None, *args, **kwargs):
        self._owner = os.getpid()
        self._segments = []

    def start(self, initializer=None, initargs=()):
        if initializer is not None:
            initializer(*initargs)

    def SharedMemory(self, size):
        from .shared_memory import SharedMemory
        segment = SharedMemory(None, create=True, size=size)
        self._segments.append(segment)
        return segment

    def ShareableList(self, sequence):
        from .shared_memory import ShareableList
        sl = ShareableList(sequence)
        self._segments.append(sl.shm)
        return sl

    def shutdown(self):
        if os.getpid() != self._owner:
            return
        segments, self._segments = self._segments, []
        for segment in segments:
            try:
                segment.unlink()
            except FileNotFoundError:
                pass  # unlinked already by its user

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.shutdown()
