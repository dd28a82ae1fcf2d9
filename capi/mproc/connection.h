/** @file
 * mproc's C ABI: pipes, connections, listeners and clients, wait.
 * Part of <mproc.h>, the umbrella header, whose file comment gives the conventions every
 * function follows; this header may also be included on its own. */
#ifndef MPROC_CONNECTION_H
#define MPROC_CONNECTION_H

#include "mproc/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Pipes and connections: Python's multiprocessing.Pipe / Connection. A connection is one end of
 * a pipe that carries whole messages: messages never merge or split, an empty message is
 * delivered, and any size up to the end's maximum (4 GiB by default) works.
 *
 * A dead or closed peer is an error, never a hang or a signal: receiving reports MPROC_EEOF once
 * no message is left, sending reports -EPIPE, and the process never receives SIGPIPE (its SIGPIPE
 * disposition is not changed). A signal never interrupts a call (no -EINTR) nor stretches a
 * timeout.
 *
 * Fork: connections are inherited by forked children (mproc_fork, mproc_process_start) and work
 * there. The end-of-file of an end is seen once every copy of the peer end is closed: close the
 * ends a process does not use.
 *
 * Thread-safety: one thread may send while another receives on the same connection; two threads
 * sending (or two receiving) on one connection at the same time must be serialised by the caller.
 * mproc_connection_close and _destroy must not race with other calls on the same connection.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_connection_s mproc_connection_t;

/** Creates a pipe: two connected ends in *a and *b. duplex != 0: both ends send and receive.
 * duplex == 0: *a only receives and *b only sends (using an end the other way is MPROC_ESTATE).
 * Release each end with mproc_connection_destroy.
 * Errors: -EINVAL (a or b NULL, or a == b), -EMFILE / -ENFILE (no descriptors left). On failure
 * *a and *b are untouched. */
MPROC_API int mproc_pipe_create(int duplex, mproc_connection_t **a, mproc_connection_t **b);

/** Makes a connection of `fd`, an AF_UNIX SOCK_SEQPACKET socket whose peer is a connection (an end
 * of mproc_pipe_create obtained by another process: inherited across exec, received over a unix
 * socket, or taken with pidfd_getfd(2)), or (since 0.3) a connected TCP socket whose peer is a
 * connection of mproc_listener_create_tcp / mproc_client_connect_tcp. The connection owns fd from then on; readable / writable
 * != 0 say which ways it is used. Errors: -EINVAL (out NULL; fd not such a socket; neither
 * readable nor writable), -EBADF (fd negative), -ENOMEM (then fd is closed). On the other failures
 * fd is left open and *out is untouched.
 * Since: 0.2. */
MPROC_API int mproc_connection_from_fd(int fd, int readable, int writable,
                                       mproc_connection_t **out);

/** Sends one message of len bytes (len may be 0; data may be NULL when len is 0). Blocks while the
 * peer's buffer is full. The bytes are copied: data may be reused as soon as this returns.
 * Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (data NULL with len > 0), MPROC_ESTATE (a
 * receive-only end), MPROC_ETOOBIG (len above the end's maximum; nothing is sent, the connection
 * stays usable), -EPIPE (the peer end is closed). */
MPROC_API int mproc_connection_send_bytes(mproc_connection_t *c, const void *data, size_t len);

/** Receives the next message, waiting at most timeout_ms (MPROC_WAIT_FOREVER: no limit; 0: only
 * if one is already there; MPROC_WAIT_INTERRUPTIBLE: no limit, but -EINTR when a signal handler
 * interrupts the wait, the message begun, if any, kept for the next call). On success *out points to a new buffer of *len bytes that the caller
 * releases with mproc_buffer_free; *out is not NULL even for an empty message.
 * Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (out or len NULL, timeout_ms < -2),
 * -EINTR (only with MPROC_WAIT_INTERRUPTIBLE),
 * MPROC_ESTATE (a send-only end; or this end can no longer receive after an oversized or
 * malformed message), MPROC_ETIMEDOUT (no whole message in time; a message begun is kept for the
 * next call), MPROC_EEOF (the peer closed its end and no message is left), MPROC_ETOOBIG (the
 * incoming message announces more than this end's maximum: this end can no longer receive),
 * -EPROTO (bytes on the socket that no connection sent: this end can no longer receive), -ENOMEM.
 * On failure *out and *len are untouched. */
