#include <mproc/error.hpp>

#include <cerrno>

namespace mproc {
namespace {

class MprocCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "mproc"; }
  std::string message(int value) const override {
    switch (value) {
#define MPROC_ERRC_MESSAGE_(c_name, cpp_name, code, text) \
  case -(code):                                           \
    return text;
      MPROC_ERRNO_MAP(MPROC_ERRC_MESSAGE_)
#undef MPROC_ERRC_MESSAGE_
    }
    return "unknown mproc error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  // Never destroyed: the library's threads (the resource sharer, a pool's dispatcher) may still
  // make errors while static destructors run at exit, as libstdc++'s own categories allow.
  static const MprocCategory* const category = new MprocCategory;
  return *category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

void throw_errno(int err, const std::string& what) {
  throw Error(std::error_code(err, std::generic_category()), what);
}

int to_c_code(const std::error_code& code) noexcept {
  if (!code) return 0;
  const auto& category = code.category();
  if (category == error_category() || category == std::generic_category() ||
      category == std::system_category())
    return -code.value();
  return -static_cast<int>(errc::internal);
}

}  // namespace mproc
