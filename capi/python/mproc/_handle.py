"""The one way the package's objects let go of a library handle.

`Handle` owns one C handle in `self._h` and frees it once: `_release()` (explicitly, or when the
object is collected). `_destroy_handle(h)` names the C function that frees it. `Closing` adds the
public `close()` and the context manager for the objects whose Python original has them
(Connection, Listener).
"""


class Handle:
    """Owns the library handle self._h (None once released)."""

    _h = None

    def _destroy_handle(self, h):
        raise NotImplementedError

    def _release(self):
        h, self._h = self._h, None
        if h is not None:
            self._destroy_handle(h)

    def __del__(self):
        # At interpreter exit the module globals a release needs may be gone already.
        try:
            self._release()
        except Exception:
            pass


class Closing(Handle):
    """close() releases the handle; a with block closes on exit."""

    @property
    def closed(self):
        return self._h is None

    def close(self):
        self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
