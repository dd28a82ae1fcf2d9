"""SharedMemory: multiprocessing.shared_memory's, on the library's raw POSIX segments.

Interchangeable with Python's own: a segment made by one is opened by the other by name (both are
plain shm_open files with no header). The creating process's shm tracker (the library's, in place
of Python's resource tracker) removes a name its creator did not unlink when that process ends.
"""

import ctypes
import sys

from . import _lib
from ._lib import _int, _int64, _size, _voidp, _pvoidp, _psize, check

__all__ = ["SharedMemory", "ShareableList"]

_d = _lib.declare
_create = _d("mproc_shm_create", _int, [ctypes.c_char_p, _int64, _pvoidp])
_attach = _d("mproc_shm_attach", _int, [ctypes.c_char_p, _pvoidp])
_buf = _d("mproc_shm_buf", _int, [_voidp, _pvoidp])
_size_ = _d("mproc_shm_size", _int, [_voidp, _psize])
_name = _d("mproc_shm_name", _int, [_voidp, ctypes.c_char_p, _size])
_close = _d("mproc_shm_close", _int, [_voidp])
_unlink = _d("mproc_shm_unlink", _int, [_voidp])
_destroy = _d("mproc_shm_destroy", _int, [_voidp])


class SharedMemory:
    """SharedMemory(name=None, create=False, size=0): .buf (a memoryview), .name, .size,
    close(), unlink()."""

    _h = None

    def __init__(self, name=None, create=False, size=0, *, track=True):
        if size < 0:
            raise ValueError("'size' must be a positive integer")
        if create and size == 0:
            raise ValueError("'size' must be a positive number different from zero")
        if name is None and not create:
            raise ValueError("'name' can only be None if create=True")
        out = _voidp()
        encoded = None if name is None else ("/" + name.lstrip("/")).encode()
        rc = _create(encoded, size, ctypes.byref(out)) if create else \
            _attach(encoded, ctypes.byref(out))
        if rc < 0:
            if rc == _lib.ESTATE:
                raise ValueError("cannot mmap an empty file")
            raise _lib.error(rc)
        self._h = out.value
        length = _size()
        check(_size_(self._h, ctypes.byref(length)))
        self._size = length.value
        ptr = _voidp()
        check(_buf(self._h, ctypes.byref(ptr)))
        self._array = (ctypes.c_ubyte * self._size).from_address(ptr.value)
        self._buf = memoryview(self._array).cast("B")
        self._name = _lib.copy_string(_name, self._h, 256)

    @property
    def buf(self):
        return self._buf

    @property
    def name(self):
        """The segment's name, without the leading slash (as Python's)."""
        return self._name.lstrip("/")

    @property
    def size(self):
        return self._size

    def close(self):
        """Unmaps this process's view; BufferError while views of buf are still in use."""
        if self._buf is None:
            return
        self._buf.release()
        # A memoryview made from buf holds the ctypes array: unmapping under it would crash.
        if sys.getrefcount(self._array) > 2:
            self._buf = memoryview(self._array).cast("B")
            raise BufferError("cannot close exported pointers exist")
        self._buf = None
        self._array = None
        check(_close(self._h))

    def unlink(self):
        """Removes the name (mappings stay valid); FileNotFoundError if already removed."""
        check(_unlink(self._h))

    def __reduce__(self):
        return (self.__class__, (self.name, False, self.size))

    def __del__(self):
        try:
            if self._buf is not None:
                self.close()
        except Exception:
            pass
        try:
            h, self._h = self._h, None
            if h is not None:
                _destroy(h)
        except Exception:
            pass

    def __repr__(self):
        return f"{self.__class__.__name__}({self.name!r}, size={self.size})"


def ShareableList(*args, **kwargs):
    raise NotImplementedError("mproc has no ShareableList; use a Manager list")
