#pragma once
// A small pool of worker threads, the way jobs run on threads here (export's deflate, import's
// extraction, the store's compression); every thread starts through start_worker (the backup
// walk's listers too, which run on their own rather than per job: store/walk.h). OrderedPool
// hands results back in submission order, so whatever the thread count the caller sees the
// same sequence (zip members, pack contents stay deterministic). With one thread a job runs
// inside submit(), on the caller's thread: a serial run is exactly that. Jobs must not touch
// anything the caller uses meanwhile; they get their inputs by value, and whoever submits a job
// that uses something of the caller's waits for it before that goes.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mdb {

// The worker threads to use: $MDB_THREADS when set (1 = serial), else the cores available.
unsigned worker_threads();

// Starts a thread running `fn` with every signal blocked, so SIGINT and the like reach the main
// thread: its blocking reads return and its checks stop the work (base/interrupt.h).
std::thread start_worker(std::function<void()> fn);

class WorkerPool {
 public:
  // `threads` workers; none (serial) when `threads` <= 1.
  explicit WorkerPool(unsigned threads) : WorkerPool(threads, threads <= 1) {}
  // `threads` workers, even one (beside the caller), unless `serial`.
  WorkerPool(unsigned threads, bool serial) {
    if (serial) return;
    for (unsigned i = 0; i < threads; ++i) workers_.push_back(start_worker([this] { work(); }));
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  // Drops the jobs not yet started (their futures report a broken promise) and waits for the running ones.
  ~WorkerPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      queue_.clear();
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  bool serial() const { return workers_.empty(); }

  template <class F>
  auto submit(F job) -> std::future<decltype(job())> {
    auto task = std::make_shared<std::packaged_task<decltype(job())()>>(std::move(job));
    auto result = task->get_future();
    if (serial()) {
      (*task)();
      return result;
    }
    {
      std::lock_guard lock(mu_);
      queue_.push_back([task] { (*task)(); });
    }
    wake_.notify_one();
    return result;
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

template <class R>
class OrderedPool {
 public:
  explicit OrderedPool(unsigned threads) : pool_(threads) {}
  OrderedPool(unsigned threads, bool serial) : pool_(threads, serial) {}

  void submit(std::function<R()> job) { results_.push_back(pool_.submit(std::move(job))); }
  // Jobs submitted whose results were not taken yet.
  size_t pending() const { return results_.size(); }
  bool serial() const { return pool_.serial(); }
  // The oldest job's result, waiting for it; rethrows what the job threw.
  R next() {
    std::future<R> f = std::move(results_.front());
    results_.pop_front();
    return f.get();
  }

 private:
  std::deque<std::future<R>> results_;
  WorkerPool pool_;  // last: destroyed (its threads joined) first
};

}  // namespace mdb
