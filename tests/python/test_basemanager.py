"""BaseManager: register()ed types served by a server process (start) or by this one
(get_server().serve_forever()), reached by address over Unix sockets or TCP; the documentation's
"Customized managers" and "Using a remote manager" examples run as scripts with only the import
replaced."""

import os
import signal
import socket
import subprocess
import sys

import pytest

import mproc
from mproc.managers import BaseManager, BaseProxy
from conftest import WAIT, script_env

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "docs_examples")


def run(name, *args):
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *map(str, args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=WAIT,
                          env=script_env())
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().splitlines()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_customized_manager_example():
    assert run("customized_manager.py") == ["7", "56"]


@pytest.mark.parametrize("server", ["remote_queue_server.py", "local_worker_queue_server.py"])
def test_remote_manager_example(server):
    port = free_port()
    serving = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, server), str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=script_env())
    try:
        assert serving.stdout.readline() == b"serving\n"
        if server == "remote_queue_server.py":
            run("remote_queue_put.py", port)
            assert run("remote_queue_get.py", port) == ["hello"]
        else:
            assert run("remote_queue_get.py", port) == ["local hello"]
    finally:
        serving.send_signal(signal.SIGTERM)
        serving.communicate(timeout=WAIT)


class Counter:
    def __init__(self, start=0):
        self.n = start

    def add(self, k=1):
        self.n += k
        return self.n

    def fail(self):
        raise KeyError("no such thing")

    def child(self):
        return Counter(self.n * 10)

    def _hidden(self):
        return "hidden"


class CounterProxy(BaseProxy):
    _exposed_ = ("add", "child")
    _method_to_typeid_ = {"child": "Counter"}

    def add(self, k=1):
        return self._callmethod("add", (k,))

    def child(self):
        return self._callmethod("child")


class CounterManager(BaseManager):
    pass


CounterManager.register("Counter", Counter)
CounterManager.register("Typed", Counter, proxytype=CounterProxy)
CounterManager.register("Hidden", Counter, exposed=("add",), create_method=False)


def add_in_child(counter, k):
    counter.add(k)


def test_registered_class_started_server_and_proxies_in_processes_and_pools():
    with CounterManager() as manager:
        assert manager.address[0:1] == "\0"  # a fresh abstract Unix address by default
        c = manager.Counter(5)
        assert c.add() == 6
        with pytest.raises(KeyError):
            c.fail()  # the method's exception, raised again here
        with pytest.raises(AttributeError):
            c._callmethod("_hidden")  # not exposed
        grand = c.child()  # not in method_to_typeid: a copy
        assert isinstance(grand, Counter) and grand.n == 60
        p = mproc.Process(target=add_in_child, args=(c, 4))
        p.start()
        p.join(WAIT)
        assert p.exitcode == 0 and c.add(0) == 10
        with mproc.Pool(2) as pool:
            pool.starmap(add_in_child, [(c, 1)] * 6)  # the proxy pickled into the tasks
        assert c.add(0) == 16
        t = manager.Typed(2)
        assert isinstance(t, CounterProxy) and t.add(3) == 5
        sub = t.child()  # method_to_typeid: a proxy of a new object in the server
        assert type(sub).__name__ == "AutoProxy[Counter]" and sub.add(1) == 51
        assert not hasattr(manager, "Hidden")
        assert c._getvalue().n == 16
        assert str(c).startswith("<test_basemanager.Counter object")  # the referent's repr
        info = manager._debug_info()
        del grand, sub
        assert len(info) >= 3


def test_connect_by_address_from_another_process_and_shutdown():
    manager = CounterManager(address=("127.0.0.1", 0), authkey=b"key")
    manager.start()
    host, port = manager.address
    assert host == "127.0.0.1" and port > 0
    p = mproc.Process(target=connect_and_add, args=(manager.address,))
    p.start()
    p.join(WAIT)
    assert p.exitcode == 0
    wrong = CounterManager(address=manager.address, authkey=b"other")
    with pytest.raises(mproc.AuthenticationError):
        wrong.connect()
    p = mproc.Process(target=connect_and_add, args=(manager.address,))
    p.start()  # the server goes on serving after a refused client
    p.join(WAIT)
    assert p.exitcode == 0
    manager.shutdown()
    manager.shutdown()  # twice: a no-op
    late = CounterManager(address=manager.address, authkey=b"key")
    with pytest.raises(ConnectionRefusedError):
        late.connect()


def connect_and_add(address):
    m = CounterManager(address=address, authkey=b"key")
    m.connect()
    c = m.Counter(1)
    assert c.add(2) == 3


def test_bad_input():
    with pytest.raises(ValueError):
        CounterManager(serializer="xmlrpclib").get_server()
    m = CounterManager()
    m.start()
    try:
        with pytest.raises(mproc.ProcessError):
            m.start()
        with pytest.raises(TypeError):
            m.Counter(1, 2, 3)  # the server's TypeError
    finally:
        m.shutdown()
    with pytest.raises(TypeError):
        CounterManager().start(initializer=42)


class CounterSyncManager(mproc.managers.SyncManager):
    pass


CounterSyncManager.register("Counter", Counter)


def test_sync_manager_subclass_serves_registered_types_beside_its_own():
    """As multiprocessing's SyncManager: a BaseManager whose subclasses register() types (served
    by its server process) while its own dict, list, Queue, ... keep working."""
    assert issubclass(mproc.managers.SyncManager, BaseManager)
    assert "Counter" not in mproc.managers.SyncManager._registry  # the subclass's own registry
    with CounterSyncManager() as manager:
        counter = manager.Counter(5)
        d = manager.dict(a=1)
        q = manager.Queue()
        assert counter.add(2) == 7
        d["b"] = 2
        q.put("x")
        assert dict(d) == {"a": 1, "b": 2}
        assert q.get(timeout=WAIT) == "x"
        assert manager._process is not None and manager._process.is_alive()
        server = manager._process
    assert not server.is_alive()
    # Without registered types no server is started, and Manager() is a started SyncManager.
    with mproc.Manager() as manager:
        assert manager._process is None
        assert isinstance(manager, mproc.managers.SyncManager)
        manager.list([1]).append(2)


def square(x):
    return x * x


class PoolManager(BaseManager):
    pass


PoolManager.register("Pool", mproc.Pool)


def test_a_pool_made_by_a_manager_server():
    """A Pool registered on a BaseManager lives in its server process (its workers forked by a
    fork server started from the server's client thread) and is used through its proxy."""
    with PoolManager() as manager:
        pool = manager.Pool(2)
        assert pool.map(square, range(10)) == [x * x for x in range(10)]
        assert pool.apply(square, (7,)) == 49
        assert sorted(pool.starmap(pow, [(2, 3), (3, 2)])) == [8, 9]
        pool.close()
        pool.join()
