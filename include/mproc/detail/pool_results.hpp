// The dispatcher-side states of a Pool's results: the sinks that decode a job's result records
// (<mproc/detail/pool_wire.hpp>) into an AsyncResult (apply_async, map_async) or into the chunks
// an ImapIterator takes.
// Shipped with the headers because the templates of <mproc/pool.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/async_result.hpp>
#include <mproc/codec.hpp>
#include <mproc/detail/pool_core.hpp>
#include <mproc/detail/pool_wire.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>  // Seconds

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace mproc::detail {

// Built with AddressSanitizer (GCC says so with a macro, Clang with a feature test).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// A per-thread cache of freed heap blocks of `Size` bytes. apply_async allocates one result state
// per task and the caller usually frees it in the same thread; malloc's own per-thread cache
// keeps 7 blocks of a size, so a burst of tasks pays malloc's slow paths twice per task (~40 ns on
// the machines measured, issue 17 item 6). Blocks freed in another thread (the dispatcher's, when
// the caller dropped its AsyncResult first) join that thread's cache. At most kMaxBytes are kept
// per thread and size; the rest goes back to the heap, as does the cache when its thread ends.
// Under AddressSanitizer every block goes to the heap, so that a use after free is still caught.
template <size_t Size>
class BlockCache {
 public:
  static constexpr size_t kMaxBytes = size_t{2} << 20;

  static void* take() {
    if constexpr (!kAddressSanitizer) {
      List& list = local();
      if (Node* node = list.head) {
        list.head = node->next;
        --list.count;
        return node;
      }
    }
    return ::operator new(Size);
  }
  static void give(void* p) noexcept {
    if constexpr (!kAddressSanitizer) {
      List& list = local();
      if (!list.ended && list.count < kMaxBytes / Size) {
        list.head = ::new (p) Node{list.head};
        ++list.count;
        return;
      }
    }
    free_block(p);
  }

 private:
  static_assert(Size >= sizeof(void*));
  static void free_block(void* p) noexcept {
#if defined(__cpp_sized_deallocation)
    ::operator delete(p, Size);
#else
    ::operator delete(p);  // Clang before 19 leaves sized deallocation off by default
#endif
  }
  struct Node {
    Node* next;
  };
  struct List {
    Node* head = nullptr;
    size_t count = 0;
    bool ended = false;  // destroyed (the thread is ending): blocks freed later go to the heap
    List() = default;
    List(const List&) = delete;
    List& operator=(const List&) = delete;
    ~List() {
      while (head != nullptr) {
        Node* next = head->next;
        free_block(head);
        head = next;
      }
      ended = true;
    }
  };
  static List& local() noexcept {
    thread_local List list;
    return list;
  }
};

// The allocator of apply_async's result states (std::allocate_shared): single objects come from
// the calling thread's BlockCache.
template <class T>
struct ResultStateAllocator {
  using value_type = T;
  ResultStateAllocator() noexcept = default;
  template <class U>
  ResultStateAllocator(const ResultStateAllocator<U>&) noexcept {}  // NOLINT: rebinding
  T* allocate(size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    if (n != 1) return std::allocator<T>().allocate(n);
    return static_cast<T*>(BlockCache<sizeof(T)>::take());
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n != 1) return std::allocator<T>().deallocate(p, n);
    BlockCache<sizeof(T)>::give(p);
  }
  template <class U>
  bool operator==(const ResultStateAllocator<U>&) const noexcept {
    return true;
  }
};

// Decodes item i of a result into V (monostate for void tasks), or returns the error.
template <class R>
item_t<R> decode_item(const ItemView& item) {
  if (item.status != ItemStatus::ok) throw item_error(item);
  if constexpr (std::is_same_v<item_t<R>, std::monostate>) {
    return {};
  } else {
    return Codec<R>::decode(item.data, item.size);
  }
}

// apply_async: one job, one item; the result state is its own sink (one allocation, from the
// submitting thread's BlockCache: make it with ApplyState::make()).
template <class R>
class ApplyState final : public ValueCore<item_t<R>>, public JobSink {
 public:
  static std::shared_ptr<ApplyState> make() {
    return std::allocate_shared<ApplyState>(ResultStateAllocator<ApplyState>());
  }

  void on_items(const char* data, size_t size, uint32_t count) noexcept override {
    const char* p = data;
    ItemView item{};
    if (count != 1 || !next_item<item_t<R>>(p, data + size, item)) {
      this->resolve_error(make_error_code(errc::internal), "malformed result record");
      return;
    }
    try {
      this->resolve_value(decode_item<R>(item));
    } catch (const Error& e) {
      this->resolve_error(e.code(), e.what());
    } catch (const std::exception& e) {  // a decoder's own exception (the bytes are a worker's)
      this->resolve_error(make_error_code(errc::codec), e.what());
    } catch (...) {
      this->resolve_error(make_error_code(errc::codec), "the result could not be decoded");
    }
  }
  void on_failure(std::error_code code, const std::string& message) noexcept override {
    this->resolve_error(code, message);
  }
};

