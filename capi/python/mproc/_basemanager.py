"""BaseManager: multiprocessing.managers' server process and proxies, for objects of the user's own
types (register), reached by address from any process, over the package's Listener / Client.

The server holds the objects; a proxy sends (method, args, kwargs) pickled over a Connection and
gets the result pickled back (one connection per thread and server, as Python's). An object is
kept while a proxy to it exists (counted by the server) and dropped when the last one goes.
Exceptions raised by a method are raised again by the proxy. The shared containers of Manager()
need none of this (managers.py: shared memory, no server); this is for register()ed types, and
for managers reached over TCP (address=(host, port)) from other machines: give them an authkey.
"""

import atexit
import os
import threading
import traceback
import weakref

from . import connection, process

__all__ = ["BaseManager", "BaseProxy", "Server", "Token", "RemoteError", "AutoProxy",
           "MakeProxyType", "public_methods"]


class RemoteError(Exception):
    """A failure in the server that could not be sent back as its own exception."""

    def __str__(self):
        return "\n" + "-" * 75 + "\n" + str(self.args[0]) + "-" * 75


class Token:
    """What names an object in a server: its typeid, the server's address and the object's id."""

    __slots__ = ("typeid", "address", "id")

    def __init__(self, typeid, address, id):
        self.typeid, self.address, self.id = typeid, address, id

    def __getstate__(self):
        return (self.typeid, self.address, self.id)

    def __setstate__(self, state):
        self.typeid, self.address, self.id = state

    def __repr__(self):
        return f"Token(typeid={self.typeid!r}, address={self.address!r}, id={self.id!r})"


def public_methods(obj):
    """The names of obj's callable attributes that do not start with '_' (Python's default
    exposed list)."""
    return [name for name in dir(obj)
            if name[0] != "_" and callable(getattr(obj, name, None))]


# ---- the server ---------------------------------------------------------------------------------

class Server:
    """Serves the objects of a manager's registry at an address (get_server().serve_forever(), or
    the process that start() forks)."""

    def __init__(self, registry, address, authkey, serializer="pickle"):
        if serializer != "pickle":
            raise ValueError(f"serializer {serializer!r}: mproc supports 'pickle' only")
        self.registry = registry
        self.authkey = authkey
        self.listener = connection.Listener(address=address, backlog=128, authkey=authkey)
        self.address = self.listener.address
        self.objects = {}   # id -> [object, exposed, method_to_typeid, reference count]
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.next_id = 0

    def serve_forever(self):
        """Accepts clients (a thread each) until a client asks for shutdown; then exits the
        process (sys.exit(0)), as Python's."""
        accepter = threading.Thread(target=self._accepter, daemon=True)
        accepter.start()
        try:
            while not self.stop_event.wait(1.0):
                pass
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.listener.close()
            import sys
            sys.exit(0)

    def _accepter(self):
        while not self.stop_event.is_set():
            try:
                conn = self.listener.accept()
            except Exception:  # closed, or a client that failed authentication (refused)
                if self.listener.closed:
                    return
                continue
            threading.Thread(target=self._serve_client, args=(conn,), daemon=True).start()

    def _serve_client(self, conn):
        with conn:
            while not self.stop_event.is_set():
                try:
                    request = conn.recv()
                except (EOFError, OSError):
                    return
                try:
                    reply = ("#RETURN", self._handle(*request))
                except Exception as e:
                    reply = ("#ERROR", e)
                try:
                    conn.send(reply)
                except Exception:
                    conn.send(("#TRACEBACK", traceback.format_exc()))
                if request[0] == "shutdown":
                    self.stop_event.set()

    def _handle(self, op, *args):
        if op == "call":
            return self._call(*args)
        if op == "create":
            return self._create(*args)
        if op == "get_methods":
            with self.lock:
                return self.objects[args[0]][1]
        if op == "incref":
            return self._incref(args[0])
        if op == "decref":
            return self._decref(args[0])
        if op in ("dummy", "shutdown"):
            return None
        if op == "debug_info":
            with self.lock:
                return {ident: (type(entry[0]).__name__, entry[3])
                        for ident, entry in self.objects.items()}
        raise ValueError(f"unknown request {op!r}")

    def _register(self, typeid, obj, exposed=None, method_to_typeid=None):
        """Keeps obj with one reference and gives (token id, exposed method names)."""
        if exposed is None:
            exposed = getattr(obj, "_exposed_", None) or public_methods(obj)
        if method_to_typeid is None:
            method_to_typeid = getattr(obj, "_method_to_typeid_", None) or {}
        with self.lock:
            self.next_id += 1
            ident = f"{self.next_id:x}"
            self.objects[ident] = [obj, tuple(exposed), dict(method_to_typeid), 1]
        return ident, tuple(exposed)

    def _create(self, typeid, args, kwds):
        callable_, exposed, method_to_typeid, _ = self.registry[typeid]
        if callable_ is None:
            raise ValueError(f"typeid {typeid!r} has no callable in the server's registry")
        return self._register(typeid, callable_(*args, **kwds), exposed, method_to_typeid)

    def _call(self, ident, method, args, kwds):
        with self.lock:
            obj, exposed, method_to_typeid, _ = self.objects[ident]
        if method == "#GETVALUE":
            return obj
        if method in ("__repr__", "__str__"):  # a proxy's repr / str: the referent's
            return getattr(obj, method)()
        if method not in exposed:
            raise AttributeError(f"method {method!r} of {type(obj)!r} object is not in the "
                                 f"exposed list {list(exposed)!r}")
        result = getattr(obj, method)(*args, **kwds)
        typeid = method_to_typeid.get(method)
        if typeid is None:
            return result
        _, exposed, to_typeid, _ = self.registry[typeid]
        ident, exposed = self._register(typeid, result, exposed, to_typeid)
        return ("#PROXY", typeid, ident, exposed)

    def _incref(self, ident):
        with self.lock:
            self.objects[ident][3] += 1

    def _decref(self, ident):
        with self.lock:
            entry = self.objects.get(ident)
            if entry is None:
                return
            entry[3] -= 1
            if entry[3] == 0:
                del self.objects[ident]  # the object goes outside the lock (its __del__ may run)


