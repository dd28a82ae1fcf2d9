// The codec: how a C++ value becomes bytes for a Connection (and later a Queue or a Pool) and back.
//
//   std::string bytes = mproc::encode(value);
//   T copy = mproc::decode<T>(bytes.data(), bytes.size());
//
// This header handles, without any third-party header:
//   - trivially copyable types (ints, doubles, enums, plain structs, std::array of those): their
//     object representation, copied with memcpy; decode checks that the size is exactly sizeof(T);
//   - std::string: its characters (std::string_view and C strings are sent the same way, and
//     received as a std::string);
//   - std::vector<T> of a trivially copyable T (not bool): its elements' bytes.
// Every other type (std::map, std::vector<std::string>, user types with a serialize() member, ...)
// goes through cereal's binary archives: include <mproc/cereal_codec.hpp>, which needs cereal's
// headers (Debian: libcereal-dev) when *your* code is compiled. That header is opt-in and is not
// included by <mproc/mproc.hpp>, so users who only send bytes and plain types never need cereal.
// A type may also get its own encoding by specialising mproc::Codec<T> (see below).
//
// The encoding is for processes of one program on one machine (the same binary, after fork): it is
// not a portable or versioned format. Pointers inside trivially copyable values are copied as
// numbers; they mean something in another process only for memory shared with it or inherited
// through fork.
//
// Errors: decode throws mproc::Error(errc::codec) for bytes that are not a valid encoding of T
// (wrong size, truncated, trailing bytes).
//
// Thread-safety: encode and decode are pure functions of their arguments.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/error.hpp>
#include <mproc/export.h>

#include <bit>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace mproc {

// The encoding of T. The primary template is only declared here: <mproc/cereal_codec.hpp> defines
// it (cereal for every type without a specialisation). If the compiler reports an incomplete type
// mproc::Codec<YourType>, include <mproc/cereal_codec.hpp> or specialise Codec for YourType with
//   static void encode(const T& value, std::string& out);  // appends the bytes to out
//   static T decode(const void* data, std::size_t size);   // throws errc::codec on bad bytes
// and optionally, when the bytes of a value already exist in memory (saves a copy on send),
//   static std::string_view view(const T& value);
template <class T>
struct Codec;

namespace detail {

// Throws Error(errc::codec, "decode<T>: <what>") with T's readable name.
[[noreturn]] MPROC_API void throw_codec_error(const std::type_info& type, const std::string& what);
// The same for `size` bytes that are not exactly `unit` bytes (exact) or a multiple of them.
[[noreturn]] MPROC_API void throw_codec_size(const std::type_info& type, std::size_t size,
                                             std::size_t unit, bool exact);

template <class T>
inline constexpr bool memcpy_codable = std::is_trivially_copyable_v<T> && !std::is_array_v<T>;

template <class T>
struct is_plain_vector : std::false_type {};
template <class T, class A>
struct is_plain_vector<std::vector<T, A>>
    : std::bool_constant<memcpy_codable<T> && !std::is_same_v<T, bool>> {};

}  // namespace detail

// Trivially copyable values: their bytes.
template <class T>
requires detail::memcpy_codable<T>
struct Codec<T> {
  // Marks the bitwise codec: a Connection receives such a T straight into its storage.
  static constexpr bool bitwise = true;
  static std::string_view view(const T& value) noexcept {
    return {reinterpret_cast<const char*>(&value), sizeof(T)};
  }
  static void encode(const T& value, std::string& out) { out.append(view(value)); }
  static T decode(const void* data, std::size_t size) {
    if (size != sizeof(T)) detail::throw_codec_size(typeid(T), size, sizeof(T), true);
    // bit_cast rather than memcpy into a T: T need not be default constructible.
    struct Raw {
      alignas(T) unsigned char bytes[sizeof(T)];
    } raw;
    std::memcpy(raw.bytes, data, sizeof(T));
    return std::bit_cast<T>(raw);
  }
};

// std::string: its characters.
template <>
struct Codec<std::string> {
  static std::string_view view(const std::string& value) noexcept { return value; }
  static void encode(const std::string& value, std::string& out) { out.append(value); }
  static std::string decode(const void* data, std::size_t size) {
    return {static_cast<const char*>(data), size};
  }
};

// std::string_view (trivially copyable, but its bytes are what matter, not its pointer): sent as
// its characters and received as a std::string. There is no decode: a view cannot own bytes.
template <>
struct Codec<std::string_view> {
  static std::string_view view(std::string_view value) noexcept { return value; }
  static void encode(std::string_view value, std::string& out) { out.append(value); }
};

// C strings (a pointer, or a literal / char array): their characters up to the NUL, never the
// pointer's value. For sending only; receive a std::string.
template <>
struct Codec<const char*> {
  static std::string_view view(const char* value) noexcept { return value; }
  static void encode(const char* value, std::string& out) { out.append(value); }
};
template <>
struct Codec<char*> : Codec<const char*> {};
template <std::size_t N>
struct Codec<char[N]> {
  static std::string_view view(const char (&value)[N]) noexcept {
    return {value, ::strnlen(value, N)};
  }
  static void encode(const char (&value)[N], std::string& out) { out.append(view(value)); }
};

// std::vector of trivially copyable elements: the elements' bytes.
template <class V>
requires detail::is_plain_vector<V>::value struct Codec<V> {
  using Element = typename V::value_type;
  static std::string_view view(const V& value) noexcept {
    return {reinterpret_cast<const char*>(value.data()), value.size() * sizeof(Element)};
  }
  static void encode(const V& value, std::string& out) { out.append(view(value)); }
  static V decode(const void* data, std::size_t size) {
    if (size % sizeof(Element) != 0)
      detail::throw_codec_size(typeid(V), size, sizeof(Element), false);
    V value(size / sizeof(Element));
    if (size != 0) std::memcpy(static_cast<void*>(value.data()), data, size);
    return value;
  }
};

// True when Codec<T> can present a value's bytes without copying them.
template <class T>
concept codec_has_view = requires(const T& value) {
  { Codec<T>::view(value) } -> std::convertible_to<std::string_view>;
};

// True when Codec<T> is the bitwise (memcpy) codec above, not a user's specialisation.
template <class T>
concept codec_is_bitwise = requires {
  requires Codec<T>::bitwise;
};

// Replaces the contents of `out` with the encoding of `value` (reusing out's capacity).
template <class T>
void encode_into(const T& value, std::string& out) {
  out.clear();
  Codec<T>::encode(value, out);
}

template <class T>
std::string encode(const T& value) {
  std::string out;
  Codec<T>::encode(value, out);
  return out;
}

// Errors: errc::codec (see the file comment).
template <class T>
T decode(const void* data, std::size_t size) {
  return Codec<T>::decode(data, size);
}

template <class T>
T decode(std::string_view bytes) {
  return Codec<T>::decode(bytes.data(), bytes.size());
}

}  // namespace mproc
