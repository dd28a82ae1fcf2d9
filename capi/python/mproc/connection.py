"""Pipe, Connection and wait: multiprocessing.connection's, on the library's message pipes.

A Connection is one end of a SOCK_SEQPACKET socketpair that carries whole messages; send/recv
pickle, send_bytes/recv_bytes carry bytes. A closed peer gives EOFError on receive and
BrokenPipeError on send, never SIGPIPE. Connections are inherited by forked children (Process
arguments), and can be pickled (Pool task arguments, through a Queue): the receiving process takes
a copy of the descriptor with pidfd_getfd(2), which needs Linux 5.6 and the right to ptrace the
sending process (same user, or CAP_SYS_PTRACE), while the sending end is still open.
"""

import ctypes
import os
import pickle
import select
import socket

from . import _lib
from ._handle import Closing
from ._lib import _int, _int64, _size, _voidp, _pvoidp, _psize, check

__all__ = ["Pipe", "Connection", "wait", "Listener", "Client"]

_pipe_create = _lib.declare("mproc_pipe_create", _int, [_int, _pvoidp, _pvoidp])
_send = _lib.declare("mproc_connection_send_bytes", _int, [_voidp, ctypes.c_char_p, _size])
_recv = _lib.declare("mproc_connection_recv_bytes", _int, [_voidp, _int64, _pvoidp, _psize])
_recv_into = _lib.declare("mproc_connection_recv_bytes_into", _int,
                          [_voidp, _voidp, _size, _psize, _int64])
_poll = _lib.declare("mproc_connection_poll", _int, [_voidp, _int64])
_fileno = _lib.declare("mproc_connection_fileno", _int, [_voidp])
_close = _lib.declare("mproc_connection_close", _int, [_voidp])
_from_fd = _lib.declare("mproc_connection_from_fd", _int, [_int, _int, _int, _pvoidp])
_destroy = _lib.declare("mproc_connection_destroy", _int, [_voidp])


class _WaitItem(ctypes.Structure):
    _fields_ = [("connection", _voidp), ("fd", _int), ("ready", _int)]


_wait = _lib.declare("mproc_wait", _int, [ctypes.POINTER(_WaitItem), _size, _int64])

_SMALL = 4096  # receive into a reusable buffer first: one call, no library allocation
_byref = ctypes.byref
_string_at = ctypes.string_at
_SLICE, _WAIT_FOREVER, _ETIMEDOUT = _lib.SLICE_MS, _lib.WAIT_FOREVER, _lib.ETIMEDOUT
_EINVAL, _EINTR = -22, -4
_INTERRUPTIBLE = -2  # MPROC_WAIT_INTERRUPTIBLE: no limit, -EINTR at a signal
_check_signals = ctypes.pythonapi.PyErr_CheckSignals  # raises what a signal handler raised
_check_signals.restype, _check_signals.argtypes = ctypes.c_int, []


