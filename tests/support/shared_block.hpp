// Memory shared with children forked after it was made: where they leave results for the test.
#pragma once

#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <new>
#include <system_error>

namespace mproc::test {

// `count` value-initialised Ts in an anonymous MAP_SHARED mapping.
template <class T>
class SharedBlock {
 public:
  explicit SharedBlock(std::size_t count = 1) : bytes_(sizeof(T) * count) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    data_ = static_cast<T*>(p);
    for (std::size_t i = 0; i < count; ++i) new (data_ + i) T();
  }
  ~SharedBlock() { ::munmap(data_, bytes_); }
  SharedBlock(const SharedBlock&) = delete;
  SharedBlock& operator=(const SharedBlock&) = delete;

  T* get() const noexcept { return data_; }
  T* operator->() const noexcept { return data_; }
  T& operator*() const noexcept { return *data_; }
  T& operator[](std::size_t i) const noexcept { return data_[i]; }

 private:
  std::size_t bytes_;
  T* data_;
};

}  // namespace mproc::test
