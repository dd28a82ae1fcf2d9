// Pool: Python's multiprocessing.Pool, natively, and without its hangs.
//
//   mproc::Pool pool(4);
//   auto r = pool.apply_async(square, 7);                // AsyncResult<int>
//   std::vector<int> v = pool.map(square, inputs);       // input order
//   for (int x : pool.imap_unordered(square, inputs))    // completion order, streamed
//   pool.close(); pool.join();
//
// Tasks. Workers are forked from the parent, so a task is a plain function or a lambda whose
// closure is trivially copyable and holds no address (captures by value of ints, doubles, plain
// structs): the closure's bytes travel with each task. A lambda capturing a std::string or another
// owning type, or a pointer or a reference, is rejected at compile time: a worker's memory is a
// copy made when it started, where an object made later (a Queue created after the Pool) does not
// exist. Pass such data as an argument instead. Arguments and results travel through the codec
// (<mproc/codec.hpp>: trivially copyable types, std::string, vectors of plain types; include
// <mproc/cereal_codec.hpp> for the rest); `const char*` arguments travel as std::string. Shared
// objects (Queue, attachable locks, Value, Array, SharedMemory, Manager containers) travel by
// handle and are attached in the worker (<mproc/by_handle.hpp>); `std::ref(x)` travels as x. A
// task may take such an argument by reference or, for a move-only one, by value.
//
// Faults. A task that throws resolves its result with errc::task_failed ("std::runtime_error:
// boom"); the worker lives on. A worker that dies (signal, _exit, crash) while running a task fails
// that task with errc::worker_died and a message naming the signal or exit code; tasks it had been
// sent but had not started are re-dispatched; it is replaced; join() returns. A worker killed
// while idle is just replaced. An initializer that fails (throws, or kills its worker) makes the
// pool broken after a bounded number of consecutive failures: outstanding and new tasks fail with
// errc::broken and the initializer's error, instead of endless respawning.
//
// Threads. Each pool has one dispatcher thread in the parent: it sends tasks to the workers (per
// worker shared-memory rings, several tasks per write), collects results, resolves AsyncResults,
// runs callbacks, watches the workers and forks their replacements. Forking from that thread is
// safe for mproc's own state (its fork hooks), but not for locks that *your* other threads may
// hold at that moment (see the README, "Fork"): in a program with many threads, keep tasks away
// from such locks, or use StartMethod::forkserver.
//
// Lifetime. close() stops new submissions; join() (after close() or terminate()) waits until every
// submitted task has finished and the workers have exited. terminate() kills the workers at once
// and resolves every outstanding result — with its value if it had finished, else with
// errc::terminated. The destructor calls terminate() if the pool was not joined: it never waits
// for a task, never hangs, and never leaves a result unresolved (Python's context manager also
// terminates, but leaves results hanging: cpython #126743). Call close() and join() to wait.
//
// Workers are daemon processes (named ForkPoolWorker-N, or ForkServerPoolWorker-N): as in Python,
// a task may not start Processes or Pools of its own. End a pool (destroy, terminate or join it)
// before the program exits: a pool that outlives main() has its workers stopped by the at-exit
// handler while its dispatcher still runs.
//
// Start methods: StartMethod::fork (default) or StartMethod::forkserver, for programs with many
// threads (see below).
//
// Thread-safety: a Pool may be used from several threads at once (submissions, close, terminate,
// join); a Pool belongs to the process that created it (in a forked child, its methods throw
// errc::bad_state).
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/async_result.hpp>
#include <mproc/by_handle.hpp>
#include <mproc/codec.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>

#include <algorithm>
#include <bit>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace mproc {

enum class StartMethod {
  // Workers are forked from the pool's dispatcher thread: any task and initializer works (the
  // worker is a copy of the parent), but a lock another thread of yours holds at that moment stays
  // held forever in the worker. The default.
  fork,
  // Workers are forked by the forkserver: a small single-threaded process forked from this one
  // (no exec: the same binary, so function pointers and registered tasks stay valid) by
  // start_forkserver(), or on first use. Call start_forkserver() at the top of main(), before
  // starting threads: then no worker inherits a lock another thread held, however many threads
  // the program has when it creates pools. Workers are copies of the program as it was when the
  // server started: a task's closure bytes and arguments travel as usual, but pointers in them
  // refer to the server's copy of memory, and state set up later (globals, registrations made
  // after start_forkserver) is not there. The initializer must be a plain function
  // (void(*)(); a captureless lambda converts with a unary +): EINVAL otherwise. Worker deaths,
  // timeouts and cancels behave as with fork (the server passes each worker's pidfd back and
  // reports its exit status; it reaps its workers). Named ForkServerPoolWorker-N.
  forkserver,
};

// Starts the forkserver (see StartMethod::forkserver) if it is not running. Call it while the
// program is single-threaded. Each process has at most one; a forked child does not share its
// parent's. The server ends when stop_forkserver() is called or this process exits or dies.
// Errors: the errno of socketpair / fork / pidfd_open. Thread-safety: safe from any thread.
MPROC_API void start_forkserver();
// Ends the forkserver: it kills and reaps the workers it started (end forkserver pools first) and
// is reaped. The next forkserver pool starts a new one. No-op if none runs. Never hangs (bounded,
// then SIGKILL). Thread-safety: safe from any thread.
MPROC_API void stop_forkserver();
// The forkserver's pid, or 0 if none runs (for monitoring and tests).
MPROC_API pid_t forkserver_pid();

/// The options of a Pool.
/// Thread-safety: a value.
/// Errors: Pool's constructor throws EINVAL for bad values.
/// Fork-safety: a value.
struct PoolOptions {
  int processes = 0;  // 0: cpu_count()
  // Runs in each worker when it starts (Python's initializer + initargs: capture what you need).
  // The worker is a fork, so any callable works. If it throws, see "Faults" above.
  std::function<void()> initializer;
  // A worker exits after this many tasks (a map chunk counts as one) and is replaced; 0: never.
  size_t maxtasksperchild = 0;
  StartMethod start_method = StartMethod::fork;
  // Called in the dispatcher thread after each finished task (or chunk) with the number of task
  // items finished so far in this pool: a hook for progress bars. Keep it quick.
  std::function<void(size_t completed)> on_progress;
};

