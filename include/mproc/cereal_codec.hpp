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
// Decoding reads with mproc::detail::CheckedBinaryInputArchive, the same format as
// cereal::BinaryInputArchive, but it refuses a size prefix (a container's element count, a
// string's length) larger than the bytes that remain, before the container allocates: a short
// corrupt or hostile message cannot make the receiver allocate gigabytes. Consequence: a
// container whose elements encode to zero bytes (empty structs, std::monostate) cannot be decoded
// with more elements than bytes remain. A type whose load() is written for
// cereal::BinaryInputArchive only (not a template over the archive) must be made a template.
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

#include <cstdint>
#include <cstring>
#include <istream>
#include <memory>
#include <new>
#include <type_traits>
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

// cereal::BinaryInputArchive's format read from memory, with every size prefix checked against
// the bytes that remain (see the file comment).
class CheckedBinaryInputArchive final
    : public cereal::InputArchive<CheckedBinaryInputArchive, cereal::AllowEmptyClassElision> {
 public:
  CheckedBinaryInputArchive(const void* data, std::size_t size)
      : cereal::InputArchive<CheckedBinaryInputArchive, cereal::AllowEmptyClassElision>(this),
        next_(static_cast<const char*>(data)),
        end_(next_ + size) {}

  void loadBinary(void* data, std::size_t size) {
    if (size > remaining())
      throw cereal::Exception("the input ends after " + std::to_string(remaining()) +
                              " more bytes, " + std::to_string(size) + " were needed");
    if (size != 0) std::memcpy(data, next_, size);
    next_ += size;
  }
  // Called for every size prefix, before the container is sized from it.
  void check_size_prefix(std::uint64_t count) const {
    if (count > remaining())
      throw cereal::Exception("a size prefix announces " + std::to_string(count) +
                              " elements but only " + std::to_string(remaining()) +
                              " bytes remain");
  }
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - next_); }

 private:
  const char* next_;
  const char* end_;
};

template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>
CEREAL_LOAD_FUNCTION_NAME(CheckedBinaryInputArchive& archive, T& value) {
  archive.loadBinary(std::addressof(value), sizeof(value));
}

// A bool is one byte, 0 or 1: any other byte copied into a bool would be undefined behaviour.
inline void CEREAL_LOAD_FUNCTION_NAME(CheckedBinaryInputArchive& archive, bool& value) {
  unsigned char byte = 0;
  archive.loadBinary(&byte, 1);
  if (byte > 1)
    throw cereal::Exception("a bool is encoded as " + std::to_string(byte) + ", not 0 or 1");
  value = byte != 0;
}

template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(CheckedBinaryInputArchive& archive,
                                           cereal::NameValuePair<T>& pair) {
  archive(pair.value);
}

template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(CheckedBinaryInputArchive& archive,
                                           cereal::SizeTag<T>& tag) {
  archive(tag.size);
  archive.check_size_prefix(static_cast<std::uint64_t>(tag.size));
}

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(CheckedBinaryInputArchive& archive,
                                      cereal::BinaryData<T>& data) {
  archive.loadBinary(data.data, static_cast<std::size_t>(data.size));
}

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
    detail::CheckedBinaryInputArchive archive(data, size);
    T value{};
    try {
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
    if (archive.remaining() != 0)
      detail::throw_codec_error(typeid(T), std::to_string(archive.remaining()) +
                                               " bytes left over after the value (was a "
                                               "different type sent?)");
    return value;
  }
};

}  // namespace mproc

// Polymorphic types through the checked archive, and load_minimal (which needs the matching
// output archive).
CEREAL_REGISTER_ARCHIVE(mproc::detail::CheckedBinaryInputArchive)
namespace cereal::traits::detail {
template <>
struct get_output_from_input<mproc::detail::CheckedBinaryInputArchive> {
  using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail
