"""Value, Array, RawValue, RawArray: multiprocessing.sharedctypes', in the library's shared arrays.

Each object is a ctypes object over a named shared-memory segment (mproc_array_create), with an
optional recursive lock inside the segment (mproc_array_acquire / release), which is recovered when
its holder dies. A forked child shares it by inheritance; a pickle of a Value or Array (not of the
raw ctypes objects, as in Python) is its handle, attached on arrival, so they can be Pool task
arguments.
"""

import ctypes

from . import _lib
from ._handle import Handle
from ._lib import _int, _int64, _size, _voidp, _pvoidp, check

__all__ = ["Value", "Array", "RawValue", "RawArray", "copy", "synchronized"]

typecode_to_type = {
    "c": ctypes.c_char, "u": ctypes.c_wchar, "b": ctypes.c_byte, "B": ctypes.c_ubyte,
    "h": ctypes.c_short, "H": ctypes.c_ushort, "i": ctypes.c_int, "I": ctypes.c_uint,
    "l": ctypes.c_long, "L": ctypes.c_ulong, "q": ctypes.c_longlong, "Q": ctypes.c_ulonglong,
    "f": ctypes.c_float, "d": ctypes.c_double, "?": ctypes.c_bool,
}

_d = _lib.declare
_create = _d("mproc_array_create", _int, [_size, _size, _size, _int, _pvoidp])
_attach = _d("mproc_array_attach", _int, [ctypes.c_char_p, _pvoidp])
_handle = _d("mproc_array_handle", _int, [_voidp, ctypes.c_char_p, _size])
_data = _d("mproc_array_data", _int, [_voidp, _pvoidp])
_acquire = _d("mproc_array_acquire", _int, [_voidp, _int64])
_release = _d("mproc_array_release", _int, [_voidp])
_destroy = _d("mproc_array_destroy", _int, [_voidp])
_LOCK = 1


def _ctype(typecode_or_type):
    if isinstance(typecode_or_type, str):
        try:
            return typecode_to_type[typecode_or_type]
        except KeyError:
            raise TypeError(f"bad typecode {typecode_or_type!r} (must be one of "
                            f"{''.join(typecode_to_type)} or a ctypes type)") from None
    if isinstance(typecode_or_type, type) and issubclass(typecode_or_type, ctypes._SimpleCData):
        return typecode_or_type
    if isinstance(typecode_or_type, type) and issubclass(typecode_or_type,
                                                         (ctypes.Structure, ctypes.Array)):
        return typecode_or_type
    raise TypeError(f"{typecode_or_type!r} is neither a typecode nor a ctypes type")


class _Segment(Handle):
    """This process's handle on a shared array; the ctypes objects over it keep it alive."""

    def __init__(self, handle):
        self._h = handle
        ptr = _voidp()
        check(_data(handle, ctypes.byref(ptr)))
        self.address = ptr.value

    def handle(self):
        return _lib.copy_string(_handle, self._h, 64)

    def _destroy_handle(self, h):
        _destroy(h)


def _new_segment(ctype, count, lock):
    out = _voidp()
    check(_create(ctypes.sizeof(ctype), ctypes.alignment(ctype), count, _LOCK if lock else 0,
                  ctypes.byref(out)))
    return _Segment(out.value)


def _over(segment, ctype, count):
    obj = (ctype * count).from_address(segment.address) if count is not None else \
        ctype.from_address(segment.address)
    obj._mproc_segment = segment  # the mapping lives as long as the ctypes object
    return obj


def RawValue(typecode_or_type, *args):
    """A ctypes object in shared memory, without a lock."""
    ctype = _ctype(typecode_or_type)
    segment = _new_segment(ctype, 1, False)
    obj = _over(segment, ctype, None)
    if args:
        obj.__init__(*args)
    return obj


def _size_and_initializer(size_or_initializer):
    """(count, initial values or None) of an Array's second argument, as Python reads it."""
    if isinstance(size_or_initializer, int):
        count, init = size_or_initializer, None
    else:
        init = list(size_or_initializer)
        count = len(init)
    if count < 0:
        raise ValueError("array size must be >= 0")
    return count, init


def RawArray(typecode_or_type, size_or_initializer):
    """A ctypes array in shared memory, without a lock."""
    ctype = _ctype(typecode_or_type)
    count, init = _size_and_initializer(size_or_initializer)
    segment = _new_segment(ctype, max(1, count), False)
    obj = _over(segment, ctype, count)
    if init is not None:
        obj.__init__(*init)
    return obj


class _ArrayLock:
    """get_lock(): the recursive lock in the object's segment."""

    def __init__(self, segment):
        self._segment = segment

    def acquire(self, block=True, timeout=None):
        ms = 0 if not block else (-1 if timeout is None else _lib.timeout_ms(max(0.0, timeout)))
        rc = _lib.wait_sliced(lambda ms_: _acquire(self._segment._h, ms_), ms, _lib.ETIMEDOUT)
        if rc == 0 or rc == _lib.EOWNERDEAD:
            return True
        if rc == _lib.ETIMEDOUT:
            return False
        raise _lib.error(rc)

    def release(self):
        rc = _release(self._segment._h)
        if rc == _lib.ESTATE:
            raise RuntimeError("cannot release un-acquired lock")
        check(rc)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


class _NoLock:
    def acquire(self, *args, **kwargs):
        return True

    def release(self):
        pass

    def __enter__(self):
        return True

    def __exit__(self, *exc_info):
        pass


def _lock_of(segment, lock):
    """The lock object of a Value or Array: lock is True (the segment's own lock), False (none) or
    a lock object of the caller's (an mproc Lock or RLock, or any object with acquire/release)."""
    if lock is True:
        return _ArrayLock(segment)
    if lock is False:
        return _NoLock()
    return lock


