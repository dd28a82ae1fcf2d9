// The codec: the built-in encodings and the opt-in cereal one, and their errors.
#include <mproc/cereal_codec.hpp>
#include <mproc/connection.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <sys/resource.h>
#include <vector>

#include "support/leak_check.hpp"
#include "transport/connection_test_support.hpp"

namespace {

using mproc::decode;
using mproc::encode;
using mproc::errc;
using mproc::test::expect_error;

struct Plain {
  std::int32_t id;
  double weight;
  char tag[4];
};

// Trivially copyable, but without a default constructor.
struct NoDefault {
  explicit NoDefault(int v) : value(v) {}
  int value;
};

// A user type with cereal's serialize().
struct Order {
  std::string customer;
  std::vector<std::string> items;
  std::map<std::string, int> counts;
  std::optional<double> discount;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(customer, items, counts, discount);
  }
  bool operator==(const Order&) const = default;
};

// A type with its own codec: its text form.
struct Celsius {
  int degrees;
  Celsius() = default;
  explicit Celsius(int d) : degrees(d) {}
  Celsius(const Celsius&) = default;
  Celsius& operator=(const Celsius&) = default;
};

}  // namespace

template <>
struct mproc::Codec<Celsius> {
  static void encode(const Celsius& value, std::string& out) {
    out += std::to_string(value.degrees) + "C";
  }
  static Celsius decode(const void* data, std::size_t size) {
    const std::string text(static_cast<const char*>(data), size);
    if (text.empty() || text.back() != 'C') detail::throw_codec_error(typeid(Celsius), "no C");
    return Celsius(std::stoi(text));
  }
};