# ---- the client side ----------------------------------------------------------------------------

_local = threading.local()  # per thread: (address, authkey) -> Connection


def _connection(address, authkey):
    """This thread's connection to the server at address."""
    connections = getattr(_local, "connections", None)
    if connections is None or getattr(_local, "pid", None) != os.getpid():
        connections = _local.connections = {}  # a forked child opens its own
        _local.pid = os.getpid()
    conn = connections.get((address, authkey))
    if conn is None:
        conn = connections[(address, authkey)] = connection.Client(address, authkey=authkey)
    return conn


def _request(address, authkey, op, *args):
    """Sends one request to the server at address and gives its result."""
    conn = _connection(address, authkey)
    try:
        conn.send((op,) + args)
        kind, result = conn.recv()
    except (EOFError, OSError):
        _local.connections.pop((address, authkey), None)  # gone: the next call reconnects
        raise
    if kind == "#RETURN":
        return result
    if kind == "#ERROR":
        raise result
    raise RemoteError(result)


def _default_authkey(authkey):
    return process.current_process().authkey if authkey is None else bytes(authkey)


def _decref(address, authkey, ident, owner):
    if os.getpid() != owner:
        return  # a forked child's inherited copy: it never took a reference of its own
    try:
        _request(address, authkey, "decref", ident)
    except Exception:
        pass  # the server has gone: nothing left to release


