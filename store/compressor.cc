#include "store/compressor.h"

#include <pthread.h>
#include <signal.h>

namespace mdb::store {

Compressor::~Compressor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_worker_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Compressor::submit(const BlobId& id, BlobType type, std::string_view raw) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Job& j = jobs_.emplace_back();
    j.id = id;
    j.type = type;
    j.raw.assign(raw);
    bytes_ += raw.size();
  }
  if (!worker_.joinable()) {
    // The worker inherits a mask blocking every signal, so SIGINT and the like reach the main
    // thread: its blocking reads return and its checks stop the work (formats/interrupt.h).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    struct Restore {
      sigset_t* old;
      ~Restore() { pthread_sigmask(SIG_SETMASK, old, nullptr); }
    } restore{&old};
    worker_ = std::thread([this] { work(); });
  }
  wake_worker_.notify_one();
}

std::optional<Compressor::Job> Compressor::next(bool wait) {
  std::unique_lock<std::mutex> lock(mu_);
  if (wait) job_done_.wait(lock, [&] { return jobs_.empty() || jobs_.front().done || failure_; });
  if (failure_) std::rethrow_exception(failure_);
  if (jobs_.empty() || !jobs_.front().done) return std::nullopt;
  Job j = std::move(jobs_.front());
  jobs_.pop_front();
  --started_;
  bytes_ -= j.raw.size();
  return j;
}

bool Compressor::full() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_ >= max_bytes_;
}

void Compressor::work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_worker_.wait(lock, [&] { return stop_ || started_ < jobs_.size(); });
    if (stop_) return;
    // A deque keeps references to its elements when others are added or removed at the
    // ends, and the caller removes only finished jobs: this one stays put while we work.
    Job& j = jobs_[started_++];
    lock.unlock();
    std::exception_ptr failed;
    try {
      j.compression = compress(j.raw, j.compressed);
      if (crypto_) {
        crypto_->seal(j.stored(), j.sealed);
        j.is_sealed = true;
        j.compressed.clear();
        j.compressed.shrink_to_fit();
      }
    } catch (...) {
      failed = std::current_exception();
    }
    lock.lock();
    j.done = true;
    if (failed) failure_ = failed;
    job_done_.notify_all();
  }
}

}  // namespace mdb::store