class Connection(Closing):
    """One end of a Pipe. Thread-safety: one sender and one receiver thread at a time."""

    def __init__(self, handle, readable=True, writable=True):
        self._h = handle
        self._readable = readable
        self._writable = writable
        self._rbuf = None  # the receive buffer: one receiving thread at a time

    def _check(self, readable=False, writable=False):
        if self._h is None:
            raise OSError("handle is closed")
        if readable and not self._readable:
            raise OSError("connection is write-only")
        if writable and not self._writable:
            raise OSError("connection is read-only")

    @property
    def readable(self):
        return self._readable

    @property
    def writable(self):
        return self._writable

    def fileno(self):
        self._check()
        return check(_fileno(self._h))

    def _destroy_handle(self, h):
        _destroy(h)

    def send_bytes(self, buf, offset=0, size=None):
        """Sends buf[offset:offset + size] (any bytes-like object) as one message."""
        if type(buf) is bytes and offset == 0 and size is None and self._writable:
            rc = _send(self._h, buf, len(buf))  # a closed end: a NULL handle, EBADHANDLE
            if rc < 0:
                self._check(writable=True)
                self._raise_send(rc)
            return
        self._check(writable=True)
        view = memoryview(buf).cast("B") if not isinstance(buf, bytes) else buf
        n = len(view)
        if offset < 0:
            raise ValueError("offset is negative")
        if n < offset:
            raise ValueError("buffer length < offset")
        if size is None:
            size = n - offset
        elif size < 0:
            raise ValueError("size is negative")
        elif offset + size > n:
            raise ValueError("buffer length < offset + size")
        if isinstance(view, bytes) and offset == 0 and size == n:
            rc = _send(self._h, view, n)
            if rc < 0:
                self._raise_send(rc)
            return
        chunk = bytes(view[offset:offset + size])
        rc = _send(self._h, chunk, size)
        if rc < 0:
            self._raise_send(rc)

    def _raise_send(self, rc):
        if rc == -32:  # EPIPE
            raise BrokenPipeError(32, "the other end of the pipe is closed")
        if rc == _lib.ECLOSED:
            raise OSError("handle is closed")
        if rc == _lib.ETOOBIG:
            raise ValueError("message too long: " + _lib.last_error_message())
        raise _lib.error(rc)

    def send(self, obj):
        """Sends a picklable object."""
        self._check(writable=True)
        data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
        rc = _send(self._h, data, len(data))
        if rc < 0:
            self._raise_send(rc)

    def _recv_message(self, timeout_ms=_lib.WAIT_FOREVER):
        """The next message as a bytes-like object (a view of a reused buffer, or bytes)."""
        buf = self._rbuf
        if buf is None:
            buf = self._rbuf = ctypes.create_string_buffer(_SMALL)
            self._rlen = _size()
        length = self._rlen
        if timeout_ms == _WAIT_FOREVER:
            # A wait without limit blocks in recvmsg itself (one system call), and returns at a
            # signal (EINTR): the handlers run (Ctrl-C raises KeyboardInterrupt) and the wait goes
            # on, as Python's own blocking reads (PEP 475).
            rc = _recv_into(self._h, buf, _SMALL, _byref(length), _INTERRUPTIBLE)
            while rc == _EINTR:
                _check_signals()
                rc = _recv_into(self._h, buf, _SMALL, _byref(length), _INTERRUPTIBLE)
        else:
            first = timeout_ms if timeout_ms <= _SLICE else _SLICE
            rc = _recv_into(self._h, buf, _SMALL, _byref(length), first)
            if rc == _ETIMEDOUT and timeout_ms != first:  # a long wait: in slices
                rc = _lib.wait_sliced(lambda ms: _recv_into(self._h, buf, _SMALL,
                                                            _byref(length), ms),
                                      timeout_ms, _ETIMEDOUT)
        if rc == 0:
            return _string_at(buf, length.value)
        if rc == _lib.ETOOBIG and length.value > _SMALL:
            out = _voidp()
            # The message is there, but may still be arriving: wait for the rest of it.
            check_rc = _lib.wait_sliced(
                lambda ms: _recv(self._h, ms, ctypes.byref(out), ctypes.byref(length)),
                _lib.WAIT_FOREVER if timeout_ms == _lib.WAIT_FOREVER else max(timeout_ms, 1000),
                _lib.ETIMEDOUT)
            if check_rc == 0:
                return _lib.take_buffer(out, length.value)
            rc = check_rc
        if rc == _lib.EEOF:
            raise EOFError
        if rc == _lib.ECLOSED:
            raise OSError("handle is closed")
        if rc == _lib.ETIMEDOUT:
            raise TimeoutError("no message in time")
        raise _lib.error(rc)

    def recv_bytes(self, maxlength=None):
        """The next message as bytes; EOFError once the peer closed and nothing is left."""
        self._check(readable=True)
        if maxlength is not None and maxlength < 0:
            raise ValueError("negative maxlength")
        data = self._recv_message()
        if maxlength is not None and len(data) > maxlength:
            self.close()
            raise OSError("bad message length")
        return data

    def recv_bytes_into(self, buf, offset=0):
        """Reads the next message into buf at offset; returns its length. A buffer too short
        raises multiprocessing's BufferTooShort with the whole message as args[0]."""
        self._check(readable=True)
        view = memoryview(buf).cast("B")
        if offset < 0 or offset > len(view):
            raise ValueError("negative offset" if offset < 0 else "offset too large")
        data = self._recv_message()
        n = len(data)
        if n > len(view) - offset:
            from . import BufferTooShort
            raise BufferTooShort(bytes(data))
        view[offset:offset + n] = data
        return n

    def recv(self):
        """The next object (unpickled); EOFError once the peer closed and nothing is left."""
        self._check(readable=True)
        return pickle.loads(self._recv_message())

    def poll(self, timeout=0.0):
        """True if a message (or end-of-file) can be received, waiting at most timeout seconds
        (None: no limit)."""
        self._check(readable=True)
        ms = _lib.timeout_ms(timeout) if timeout is None or timeout > 0 else 0
        rc = _lib.wait_sliced(lambda ms_: _poll(self._h, ms_), ms, 0)
        return check(rc) == 1

    def __reduce__(self):
        # The pickle names this process and the end's descriptor: the receiving process takes a
        # copy of the descriptor with pidfd_getfd(2) (so this end must stay open until then).
        self._check()
        return (_rebuild, (os.getpid(), self.fileno(), self._readable, self._writable))

    def __repr__(self):
        state = "closed" if self.closed else ("duplex" if self._readable and self._writable
                                              else "readable" if self._readable else "writable")
        return f"<mproc.Connection {state}>"


_SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture (since 5.6)
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _take_fd(pid, fd):
    """A copy of process pid's descriptor fd in this process (close-on-exec)."""
    if pid == os.getpid():
        return os.dup(fd)
    pidfd = os.pidfd_open(pid)
    try:
        new = _libc.syscall(ctypes.c_long(_SYS_PIDFD_GETFD), ctypes.c_int(pidfd), ctypes.c_int(fd),
                            ctypes.c_uint(0))
        if new < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"pidfd_getfd of descriptor {fd} of process {pid}: "
                               f"{os.strerror(err)}")
        return new
    finally:
        os.close(pidfd)


def _rebuild(pid, fd, readable, writable):
    new = _take_fd(pid, fd)
    out = _voidp()
    rc = _from_fd(new, 1 if readable else 0, 1 if writable else 0, ctypes.byref(out))
    if rc < 0:
        if rc != -12:  # ENOMEM: the library closed it
            os.close(new)
        raise _lib.error(rc)
    return Connection(out.value, readable, writable)


def Pipe(duplex=True):
    """Two connected Connections. duplex=False: the first only receives, the second only sends."""
    a, b = _voidp(), _voidp()
    check(_pipe_create(1 if duplex else 0, ctypes.byref(a), ctypes.byref(b)))
    if duplex:
        return Connection(a.value), Connection(b.value)
    return Connection(a.value, True, False), Connection(b.value, False, True)


def wait(object_list, timeout=None):
    """multiprocessing.connection.wait: the objects of object_list that are ready (Connections with
    a message or end-of-file, process sentinels that ended, readable descriptors or objects with a
    fileno()), waiting at most timeout seconds (None: until one is)."""
    objects = list(object_list)
    items = (_WaitItem * max(1, len(objects)))()
    for item, obj in zip(items, objects):
        if isinstance(obj, Connection):
            obj._check(readable=True)
            item.connection, item.fd = obj._h, -1
        else:
            item.connection, item.fd = None, obj if isinstance(obj, int) else obj.fileno()
    if not objects:
        if timeout is None:
            raise ValueError("wait() on no object without a timeout would never return")
    ms = _lib.timeout_ms(timeout) if timeout is None or timeout > 0 else 0
    rc = _lib.wait_sliced(lambda ms_: _wait(items, len(objects), ms_), ms, 0)
    check(rc)
    return [obj for item, obj in zip(items, objects) if item.ready]


_listener_create = _lib.declare("mproc_listener_create", _int,
                                [ctypes.c_char_p, _size, ctypes.c_char_p, _size, _pvoidp])
_listener_accept = _lib.declare("mproc_listener_accept", _int, [_voidp, _int64, _pvoidp])
_listener_address = _lib.declare("mproc_listener_address", _int, [_voidp, ctypes.c_char_p, _size])
_listener_close = _lib.declare("mproc_listener_close", _int, [_voidp])
_listener_fileno = _lib.declare("mproc_listener_fileno", _int, [_voidp])
_HANDSHAKE_MS = 60_000
_listener_destroy = _lib.declare("mproc_listener_destroy", _int, [_voidp])
_client_connect = _lib.declare("mproc_client_connect", _int,
                               [ctypes.c_char_p, _size, ctypes.c_char_p, _size, _pvoidp])


_listener_create_tcp = _lib.declare("mproc_listener_create_tcp", _int,
                                    [ctypes.c_char_p, _int, ctypes.c_char_p, _size, _pvoidp])
_listener_port = _lib.declare("mproc_listener_port", _int, [_voidp])
_client_connect_tcp = _lib.declare("mproc_client_connect_tcp", _int,
                                   [ctypes.c_char_p, _int, ctypes.c_char_p, _size, _pvoidp])
_FAMILIES = ("AF_UNIX", "AF_INET")


def address_type(address):
    """The family of an address, as Python's: a (host, port) tuple is AF_INET, a str or bytes
    (a path, or an abstract name starting with NUL) AF_UNIX."""
    if type(address) == tuple:
        return "AF_INET"
    if isinstance(address, (str, bytes)):
        if isinstance(address, str) and address.startswith("\\\\"):
            raise ValueError(f"address {address!r}: Windows pipes do not exist on Linux")
        return "AF_UNIX"
    raise ValueError(f"address type of {address!r} unrecognized")


def _family_of(address, family):
    if family is None:
        return "AF_UNIX" if address is None else address_type(address)
    if family not in _FAMILIES:
        raise ValueError(f"family {family!r}: mproc supports AF_UNIX and AF_INET")
    return family


