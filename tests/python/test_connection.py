"""Pipe and Connection: objects and bytes, EOF, closed ends, one-way pipes, wait()."""

import array
import os
import signal
import time

import pytest

import mproc
from mproc import connection
from conftest import WAIT


def echo(conn, n):
    for _ in range(n):
        conn.send(conn.recv())
    conn.close()


def producer(conn, other):
    other.close()
    for i in range(10):
        conn.send(f"url_{i}")
    conn.close()


def test_send_recv_objects_across_processes():
    a, b = mproc.Pipe()
    p = mproc.Process(target=echo, args=(b, 3))
    p.start()
    b.close()
    for obj in ({"k": [1, 2.5, None]}, "x" * 100_000, b""):
        a.send(obj)
        assert a.poll(WAIT)
        assert a.recv() == obj
    with pytest.raises(EOFError):
        a.recv()  # the child closed its end and exited
    p.join(WAIT)
    assert p.exitcode == 0
    a.close()


def test_eof_after_the_producer_closes():
    reader, writer = mproc.Pipe(duplex=False)
    assert reader.readable and not reader.writable and writer.writable
    p = mproc.Process(target=producer, args=(writer, reader))
    p.start()
    writer.close()
    got = []
    while True:
        try:
            got.append(reader.recv())
        except EOFError:
            break
    p.join(WAIT)
    assert got == [f"url_{i}" for i in range(10)]
    reader.close()


def test_bytes_offsets_and_recv_bytes_into():
    a, b = mproc.Pipe()
    a.send_bytes(b"0123456789", 2, 5)
    assert b.recv_bytes() == b"23456"
    a.send_bytes(bytearray(b"abc"))
    buf = bytearray(10)
    assert b.recv_bytes_into(buf, 4) == 3 and buf[4:7] == b"abc"
    a.send_bytes(array.array("i", [1, 2]))
    assert b.recv_bytes() == array.array("i", [1, 2]).tobytes()
    a.send_bytes(b"too long for it")
    with pytest.raises(mproc.BufferTooShort) as info:
        b.recv_bytes_into(bytearray(4))
    assert info.value.args[0] == b"too long for it"
    big = os.urandom(100_000)  # fits the socket buffer: nobody reads while it is sent
    a.send_bytes(big)
    assert b.recv_bytes() == big
    with pytest.raises(ValueError):
        a.send_bytes(b"abc", 2, 5)
    with pytest.raises(ValueError):
        a.send_bytes(b"abc", -1)
    a.close()
    b.close()


def test_closed_and_one_way_ends_raise_oserror():
    a, b = mproc.Pipe(duplex=False)
    with pytest.raises(OSError):
        a.send("x")
    with pytest.raises(OSError):
        b.recv()
    a.close()
    assert a.closed
    with pytest.raises(OSError):
        a.recv()
    with pytest.raises(BrokenPipeError):
        b.send("nobody reads")
    b.close()
    b.close()  # twice is fine


def test_poll_timeout_and_wait():
    a, b = mproc.Pipe()
    c, d = mproc.Pipe()
    assert not a.poll()
    assert not a.poll(0.01)
    assert connection.wait([a, c], timeout=0.01) == []
    d.send(1)
    assert connection.wait([a, c], timeout=WAIT) == [c]
    p = mproc.Process(target=os.getpid)
    p.start()
    ready = connection.wait([p.sentinel, a], timeout=WAIT)
    assert ready == [p.sentinel]
    p.join(WAIT)
    for end in (a, b, c, d):
        end.close()


def reply_through(conn, x):
    conn.send(("from a pool worker", x, os.getpid()))
    return x


def test_unpicklable_objects_and_connections_passed_by_pickle():
    a, b = mproc.Pipe()
    with pytest.raises(Exception):
        a.send(lambda: 0)
    c, d = mproc.Pipe()
    a.send(d)  # a connection through a connection: the receiver takes a copy of the descriptor
    d_again = b.recv()
    d_again.send("through the copy")
    assert c.recv() == "through the copy"
    with mproc.Pool(2) as pool:  # Pool task arguments
        assert sorted(pool.starmap(reply_through, [(d, i) for i in range(4)])) == [0, 1, 2, 3]
        got = sorted(c.recv()[1] for _ in range(4))
    assert got == [0, 1, 2, 3]
    d.close()
    with pytest.raises(OSError):
        a.send(d)  # a closed end does not pickle
    for end in (a, b, c, d_again):
        end.close()


def client_echo(address, authkey):
    from mproc.connection import Client
    with_conn = Client(address, authkey=authkey)
    with_conn.send(("hello", with_conn.recv()))
    with_conn.close()


