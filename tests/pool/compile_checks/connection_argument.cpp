// A Connection as a pool task argument must not compile, with one clear message (a descriptor
// cannot reach a worker that already runs through the codec). With -DMPROC_ACCEPTED_FORM, the
// form that works: the pipe end given to a Process (its child inherits the descriptor).
#include <mproc/connection.hpp>
#include <mproc/pool.hpp>
#include <mproc/process.hpp>

void greet(mproc::Connection& end) { end.send_bytes("hello"); }

int main() {
  auto [parent_end, child_end] = mproc::pipe();
#ifdef MPROC_ACCEPTED_FORM
  mproc::Process child(greet, child_end);
  child.start();
  child.join();
#else
  mproc::Pool pool(1);
  pool.apply(greet, child_end);
#endif
  return parent_end.recv_bytes() == "hello" ? 0 : 1;
}
