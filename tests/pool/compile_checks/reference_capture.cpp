// A pool task capturing a Queue by reference must not compile (the worker's copy of memory was made
// before the Queue existed). With -DMPROC_ACCEPTED_FORM, the form that works: the Queue passed as
// an argument, travelling by handle.
#include <mproc/pool.hpp>
#include <mproc/queue.hpp>

int main() {
  mproc::Pool pool(1);
  mproc::Queue queue;
#ifdef MPROC_ACCEPTED_FORM
  pool.apply([](mproc::Queue& q, int i) { q.put(i); }, queue, 1);
#else
  pool.apply([&queue](int i) { queue.put(i); }, 1);
#endif
  return queue.get<int>();
}
