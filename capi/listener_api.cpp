// The C ABI for Listener / client and descriptor passing: translation to mproc::Listener,
// mproc::client and Connection::send_handle / recv_handle only.
#include "mproc.h"

#include <mproc/connection.hpp>
#include <mproc/listener.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "capi_support.hpp"

namespace {

using mproc::Connection;
using mproc::Listener;
using mproc::detail::HandleKind;
using ConnectionHandles = mproc::detail::Handles<Connection, HandleKind::connection>;
using ListenerHandles = mproc::detail::Handles<Listener, HandleKind::listener>;

Listener& listener_of(mproc_listener_t* handle, const char* function) {
  return mproc::capi::deref<Listener, HandleKind::listener>(handle, function, "mproc_listener_t");
}

Connection& connection_of(mproc_connection_t* handle, const char* function) {
  return mproc::capi::deref<Connection, HandleKind::connection>(handle, function,
                                                                "mproc_connection_t");
}

mproc::TcpAddress tcp_address_of(const char* host, int port, int lowest_port,
                                 const char* function) {
  if (port < lowest_port || port > 65535)
    throw mproc::Error(std::make_error_code(std::errc::invalid_argument),
                       std::string(function) + ": port " + std::to_string(port) +
                           " is outside " + std::to_string(lowest_port) + "..65535");
  return mproc::TcpAddress{host == nullptr ? std::string() : std::string(host),
                           static_cast<std::uint16_t>(port)};
}

std::uintptr_t connection_handle(Connection connection) {
  return ConnectionHandles::insert(std::make_unique<Connection>(std::move(connection)));
}

std::optional<std::string> key_of(const void* authkey, size_t authkey_len, const char* function) {
  if (authkey_len == 0) return std::nullopt;
  mproc::capi::require(authkey, function, "authkey");
  return std::string(static_cast<const char*>(authkey), authkey_len);
}

}  // namespace

