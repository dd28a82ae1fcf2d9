// Two destinations of a received message: a caller's buffer (recv_bytes_into) and a std::string
// (recv_bytes). (The third, memory the caller manages, is recv_with's, in connection.cpp.)
#pragma once

#include <string>

#include "transport/connection_state.hpp"

namespace mproc::detail {

// The caller's buffer: the first record lands in it directly.
class FixedSink final : public RecvSink {
 public:
  FixedSink(void* buffer, std::size_t capacity) noexcept
      : buffer_(static_cast<char*>(buffer)), capacity_(capacity) {}
  std::size_t limit() const noexcept override { return capacity_; }
  std::span<char> first_area() noexcept override { return {buffer_, capacity_}; }
  char* grow(std::size_t) override { return buffer_; }

 private:
  char* buffer_;
  std::size_t capacity_;
};

// A std::string, which can also swap a partial message in and out without copying it.
class StringSink final : public RecvSink {
 public:
  StringSink(std::string& out, std::size_t limit) noexcept : out_(out), limit_(limit) {}
  std::size_t limit() const noexcept override { return limit_; }
  char* grow(std::size_t capacity) override {
    out_.resize(capacity);
    return out_.data();
  }
  bool adopt(std::string& kept) override {
    out_.swap(kept);
    return true;
  }
  bool give(std::string& kept, std::size_t received) override {
    out_.resize(received);
    kept.swap(out_);
    return true;
  }

 private:
  std::string& out_;
  std::size_t limit_;
};

}  // namespace mproc::detail
