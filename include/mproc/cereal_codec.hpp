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
#include <mproc/detail/cereal_archive.hpp>

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