def _address_bytes(address):
    """A Unix socket path, or an abstract name starting with NUL ("\\0name"): str or bytes."""
    if isinstance(address, str):
        return address.encode()
    if isinstance(address, bytes):
        return address
    raise ValueError(f"address {address!r}: an AF_UNIX address is a path or an abstract name "
                     "starting with NUL")


def _check_tcp(rc):
    """check() for the TCP calls: a host that does not resolve is socket.gaierror, as Python's."""
    if rc == _EINVAL and "cannot resolve host" in _lib.last_error_message():
        raise socket.gaierror(socket.EAI_NONAME, _lib.last_error_message())
    return rc


def _host_and_port(address):
    """(host bytes, port) of an AF_INET address."""
    try:
        host, port = address
    except (TypeError, ValueError):
        raise ValueError(f"address {address!r}: an AF_INET address is (host, port)") from None
    if not isinstance(host, str):
        raise TypeError(f"host {host!r}: str expected")
    if type(port) is not int:
        raise TypeError(f"port {port!r}: int expected")
    if not 0 <= port <= 65535:
        raise OverflowError("port must be 0-65535.")
    return host.encode("idna"), port


def _authkey_bytes(authkey):
    if authkey is not None and not isinstance(authkey, bytes):
        raise TypeError("authkey should be a byte string")
    return authkey or b""


class Listener(Closing):
    """multiprocessing.connection.Listener(address=None, family=None, backlog=1, authkey=None):
    a Unix socket (a path, or an abstract name starting with NUL; address None picks a fresh
    abstract name) or TCP (family "AF_INET" or a (host, port) address; port 0 picks a free port):
    .address is the bound one. With an authkey, both sides prove they hold it (HMAC-SHA256
    challenge, as Python 3.12's); a peer without it raises AuthenticationError. accept() gives a
    Connection; close() stops listening."""

    def __init__(self, address=None, family=None, backlog=1, authkey=None):
        family = _family_of(address, family)
        key = _authkey_bytes(authkey)
        out = _voidp()
        if family == "AF_INET":
            host, port = _host_and_port(("localhost", 0) if address is None else address)
            check(_check_tcp(_listener_create_tcp(host, port, key, len(key), _byref(out))))
        else:
            raw = None if address is None else _address_bytes(address)
            check(_listener_create(raw, 0 if raw is None else len(raw), key, len(key),
                                   _byref(out)))
        self._h = out.value
        self._family = family
        self._last_accepted = None

    def accept(self):
        if self._h is None:
            raise OSError("listener is closed")
        out = _voidp()
        # Waits for a connection in slices (Ctrl-C is handled between them), then accepts it with
        # a long limit: a slice's deadline must not cut a client's handshake short (the library
        # drops a peer still authenticating at the deadline of a timed accept).
        readable = [check(_listener_fileno(self._h))]
        while True:
            while not select.select(readable, [], [], _SLICE / 1000)[0]:
                pass
            rc = _listener_accept(self._h, _HANDSHAKE_MS, _byref(out))
            if rc != _ETIMEDOUT:
                break
        if rc == _lib.EAUTH:
            from . import AuthenticationError
            raise AuthenticationError("digest received was wrong")
        check(rc)
        connection = Connection(out.value)
        if self._family == "AF_INET":  # Python's last_accepted: the peer's (host, port)
            with socket.fromfd(connection.fileno(), socket.AF_INET, socket.SOCK_STREAM) as peer:
                self._last_accepted = peer.getpeername()
        return connection

    @property
    def address(self):
        if self._h is None:
            raise OSError("listener is closed")
        n = check(_listener_address(self._h, None, 0))
        buf = ctypes.create_string_buffer(n + 1)
        _listener_address(self._h, buf, n + 1)
        raw = buf.raw[:n]
        if self._family == "AF_INET":
            return (raw.decode(), check(_listener_port(self._h)))
        return raw.decode() if not raw.startswith(b"\0") else raw.decode("latin-1")

    @property
    def last_accepted(self):
        return self._last_accepted

    def _destroy_handle(self, h):
        _listener_destroy(h)


def Client(address, family=None, authkey=None):
    """multiprocessing.connection.Client: a Connection to the Listener at address (a Unix socket
    address, or (host, port) for TCP)."""
    family = _family_of(address, family)
    key = _authkey_bytes(authkey)
    out = _voidp()
    if family == "AF_INET":
        host, port = _host_and_port(address)
        rc = _check_tcp(_client_connect_tcp(host, port, key, len(key), _byref(out)))
    else:
        raw = _address_bytes(address)
        rc = _client_connect(raw, len(raw), key, len(key), _byref(out))
    if rc == _lib.EAUTH:
        from . import AuthenticationError
        raise AuthenticationError("digest received was wrong")
    check(rc)
    return Connection(out.value)
