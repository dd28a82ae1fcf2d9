// detail::NamedRunner: tasks that arrive as bytes and a registered name, run on a local PoolCore.
// See <mproc/detail/pool_named.hpp>.
#include <mproc/detail/pool_named.hpp>

#include <mproc/pool.hpp>

#include <unordered_map>
#include <vector>

namespace mproc::detail {

namespace {

// The sink of one task: its outcome goes to the runner's Done.
class DoneSink final : public JobSink {
 public:
  DoneSink(std::shared_ptr<const NamedRunner::Done> done, uint64_t id, uint32_t count)
      : done_(std::move(done)), id_(id), count_(count) {}
  void on_items(const char* data, size_t size, uint32_t count) noexcept override {
    (*done_)(id_, count, 0, std::string_view(data, size));
  }
  void on_failure(std::error_code code, const std::string& message) noexcept override {
    (*done_)(id_, count_, to_c_code(code), message);
  }

 private:
  std::shared_ptr<const NamedRunner::Done> done_;
  uint64_t id_;
  uint32_t count_;
};

}  // namespace

struct NamedRunner::Impl {
  std::shared_ptr<const Done> done;
  std::shared_ptr<PoolCore> core;
  std::unordered_map<std::string, RegisteredTask> tasks;  // a cache of the registry
  std::vector<Job> batch;
  bool joined = false;

  const RegisteredTask& find(std::string_view name) {
    std::string key(name);
    auto it = tasks.find(key);
    if (it == tasks.end()) it = tasks.emplace(key, find_registered_task(key)).first;
    return it->second;
  }
};

NamedRunner::NamedRunner(int processes, Done done) : impl_(std::make_unique<Impl>()) {
  impl_->done = std::make_shared<const Done>(std::move(done));
  PoolOptions options;
  options.processes = processes;
  // Workers come from the forkserver: a caller such as an MPI rank must not fork itself.
  options.start_method = StartMethod::forkserver;
  impl_->core = PoolCore::create(std::move(options));
}

NamedRunner::~NamedRunner() {
  if (!impl_->joined) terminate();
}

void NamedRunner::add(uint64_t id, std::string_view name, std::string_view items,
                      std::optional<Seconds> timeout) {
  uint32_t count = 0;
  try {
    if (!read_item_count(items, count))
      throw Error(errc::codec, "a task's payload is shorter than its item count");
    if (count == 0) throw Error(errc::codec, "a task without items");
    const RegisteredTask& task = impl_->find(name);
    // The local payload: this process's head and callable, then the [u32 count][items] received.
    Job job;
    job.payload.reserve(kPayloadHead + task.callable.size() + items.size());
    put_payload_head(job.payload, task.invoker, task.callable);
    job.payload.append(items);
    job.items = count;
    job.timeout = timeout;
    job.group = id;  // cancel(id)
    job.sink = std::make_shared<DoneSink>(impl_->done, id, count);
    impl_->batch.push_back(std::move(job));
  } catch (const Error& e) {
    (*impl_->done)(id, count, to_c_code(e.code()), e.what());
  }
}

void NamedRunner::flush() {
  if (impl_->batch.empty()) return;
  try {
    impl_->core->submit(impl_->batch);
  } catch (const Error& e) {
    // Closed or terminated under us: each task fails with that error.
    for (auto& job : impl_->batch) job.sink->on_failure(e.code(), e.what());
  }
  impl_->batch.clear();
}

void NamedRunner::cancel(uint64_t id) {
  // Not flushed yet: it would be submitted after the cancel and run.
  auto& batch = impl_->batch;
  for (auto it = batch.begin(); it != batch.end(); ++it) {
    if (it->group != id) continue;
    it->sink->on_failure(make_error_code(errc::cancelled), "task cancelled before it started");
    batch.erase(it);
    return;
  }
  impl_->core->cancel(id);
}

void NamedRunner::close_and_join() {
  flush();
  impl_->core->close();
  impl_->core->join();
  impl_->joined = true;
}

void NamedRunner::terminate() {
  impl_->batch.clear();
  impl_->core->terminate();
  impl_->core->join();
  impl_->joined = true;
}

PoolStats NamedRunner::stats() const { return impl_->core->stats(); }

std::string items_payload(TaskWriter& writer) {
  const std::string payload = writer.finish();
  return std::string(payload_items(payload, 0));
}

void check_registered_task(const std::string& name, const std::type_info& args,
                           const std::type_info& result) {
  const RegisteredTask found = find_registered_task(name);
  if (*found.args != args || *found.result != result) throw_task_signature_mismatch(name);
}

}  // namespace mproc::detail
