#include <mproc/mproc.hpp>
#include <cstdio>
#include <mutex>

// Tasks and children take shared objects as parameters: they arrive attached, the same objects.
void square(mproc::Queue& results, mproc::Value<long>& total, int n) {
  std::lock_guard guard(total);  // the Value's own lock, shared too
  *total.get_obj() += n;
  results.put(n * n);
}

void add_up(mproc::Connection& end, mproc::Queue& results) {
  long sum = 0;
  for (int i = 0; i < 4; ++i) sum += results.get<int>();
  end.send(sum);
}

int main() {
  mproc::Pool pool(2);            // the workers exist first...
  mproc::Queue results;           // ...and these after: they travel by handle
  mproc::Value<long> total(0);
  for (int n = 1; n <= 4; ++n) pool.apply(square, results, total, n);

  auto [mine, theirs] = mproc::pipe();
  mproc::Process child(add_up, theirs, results);  // no std::ref, no handle() by hand
  child.start();
  theirs.close();
  const long squares = mine.recv<long>();
  child.join();
  pool.close();
  pool.join();
  std::printf("total %ld, sum of squares %ld\n", total.get(), squares);
  return total.get() == 10 && squares == 30 ? 0 : 1;
}