MPROC_API int mproc_connection_recv_bytes(mproc_connection_t *c, int64_t timeout_ms, void **out,
                                          size_t *len);

/** Receives the next message into buf[0 .. cap), waiting at most timeout_ms, and stores its size
 * in *len. If the message is longer than cap, returns MPROC_ETOOBIG with the size needed in *len
 * and keeps the message: a later call with a large enough buffer (or mproc_connection_recv_bytes)
 * receives it; buf's contents are then unspecified. buf may be NULL when cap is 0 (only an empty
 * message fits). Errors: as mproc_connection_recv_bytes, plus -EINVAL (len NULL, or buf NULL with
 * cap > 0) and MPROC_ETOOBIG as described. */
MPROC_API int mproc_connection_recv_bytes_into(mproc_connection_t *c, void *buf, size_t cap,
                                               size_t *len, int64_t timeout_ms);

/** 1 if a message (or end-of-file) is ready to be received, waiting at most timeout_ms for one;
 * 0 if not. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, MPROC_ESTATE (a send-only end), -EINVAL
 * (timeout_ms < -1). */
MPROC_API int mproc_connection_poll(mproc_connection_t *c, int64_t timeout_ms);

/** The end's socket descriptor (>= 0), owned by the connection, for poll/epoll: readable when a
 * message or end-of-file is waiting. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED. */
MPROC_API int mproc_connection_fileno(mproc_connection_t *c);

/** The largest message this end sends or accepts (default 4 GiB). An incoming message above it is
 * MPROC_ETOOBIG and ends this end's receiving. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL
 * (max_size 0; out NULL). */
MPROC_API int mproc_connection_set_max_message_size(mproc_connection_t *c, uint64_t max_size);
MPROC_API int mproc_connection_max_message_size(mproc_connection_t *c, uint64_t *out);
/** @deprecated The old name of mproc_connection_max_message_size() (getters are named
 * mproc_<noun>_<property>). */
MPROC_API int mproc_connection_get_max_message_size(mproc_connection_t *c, uint64_t *out)
    MPROC_DEPRECATED("use mproc_connection_max_message_size");

/** Closes the end (its descriptor) and drops any kept message; the handle stays valid and every
 * other call on it then fails with MPROC_ECLOSED. Closing twice is a no-op.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_connection_close(mproc_connection_t *c);

/** Python's Connection.closed / readable / writable: 1 or 0. A closed end is neither readable nor
 * writable. Errors: MPROC_EBADHANDLE. Since: 0.2. */
MPROC_API int mproc_connection_closed(mproc_connection_t *c);
MPROC_API int mproc_connection_readable(mproc_connection_t *c);
MPROC_API int mproc_connection_writable(mproc_connection_t *c);

/** Descriptor passing (Python's send_handle / recv_handle, SCM_RIGHTS): send_handle passes the open
 * file `fd` to the process at the other end as one message; the caller's fd stays open and its own.
 * recv_handle waits at most timeout_ms for that message and returns a new descriptor (>= 0,
 * close-on-exec) for the same open file, which the caller closes.
 * send_handle errors: MPROC_EBADHANDLE, MPROC_ECLOSED, MPROC_ESTATE (receive-only end), -EBADF
 * (fd not open), -EPIPE. recv_handle errors: MPROC_EBADHANDLE, MPROC_ECLOSED, MPROC_ESTATE
 * (send-only end, or a message partly received), MPROC_EEOF, MPROC_ETIMEDOUT, MPROC_ECODEC (the
 * next message is not a handle; it stays queued for mproc_connection_recv_bytes), -EPROTO,
 * -EINVAL (timeout_ms < -1). Since: 0.2. */
