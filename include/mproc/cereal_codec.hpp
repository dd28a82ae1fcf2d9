// Opt-in: cereal's binary archives as mproc's codec for every type that <mproc/codec.hpp> does not
// handle itself (std::map, std::vector<std::string>, std::optional, std::tuple, user types with a
// serialize() member or save()/load() pair, ...).
//
// This is the one public header that includes cereal, so it needs cereal's headers when your code
// is compiled (Debian: libcereal-dev). It is deliberately not included by <mproc/mproc.hpp>.
// The common standard containers are included below; for others include the matching
// <cereal/types/...> header yourself. Types decoded through cereal must be default constructible.
//
// The encoding is cereal::BinaryOutputArchive: native byte order, for processes on one machine.
// Decoding throws mproc::Error(errc::codec) when cereal rejects the bytes (truncated input) or when
// bytes are left over after the value (usually a mismatch between the sent and the expected type).
//
// Thread-safety: encode and decode are pure functions of their arguments.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/codec.hpp>

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <istream>
#include <new>
#include <ostream>
#include <stdexcept>
#include <streambuf>

namespace mproc {
namespace detail {

// An output stream buffer that appends to a std::string (no intermediate copy, unlike
// std::ostringstream::str()).
class StringAppendBuf final : public std::streambuf {
 public:
  explicit StringAppendBuf(std::string& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* data, std::streamsize count) override {
    out_.append(data, static_cast<std::size_t>(count));
    return count;
  }
  int_type overflow(int_type ch) override {
    if (!traits_type::eq_int_type(ch, traits_type::eof()))
      out_.push_back(traits_type::to_char_type(ch));
    return traits_type::not_eof(ch);
  }

 private:
  std::string& out_;
};

// An input stream buffer over bytes that it does not own or copy.
class BytesViewBuf final : public std::streambuf {
 public:
  BytesViewBuf(const void* data, std::size_t size) {
    // The buffer is only read: std::streambuf's interface wants char* but never writes through it
    // (pbackfail is not overridden, so putting back a different character fails).
    char* begin = const_cast<char*>(static_cast<const char*>(data));
    setg(begin, begin, begin + size);
  }
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(egptr() - gptr()); }
};

}  // namespace detail

// The fallback codec: cereal's binary archives.
template <class T>
struct Codec {
  static void encode(const T& value, std::string& out) {
    detail::StringAppendBuf buffer(out);
    std::ostream stream(&buffer);
    cereal::BinaryOutputArchive archive(stream);
    archive(value);
  }

  static T decode(const void* data, std::size_t size) {
    static_assert(std::is_default_constructible_v<T>,
                  "mproc::decode through cereal needs a default constructible type");
    detail::BytesViewBuf buffer(data, size);
    std::istream stream(&buffer);
    T value{};
    try {
      cereal::BinaryInputArchive archive(stream);
      archive(value);
    } catch (const cereal::Exception& e) {
      detail::throw_codec_error(typeid(T), e.what());
    } catch (const std::length_error& e) {
      // A corrupt length prefix asked for an impossible container size.
      detail::throw_codec_error(typeid(T), e.what());
    } catch (const std::bad_alloc&) {
      // A corrupt length prefix asked for more memory than there is (or memory ran out).
      detail::throw_codec_error(typeid(T), "a length in the input asks for more memory than is "
                                           "available (corrupt or mistyped input?)");
    }
    if (buffer.remaining() != 0)
      detail::throw_codec_error(typeid(T), std::to_string(buffer.remaining()) +
                                               " bytes left over after the value (was a "
                                               "different type sent?)");
    return value;
  }
};

}  // namespace mproc