namespace {

static_assert(mproc::codec_is_bitwise<int>);
static_assert(mproc::codec_is_bitwise<Plain>);
static_assert(!mproc::codec_is_bitwise<std::string>);
static_assert(!mproc::codec_is_bitwise<std::string_view>);
static_assert(!mproc::codec_is_bitwise<Celsius>);  // its own specialisation wins
static_assert(mproc::codec_has_view<std::vector<float>>);
static_assert(!mproc::codec_has_view<std::vector<bool>>);
static_assert(!mproc::codec_has_view<Order>);

TEST(Codec, TriviallyCopyableValuesAreTheirBytes) {
  EXPECT_EQ(encode(std::int32_t{0x01020304}).size(), 4u);
  EXPECT_EQ(decode<std::int32_t>(encode(std::int32_t{-7})), -7);
  const Plain plain{12, 2.5, {'a', 'b', 'c', 'd'}};
  const auto bytes = encode(plain);
  EXPECT_EQ(bytes.size(), sizeof(Plain));
  const auto back = decode<Plain>(bytes.data(), bytes.size());
  EXPECT_EQ(back.id, 12);
  EXPECT_EQ(back.weight, 2.5);
  EXPECT_EQ(std::string(back.tag, 4), "abcd");
  EXPECT_EQ(decode<NoDefault>(encode(NoDefault(9))).value, 9);
  const std::array<std::uint16_t, 3> array{1, 2, 3};
  EXPECT_EQ((decode<std::array<std::uint16_t, 3>>(encode(array))), array);
}

TEST(Codec, AWrongSizeIsACodecError) {
  const auto message = expect_error([] { decode<std::int64_t>("abc", 3); }, errc::codec);
  EXPECT_NE(message.find("expected exactly 8"), std::string::npos) << message;
  EXPECT_NE(message.find("long"), std::string::npos) << message;  // names the type
  expect_error([] { decode<std::vector<std::int32_t>>("abcdef", 6); }, errc::codec);
}

TEST(Codec, StringsAndPlainVectorsAreTheirBytes) {
  EXPECT_EQ(encode(std::string("hello")), "hello");
  EXPECT_EQ(decode<std::string>(std::string_view("hello")), "hello");
  EXPECT_EQ(decode<std::string>(nullptr, 0), "");
  EXPECT_EQ(encode(std::string_view("view")), "view");  // the characters, not the pointer
  const std::vector<double> values{1.0, -2.0, 3.5};
  EXPECT_EQ(encode(values).size(), 3 * sizeof(double));
  EXPECT_EQ(decode<std::vector<double>>(encode(values)), values);
  EXPECT_TRUE(decode<std::vector<double>>(nullptr, 0).empty());
  std::string reused = "old contents";
  mproc::encode_into(std::string("new"), reused);
  EXPECT_EQ(reused, "new");
}

TEST(Codec, OtherTypesGoThroughCereal) {
  const Order order{"ada", {"tea", "cake"}, {{"tea", 2}, {"cake", 1}}, 0.1};
  EXPECT_EQ(decode<Order>(encode(order)), order);
  const std::vector<std::string> words{"a", "", "ccc"};
  EXPECT_EQ(decode<std::vector<std::string>>(encode(words)), words);
  const std::map<int, std::vector<int>> nested{{1, {1}}, {2, {}}};
  EXPECT_EQ((decode<std::map<int, std::vector<int>>>(encode(nested))), nested);
  const auto tuple = std::make_tuple(1, std::string("two"), 3.0);
  EXPECT_EQ((decode<std::tuple<int, std::string, double>>(encode(tuple))), tuple);
  const std::vector<bool> bits{true, false, true};
  EXPECT_EQ(decode<std::vector<bool>>(encode(bits)), bits);
}

TEST(Codec, TruncatedOrMismatchedCerealBytesAreCodecErrors) {
  const Order order{"ada", {"tea"}, {}, std::nullopt};
  const auto bytes = encode(order);
  expect_error([&] { decode<Order>(bytes.data(), bytes.size() - 1); }, errc::codec);
  // Bytes left over: the sender sent something else.
  const auto more = bytes + "extra";
  const auto message = expect_error([&] { decode<Order>(more); }, errc::codec);
  EXPECT_NE(message.find("left over"), std::string::npos) << message;
}

// Peak resident memory of this process, in KiB.
long peak_rss_kib() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// A cereal message made of one size prefix and `tail` bytes.
std::string size_prefix_then(std::uint64_t count, std::size_t tail) {
  std::string bytes(reinterpret_cast<const char*>(&count), sizeof count);
  return bytes + std::string(tail, 'x');
}

TEST(Codec, ASizePrefixLargerThanTheRemainingBytesIsRefusedBeforeAllocating) {
  const long before = peak_rss_kib();
  // 16 bytes claiming 2^25 strings, or one string of 2^30 bytes: 1 GiB each if believed.
  for (const auto& bytes : {size_prefix_then(std::uint64_t{1} << 25, 8),
                            size_prefix_then(std::uint64_t{1} << 62, 8)}) {
    const auto message =
        expect_error([&] { decode<std::vector<std::string>>(bytes); }, errc::codec);
    EXPECT_NE(message.find("size prefix"), std::string::npos) << message;
  }
  const auto one_string = size_prefix_then(std::uint64_t{1} << 30, 8);
  const auto message = expect_error([&] { decode<Order>(one_string); }, errc::codec);
  EXPECT_NE(message.find("size prefix"), std::string::npos) << message;
  expect_error(
      [&] { decode<std::map<std::string, int>>(size_prefix_then(std::uint64_t{1} << 40, 0)); },
      errc::codec);
  EXPECT_LT(peak_rss_kib() - before, 256 * 1024) << "the decoder allocated what a prefix claimed";
  // The exact boundary: the last string's length equals the bytes that remain.
  const std::vector<std::string> exact{"abc"};
  EXPECT_EQ(decode<std::vector<std::string>>(encode(exact)), exact);
}

TEST(Codec, ABoolByteOtherThanZeroOrOneIsACodecError) {
  // std::optional's "empty" flag is a bool: 37 is neither (found by tests/fuzz/codec_fuzz).
  const std::string bytes("\x25", 1);
  const auto message =
      expect_error([&] { decode<std::optional<std::string>>(bytes); }, errc::codec);
  EXPECT_NE(message.find("bool"), std::string::npos) << message;
  EXPECT_EQ(decode<std::optional<std::string>>(encode(std::optional<std::string>("x"))), "x");
}

TEST(Codec, PolymorphicFreeCerealFeaturesStillDecode) {
  const std::vector<std::optional<std::string>> values{std::nullopt, "x", ""};
  EXPECT_EQ(decode<std::vector<std::optional<std::string>>>(encode(values)), values);
  const auto pointer = std::make_shared<std::vector<int>>(std::vector<int>{4, 5});
  const auto back = decode<std::shared_ptr<std::vector<int>>>(encode(pointer));
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(*back, *pointer);
}

TEST(Codec, AUserSpecialisationIsUsed) {
  EXPECT_EQ(encode(Celsius(21)), "21C");
  EXPECT_EQ(decode<Celsius>(std::string_view("-4C")).degrees, -4);
  expect_error([] { decode<Celsius>(std::string_view("12F")); }, errc::codec);
}

using CodecConnectionTest = mproc::test::LeakCheckedTest;

TEST_F(CodecConnectionTest, CerealValuesCrossAProcessBoundary) {
  auto [parent_end, child_end] = mproc::pipe();
  mproc::Process child([&, &c = child_end] {
    auto order = c.recv<Order>();
    order.items.push_back("seen by " + std::to_string(::getpid()));
    c.send(order);
    c.send(Celsius(order.counts.at("x")));
  });
  child.start();
  child_end.close();
  const Order order{"bob", {"one"}, {{"x", 5}}, std::nullopt};
  parent_end.send(order);
  const auto back = parent_end.recv<Order>();
  EXPECT_EQ(back.customer, "bob");
  ASSERT_EQ(back.items.size(), 2u);
  EXPECT_EQ(back.items[1], "seen by " + std::to_string(*child.pid()));
  EXPECT_EQ(parent_end.recv<Celsius>().degrees, 5);
  mproc::test::expect_clean_exit(child);
}

}  // namespace
