// A Connection as a Pool task argument: shared by SCM_RIGHTS through this process's resource
// sharer (resource_sharer.hpp), for the lifetime of the job that carries it
// (<mproc/detail/descriptor_shares.hpp>).
//
//   bytes: [u8 version][u8 flags: 1 readable, 2 writable][u64 max message size]
//          [u64 token][u64 token][i32 sharing pid][sharer address]
#include <mproc/connection.hpp>
#include <mproc/detail/descriptor_shares.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <typeinfo>
#include <unistd.h>
#include <utility>
#include <vector>

#include "transport/resource_sharer.hpp"

namespace mproc {
namespace detail {

// The shares of one job: one per descriptor, however many of its items carry it.
class DescriptorShares {
 public:
  DescriptorShares() = default;
  DescriptorShares(const DescriptorShares&) = delete;
  DescriptorShares& operator=(const DescriptorShares&) = delete;
  ~DescriptorShares() {
    for (auto& [fd, ticket] : tickets_) sharer::withdraw(ticket.token);
  }

  const sharer::ShareTicket& share(int fd) {
    for (const auto& [shared_fd, ticket] : tickets_)
      if (shared_fd == fd) return ticket;
    sharer::ShareTicket ticket = sharer::share(fd);
    try {
      tickets_.emplace_back(fd, std::move(ticket));
    } catch (...) {
      sharer::withdraw(ticket.token);
      throw;
    }
    return tickets_.back().second;
  }

 private:
  std::vector<std::pair<int, sharer::ShareTicket>> tickets_;
};

namespace {
thread_local std::shared_ptr<DescriptorShares>* g_active = nullptr;

constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kReadable = 1;
constexpr std::uint8_t kWritable = 2;
constexpr std::size_t kFixed = 2 + sizeof(std::uint64_t) * 3 + sizeof(std::int32_t);

template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}
template <class T>
T take(const char*& p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  p += sizeof value;
  return value;
}
}  // namespace

ShareActivation::ShareActivation(std::shared_ptr<DescriptorShares>& shares) noexcept
    : previous_(g_active) {
  g_active = &shares;
}
ShareActivation::~ShareActivation() { g_active = previous_; }

}  // namespace detail

void Codec<Connection>::encode(const Connection& end, std::string& out) {
  if (detail::g_active == nullptr)
    throw Error(errc::bad_state,
                "Connection: travels only as a Pool task argument (the task bounds its share) or "
                "to a Process; to pass it in a message, use Connection::send_handle");
  if (end.closed()) throw Error(errc::closed, "Connection: cannot pass a closed connection");
  std::shared_ptr<detail::DescriptorShares>& shares = *detail::g_active;
  if (!shares) shares = std::make_shared<detail::DescriptorShares>();
  const detail::sharer::ShareTicket& ticket = shares->share(end.fileno());
  out.push_back(static_cast<char>(detail::kVersion));
  out.push_back(static_cast<char>((end.readable() ? detail::kReadable : 0) |
                                  (end.writable() ? detail::kWritable : 0)));
  detail::put(out, static_cast<std::uint64_t>(end.max_message_size()));
  detail::put(out, ticket.token[0]);
  detail::put(out, ticket.token[1]);
  detail::put(out, ticket.pid);
  out += ticket.address;
}

Connection Codec<Connection>::decode(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  if (size <= detail::kFixed || static_cast<std::uint8_t>(p[0]) != detail::kVersion)
    detail::throw_codec_error(typeid(Connection), "not a shared Connection");
  const auto flags = static_cast<std::uint8_t>(p[1]);
  p += 2;
  const auto max_size = detail::take<std::uint64_t>(p);
  detail::sharer::ShareTicket ticket;
  ticket.token[0] = detail::take<std::uint64_t>(p);
  ticket.token[1] = detail::take<std::uint64_t>(p);
  ticket.pid = detail::take<std::int32_t>(p);
  ticket.address.assign(p, static_cast<const char*>(data) + size);
  const int fd = detail::sharer::collect(ticket, "Connection argument");
  try {
    Connection end(fd, (flags & detail::kReadable) != 0, (flags & detail::kWritable) != 0);
    if (max_size != 0) end.set_max_message_size(max_size);
    return end;
  } catch (const Error&) {
    ::close(fd);  // refused (EINVAL) before the Connection owned it
    throw;
  }
}

}  // namespace mproc
