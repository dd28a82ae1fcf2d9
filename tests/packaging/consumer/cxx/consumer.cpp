// A C++ program built against the *installed* mproc through find_package(mproc) and mproc::mproc.
// It throws and catches mproc::Error across the library boundary and derives from mproc::Process,
// which needs the typeinfo and vtables that libmproc.so exports.
#include <mproc/mproc.hpp>

#include <cstdio>
#include <cstdlib>
#include <system_error>

#define CHECK(cond)                                                                        \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "consumer.cpp:%d: check failed: %s\n", __LINE__, #cond);        \
      std::exit(1);                                                                        \
    }                                                                                      \
  } while (0)

namespace {

class Worker : public mproc::Process {
 protected:
  void run() override { throw mproc::SystemExit(9); }
};

}  // namespace

int main() {
  mproc::Process process([](int code) { throw mproc::SystemExit(code); }, 7);
  process.start();
  CHECK(process.join(mproc::Seconds(60)));
  CHECK(process.exitcode() == 7);

  // Starting twice is an mproc::Error with mproc::errc::bad_state, thrown inside the library.
  bool caught = false;
  try {
    process.start();
  } catch (const mproc::Error& e) {
    caught = e.code() == mproc::errc::bad_state;
  }
  CHECK(caught);
  // The same error is a std::system_error too.
  caught = false;
  try {
    process.start();
  } catch (const std::system_error& e) {
    caught = e.code() == mproc::errc::bad_state;
  }
  CHECK(caught);

  Worker worker;
  worker.start();
  CHECK(worker.join(mproc::Seconds(60)));
  CHECK(worker.exitcode() == 9);

  std::printf("C++ consumer OK: child exit codes %d and %d\n", *process.exitcode(),
              *worker.exitcode());
  return 0;
}