// map_async: the chunks of one map fill one vector; the first failure resolves the whole map.
template <class V>
class MapState final : public ValueCore<std::vector<V>> {
 public:
  MapState(size_t size, size_t chunks) : values_(size), remaining_(chunks) {
    if (chunks == 0) this->resolve_value({});
  }
  // `count`: the items the chunk at `offset` has (the records come from another process).
  void chunk_done(size_t offset, uint32_t expected, const char* data, size_t size,
                  uint32_t count) noexcept {
    if (this->resolving()) return;
    const char* p = data;
    uint32_t i = 0;
    try {
      if (count != expected || offset > values_.size() || values_.size() - offset < count)
        throw Error(errc::internal, "malformed result: not the chunk's item count");
      for (; i < count; ++i) {
        ItemView item{};
        if (!next_item<V>(p, data + size, item)) throw Error(errc::internal, "malformed result");
        values_[offset + i] = decode_item_value(item);
      }
    } catch (const Error& e) {
      // Name the input, as the caller knows it: its index in the map's input.
      std::string message;
      try {
        message = "map: input " + std::to_string(offset + i) + ": " + e.what();
      } catch (...) {
        // no memory for the text: the code still says what happened
      }
      this->resolve_error(e.code(), std::move(message));
      return;
    } catch (const std::exception& e) {  // a decoder's own exception (the bytes are a worker's)
      this->resolve_error(make_error_code(errc::codec), e.what());
      return;
    } catch (...) {
      this->resolve_error(make_error_code(errc::codec), "a result could not be decoded");
      return;
    }
    if (--remaining_ == 0) this->resolve_value(std::move(values_));
  }
  void chunk_failed(std::error_code code, const std::string& message) noexcept {
    this->resolve_error(code, message);
  }

 private:
  V decode_item_value(const ItemView& item) {
    if (item.status != ItemStatus::ok) throw item_error(item);
    if constexpr (std::is_same_v<V, std::monostate>) {
      return {};
    } else {
      return Codec<V>::decode(item.data, item.size);
    }
  }
  std::vector<V> values_;
  size_t remaining_;
};

template <class V>
class MapChunkSink final : public JobSink {
 public:
  MapChunkSink(std::shared_ptr<MapState<V>> state, size_t offset, uint32_t count)
      : state_(std::move(state)), offset_(offset), count_(count) {}
  void on_items(const char* data, size_t size, uint32_t count) noexcept override {
    state_->chunk_done(offset_, count_, data, size, count);
  }
  void on_failure(std::error_code code, const std::string& message) noexcept override {
    state_->chunk_failed(code, message);
  }

 private:
  std::shared_ptr<MapState<V>> state_;
  size_t offset_;
  uint32_t count_;
};

// One finished chunk of an imap, as its worker wrote it: the consumer decodes the items as it
// takes them (so the dispatcher thread, which every chunk goes through, only copies bytes). A
// chunk that failed as a whole (worker died, timed out, ...) has `code` set and no bytes.
struct ImapChunk {
  std::string bytes;  // `count` item records
  uint32_t count = 0;
  std::error_code code;
  std::string message;
};

// Shared between an ImapIterator (the consumer) and its chunks' sinks (the dispatcher).
class MPROC_API ImapState {
 public:
  explicit ImapState(bool ordered) : ordered_(ordered) {}

  void chunk_done(uint64_t index, const char* data, size_t size, uint32_t count) noexcept;
  void chunk_failed(uint64_t index, uint32_t count, std::error_code code,
                    const std::string& message) noexcept;
  // Consumer: waits for the next finished chunk (in index order if ordered); false on timeout.
  bool take(uint64_t next_index, ImapChunk& out, const std::optional<Seconds>& timeout);

 private:
  void deliver(uint64_t index, ImapChunk&& chunk) noexcept;

  const bool ordered_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<uint64_t, ImapChunk> done_;
  uint64_t next_arrival_ = 0;
  bool lost_ = false;  // a chunk could not be stored (out of memory): take() fails, never hangs
};

class MPROC_API ImapChunkSink final : public JobSink {
 public:
  ImapChunkSink(std::shared_ptr<ImapState> state, uint64_t index, uint32_t count)
      : state_(std::move(state)), index_(index), count_(count) {}
  ~ImapChunkSink() override;
  void on_items(const char* data, size_t size, uint32_t count) noexcept override;
  void on_failure(std::error_code code, const std::string& message) noexcept override;

 private:
  std::shared_ptr<ImapState> state_;
  uint64_t index_;
  uint32_t count_;
};

}  // namespace mproc::detail
