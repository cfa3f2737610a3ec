#include "store/s3_uploads.h"

#include <utility>

#include "base/malloc_policy.h"
#include "base/ordered_pool.h"

namespace mdb::store {

UploadPool::UploadPool(std::shared_ptr<fs::S3Client> client, std::string bucket, size_t threads)
    : client_(std::move(client)), bucket_(std::move(bucket)), threads_(threads < 1 ? 1 : threads) {
  share_one_malloc_arena();  // the read-ahead's 4 MiB windows
}

UploadPool::~UploadPool() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : workers_) t.join();
  for (Job& job : queue_)
    if (job.file.valid()) fs::discard_file(job.file.path());
}

void UploadPool::submit(std::string key, fs::File file) {
  std::unique_lock<std::mutex> g(mu_);
  changed_.wait(g, [&] { return in_flight_ < threads_ || failure_; });
  if (failure_) {
    g.unlock();
    fs::discard_file(file.path());
    std::rethrow_exception(failure_);
  }
  enqueue(g, {std::move(key), std::move(file), {}});
}

std::shared_future<std::string> UploadPool::fetch(std::function<std::string()> get) {
  Job job{{}, {}, std::packaged_task<std::string()>(std::move(get))};
  std::shared_future<std::string> out = job.fetch.get_future().share();
  std::unique_lock<std::mutex> g(mu_);
  changed_.wait(g, [&] { return in_flight_ < threads_; });
  enqueue(g, std::move(job));
  return out;
}

void UploadPool::enqueue(std::unique_lock<std::mutex>& g, Job job) {
  queue_.push_back(std::move(job));
  ++in_flight_;
  if (workers_.size() < threads_) workers_.push_back(start_worker([this] { run(); }));  // signals stay with the main thread
  g.unlock();
  changed_.notify_all();
}

void UploadPool::wait() {
  std::unique_lock<std::mutex> g(mu_);
  changed_.wait(g, [&] { return in_flight_ == 0; });
  if (std::exception_ptr failed = std::exchange(failure_, nullptr)) std::rethrow_exception(failed);
}

void UploadPool::run() {
  std::unique_lock<std::mutex> g(mu_);
  for (;;) {
    changed_.wait(g, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    g.unlock();
    std::exception_ptr failed;
    if (job.fetch.valid()) {
      job.fetch();  // keeps its own failure
    } else {
      try {
        client_->put_file(bucket_, job.key, job.file);
      } catch (...) {
        failed = std::current_exception();
      }
      fs::discard_file(job.file.path());
    }
    g.lock();
    if (failed && !failure_) failure_ = failed;
    --in_flight_;
    changed_.notify_all();
  }
}

}  // namespace mdb::store
