// Your own type through a Queue: give it a serialize() member (cereal's way), include the opt-in
// <mproc/cereal_codec.hpp> (link mproc::cereal: find_package(mproc COMPONENTS cereal)), and a
// child process receives real objects, strings and vectors included.
#include <mproc/cereal_codec.hpp>
#include <mproc/mproc.hpp>

#include <cstdio>
#include <string>
#include <vector>

struct Order {
  std::string customer;
  std::vector<int> items;
  double total = 0;

  template <class Archive>
  void serialize(Archive& archive) {
    archive(customer, items, total);
  }
};

int main() {
  mproc::Queue orders;   // lives in shared memory: the child forked below uses the same ring
  mproc::Queue replies;
  mproc::Process clerk([&] {
    for (;;) {
      const auto order = orders.get<Order>();
      if (order.customer.empty()) return;  // the empty order: no more work
      replies.put(order.customer + ": " + std::to_string(order.items.size()) + " items, " +
                  std::to_string(order.total));
    }
  });
  clerk.start();
  orders.put(Order{"ada", {1, 2, 3}, 12.5});
  orders.put(Order{"grace", {7}, 3.25});
  orders.put(Order{});
  for (int i = 0; i < 2; ++i) std::printf("%s\n", replies.get<std::string>().c_str());
  clerk.join();
  return *clerk.exitcode();
}
