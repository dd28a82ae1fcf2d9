// HMAC-SHA256 for the Listener/client handshake. The primitive is OpenSSL's (libcrypto, Debian's
// libssl-dev): a well-kept implementation rather than a home-made one.
#pragma once

#include <string>
#include <string_view>

namespace mproc::detail {

// HMAC-SHA256(key, message): 32 bytes. Errors: EINVAL (a key longer than INT_MAX bytes),
// errc::internal (libcrypto failed).
std::string hmac_sha256(std::string_view key, std::string_view message);

// Compares in time that depends only on the sizes (CRYPTO_memcmp), so a peer cannot learn how
// much of a digest it got right.
bool equal_in_constant_time(std::string_view a, std::string_view b) noexcept;

// `size` bytes from getrandom(2). Errors: the errno of getrandom.
std::string random_bytes(std::size_t size);

}  // namespace mproc::detail