extern "C" {

int mproc_connection_send_handle(mproc_connection_t* c, int fd) {
  return mproc::capi::guard("mproc_connection_send_handle", [&] {
    connection_of(c, "mproc_connection_send_handle").send_handle(fd);
    return 0;
  });
}

int mproc_connection_recv_handle(mproc_connection_t* c, int64_t timeout_ms) {
  return mproc::capi::guard("mproc_connection_recv_handle", [&] {
    constexpr const char* fn = "mproc_connection_recv_handle";
    auto& connection = connection_of(c, fn);
    mproc::capi::check_timeout_ms(timeout_ms, fn);
    if (timeout_ms == MPROC_WAIT_FOREVER) return connection.recv_handle();
    const auto fd = connection.recv_handle(std::chrono::milliseconds(timeout_ms));
    if (!fd)
      return mproc::capi::fail(MPROC_ETIMEDOUT, std::string(fn) + ": no message within " +
                                                    std::to_string(timeout_ms) + " ms");
    return *fd;
  });
}

int mproc_listener_create(const char* address, size_t address_len, const void* authkey,
                          size_t authkey_len, mproc_listener_t** out) {
  return mproc::capi::guard("mproc_listener_create", [&] {
    constexpr const char* fn = "mproc_listener_create";
    mproc::capi::require(out, fn, "out");
    std::string where;
    if (address_len > 0) {
      mproc::capi::require(address, fn, "address");
      where.assign(address, address_len);
    }
    auto listener = std::make_unique<Listener>(std::move(where), key_of(authkey, authkey_len, fn));
    *out = reinterpret_cast<mproc_listener_t*>(ListenerHandles::insert(std::move(listener)));
    return 0;
  });
}

int mproc_listener_accept(mproc_listener_t* listener, int64_t timeout_ms,
                          mproc_connection_t** out) {
  return mproc::capi::guard("mproc_listener_accept", [&] {
    constexpr const char* fn = "mproc_listener_accept";
    auto& l = listener_of(listener, fn);
    mproc::capi::require(out, fn, "out");
    mproc::capi::check_timeout_ms(timeout_ms, fn);
    std::optional<Connection> connection;
    if (timeout_ms == MPROC_WAIT_FOREVER)
      connection = l.accept();
    else
      connection = l.accept(std::chrono::milliseconds(timeout_ms));
    if (!connection)
      return mproc::capi::fail(MPROC_ETIMEDOUT, std::string(fn) + ": no connection within " +
                                                    std::to_string(timeout_ms) + " ms");
    *out = reinterpret_cast<mproc_connection_t*>(connection_handle(std::move(*connection)));
    return 0;
  });
}

int mproc_listener_address(mproc_listener_t* listener, char* buf, size_t size) {
  return mproc::capi::guard("mproc_listener_address", [&] {
    return mproc::capi::copy_out(listener_of(listener, "mproc_listener_address").address(), buf,
                                 size, "mproc_listener_address");
  });
}

int mproc_listener_fileno(mproc_listener_t* listener) {
  return mproc::capi::guard("mproc_listener_fileno", [&] {
    return listener_of(listener, "mproc_listener_fileno").fileno();
  });
}

int mproc_listener_close(mproc_listener_t* listener) {
  return mproc::capi::guard("mproc_listener_close", [&] {
    listener_of(listener, "mproc_listener_close").close();
    return 0;
  });
}

int mproc_listener_destroy(mproc_listener_t* listener) {
  if (listener == nullptr) return 0;
  return mproc::capi::guard("mproc_listener_destroy", [&] {
    if (!ListenerHandles::remove(reinterpret_cast<std::uintptr_t>(listener)))
      throw mproc::Error(mproc::errc::bad_handle,
                         "mproc_listener_destroy: not a live mproc_listener_t");
    return 0;
  });
}

int mproc_listener_create_tcp(const char* host, int port, const void* authkey,
                              size_t authkey_len, mproc_listener_t** out) {
  return mproc::capi::guard("mproc_listener_create_tcp", [&] {
    constexpr const char* fn = "mproc_listener_create_tcp";
    mproc::capi::require(out, fn, "out");
    auto listener = std::make_unique<Listener>(tcp_address_of(host, port, 0, fn),
                                               key_of(authkey, authkey_len, fn));
    *out = reinterpret_cast<mproc_listener_t*>(ListenerHandles::insert(std::move(listener)));
    return 0;
  });
}

int mproc_listener_port(mproc_listener_t* listener) {
  return mproc::capi::guard("mproc_listener_port", [&] {
    return static_cast<int>(listener_of(listener, "mproc_listener_port").port());
  });
}

int mproc_client_connect_tcp(const char* host, int port, const void* authkey, size_t authkey_len,
                             mproc_connection_t** out) {
  return mproc::capi::guard("mproc_client_connect_tcp", [&] {
    constexpr const char* fn = "mproc_client_connect_tcp";
    mproc::capi::require(out, fn, "out");
    const mproc::TcpAddress address = tcp_address_of(host, port, 1, fn);
    *out = reinterpret_cast<mproc_connection_t*>(
        connection_handle(mproc::client(address, key_of(authkey, authkey_len, fn))));
    return 0;
  });
}

int mproc_client_connect(const char* address, size_t address_len, const void* authkey,
                         size_t authkey_len, mproc_connection_t** out) {
  return mproc::capi::guard("mproc_client_connect", [&] {
    constexpr const char* fn = "mproc_client_connect";
    mproc::capi::require(address, fn, "address");
    mproc::capi::require(out, fn, "out");
    if (address_len == 0)
      throw mproc::Error(std::make_error_code(std::errc::invalid_argument),
                         std::string(fn) + ": address_len is 0");
    Connection connection =
        mproc::client(std::string(address, address_len), key_of(authkey, authkey_len, fn));
    *out = reinterpret_cast<mproc_connection_t*>(connection_handle(std::move(connection)));
    return 0;
  });
}

}  // extern "C"