class Synchronized:
    """Value(...): .value read and written under the object's lock; get_lock(), get_obj()."""

    def __init__(self, segment, ctype, lock):
        self._segment = segment
        self._ctype = ctype
        self._lockflag = lock  # True, False or the caller's lock object
        self._obj = _over(segment, ctype, None)
        self._lock = _lock_of(segment, lock)
        self.acquire = self._lock.acquire
        self.release = self._lock.release

    def get_lock(self):
        return self._lock

    def get_obj(self):
        return self._obj

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc_info):
        return self._lock.__exit__(*exc_info)

    @property
    def value(self):
        if self._lockflag is not True:  # no lock, or the caller's
            with self._lock:
                return self._obj.value
        _acquire(self._segment._h, -1)  # the segment's own lock, without a Python call between
        try:
            return self._obj.value
        finally:
            _release(self._segment._h)

    @value.setter
    def value(self, v):
        if self._lockflag is not True:
            with self._lock:
                self._obj.value = v
            return
        _acquire(self._segment._h, -1)
        try:
            self._obj.value = v
        finally:
            _release(self._segment._h)

    def __reduce__(self):
        return (_attach_value, (self._segment.handle(), self._ctype, self._lockflag))

    def __repr__(self):
        return f"<Synchronized wrapper for {self._obj!r}>"


class SynchronizedArray:
    """Array(...): indexing and slicing under the object's lock; get_lock(), get_obj(), len()."""

    def __init__(self, segment, ctype, count, lock):
        self._segment = segment
        self._ctype = ctype
        self._count = count
        self._lockflag = lock
        self._obj = _over(segment, ctype, count)
        self._lock = _lock_of(segment, lock)
        self.acquire = self._lock.acquire
        self.release = self._lock.release

    get_lock = Synchronized.get_lock
    get_obj = Synchronized.get_obj
    __enter__ = Synchronized.__enter__
    __exit__ = Synchronized.__exit__

    def __len__(self):
        return self._count

    def __getitem__(self, i):
        with self._lock:
            return self._obj[i]

    def __setitem__(self, i, value):
        with self._lock:
            self._obj[i] = value

    def __iter__(self):
        return iter(self[:])

    @property
    def value(self):  # c_char arrays: multiprocessing's SynchronizedString
        with self._lock:
            return self._obj.value

    @value.setter
    def value(self, v):
        with self._lock:
            self._obj.value = v

    @property
    def raw(self):
        with self._lock:
            return self._obj.raw

    def __reduce__(self):
        return (_attach_array, (self._segment.handle(), self._ctype, self._count,
                                self._lockflag))

    def __repr__(self):
        return f"<SynchronizedArray wrapper for {self._obj!r}>"


def _attach_segment(handle):
    out = _voidp()
    check(_attach(handle.encode(), ctypes.byref(out)))
    return _Segment(out.value)


def _attach_value(handle, ctype, lock):
    return Synchronized(_attach_segment(handle), ctype, lock)


def _attach_array(handle, ctype, count, lock):
    return SynchronizedArray(_attach_segment(handle), ctype, count, lock)


def _check_lock(lock):
    """Python's rules: True or None, a new recursive lock (here: in the object's segment); False,
    none; else a lock of the caller's, which must have acquire (AttributeError)."""
    if lock is None or lock is True:
        return True
    if lock is False:
        return False
    if not hasattr(lock, "acquire"):
        raise AttributeError(f"{lock!r} has no method 'acquire'")
    return lock


def Value(typecode_or_type, *args, lock=True, ctx=None):
    """A ctypes object in shared memory, synchronised by its own recursive lock; lock=False: the
    bare ctypes object (RawValue), as Python's; lock=a Lock or RLock (or any object with
    acquire / release, picklable to cross to other processes): synchronised by it."""
    lock = _check_lock(lock)
    if lock is False:
        return RawValue(typecode_or_type, *args)
    ctype = _ctype(typecode_or_type)
    segment = _new_segment(ctype, 1, lock is True)
    v = Synchronized(segment, ctype, lock)
    if args:
        v._obj.__init__(*args)
    return v


def Array(typecode_or_type, size_or_initializer, *, lock=True, ctx=None):
    """A ctypes array in shared memory, synchronised by its own recursive lock, by the caller's
    lock (as Value), or the bare ctypes array (RawArray) with lock=False, as Python's."""
    lock = _check_lock(lock)
    if lock is False:
        return RawArray(typecode_or_type, size_or_initializer)
    ctype = _ctype(typecode_or_type)
    count, init = _size_and_initializer(size_or_initializer)
    segment = _new_segment(ctype, max(1, count), lock is True)
    a = SynchronizedArray(segment, ctype, count, lock)
    if init is not None:
        a._obj.__init__(*init)
    return a


def copy(obj):
    """A new RawValue (or RawArray) with the contents of the raw shared object obj."""
    new_obj = RawValue(type(obj)) if not isinstance(obj, ctypes.Array) else \
        RawArray(obj._type_, len(obj))
    ctypes.pointer(new_obj)[0] = obj
    return new_obj


def synchronized(obj, lock=None, ctx=None):
    """A Synchronized wrapper of a RawValue or RawArray (made by mproc), as Python's: lock None
    is a new mproc RLock (the raw segment has no lock of its own)."""
    segment = getattr(obj, "_mproc_segment", None)
    if segment is None:
        raise TypeError(f"{obj!r} is not a shared object made by mproc (RawValue / RawArray)")
    if lock is None or lock is True:
        from .synchronize import RLock
        lock = RLock()
    lock = _check_lock(lock)
    if isinstance(obj, ctypes.Array):
        return SynchronizedArray(segment, obj._type_, len(obj), lock)
    return Synchronized(segment, type(obj), lock)
