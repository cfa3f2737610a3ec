#pragma once
// Uploads of spooled objects on a few threads of their own (docs/S3.md, "Parallel uploads"), so
// a backup compresses the next pack while the last ones are on the wire; the same threads run a
// restore's read-ahead GETs (fetch(), "Read-ahead"), one mechanism for parallel transfers. Each thread takes a curl
// handle from the client's pool, so connections are reused. At most `threads` objects are in
// flight: submit() blocks while the pool is full, so the spooled files (disk) and the transfer
// buffers (memory) stay bounded.
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "platform/s3.h"

namespace mdb::store {

class UploadPool {
 public:
  UploadPool(std::shared_ptr<fs::S3Client> client, std::string bucket, size_t threads);
  // Lets the uploads under way end, drops the queued ones (their objects never appear: nothing
  // references them, as nothing was synced), and removes their spooled files.
  ~UploadPool();
  UploadPool(const UploadPool&) = delete;
  UploadPool& operator=(const UploadPool&) = delete;

  // Stores `file` (then removes it) under `key` on a pool thread. Throws the first failure of an
  // earlier upload instead, so a failing backup stops early.
  void submit(std::string key, fs::File file);
  // Waits until every object submitted is stored; throws the first failure (naming the object
  // and the HTTP status) once all have ended, and forgets it.
  void wait();
  // Runs `get` on a pool thread; its bytes or its failure are the future's. A failure is not the
  // pool's (wait() and submit() do not throw it): it surfaces where the bytes are needed, and a
  // result nobody asks for is dropped. Blocks while the pool is full, as submit().
  std::shared_future<std::string> fetch(std::function<std::string()> get);

 private:
  struct Job {
    std::string key;
    fs::File file;
    std::packaged_task<std::string()> fetch;  // valid for a fetch(), which has no file
  };
  void enqueue(std::unique_lock<std::mutex>& held, Job job);  // unlocks `held`
  void run();

  std::shared_ptr<fs::S3Client> client_;
  std::string bucket_;
  size_t threads_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  size_t in_flight_ = 0;  // queued and being uploaded
  std::exception_ptr failure_;
  bool stop_ = false;
  std::vector<std::thread> workers_;  // started at the first submit
};

}  // namespace mdb::store