class BaseProxy:
    """A reference to an object in a manager's server: _callmethod(name, args, kwds) calls it
    there. Subclass it with _exposed_ (and _method_to_typeid_) to write a proxy type, as in
    Python."""

    def __init__(self, token, serializer="pickle", manager=None, authkey=None, exposed=None,
                 incref=True, manager_owned=False):
        self._token = token
        self._manager = manager
        self._authkey = _default_authkey(authkey if authkey is not None or manager is None
                                         else manager._authkey)
        if incref and not manager_owned:
            _request(token.address, self._authkey, "incref", token.id)
        self._close = weakref.finalize(self, _decref, token.address, self._authkey, token.id,
                                       os.getpid())
        self._close.atexit = False  # at exit the server goes too: no traffic for it

    def _callmethod(self, methodname, args=(), kwds={}):
        """Calls methodname on the referent; a result the server proxies (method_to_typeid) comes
        back as a proxy."""
        result = _request(self._token.address, self._authkey, "call", self._token.id, methodname,
                          tuple(args), dict(kwds))
        if isinstance(result, tuple) and len(result) == 4 and result[0] == "#PROXY":
            _, typeid, ident, exposed = result
            proxytype = self._manager._registry[typeid][-1] if self._manager else AutoProxy
            proxy = proxytype(Token(typeid, self._token.address, ident), manager=self._manager,
                              authkey=self._authkey, exposed=exposed, incref=False)
            return proxy
        return result

    def _getvalue(self):
        """A copy of the referent."""
        return self._callmethod("#GETVALUE")

    def __reduce__(self):
        # The key does not travel: the receiving process uses its own (as Python's: a child
        # inherits its parent's).
        exposed = getattr(self, "_exposed_", None)
        auto = getattr(type(self), "_auto", False)  # made at run time: rebuilt, not imported
        return (_rebuild_proxy, (None if auto else type(self), self._token, exposed))

    def __deepcopy__(self, memo):
        return self._getvalue()

    def __repr__(self):
        return (f"<{type(self).__name__} object, typeid {self._token.typeid!r} at "
                f"{id(self):#x}>")

    def __str__(self):
        try:
            return self._callmethod("__repr__")
        except Exception:
            return repr(self)[:-1] + "; '__str__()' failed>"


def _rebuild_proxy(proxytype, token, exposed):
    if proxytype is None:
        return AutoProxy(token, exposed=exposed)
    return proxytype(token, exposed=exposed)


class _AutoProxyBase(BaseProxy):
    _auto = True


_proxy_types = {}


def MakeProxyType(name, exposed, _cache=_proxy_types):
    """A BaseProxy subclass with one method per name of exposed, each calling _callmethod."""
    exposed = tuple(exposed)
    try:
        return _cache[(name, exposed)]
    except KeyError:
        pass
    namespace = {}
    for meth in exposed:
        exec(f"def {meth}(self, /, *args, **kwds):\n"
             f"    return self._callmethod({meth!r}, args, kwds)", namespace)
    proxytype = type(name, (_AutoProxyBase,), {m: namespace[m] for m in exposed})
    proxytype._exposed_ = exposed
    _cache[(name, exposed)] = proxytype
    return proxytype


def AutoProxy(token, serializer="pickle", manager=None, authkey=None, exposed=None, incref=True,
              manager_owned=False):
    """A proxy whose methods are the referent's exposed ones (asked from the server if not
    given)."""
    if exposed is None:
        exposed = _request(token.address, _default_authkey(authkey), "get_methods", token.id)
    proxytype = MakeProxyType(f"AutoProxy[{token.typeid}]", exposed)
    return proxytype(token, serializer, manager=manager, authkey=authkey, incref=incref,
                     manager_owned=manager_owned)


# ---- the manager --------------------------------------------------------------------------------

def _run_server(registry, address, authkey, serializer, writer, initializer, initargs):
    """The body of start()'s server process."""
    if initializer is not None:
        initializer(*initargs)
    server = Server(registry, address, authkey, serializer)
    writer.send(server.address)
    writer.close()
    server.serve_forever()