/// Per-call options for apply_async / map_async / imap.
/// Thread-safety: a value.
/// Errors: the Pool's methods throw EINVAL for bad values.
/// Fork-safety: a value.
struct TaskOptions {
  // A task (a chunk) running longer than this is stopped: its worker is killed and replaced, and
  // the task resolves with errc::timed_out. Measured from the moment the worker starts it.
  std::optional<Seconds> timeout;
};

/// Counters, for monitoring and tests. Taken at one instant by the dispatcher thread.
/// Thread-safety: a value.
/// Errors: none.
/// Fork-safety: a value.
struct PoolStats {
  size_t workers = 0;          // live worker processes
  size_t queued = 0;           // tasks (chunks) not yet sent to a worker
  size_t in_flight = 0;        // tasks sent to a worker and not finished
  size_t completed = 0;        // task items finished, successfully or not
  size_t workers_started = 0;  // including replacements
};

/// A task throws this to fail with exactly `message`: get() throws Error(errc::task_failed) whose
/// text is the message, without the exception type name other exceptions are described with. For
/// failures that are a plain sentence, and for bindings of other languages (the C ABI's tasks).
/// Thread-safety: an immutable value.
/// Errors: none: it is the error.
/// Fork-safety: a value.
class MPROC_API TaskFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The start method named as in Python ("fork", "forkserver", "spawn"). Errors: ENOTSUP for
// "spawn" (no interpreter to re-exec: use forkserver), EINVAL for an unknown name.
MPROC_API StartMethod start_method_from_name(std::string_view name);

namespace detail {

// ---------------------------------------------------------------------------------------------
// The byte-level core (src/pool). The typed layer below turns calls into Jobs and results back.

// One result item, as the worker wrote it.
enum class ItemStatus : uint8_t { ok = 0, exception = 1, codec = 2 };

// Receives the outcome of one job, in the dispatcher thread.
class MPROC_API JobSink {
 public:
  virtual ~JobSink();
  // The job's result items (`count` records; read them with next_item).
  virtual void on_items(const char* data, size_t size, uint32_t count) noexcept = 0;
  // The whole job failed (worker died, timeout, cancelled, terminated, broken pool).
  virtual void on_failure(std::error_code code, const std::string& message) noexcept = 0;
};

// Result records, one per item: [u8 status][u32 size][bytes]; or, when the task succeeded and
// its values have a fixed size (the bitwise codec, or nothing for void), [u8 ok][value]. Small
// values so take about half the bytes, and every result crosses cores twice (worker ->
// dispatcher -> caller). Failures always carry their text in the first form.
struct ItemView {
  ItemStatus status;
  const char* data;
  size_t size;
};

inline constexpr size_t kVariableSize = SIZE_MAX;

// The size of a successful record's value for values of type V, or kVariableSize.
template <class V>
inline constexpr size_t fixed_result_size = std::is_same_v<V, std::monostate> ? 0
                                            : codec_is_bitwise<V>              ? sizeof(V)
                                                                               : kVariableSize;

// Reads the record at p, written for values of type V, and advances p; false if the bytes are
// malformed. (Inline: imap consumers call it once per item.)
template <class V>
bool next_item(const char*& p, const char* end, ItemView& item) noexcept {
  constexpr size_t fixed = fixed_result_size<V>;
  if (p == end) return false;
  item.status = static_cast<ItemStatus>(*p);
  if (fixed != kVariableSize && item.status == ItemStatus::ok) {
    if (static_cast<size_t>(end - p) < 1 + fixed) return false;
    item.data = p + 1;
    item.size = fixed;
    p = item.data + fixed;
    return true;
  }
  if (static_cast<size_t>(end - p) < 1 + sizeof(uint32_t)) return false;
  uint32_t size = 0;
  std::memcpy(&size, p + 1, sizeof size);
  if (static_cast<size_t>(end - p) < 1 + sizeof(uint32_t) + size) return false;
  item.data = p + 1 + sizeof(uint32_t);
  item.size = size;
  p = item.data + size;
  return true;
}
// The Error an item that is not ok stands for.
MPROC_API Error item_error(const ItemView& item);

// A task as the core sees it: opaque bytes for the worker, a sink for the outcome.
struct Job {
  std::string payload;  // built by TaskWriter
  std::shared_ptr<JobSink> sink;
  uint64_t group = 0;   // cancel() cancels every job of a group
  uint32_t items = 1;
  std::optional<Seconds> timeout;
};

// Runs in the worker: decodes the arguments of `count` items from [data, end), calls the task on
// each, and appends one result record per item to `out` (see ItemView).
using Invoker = void (*)(const char* callable, const char* data, const char* end, uint32_t count,
                         std::string& out);

class MPROC_API PoolCore : public std::enable_shared_from_this<PoolCore> {
 public:
  static std::shared_ptr<PoolCore> create(PoolOptions options);
  ~PoolCore();
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  uint64_t new_group() noexcept;
  // Queues jobs for the dispatcher. `feeder` marks submissions by an imap iterator on behalf of a
  // call made before close(): accepted until join(). Errors: closed, terminated, bad_state.
  void submit(std::vector<Job>& jobs, bool feeder = false);
  // As submit, for one job.
  void submit_one(Job& job);
  // As submit, for one job whose payload is small (copied).
  void submit_small(std::string_view payload, std::shared_ptr<JobSink> sink, uint64_t group,
                    const std::optional<Seconds>& timeout);
  void cancel(uint64_t group);
  // An imap iterator with input left registers as a feeder; see Pool::close. Errors: closed,
  // terminated (a new iterator on a pool that no longer runs), bad_state.
  void add_feeder();
  void remove_feeder() noexcept;

