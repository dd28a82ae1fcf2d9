// Fuzzes the codec's decoders (cereal's archives and the built-in encodings) with arbitrary
// bytes: every input decodes or throws mproc::Error(errc::codec); none may crash or allocate what
// a length prefix merely claims (run with -malloc_limit_mb).
#include <mproc/cereal_codec.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

namespace {

struct Order {
  std::string customer;
  std::vector<std::string> items;
  std::map<std::string, std::vector<std::int32_t>> counts;
  std::optional<double> discount;
  std::variant<std::int64_t, std::string, std::vector<bool>> note;
  std::shared_ptr<std::tuple<std::int8_t, std::string>> extra;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(customer, items, counts, discount, note, extra);
  }
};

template <class T>
void try_decode(const std::uint8_t* data, std::size_t size) {
  try {
    const T value = mproc::decode<T>(data, size);
    // What decoded must encode again (into no more than a bounded size).
    (void)mproc::encode(value);
  } catch (const mproc::Error& e) {
    if (e.code() != mproc::make_error_code(mproc::errc::codec)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t* body = data + 1;
  const std::size_t length = size - 1;
  switch (data[0] % 8) {
    case 0: try_decode<Order>(body, length); break;
    case 1: try_decode<std::vector<std::string>>(body, length); break;
    case 2: try_decode<std::map<std::int32_t, std::string>>(body, length); break;
    case 3: try_decode<std::vector<std::vector<std::vector<std::uint8_t>>>>(body, length); break;
    case 4: try_decode<std::tuple<std::string, std::optional<std::string>>>(body, length); break;
    case 5: try_decode<std::vector<double>>(body, length); break;  // the built-in codec
    case 6: try_decode<std::int64_t>(body, length); break;
    default: try_decode<std::vector<Order>>(body, length); break;
  }
  return 0;
}