class BaseManager:
    """multiprocessing.managers.BaseManager(address=None, authkey=None, serializer='pickle'):
    register(typeid, callable, ...) as a class method; start() forks a server process (the
    package's Process), connect() reaches a running one, get_server() makes one to serve from
    this process, shutdown() stops the one start() made. A context manager (start on entry,
    shutdown on exit)."""

    _registry = {}

    def __init__(self, address=None, authkey=None, serializer="pickle", ctx=None, *,
                 shutdown_timeout=1.0):
        self._address = address
        self._authkey = _default_authkey(authkey)
        self._serializer = serializer
        self._shutdown_timeout = shutdown_timeout
        self._process = None
        self._state = "INITIAL"

    @property
    def address(self):
        return self._address

    def get_server(self):
        """A Server for this manager's registry at its address, to run with serve_forever()."""
        if self._state != "INITIAL":
            raise ProcessLookupError(f"Unknown state {self._state!r}")
        return Server(self._registry, self._address, self._authkey, self._serializer)

    def connect(self):
        """Uses the server already running at the manager's address."""
        _request(self._address, self._authkey, "dummy")
        self._state = "STARTED"

    def start(self, initializer=None, initargs=()):
        """Starts the server in a child process (a fork of this one) and waits for its
        address."""
        if self._state != "INITIAL":
            raise _process_error("Already started server" if self._state == "STARTED"
                                else f"Manager in state {self._state}")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        reader, writer = connection.Pipe(duplex=False)
        self._process = process.Process(
            target=_run_server, name=type(self).__name__ + "-server",
            args=(self._registry, self._address, self._authkey, self._serializer, writer,
                  initializer, initargs))
        self._process.start()
        self._owner = os.getpid()
        _started.add(self)
        writer.close()
        try:
            self._address = reader.recv()
        except EOFError:
            self._process.join()
            raise _process_error("the manager's server process failed to start "
                                f"(exit code {self._process.exitcode})") from None
        finally:
            reader.close()
        self._state = "STARTED"

    def join(self, timeout=None):
        if self._process is not None:
            self._process.join(timeout)
            if not self._process.is_alive():
                self._process = None

    def shutdown(self):
        """Stops the server that start() made (killing it if it does not stop in time)."""
        if self._state != "STARTED":
            return
        self._state = "SHUTDOWN"
        if self._process is None:
            return
        try:
            _request(self._address, self._authkey, "shutdown")
        except Exception:
            pass
        connections = getattr(_local, "connections", None)
        if connections and (self._address, self._authkey) in connections:
            connections.pop((self._address, self._authkey)).close()
        self._process.join(self._shutdown_timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(self._shutdown_timeout)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._process = None

    def _debug_info(self):
        return _request(self._address, self._authkey, "debug_info")

    def _create(self, typeid, /, *args, **kwds):
        return _request(self._address, self._authkey, "create", typeid, args, kwds)

    def __enter__(self):
        if self._state == "INITIAL":
            self.start()
        if self._state != "STARTED":
            raise _process_error(f"Unable to start server, state {self._state}")
        return self

    def __exit__(self, *exc_info):
        self.shutdown()

    @classmethod
    def register(cls, typeid, callable=None, proxytype=None, exposed=None, method_to_typeid=None,
                 create_method=True):
        """Registers a type (or any callable making objects) under typeid: a manager method
        typeid(*args, **kwds) (create_method) makes one in the server and gives its proxy."""
        if "_registry" not in cls.__dict__:
            cls._registry = cls._registry.copy()
        if proxytype is None:
            proxytype = AutoProxy
        exposed = exposed or getattr(proxytype, "_exposed_", None)
        method_to_typeid = method_to_typeid or getattr(proxytype, "_method_to_typeid_", None)
        if method_to_typeid:
            for key, value in list(method_to_typeid.items()):
                assert type(key) is str, f"{key!r} is not a string"
                assert type(value) is str, f"{value!r} is not a string"
        cls._registry[typeid] = (callable, exposed, method_to_typeid, proxytype)
        if create_method:
            def temp(self, /, *args, **kwds):
                ident, exp = self._create(typeid, *args, **kwds)
                proxy = proxytype(Token(typeid, self._address, ident), manager=self,
                                  authkey=self._authkey, exposed=exp, incref=False)
                return proxy
            temp.__name__ = typeid
            setattr(cls, typeid, temp)


_started = weakref.WeakSet()  # managers whose server this process started


@atexit.register
def _shutdown_at_exit():
    """As Python's finalizer: a manager left running is shut down at exit (registered after
    process.py's exit handler, so it runs before the children are joined)."""
    for manager in list(_started):
        try:
            if manager._owner == os.getpid():  # a forked child's copy is not its to stop
                manager.shutdown()
        except Exception:
            pass


def _process_error(message):
    from . import ProcessError
    return ProcessError(message)
