// The out-of-line half of the codec: building its error messages (kept out of the templates so
// that every instantiation does not carry the string handling).
#include <mproc/codec.hpp>

#include <cstdlib>
#include <cxxabi.h>
#include <memory>

namespace mproc::detail {
namespace {

std::string readable_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

}  // namespace

void throw_codec_error(const std::type_info& type, const std::string& what) {
  throw Error(errc::codec, "decode<" + readable_name(type) + ">: " + what);
}

void throw_codec_size(const std::type_info& type, std::size_t size, std::size_t unit, bool exact) {
  throw_codec_error(type, "got " + std::to_string(size) + " bytes, expected " +
                              (exact ? "exactly " : "a multiple of ") + std::to_string(unit));
}

}  // namespace mproc::detail