MPROC_API int mproc_connection_send_handle(mproc_connection_t *c, int fd);
MPROC_API int mproc_connection_recv_handle(mproc_connection_t *c, int64_t timeout_ms);

/** Listener and client (Python's multiprocessing.connection.Listener / Client): processes that share
 * no ancestry meet by address and get an mproc_connection_t each.
 *
 * An address is `address_len` bytes: a Unix socket path (no NUL inside, under 108 bytes), or an
 * abstract name starting with a NUL byte (it lives in the network namespace, not the file system,
 * and goes away with its listener). With an authkey (authkey_len > 0), both sides prove they hold
 * it with HMAC-SHA256 challenge-response (Python's deliver_challenge / answer_challenge); a peer
 * without it is refused with MPROC_EAUTH on both sides. authkey NULL or authkey_len 0: no
 * authentication (as Python's authkey=None). The key never crosses the socket.
 *
 * Thread-safety: one thread at a time per listener. Fork: the listening socket is inherited; only
 * the creating process removes a path listener's socket file. */
typedef struct mproc_listener_s mproc_listener_t;

/** Listens at the address; address NULL (or address_len 0) picks a fresh abstract name, which
 * mproc_listener_address gives. Release with mproc_listener_destroy.
 * Errors: -EINVAL (out NULL; authkey NULL with authkey_len > 0; a bad address), -EADDRINUSE,
 * -errno of socket / bind / listen. On failure *out is untouched. Since: 0.2. */
MPROC_API int mproc_listener_create(const char *address, size_t address_len, const void *authkey,
                                    size_t authkey_len, mproc_listener_t **out);

/** Waits at most timeout_ms for a process to connect, authenticates it if a key was given, and
 * gives its end in *out (release with mproc_connection_destroy). A peer that fails authentication
 * is MPROC_EAUTH (its connection closed; the listener stays usable). The timeout covers the
 * authentication: a peer still silent at it is dropped and the call is MPROC_ETIMEDOUT.
 * Errors: MPROC_EBADHANDLE, -EINVAL (out NULL, timeout_ms < -1), MPROC_ECLOSED, MPROC_ETIMEDOUT,
 * MPROC_EAUTH, -errno of accept4. Since: 0.2. */
MPROC_API int mproc_listener_accept(mproc_listener_t *listener, int64_t timeout_ms,
                                    mproc_connection_t **out);

/** Copies the address (bytes, possibly starting with NUL) into buf, truncated to size - 1 bytes and
 * NUL-terminated, and returns its full length; buf may be NULL when size is 0.
 * Errors: MPROC_EBADHANDLE, -EINVAL (buf NULL with size > 0). Since: 0.2. */
MPROC_API int mproc_listener_address(mproc_listener_t *listener, char *buf, size_t size);

/** The listening socket (>= 0), readable when a connection waits. Errors: MPROC_EBADHANDLE,
 * MPROC_ECLOSED. Since: 0.2. */
MPROC_API int mproc_listener_fileno(mproc_listener_t *listener);

/** Stops listening (and removes a path listener's socket file); the handle stays valid and accept
 * then fails with MPROC_ECLOSED. Closing twice is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_listener_close(mproc_listener_t *listener);

/** Closes and releases the handle. NULL is a no-op. Errors: MPROC_EBADHANDLE. Since: 0.2. */
MPROC_API int mproc_listener_destroy(mproc_listener_t *listener);

/** Connects to the listener at the address (authenticating both ways if authkey_len > 0) and gives
 * the connection in *out. Errors: -EINVAL (address or out NULL, address_len 0, authkey NULL with
 * authkey_len > 0, a bad address), -ENOENT / -ECONNREFUSED (nobody listens there), MPROC_EAUTH,
 * MPROC_EEOF, -errno of socket / connect. On failure *out is untouched. Since: 0.2. */
MPROC_API int mproc_client_connect(const char *address, size_t address_len, const void *authkey,
                                   size_t authkey_len, mproc_connection_t **out);

/** Listens on TCP (Python's AF_INET family: IPv4): host is a host name or dotted IPv4 address
 * (NULL or "" is every interface), port 0 picks a free port (mproc_listener_port gives it). The
 * connections are framed on the byte stream (an 8-byte size, then the bytes), so every
 * mproc_connection_* call works on them except descriptor passing (MPROC_ESTATE). Without an
 * authkey anybody who reaches the port can connect: give one on any address other machines reach.
 * mproc_listener_address gives the bound IPv4 address in dotted form. Release with
 * mproc_listener_destroy.
 * Errors: -EINVAL (out NULL; port outside 0..65535; authkey NULL with authkey_len > 0; a host that
 * does not resolve to an IPv4 address), -EADDRINUSE, -EADDRNOTAVAIL (not a local address),
 * -EACCES (a privileged port), -errno of socket / bind / listen. On failure *out is untouched.
 * Since: 0.3. */
MPROC_API int mproc_listener_create_tcp(const char *host, int port, const void *authkey,
                                        size_t authkey_len, mproc_listener_t **out);

/** The TCP port the listener is bound to (> 0), or 0 for a Unix socket listener.
 * Errors: MPROC_EBADHANDLE. Since: 0.3. */
MPROC_API int mproc_listener_port(mproc_listener_t *listener);

/** Connects to the TCP listener at host:port (IPv4; host NULL or "" is this machine), with the
 * authentication of mproc_client_connect, and gives the connection in *out.
 * Errors: -EINVAL (out NULL; port outside 1..65535; authkey NULL with authkey_len > 0; a host that
 * does not resolve), -ECONNREFUSED (nobody listens there), -ETIMEDOUT / -EHOSTUNREACH /
 * -ENETUNREACH (the network's), MPROC_EAUTH, MPROC_EEOF, -errno of socket / connect. On failure
 * *out is untouched. Since: 0.3. */
MPROC_API int mproc_client_connect_tcp(const char *host, int port, const void *authkey,
                                       size_t authkey_len, mproc_connection_t **out);

/** Closes the end if needed and releases the handle. NULL is a no-op (returns 0).
 * Errors: MPROC_EBADHANDLE (already destroyed, or not a connection handle). */
MPROC_API int mproc_connection_destroy(mproc_connection_t *c);

/** One entry of mproc_wait: a connection to watch, or (when connection is NULL) a descriptor such
 * as mproc_process_sentinel()'s. The layout is fixed (like struct pollfd). */
typedef struct mproc_wait_item {
  mproc_connection_t *connection; /**< in: a connection, or NULL to watch fd */
  int fd;                         /**< in: when connection is NULL, a descriptor to watch */
  int ready;                      /**< out: 1 if ready, 0 if not */
} mproc_wait_item_t;

/** Python's multiprocessing.connection.wait: waits until at least one item is ready or timeout_ms
 * passes, sets each item's ready flag and returns how many are ready (0 after a timeout). A
 * connection is ready when a message or end-of-file can be received, a process sentinel when the
 * process has ended, a descriptor when it is readable. Uses poll(2): any number of items and any
 * descriptor value. count may be 0 (items may then be NULL) to sleep for timeout_ms.
 * Errors: -EINVAL (items NULL with count > 0; count 0 with MPROC_WAIT_FOREVER; timeout_ms < -1;
 * count above INT_MAX), MPROC_EBADHANDLE (an item's connection is not a live handle),
 * MPROC_ECLOSED (a closed connection), MPROC_ESTATE (a send-only end), -EBADF (a negative or
 * closed descriptor). On failure the ready flags are unspecified. */
MPROC_API int mproc_wait(mproc_wait_item_t *items, size_t count, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_CONNECTION_H */
