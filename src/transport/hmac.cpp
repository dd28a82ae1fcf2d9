#include "transport/hmac.hpp"

#include <mproc/error.hpp>

#include <cerrno>
#include <climits>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

namespace mproc::detail {

std::string hmac_sha256(std::string_view key, std::string_view message) {
  if (key.size() > static_cast<std::size_t>(INT_MAX)) throw_errno(EINVAL, "HMAC: key too long");
  // A NULL key pointer means "reuse the previous key" to some OpenSSL entry points: never pass one.
  static const unsigned char kEmpty = 0;
  const void* key_data = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
  const auto* data = reinterpret_cast<const unsigned char*>(message.empty() ? "" : message.data());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (::HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), data, message.size(), digest,
             &length) == nullptr)
    throw Error(errc::internal, "HMAC-SHA256: libcrypto failed");
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool equal_in_constant_time(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && (a.empty() || ::CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0);
}

std::string random_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  std::size_t filled = 0;
  while (filled < size) {
    const ssize_t n = ::getrandom(bytes.data() + filled, size - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "getrandom");
    }
    filled += static_cast<std::size_t>(n);
  }
  return bytes;
}

}  // namespace mproc::detail
