// The archive that decodes cereal's binary format with every size prefix checked against the bytes
// that remain (see <mproc/cereal_codec.hpp>), and the output buffer that encodes into a string.
// Shipped with the headers because <mproc/cereal_codec.hpp> uses it; not API. Includes cereal,
// as that opt-in header does.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <cereal/archives/binary.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <streambuf>
#include <string>
#include <type_traits>

namespace mproc::detail {

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

}  // namespace mproc::detail

// Polymorphic types through the checked archive, and load_minimal (which needs the matching
// output archive).
CEREAL_REGISTER_ARCHIVE(mproc::detail::CheckedBinaryInputArchive)
namespace cereal::traits::detail {
template <>
struct get_output_from_input<mproc::detail::CheckedBinaryInputArchive> {
  using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail
