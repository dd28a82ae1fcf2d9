"""SharedMemory: multiprocessing.shared_memory's, on the library's raw POSIX segments.

Interchangeable with Python's own: a segment made by one is opened by the other by name (both are
plain shm_open files with no header). The creating process's shm tracker (the library's, in place
of Python's resource tracker) removes a name its creator did not unlink when that process ends.
"""

import ctypes
import struct
import sys

from . import _lib
from ._handle import Handle
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


class SharedMemory(Handle):
    """SharedMemory(name=None, create=False, size=0): .buf (a memoryview), .name, .size,
    close(), unlink()."""

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

    def _destroy_handle(self, h):
        _destroy(h)

    def __del__(self):
        try:
            if self._buf is not None:
                self.close()
        except Exception:
            pass
        Handle.__del__(self)

    def __repr__(self):
        return f"{self.__class__.__name__}({self.name!r}, size={self.size})"


class ShareableList:
    """ShareableList(sequence=None, *, name=None): a fixed-length list of int, float, bool, None,
    str and bytes in a SharedMemory, in the layout of Python's own (3.11+), so that a list made by
    one is opened by the other by name. The segment holds, in order: the item count (8 bytes),
    N + 1 offsets of the items' storage from the start of the data area (8 bytes each), the data
    area, each item's struct format (8 bytes each) and each item's kind (1 byte each: 0 number,
    1 str, 2 bytes, 3 None). A str or bytes item keeps the room it was made with (its encoded
    length rounded up to the next multiple of 8); a longer one is a ValueError. No locking, as
    in Python."""

    _formats = {int: "q", float: "d", bool: "xxxxxxx?", type(None): "xxxxxx?x"}
    _NUMBER, _STR, _BYTES, _NONE = 0, 1, 2, 3

    def __init__(self, sequence=None, *, name=None):
        if name is None or sequence is not None:
            items = list(sequence or ())
            encoded = [v.encode("utf8") if isinstance(v, str) else v for v in items]
            formats = [self._format_of(v, e) for v, e in zip(items, encoded)]
            offsets = [0]
            for fmt in formats:
                offsets.append(offsets[-1] + (int(fmt[:-1]) if fmt[-1] == "s" else 8))
            n = len(items)
            size = 8 * (n + 2) + offsets[-1] + 9 * n
            self.shm = SharedMemory(name, create=True, size=max(size, 1))
            self._n, self._offsets = n, offsets
            buf = self.shm.buf
            struct.pack_into(f"{n + 2}q", buf, 0, n, *offsets)
            struct.pack_into("".join(formats), buf, self._data_start, *encoded)
            struct.pack_into("8s" * n, buf, self._formats_start, *(f.encode() for f in formats))
            struct.pack_into(f"{n}b", buf, self._kinds_start, *(self._kind_of(v) for v in items))
        else:
            self.shm = SharedMemory(name)
            (self._n,) = struct.unpack_from("q", self.shm.buf, 0)
            self._offsets = list(struct.unpack_from(f"{self._n + 1}q", self.shm.buf, 8))

    @classmethod
    def _format_of(cls, value, encoded):
        if isinstance(value, (str, bytes)):
            return f"{8 * (len(encoded) // 8 + 1)}s"
        try:
            return cls._formats[type(value)]
        except KeyError:
            raise TypeError(f"ShareableList cannot hold a {type(value).__name__}") from None

    @classmethod
    def _kind_of(cls, value):
        if isinstance(value, str):
            return cls._STR
        if isinstance(value, bytes):
            return cls._BYTES
        return cls._NONE if value is None else cls._NUMBER

    @property
    def _data_start(self):
        return 8 * (self._n + 2)

    @property
    def _formats_start(self):
        return self._data_start + self._offsets[-1]

    @property
    def _kinds_start(self):
        return self._formats_start + 8 * self._n

    def _position(self, i):
        if not isinstance(i, int):
            raise TypeError(f"list indices must be integers, not {type(i).__name__}")
        j = i + self._n if i < 0 else i
        if not 0 <= j < self._n:
            raise IndexError("index out of range")
        return j

    def _format(self, j):
        (fmt,) = struct.unpack_from("8s", self.shm.buf, self._formats_start + 8 * j)
        return fmt.rstrip(b"\0").decode()

    def __getitem__(self, i):
        j = self._position(i)
        at = self._data_start + self._offsets[j]
        (v,) = struct.unpack_from(self._format(j), self.shm.buf, at)
        (kind,) = struct.unpack_from("b", self.shm.buf, self._kinds_start + j)
        if kind == self._STR:
            return v.rstrip(b"\0").decode("utf8")
        if kind == self._BYTES:
            return v.rstrip(b"\0")
        return None if kind == self._NONE else v

    def __setitem__(self, i, value):
        try:
            j = self._position(i)
        except IndexError:
            raise IndexError("assignment index out of range") from None
        if isinstance(value, (str, bytes)):
            encoded = value.encode("utf8") if isinstance(value, str) else value
            room = self._offsets[j + 1] - self._offsets[j]
            if len(encoded) > room:
                raise ValueError("bytes/str item exceeds available storage")
            fmt = f"{room}s"
        else:
            encoded, fmt = value, self._format_of(value, None)
        buf = self.shm.buf
        struct.pack_into(fmt, buf, self._data_start + self._offsets[j], encoded)
        struct.pack_into("8s", buf, self._formats_start + 8 * j, fmt.encode())
        struct.pack_into("b", buf, self._kinds_start + j, self._kind_of(value))

    def __len__(self):
        return self._n

    def __iter__(self):
        return (self[j] for j in range(self._n))

    def __reduce__(self):
        return (_attach_list, (self.shm.name,))

    def __repr__(self):
        return f"{self.__class__.__name__}({list(self)}, name={self.shm.name!r})"

    @property
    def format(self):
        """The struct format of every item, joined."""
        return "".join(self._format(j) for j in range(self._n))

    def count(self, value):
        return sum(value == v for v in self)

    def index(self, value):
        for j, v in enumerate(self):
            if value == v:
                return j
        raise ValueError(f"{value!r} not in this container")


def _attach_list(name):
    return ShareableList(name=name)
