// Queue messages of any codec type: cereal-encoded user types, containers, and their errors.
#include <mproc/cereal_codec.hpp>
#include <mproc/queue.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "queue_test_support.hpp"

namespace mproc::test {
namespace {

using namespace std::chrono_literals;

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

using QueueCodec = QueueTest;

TEST_F(QueueCodec, CarriesCerealTypesAndPlainVectors) {
  Queue q;
  const Order order{"ada", {"tea", "scones"}, {{"tea", 2}, {"scones", 6}}, 0.1};
  const std::map<std::string, int> scores{{"a", 1}, {"b", -2}};
  const std::vector<double> samples{1.5, -2.25, 1e300};
  q.put(order);
  q.put(scores);
  q.put(samples);
  q.put(std::vector<std::string>{});
  EXPECT_EQ(q.get<Order>(), order);
  EXPECT_EQ((q.get<std::map<std::string, int>>()), scores);
  EXPECT_EQ(q.get<std::vector<double>>(), samples);
  EXPECT_TRUE(q.get<std::vector<std::string>>().empty());
  EXPECT_TRUE(q.empty());
}

TEST_F(QueueCodec, CarriesCerealTypesBetweenProcesses) {
  Queue requests, replies;
  Process child([&] {
    for (;;) {
      Order order = requests.get<Order>(true, 30s);
      if (order.customer.empty()) return;
      order.items.push_back("receipt");
      order.counts["total"] = static_cast<int>(order.items.size());
      replies.put(order);
    }
  });
  child.start();
  for (int i = 0; i < 50; ++i)
    requests.put(Order{"c" + std::to_string(i), std::vector<std::string>(static_cast<size_t>(i % 5), "x"), {}, std::nullopt});
  requests.put(Order{});
  for (int i = 0; i < 50; ++i) {
    const Order reply = replies.get<Order>(true, 30s);
    ASSERT_EQ(reply.customer, "c" + std::to_string(i));
    ASSERT_EQ(reply.items.size(), static_cast<size_t>(i % 5) + 1);
    ASSERT_EQ(reply.items.back(), "receipt");
    ASSERT_EQ(reply.counts.at("total"), static_cast<int>(reply.items.size()));
  }
  ASSERT_TRUE(child.join(60s));
  EXPECT_EQ(child.exitcode(), 0);
}

TEST_F(QueueCodec, BytesThatAreNotTheTypeAreACodecErrorAndTheQueueGoesOn) {
  Queue q;
  // Three bytes cannot hold the string length Order starts with: cereal reports truncated input.
  // (A corrupt length that asks for a huge allocation is also errc::codec, but AddressSanitizer
  // aborts on such an allocation instead of throwing, so it is not tested here.)
  q.put(std::string("abc"));
  q.put(7);
  expect_error([&] { q.get<Order>(); }, errc::codec);
  // The undecodable message was taken; the next one is intact.
  EXPECT_EQ(q.get<int>(), 7);
  // A plain value of the wrong size stays queued (nothing is lost).
  q.put(std::int16_t{3});
  expect_error([&] { q.get<std::int64_t>(); }, errc::codec);
  EXPECT_EQ(q.get<std::int16_t>(), 3);
}

}  // namespace
}  // namespace mproc::test