  void close();
  void join();
  void terminate();
  int processes() const noexcept;
  PoolStats stats() const;
  size_t completed() const noexcept;
  std::vector<pid_t> worker_pids() const;
  size_t imap_window() const noexcept;

  struct Impl;

 private:
  explicit PoolCore(PoolOptions options);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Encoding of callables, arguments and results.

// Arguments travel as these types (a C string as std::string, a string_view as std::string; a
// std::ref(x) as x: a Queue or a lock given by reference travels by handle like the object).
template <class A>
struct wire_type {
  using type = std::conditional_t<std::is_same_v<A, const char*> || std::is_same_v<A, char*> ||
                                      std::is_same_v<A, std::string_view>,
                                  std::string, A>;
};
template <class T>
struct wire_type<std::reference_wrapper<T>> : wire_type<std::remove_cv_t<T>> {};
template <class A>
using wire_t = typename wire_type<std::decay_t<A>>::type;

template <class A>
struct is_reference_wrapper : std::false_type {};
template <class T>
struct is_reference_wrapper<std::reference_wrapper<T>> : std::true_type {};

// An argument as wire_t<A>: the object itself when it travels as it is (no copy: a move-only
// Queue is encoded in place), else converted.
template <class A>
decltype(auto) wire(const A& arg) {
  if constexpr (is_reference_wrapper<A>::value)
    return wire(arg.get());
  else if constexpr (std::is_same_v<wire_t<A>, A>)
    return (arg);
  else
    return wire_t<A>(arg);
}

template <class T>
void put_pod(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <class T>
T get_pod(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

// A value in an argument list: bitwise types at their fixed size, others length-prefixed.
template <class T>
void encode_arg(std::string& out, const T& value) {
  if constexpr (codec_is_bitwise<T>) {
    Codec<T>::encode(value, out);
  } else {
    const size_t at = out.size();
    out.append(sizeof(uint32_t), '\0');
    Codec<T>::encode(value, out);
    const auto size = static_cast<uint32_t>(out.size() - at - sizeof(uint32_t));
    std::memcpy(out.data() + at, &size, sizeof size);
  }
}

[[noreturn]] MPROC_API void throw_truncated_arguments();

template <class T>
T decode_arg(const char*& p, const char* end) {
  size_t size = sizeof(T);
  if constexpr (!codec_is_bitwise<T>) {
    if (static_cast<size_t>(end - p) < sizeof(uint32_t)) throw_truncated_arguments();
    size = get_pod<uint32_t>(p);
    p += sizeof(uint32_t);
  }
  if (static_cast<size_t>(end - p) < size) throw_truncated_arguments();
  const char* at = p;
  p += size;
  return Codec<T>::decode(at, size);
}

template <class... A>
std::tuple<A...> decode_args(const char* p, const char* end) {
  // Braced initialisation evaluates left to right.
  std::tuple<A...> args{decode_arg<A>(p, end)...};
  if (p != end) throw_truncated_arguments();
  return args;
}

// "<demangled type>: <what>" of the exception being handled (or a fixed text for others).
MPROC_API std::string describe_current_exception();
// Replaces what follows `at` in `out` with a failure record.
MPROC_API void append_failure(std::string& out, size_t at, ItemStatus status,
                              const std::string& text);
// Appends `count` codec failure records: the items' argument bytes are truncated or malformed.
MPROC_API void append_truncated(std::string& out, uint32_t count);

template <class Fn>
Fn load_callable(const char* bytes) {
  struct Raw {
    alignas(Fn) unsigned char bytes[sizeof(Fn)];
  } raw;
  std::memcpy(raw.bytes, bytes, sizeof(Fn));
  return std::bit_cast<Fn>(raw);
}

// An item's arguments in a task payload: packed back to back when every argument has a fixed
// size (the bitwise codec), else [u32 size][arguments]. This is their fixed size, or
// kVariableSize.
template <class... A>
inline constexpr size_t fixed_args_size =
    (codec_is_bitwise<A> && ...) ? (size_t{0} + ... + sizeof(A)) : kVariableSize;

// The worker side of one item of a task Fn called with arguments of types A...
template <class Fn, class... A>
void invoke_one(Fn fn, const char* data, size_t size, std::string& out) {
  using R = stored_call_result_t<Fn, A...>;
  using V = item_t<R>;
  constexpr size_t fixed = fixed_result_size<V>;
  const size_t at = out.size();
  out.append(fixed != kVariableSize ? 1 : 1 + sizeof(uint32_t), '\0');
  std::optional<std::tuple<A...>> args;
  try {
    args.emplace(decode_args<A...>(data, data + size));
  } catch (...) {
    append_failure(out, at, ItemStatus::codec, describe_current_exception());
    return;
  }
  try {
    if constexpr (std::is_same_v<V, std::monostate>) {
      apply_stored(fn, *args);  // nothing to send back, even for a task returning a monostate
    } else {
      const R result = apply_stored(fn, *args);
      try {
        Codec<R>::encode(result, out);
      } catch (...) {
        append_failure(out, at, ItemStatus::codec, describe_current_exception());
        return;
      }
    }
  } catch (const SystemExit&) {
    throw;  // ends the worker with that exit code, as in a Process
  } catch (...) {
    append_failure(out, at, ItemStatus::exception, describe_current_exception());
    return;
  }
  out[at] = static_cast<char>(ItemStatus::ok);
  if constexpr (fixed == kVariableSize) {
    const auto bytes = static_cast<uint32_t>(out.size() - at - 1 - sizeof(uint32_t));
    std::memcpy(out.data() + at + 1, &bytes, sizeof bytes);
  }
}

// The Invoker of a task Fn called with arguments of types A...: one call per chunk, so that the
// loop over its items can inline the task.
template <class Fn, class... A>
void invoke_items(const char* callable, const char* data, const char* end, uint32_t count,
                  std::string& out) {
  const Fn fn = load_callable<Fn>(callable);
  constexpr size_t fixed = fixed_args_size<A...>;
  for (uint32_t i = 0; i < count; ++i) {
    size_t size = fixed;
    if constexpr (fixed == kVariableSize) {
      if (static_cast<size_t>(end - data) < sizeof(uint32_t)) return append_truncated(out, count - i);
      size = get_pod<uint32_t>(data);
      data += sizeof(uint32_t);
    }
    if (static_cast<size_t>(end - data) < size) return append_truncated(out, count - i);
    invoke_one<Fn, A...>(fn, data, size, out);  // a fresh copy of the callable for each item
    data += size;
  }
}

template <class Tuple>
struct tuple_args_size;
template <class... A>
struct tuple_args_size<std::tuple<A...>> {
  static constexpr size_t value = fixed_args_size<A...>;
};

template <class Tuple>
struct tuple_invoker;
template <class... A>
struct tuple_invoker<std::tuple<A...>> {
  template <class Fn>
  static constexpr Invoker get() {
    return &invoke_items<Fn, wire_t<A>...>;
  }
};

// Builds a job's payload: [u64 invoker][u32 callable size][callable][u32 count][items...], the
// items as invoke_items reads them.
class TaskWriter {
 public:
  // The callable is `fn`'s bytes, or the bytes `callable` names (a registered task's).
  template <class Fn>
    requires(!std::is_convertible_v<const Fn&, std::string_view>)
  TaskWriter(Invoker invoker, const Fn& fn)
      : TaskWriter(invoker, std::string_view(reinterpret_cast<const char*>(&fn), sizeof(Fn))) {}
  TaskWriter(Invoker invoker, std::string_view callable) {
    put_pod(payload_, reinterpret_cast<uintptr_t>(invoker));
    put_pod(payload_, static_cast<uint32_t>(callable.size()));
    payload_.append(callable);
    count_at_ = payload_.size();
    put_pod(payload_, uint32_t{0});
  }
  // Makes room for `items` more items whose arguments have the fixed size `item_size` (no-op
  // for kVariableSize).
  void reserve(size_t items, size_t item_size) {
    if (item_size != kVariableSize) payload_.reserve(payload_.size() + items * item_size);
  }
  // Appends one item: its arguments (A... as the invoker decodes them).
  template <class... A>
  void add(const A&... args) {
    if constexpr (fixed_args_size<A...> != kVariableSize) {
      (encode_arg(payload_, args), ...);
    } else {
      const size_t at = payload_.size();
      payload_.append(sizeof(uint32_t), '\0');
      (encode_arg(payload_, args), ...);
      const auto size = static_cast<uint32_t>(payload_.size() - at - sizeof(uint32_t));
      std::memcpy(payload_.data() + at, &size, sizeof size);
    }
    ++count_;
  }
  uint32_t count() const noexcept { return count_; }
  std::string finish() {
    std::memcpy(payload_.data() + count_at_, &count_, sizeof count_);
    return std::move(payload_);
  }

 private:
  std::string payload_;
  size_t count_at_ = 0;
  uint32_t count_ = 0;
};

// The payload of a one-item task whose arguments all have fixed sizes, laid out as TaskWriter
// does, built on the stack: submitting a tiny task allocates nothing but its result.
template <class Fn, class... A>
class SmallTask {
 public:
  static constexpr size_t kSize =
      sizeof(uintptr_t) + 2 * sizeof(uint32_t) + sizeof(Fn) + fixed_args_size<A...>;
  static constexpr bool fits = fixed_args_size<A...> != kVariableSize && kSize <= 512;

  SmallTask(Invoker invoker, const Fn& fn, const A&... args) noexcept {
    char* p = bytes_;
    p = put(p, reinterpret_cast<uintptr_t>(invoker));
    p = put(p, static_cast<uint32_t>(sizeof(Fn)));
    p = put(p, fn);
    p = put(p, uint32_t{1});
    ((p = put(p, args)), ...);
  }
  std::string_view view() const noexcept { return {bytes_, kSize}; }

 private:
  template <class T>
  static char* put(char* p, const T& value) noexcept {
    std::memcpy(p, &value, sizeof(T));  // the bitwise codec's bytes
    return p + sizeof(T);
  }
  char bytes_[kSize];
};

template <class F>
concept task_callable = std::is_trivially_copyable_v<std::decay_t<F>>;

// True when a callable's bytes hold no pointer and no reference: a bit_cast to it is a constant
// expression exactly then (the language refuses pointers, references and unions there). A
// function pointer itself is code, the same in every worker.
template <class F>
struct ZeroBytes {
  alignas(F) unsigned char bytes[sizeof(F)]{};
};
template <class F>
concept holds_no_address =
    std::is_pointer_v<F> ||
    requires { typename std::integral_constant<bool, (std::bit_cast<F>(ZeroBytes<F>{}), true)>; };

// Callables allowed to hold addresses (the C ABI's task: a C function and its user_data, which the
// C caller vouches for).
template <class F>
inline constexpr bool task_may_hold_addresses = false;

template <class F>
void check_task_callable() {
  static_assert(task_callable<F>,
                "mproc::Pool: a task must be a function or a lambda whose captures are trivially "
                "copyable (ints, doubles, plain structs): its bytes travel to the worker. Pass "
                "strings and containers as arguments instead.");
  static_assert(!task_callable<F> || task_may_hold_addresses<std::decay_t<F>> ||
                    holds_no_address<std::decay_t<F>>,
                "mproc::Pool: a task may not capture pointers or references (nor unions, e.g. "
                "std::optional): a worker has its own copy of memory, made when it started, "
                "where an object created later (a Queue made after the Pool) does not exist. "
                "Pass shared objects (Queue, Lock, Value, Array, SharedMemory, Manager "
                "containers) as task arguments, where they travel by handle, and data by value.");
}

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

// apply_async: one job, one item; the result state is its own sink (one allocation).
template <class R>
class ApplyState final : public ValueCore<item_t<R>>, public JobSink {
 public:
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

// A generator-like callable: each call returns the next input, or std::nullopt at the end.
template <class G>
concept input_generator = std::invocable<G&> && requires(G& g) {
  { g().has_value() } -> std::convertible_to<bool>;
  *g();
};

// Input for imap: a range (taken by view: lazy ranges stay lazy) or a generator, read one
// element at a time in the consumer's thread.
template <class Input>
struct input_traits;

template <class Input>
  requires std::ranges::input_range<Input>
struct input_traits<Input> {
  using value_type = std::ranges::range_value_t<Input>;
};

template <class Input>
  requires(!std::ranges::input_range<Input> && input_generator<Input>)
struct input_traits<Input> {
  using value_type = std::decay_t<decltype(*std::declval<Input&>()())>;
};

template <class Input>
using input_value_t = typename input_traits<std::remove_cvref_t<Input>>::value_type;

// Pulls inputs one by one, whichever form they come in. Input is the forwarded type: an lvalue
// range is referenced, an rvalue one (or a view) owned — what std::views::all does, spelled out
// because clang 14 cannot instantiate libstdc++ 12's owning_view / ref_view.
template <class Input>
class RangeSource {
 public:
  using Stored = std::conditional_t<std::is_lvalue_reference_v<Input> &&
                                        !std::ranges::view<std::remove_cvref_t<Input>>,
                                    Input, std::remove_cvref_t<Input>>;
  using Range = std::remove_reference_t<Stored>;
  using Value = std::ranges::range_value_t<Range>;
  template <class I>
  explicit RangeSource(I&& input) : range_(std::forward<I>(input)) {}
  RangeSource(RangeSource&&) = delete;
  std::optional<Value> next() {
    if (!it_) it_.emplace(std::ranges::begin(range_));
    if (*it_ == std::ranges::end(range_)) return std::nullopt;
    std::optional<Value> value(**it_);
    ++*it_;
    return value;
  }
  // Calls sink with the next input in place (no copy: inputs may be move-only, e.g. Queues);
  // false at the end.
  template <class Sink>
  bool visit_next(Sink&& sink) {
    if (!it_) it_.emplace(std::ranges::begin(range_));
    if (*it_ == std::ranges::end(range_)) return false;
    sink(**it_);
    ++*it_;
    return true;
  }

 private:
  Stored range_;
  std::optional<std::ranges::iterator_t<Range>> it_;
};

template <class G>
class GeneratorSource {
 public:
  template <class I>
  explicit GeneratorSource(I&& input) : gen_(std::forward<I>(input)) {}
  GeneratorSource(GeneratorSource&&) = delete;
  auto next() { return gen_(); }
  template <class Sink>
  bool visit_next(Sink&& sink) {
    auto value = gen_();
    if (!value) return false;
    sink(*value);
    return true;
  }

 private:
  G gen_;
};

template <class Input>
using input_source_t =
    std::conditional_t<std::ranges::input_range<std::remove_cvref_t<Input>>, RangeSource<Input>,
                       GeneratorSource<std::decay_t<Input>>>;

// Calls f with one input: f(x), or std::apply(f, x) for starmap.
template <bool Star, class Fn, class T>
struct call_shape;
template <class Fn, class T>
struct call_shape<false, Fn, T> {
  using args = std::tuple<wire_t<T>>;
};
template <class Fn, class T>
struct call_shape<true, Fn, T> {
  template <class Tuple>
  struct wired;
  template <class... A>
  struct wired<std::tuple<A...>> {
    using type = std::tuple<wire_t<A>...>;
  };
  template <class X, class Y>
  struct wired<std::pair<X, Y>> {
    using type = std::tuple<wire_t<X>, wire_t<Y>>;
  };
  using args = typename wired<std::decay_t<T>>::type;
};

template <class Fn, class Tuple>
struct apply_result;
template <class Fn, class... A>
struct apply_result<Fn, std::tuple<A...>> {
  using type = stored_call_result_t<Fn, A...>;
};

template <bool Star, class Fn, class T>
using map_args_t = typename call_shape<Star, Fn, T>::args;
template <bool Star, class Fn, class T>
using map_result_t = typename apply_result<Fn, map_args_t<Star, Fn, T>>::type;

template <bool Star, class T>
void add_map_item(TaskWriter& writer, const T& input) {
  if constexpr (Star) {
    std::apply([&](const auto&... a) { writer.add(wire(a)...); }, input);
  } else {
    writer.add(wire(input));
  }
}

// ---------------------------------------------------------------------------------------------
// Named tasks: the signature of a function pointer or a non-generic lambda.
template <class F>
struct signature : signature<decltype(&F::operator())> {};
template <class R, class... A>
struct signature<R (*)(A...)> {
  using result = std::decay_t<R>;
  using args = std::tuple<std::decay_t<A>...>;
};
template <class R, class C, class... A>
struct signature<R (C::*)(A...) const> : signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct signature<R (C::*)(A...)> : signature<R (*)(A...)> {};

struct RegisteredTask {
  Invoker invoker = nullptr;
  std::string callable;  // the callable's bytes
  const std::type_info* args = nullptr;
  const std::type_info* result = nullptr;
};
MPROC_API void add_registered_task(const std::string& name, RegisteredTask task);
// Errors: EINVAL if no task has that name.
MPROC_API RegisteredTask find_registered_task(const std::string& name);
[[noreturn]] MPROC_API void throw_task_signature_mismatch(const std::string& name);

}  // namespace detail

/// The results of imap / imap_unordered, streamed: a single-pass input range.
/// At most `window` chunks are submitted and not yet consumed at any time, so memory grows with the
/// window, not with the input (which may be endless). The input is read in the consuming thread,
/// as results are taken.
/// Thread-safety: one thread at a time.
/// Errors: operator++ / * rethrow a failed task's error as mproc::Error (errc::task_failed,
/// worker_died, ...).
/// Fork-safety: as AsyncResult: belongs to the creating process.
template <class V>
class ImapIterator {
 public:
  ImapIterator(ImapIterator&&) noexcept = default;
  ImapIterator& operator=(ImapIterator&&) noexcept = default;
  ~ImapIterator() {
    if (feeding_ && core_) core_->remove_feeder();
  }

  // The next result; std::nullopt at the end. Throws the item's Error if that task failed (the
  // iteration may go on after it, as in Python).
  std::optional<V> next() { return next_impl(std::nullopt); }
  // As next(), but throws Error(errc::timed_out) if no result is ready within `timeout`.
  std::optional<V> next(Seconds timeout) { return next_impl(timeout); }

  // Chunks submitted and not yet fully consumed, now and at most so far.
  size_t in_flight() const noexcept { return submitted_ - consumed_; }
  size_t max_in_flight() const noexcept { return max_in_flight_; }
  size_t window() const noexcept { return window_; }

  class iterator {
   public:
    using value_type = V;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(ImapIterator* owner) : owner_(owner) { advance(); }
    const V& operator*() const { return *current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return !it.current_; }

   private:
    void advance() { current_ = owner_->next(); }
    ImapIterator* owner_ = nullptr;
    std::optional<V> current_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  friend class Pool;
  using Feed = std::function<std::optional<detail::Job>(uint64_t index)>;

  ImapIterator(std::shared_ptr<detail::PoolCore> core, std::shared_ptr<detail::ImapState> state,
               Feed feed, size_t window)
      : core_(std::move(core)), state_(std::move(state)), feed_(std::move(feed)),
        window_(std::max<size_t>(window, 1)) {
    core_->add_feeder();
    feeding_ = true;
    top_up();
  }

  void stop_feeding() {
    if (feeding_) core_->remove_feeder();
    feeding_ = false;
  }

  void top_up() {
    while (feeding_ && submitted_ - consumed_ < window_) {
      std::optional<detail::Job> job = feed_(submitted_);
      if (!job) {
        stop_feeding();
        break;
      }
      std::vector<detail::Job> jobs;
      jobs.push_back(std::move(*job));
      try {
        core_->submit(jobs, true);
      } catch (const Error& e) {
        stop_feeding();
        feed_error_ = e;
        break;
      }
      ++submitted_;
      max_in_flight_ = std::max(max_in_flight_, submitted_ - consumed_);
    }
  }

  std::optional<V> next_impl(const std::optional<Seconds>& timeout) {
    for (;;) {
      if (pos_ < current_.count) {
        if (++pos_ == current_.count) {
          ++consumed_;
          top_up();  // does not touch current_
        }
        return decode_next();
      }
      top_up();
      if (consumed_ == submitted_) {
        if (feed_error_) {
          Error e = *feed_error_;
          feed_error_.reset();
          throw e;
        }
        return std::nullopt;
      }
      if (!state_->take(consumed_, current_, timeout))
        throw Error(errc::timed_out, "imap: no result within the timeout");
      pos_ = 0;
      cursor_ = current_.bytes.data();
      if (current_.count == 0) ++consumed_;
    }
  }

  // The value of the item at cursor_ (advanced past it), or its error.
  std::optional<V> decode_next() {
    if (current_.code) throw Error(current_.code, current_.message);
    detail::ItemView item{};
    if (!detail::next_item<V>(cursor_, current_.bytes.data() + current_.bytes.size(), item))
      throw Error(errc::internal, "imap: malformed result record");
    if (item.status != detail::ItemStatus::ok) throw detail::item_error(item);
    if constexpr (std::is_same_v<V, std::monostate>)
      return V{};
    else
      return Codec<V>::decode(item.data, item.size);
  }

  std::shared_ptr<detail::PoolCore> core_;
  std::shared_ptr<detail::ImapState> state_;
  Feed feed_;
  size_t window_ = 1;
  bool feeding_ = false;
  size_t submitted_ = 0;
  size_t consumed_ = 0;
  size_t max_in_flight_ = 0;
  detail::ImapChunk current_;
  uint32_t pos_ = 0;               // items of current_ taken
  const char* cursor_ = nullptr;   // the next item record in current_.bytes
  std::optional<Error> feed_error_;
};

// Registers `fn` (a function pointer or a lambda with trivially copyable captures, not a generic
// one) under `name`, for Pool::apply_async(TaskName{name}, args...). Names are the way to name
// code in a worker that is not a fork of the caller (start methods other than fork, planned);
// with fork they are a convenience. Register before creating pools (e.g. at start-up);
// registering a name again replaces it. Errors: EINVAL for an empty name.
// Thread-safety: safe from any thread.
template <class F>
void register_task(const std::string& name, F fn) {
  detail::check_task_callable<F>();
  using Fn = std::decay_t<F>;
  using Sig = detail::signature<Fn>;
  detail::RegisteredTask task;
  task.invoker = detail::tuple_invoker<typename Sig::args>::template get<Fn>();
  const Fn copy(fn);
  task.callable.assign(reinterpret_cast<const char*>(&copy), sizeof(Fn));
  task.args = &typeid(typename Sig::args);
  task.result = &typeid(typename Sig::result);
  detail::add_registered_task(name, std::move(task));
}

/// Names a registered task in Pool::apply_async.
/// Thread-safety: a value.
/// Errors: none (an unknown name fails the task: errc::task_failed).
/// Fork-safety: a value.
struct TaskName {
  std::string name;
};

/// Thread-safety: see the file comment.
/// Errors: throws mproc::Error (errno or mproc::errc code): errc::closed / errc::terminated
/// (submit after close / terminate), errc::bad_state (join before close; any call in a forked
/// child), EINVAL, the errno of fork.
/// Fork-safety: a Pool belongs to the process that created it: in a forked child its methods throw
/// errc::bad_state. Workers are forked from the dispatcher thread (StartMethod::fork) or from the
/// forkserver (StartMethod::forkserver, for programs with other threads).
class MPROC_API Pool {
 public:
  // processes = 0: cpu_count(). Forks the workers. Errors: EINVAL for processes < 0, the errno of
  // fork / mmap / eventfd.
  explicit Pool(int processes = 0);
  explicit Pool(PoolOptions options);
  // If not joined: terminate() (see the file comment). Never hangs.
  ~Pool();
  Pool(Pool&& other) noexcept;
  Pool& operator=(Pool&& other) noexcept;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // f(args...) in a worker, waited for. Errors: those of the task (see AsyncResult), closed or
  // terminated if the pool no longer accepts tasks.
  template <class F, class... Args>
  auto apply(F&& f, Args&&... args) {
    return apply_async(std::forward<F>(f), std::forward<Args>(args)...).get();
  }

  template <class F, class... Args>
    requires(!std::is_same_v<std::decay_t<F>, TaskOptions>)
  auto apply_async(F&& f, Args&&... args) {
    return apply_async(TaskOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  }

  template <class F, class... Args>
  auto apply_async(const TaskOptions& options, F&& f, Args&&... args) {
    using Fn = std::decay_t<F>;
    detail::check_task_callable<F>();
    using R = detail::stored_call_result_t<Fn, detail::wire_t<Args>...>;
    using V = detail::item_t<R>;
    using Small = detail::SmallTask<Fn, detail::wire_t<Args>...>;
    constexpr detail::Invoker invoker = &detail::invoke_items<Fn, detail::wire_t<Args>...>;
    auto state = std::make_shared<detail::ApplyState<R>>();
    const Fn fn(std::forward<F>(f));
    const uint64_t group = core().new_group();
    state->attach(core_, group);
    std::shared_ptr<detail::JobSink> sink(state, state.get());
    if constexpr (Small::fits) {
      const Small task(invoker, fn, detail::wire(args)...);
      core().submit_small(task.view(), std::move(sink), group, options.timeout);
    } else {
      detail::TaskWriter writer(invoker, fn);
      writer.add(detail::wire(args)...);
      detail::Job job;
      job.payload = writer.finish();
      job.sink = std::move(sink);
      job.timeout = options.timeout;
      job.group = group;
      core().submit_one(job);
    }
    return AsyncResult<R>(std::shared_ptr<detail::ValueCore<V>>(std::move(state)));
  }

  // Runs the task registered under `name` (see register_task). R and the argument types must be
  // those it was registered with. Errors: EINVAL for an unknown name or other types.
  template <class R, class... Args>
  AsyncResult<R> apply_async(const TaskName& task, Args&&... args) {
    const detail::RegisteredTask found = detail::find_registered_task(task.name);
    if (*found.args != typeid(std::tuple<detail::wire_t<Args>...>) ||
        *found.result != typeid(R))
      detail::throw_task_signature_mismatch(task.name);
    auto state = std::make_shared<detail::ApplyState<R>>();
    detail::TaskWriter writer(found.invoker, std::string_view(found.callable));
    writer.add(detail::wire(args)...);
    detail::Job job;
    job.payload = writer.finish();
    job.sink = std::shared_ptr<detail::JobSink>(state, state.get());
    const uint64_t group = core().new_group();
    state->attach(core_, group);
    job.group = group;
    core().submit_one(job);
    return AsyncResult<R>(std::shared_ptr<detail::ValueCore<detail::item_t<R>>>(std::move(state)));
  }
  template <class R, class... Args>
  R apply(const TaskName& task, Args&&... args) {
    return apply_async<R>(task, std::forward<Args>(args)...).get();
  }

  // f(x) for every x of `inputs`, in input order, as one vector. chunksize 0: Python's heuristic
  // (len / (4 * processes), rounded up) for sized inputs, 1 otherwise. The inputs are sent as they
  // are consumed (at most imap's window in flight).
  template <class F, class Input>
  auto map(F&& f, Input&& inputs, size_t chunksize = 0, const TaskOptions& options = {}) {
    const size_t size = size_hint(inputs);
    return collect(map_stream<false, true>(std::forward<F>(f), std::forward<Input>(inputs),
                                           default_chunksize(inputs, chunksize), options),
                   size);
  }
  template <class F, class Input>
  auto starmap(F&& f, Input&& inputs, size_t chunksize = 0, const TaskOptions& options = {}) {
    const size_t size = size_hint(inputs);
    return collect(map_stream<true, true>(std::forward<F>(f), std::forward<Input>(inputs),
                                          default_chunksize(inputs, chunksize), options),
                   size);
  }

  // Submits every input now; the result resolves with all values in input order, or with the first
  // error. A sized range (vector, array, iota view ...).
  template <class F, std::ranges::sized_range Input>
  auto map_async(F&& f, Input&& inputs, size_t chunksize = 0, const TaskOptions& options = {}) {
    return map_async_impl<false>(std::forward<F>(f), inputs, chunksize, options);
  }
  template <class F, std::ranges::sized_range Input>
  auto starmap_async(F&& f, Input&& inputs, size_t chunksize = 0,
                     const TaskOptions& options = {}) {
    return map_async_impl<true>(std::forward<F>(f), inputs, chunksize, options);
  }

  // Results streamed in input order (imap) or in completion order (imap_unordered). `inputs`:
  // any input range (lazy views stay lazy; an lvalue container is referenced, not copied, and
  // must outlive the iterator) or a generator callable returning std::optional<T>. window 0: the
  // pool's default (4 chunks per worker, at least 16).
  template <class F, class Input>
  auto imap(F&& f, Input&& inputs, size_t chunksize = 1, size_t window = 0,
            const TaskOptions& options = {}) {
    return map_stream<false, true>(std::forward<F>(f), std::forward<Input>(inputs), chunksize,
                                   options, window);
  }
  template <class F, class Input>
  auto imap_unordered(F&& f, Input&& inputs, size_t chunksize = 1, size_t window = 0,
                      const TaskOptions& options = {}) {
    return map_stream<false, false>(std::forward<F>(f), std::forward<Input>(inputs), chunksize,
                                    options, window);
  }

  // No more tasks; the workers exit once every submitted task is done. An imap iterator created
  // before close() still sends its remaining inputs as it is consumed, until join() is called;
  // after that it ends with errc::closed for inputs it had not sent.
  void close();
  // Waits for the workers to exit. Errors: bad_state unless close() or terminate() came first.
  void join();
  // Kills the workers now and resolves every outstanding result (errc::terminated unless it had
  // finished). Waits until that is done (bounded). Idempotent.
  void terminate();

  int processes() const;
  PoolStats stats() const;
  // Task items finished so far (successfully or not): poll it to draw a progress bar.
  size_t completed_tasks() const;
  // The pids of the live workers (changes as workers are replaced).
  std::vector<pid_t> worker_pids() const;

 private:
  template <class V>
  void submit(std::vector<detail::Job>& jobs, detail::ValueCore<V>& state) {
    const uint64_t group = core().new_group();
    state.attach(core_, group);
    for (auto& job : jobs) job.group = group;
    core().submit(jobs);
  }

  template <class Input>
  size_t default_chunksize(const Input& inputs, size_t chunksize) const {
    if (chunksize != 0) return chunksize;
    if constexpr (std::ranges::sized_range<const Input>) {
      const size_t n = static_cast<size_t>(std::ranges::size(inputs));
      const size_t per = static_cast<size_t>(4 * processes());
      const size_t size = n / per + (n % per != 0 ? 1 : 0);
      return std::max<size_t>(size, 1);
    } else {
      return 1;
    }
  }

  template <class Input>
  static size_t size_hint(const Input& inputs) {
    if constexpr (std::ranges::sized_range<const Input>)
      return static_cast<size_t>(std::ranges::size(inputs));
    else
      return 0;
  }

  template <class V>
  static std::vector<V> collect(ImapIterator<V>&& it, size_t size_hint) {
    std::vector<V> out;
    out.reserve(size_hint);
    try {
      while (auto v = it.next()) out.push_back(std::move(*v));
    } catch (const Error& e) {
      // Results come in input order, so the first one missing is the input that failed.
      throw Error(e.code(), "map: input " + std::to_string(out.size()) + ": " + e.what());
    }
    return out;
  }

  template <bool Star, class F, class Input>
  auto map_async_impl(F&& f, Input& inputs, size_t chunksize, const TaskOptions& options) {
    using Fn = std::decay_t<F>;
    detail::check_task_callable<F>();
    using T = std::ranges::range_value_t<Input>;
    using R = detail::map_result_t<Star, Fn, T>;
    using V = detail::item_t<R>;
    using Args = detail::map_args_t<Star, Fn, T>;
    const size_t n = static_cast<size_t>(std::ranges::size(inputs));
    chunksize = default_chunksize(inputs, chunksize);
    const size_t chunks = n / chunksize + (n % chunksize != 0 ? 1 : 0);
    auto state = std::make_shared<detail::MapState<V>>(n, chunks);
    const Fn fn(std::forward<F>(f));
    std::vector<detail::Job> jobs;
    jobs.reserve(chunks);
    auto it = std::ranges::begin(inputs);
    for (size_t offset = 0; offset < n; offset += chunksize) {
      detail::TaskWriter writer(detail::tuple_invoker<Args>::template get<Fn>(), fn);
      writer.reserve(std::min(chunksize, n - offset), detail::tuple_args_size<Args>::value);
      for (size_t i = 0; i < chunksize && offset + i < n; ++i, ++it)
        detail::add_map_item<Star>(writer, *it);
      detail::Job job;
      job.items = writer.count();
      job.payload = writer.finish();
      job.sink = std::make_shared<detail::MapChunkSink<V>>(state, offset, job.items);
      job.timeout = options.timeout;
      jobs.push_back(std::move(job));
    }
    if (!jobs.empty()) submit(jobs, *state);
    return AsyncResult<std::vector<V>>(std::move(state));
  }

  template <bool Star, bool Ordered, class F, class Input>
  auto map_stream(F&& f, Input&& inputs, size_t chunksize, const TaskOptions& options,
                  size_t window = 0) {
    using Fn = std::decay_t<F>;
    detail::check_task_callable<F>();
    using T = detail::input_value_t<Input>;
    using R = detail::map_result_t<Star, Fn, T>;
    using V = detail::item_t<R>;
    using Args = detail::map_args_t<Star, Fn, T>;
    using Source = detail::input_source_t<Input>;
    if (chunksize == 0) chunksize = 1;
    auto state = std::make_shared<detail::ImapState>(Ordered);
    auto source = std::make_shared<Source>(std::forward<Input>(inputs));
    const uint64_t group = core().new_group();
    const Fn fn(std::forward<F>(f));
    std::optional<Seconds> timeout = options.timeout;
    auto feed = [source, state, fn, chunksize, group,
                 timeout](uint64_t index) -> std::optional<detail::Job> {
      detail::TaskWriter writer(detail::tuple_invoker<Args>::template get<Fn>(), fn);
      // A hint only: a generator may end sooner.
      writer.reserve(std::min<size_t>(chunksize, size_t{1} << 16),
                     detail::tuple_args_size<Args>::value);
      const auto add = [&writer](const auto& x) { detail::add_map_item<Star>(writer, x); };
      for (size_t i = 0; i < chunksize; ++i)
        if (!source->visit_next(add)) break;
      if (writer.count() == 0) return std::nullopt;
      detail::Job job;
      job.items = writer.count();
      job.payload = writer.finish();
      job.sink = std::make_shared<detail::ImapChunkSink>(state, index, job.items);
      job.group = group;
      job.timeout = timeout;
      return job;
    };
    return ImapIterator<V>(core_, state, std::move(feed),
                           window != 0 ? window : core().imap_window());
  }

  detail::PoolCore& core() const;

  std::shared_ptr<detail::PoolCore> core_;
};

}  // namespace mproc