def test_listener_and_client_between_processes_with_an_authkey(tmp_path):
    from mproc.connection import Client, Listener
    for address in (None, str(tmp_path / "sock")):
        with Listener(address, authkey=b"secret") as listener:
            p = mproc.Process(target=client_echo, args=(listener.address, b"secret"))
            p.start()
            conn = listener.accept()
            conn.send([1, 2])
            assert conn.recv() == ("hello", [1, 2])
            conn.close()
            p.join(WAIT)
            assert p.exitcode == 0
    with Listener(authkey=b"secret") as listener:
        p = mproc.Process(target=client_echo, args=(listener.address, b"wrong"))
        p.start()
        with pytest.raises(mproc.AuthenticationError):
            listener.accept()
        p.join(WAIT)
        assert p.exitcode == 1  # the client's AuthenticationError
    with pytest.raises(ValueError):
        Listener(family="AF_PIPE")
    with pytest.raises(TypeError):
        Listener(authkey="not bytes")
    with pytest.raises(OSError):
        Client(str(tmp_path / "nobody-listens"))


def test_listener_and_client_over_tcp():
    """AF_INET as Python's: (host, port) addresses, port 0 picks one and .address reports it,
    messages of any size, the key checked both ways."""
    from mproc.connection import Client, Listener
    with Listener(("localhost", 0), authkey=b"secret") as listener:
        host, port = listener.address
        assert host == "127.0.0.1" and port > 0
        p = mproc.Process(target=client_echo, args=(("127.0.0.1", port), b"secret"))
        p.start()
        conn = listener.accept()
        assert listener.last_accepted[0] == "127.0.0.1"
        big = b"x" * (3 << 20)
        conn.send([1, big])
        assert conn.recv() == ("hello", [1, big])
        with pytest.raises(EOFError):
            conn.recv()
        conn.close()
        p.join(WAIT)
        assert p.exitcode == 0
        p = mproc.Process(target=client_echo, args=(listener.address, b"wrong"))
        p.start()
        with pytest.raises(mproc.AuthenticationError):
            listener.accept()
        p.join(WAIT)
        assert p.exitcode == 1
    with Listener(family="AF_INET") as listener:  # Python's default AF_INET address
        assert listener.address[0] == "127.0.0.1"
    with pytest.raises(ConnectionRefusedError):
        Client(("127.0.0.1", port))  # closed with its with block
    with pytest.raises(OverflowError):
        Listener(("localhost", 70000))
    with pytest.raises(TypeError):
        Client(("localhost", "80"))
    with pytest.raises(ValueError):
        Client(("localhost",))
    with pytest.raises(OSError):
        Listener(("no-such-host.invalid", 0))


def _when_blocked(pid):
    """Returns once process pid's main thread sleeps (blocked in its receive), or after WAIT."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/task/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "S":
                return
        time.sleep(0.001)  # polling the parent's state, not waiting for an event


def _signal_blocked_receiver(conn, pid):
    _when_blocked(pid)
    os.kill(pid, signal.SIGUSR1)  # its handler only counts: the receive goes on
    conn.send("one")
    assert conn.recv() == "blocked again"
    _when_blocked(pid)
    os.kill(pid, signal.SIGUSR2)  # its handler raises: the receive raises it
    assert conn.recv() == "go"
    conn.send("two")
    conn.close()


class _Interrupted(Exception):
    pass


def test_signal_handlers_run_during_a_blocked_recv():
    """A receive without limit blocks in the system call and returns at a signal: the handler runs
    (Ctrl-C's KeyboardInterrupt would be raised there), then the receive goes on, or raises what
    the handler raised, as Python's own blocking reads (PEP 475)."""
    counted = []

    def count(*_):
        counted.append(1)

    def interrupt(*_):
        raise _Interrupted

    old1 = signal.signal(signal.SIGUSR1, count)
    old2 = signal.signal(signal.SIGUSR2, interrupt)
    try:
        a, b = mproc.Pipe()
        p = mproc.Process(target=_signal_blocked_receiver, args=(b, os.getpid()))
        p.start()
        b.close()
        assert a.recv() == "one"
        assert counted == [1]
        a.send("blocked again")
        with pytest.raises(_Interrupted):
            a.recv()
        a.send("go")
        assert a.recv() == "two"  # the connection is intact
        p.join(WAIT)
        assert p.exitcode == 0
        a.close()
    finally:
        signal.signal(signal.SIGUSR1, old1)
        signal.signal(signal.SIGUSR2, old2)
