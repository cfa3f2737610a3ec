#include "store/s3_backend.h"

#include <algorithm>
#include <chrono>

#include "platform/temp_dir.h"
#include "store/remote_lock.h"

namespace mdb::store {

namespace {

// Spools the object into a file of the backend's scratch dir, then has the upload threads store
// it with one PUT read from that file: a pack (up to ~32 MiB) is never held in memory
// (docs/S3.md, "Memory").
class S3Writer : public ObjectWriter {
 public:
  S3Writer(UploadPool& uploads, std::string dir, const std::filesystem::path& spool)
      : uploads_(uploads), dir_(std::move(dir)), file_(fs::File::open_or_create(spool, 0600)) {}
  ~S3Writer() override {
    if (file_.valid()) fs::discard_file(file_.path());
  }
  void append(std::string_view bytes) override { file_.write_all(bytes); }
  // Nothing reaches the bucket before this one PUT, so an unfinished writer leaves nothing.
  void finish(const std::string& name) override { uploads_.submit(dir_ + name, std::move(file_)); }

 private:
  UploadPool& uploads_;
  std::string dir_;
  fs::File file_;
};

// Uploads at once (docs/S3.md, "Parallel uploads"): enough to keep a link busy while the
// backup compresses, few enough that the spooled packs stay a small bound.
constexpr size_t kUploadThreads = 4;

constexpr const char* kSpoolPrefix = ".mephisto-s3-upload-";

bool valid_bucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '.'))
      return false;
  return true;
}

}  // namespace

bool is_s3_location(const std::string& location) { return location.rfind("s3://", 0) == 0; }

S3Backend::S3Backend(const std::string& location, fs::S3Settings settings)
    : location_(location), settings_(settings) {
  std::string rest = location.substr(5);
  size_t slash = rest.find('/');
  bucket_ = rest.substr(0, slash);
  if (slash != std::string::npos) prefix_ = rest.substr(slash + 1);
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  if (!is_s3_location(location) || !valid_bucket(bucket_) || prefix_.find("//") != std::string::npos)
    throw Error("The store location " + location +
                    " is not s3://BUCKET[/PREFIX] with a bucket name of 3 to 63 lowercase letters, digits, "
                    "'-' and '.'.",
                ErrorKind::Usage);
  if (!prefix_.empty()) prefix_ += "/";
  client_ = std::make_shared<fs::S3Client>(std::move(settings));
}

void S3Backend::create_layout() { client_->create_bucket(bucket_); }

std::string S3Backend::dir_of(ObjectKind kind) const {
  switch (kind) {
    case ObjectKind::Pack: return prefix_ + "packs/";
    case ObjectKind::Pin: return prefix_ + "pins/";
    case ObjectKind::Index: return prefix_ + "indexes/";
    case ObjectKind::Lock: return prefix_ + "locks/";
    case ObjectKind::Config: break;
  }
  return prefix_;
}

std::string S3Backend::where(ObjectKind kind, const std::string& name) const {
  return fs::S3Client::where(bucket_, key_of(kind, name));
}

std::string S3Backend::where(ObjectKind kind) const {
  std::string dir = dir_of(kind);
  if (!dir.empty()) dir.pop_back();
  return fs::S3Client::where(bucket_, dir);
}

S3Backend::~S3Backend() = default;

std::unique_ptr<ObjectWriter> S3Backend::create(ObjectKind kind) {
  if (!spool_) spool_ = fs::scratch_temp_dir(kSpoolPrefix);
  std::filesystem::path file = spool_->path() / ("object-" + std::to_string(++spooled_));
  return std::make_unique<S3Writer>(pool(), dir_of(kind), file);
}

UploadPool& S3Backend::pool() {
  std::lock_guard<std::mutex> g(pool_mu_);
  if (!uploads_) uploads_ = std::make_unique<UploadPool>(client_, bucket_, kUploadThreads);
  return *uploads_;
}

void S3Backend::sync(ObjectKind) {
  if (uploads_) uploads_->wait();
}

void S3Backend::save(ObjectKind kind, const std::string& name, std::string_view bytes) {
  client_->put(bucket_, key_of(kind, name), bytes);
}

bool S3Backend::create_new(ObjectKind kind, const std::string& name, std::string_view bytes) {
  return client_->put(bucket_, key_of(kind, name), bytes, true);
}

// Read-ahead (docs/S3.md, "Read-ahead"): one GET per blob costs a round trip each, so the reads a
// restore announces (will_read(), in the order it will read) are merged into spans and fetched in
// windows of kReadAhead, kAheadWindows at once on the pool's threads, across packs: the next
// GETs, also those of the next pack, are on the wire while the restore writes files from the
// current window. Without a plan, a read of a pack that starts where the previous one ended (give
// or take a record header) makes the rest of that pack one open-ended span. Another read gets
// exactly its bytes and leaves the windows alone.
constexpr size_t kReadAhead = 4u << 20;
constexpr size_t kAheadWindows = 3;  // the one being read and two in flight: 12 MiB held at most
constexpr uint64_t kSequentialGap = 4096;
constexpr uint64_t kToTheEnd = UINT64_MAX;
constexpr size_t kSoonReads = 2;

namespace {

// Whether a window's GET came back with fewer bytes than asked: it reached the pack's end. A
// failed one counts too; its failure is thrown where its bytes are needed.
template <class Window>
bool ended_short(const Window& w) {
  if (w.bytes.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
  try {
    return w.bytes.get().size() < w.end - w.start;
  } catch (...) {
    return true;
  }
}

}  // namespace

void S3Backend::will_read(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) {
  if (kind != ObjectKind::Pack || length == 0) return;
  std::lock_guard<std::mutex> g(ahead_.mu);
  if (!ahead_.planned) {  // guesses give way to the plan
    ahead_.spans.clear();
    ahead_.windows.clear();
    ahead_.planned = true;
  }
  ahead_.complete = false;
  std::deque<Span>& spans = ahead_.spans;
  if (!spans.empty() && spans.back().pack == name && offset >= spans.back().end &&
      offset - spans.back().end <= kSequentialGap)
    spans.back().end = offset + length;  // the gap, a record header, is fetched too
  else
    spans.push_back({name, offset, offset + length});
  add_windows();
}

void S3Backend::no_more_reads_planned() {
  std::lock_guard<std::mutex> g(ahead_.mu);
  ahead_.complete = true;
  add_windows();
}

void S3Backend::will_read_soon(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) {
  if (kind != ObjectKind::Pack || length == 0) return;
  std::lock_guard<std::mutex> g(ahead_.mu);
  std::deque<Window>& soon = ahead_.soon;
  for (const Window& w : soon)
    if (w.pack == name && w.start == offset && w.end == offset + length) return;
  soon.push_back({name, offset, offset + length, pool().fetch([this, name, offset, length] {
                    return get_range(ObjectKind::Pack, name, offset, length);
                  })});
  if (soon.size() > kSoonReads) soon.pop_front();
}

std::string S3Backend::read(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) {
  if (kind != ObjectKind::Pack) return get_range(kind, name, offset, length);
  std::unique_lock<std::mutex> g(ahead_.mu);
  std::deque<Window>& soon = ahead_.soon;
  for (auto w = soon.begin(); w != soon.end(); ++w)
    if (w->pack == name && w->start == offset && w->end == offset + length) {
      std::shared_future<std::string> bytes = w->bytes;
      soon.erase(w);
      g.unlock();
      return bytes.get();  // rethrows the GET's failure, which names the object
    }
  std::vector<Window> needed = windows_for(name, offset, length);
  g.unlock();
  if (needed.empty()) return get_range(kind, name, offset, length);
  std::string out;
  out.reserve(length);
  for (const Window& w : needed) {
    const std::string& bytes = w.bytes.get();  // rethrows the GET's failure, which names the object
    uint64_t from = std::max(offset, w.start) - w.start;
    if (from >= bytes.size()) break;  // the pack ended before
    size_t n = std::min<uint64_t>(bytes.size() - from, offset + length - (w.start + from));
    out.append(bytes, from, n);
    if (bytes.size() < w.end - w.start) break;
  }
  return out;
}

std::vector<S3Backend::Window> S3Backend::windows_for(const std::string& pack, uint64_t offset, size_t length) {
  std::deque<Window>& w = ahead_.windows;
  std::deque<Span>& spans = ahead_.spans;
  auto holds = [&](const auto& x) { return x.pack == pack && x.start <= offset && offset < x.end; };
  bool in_order = !ahead_.planned && ahead_.pack == pack && offset >= ahead_.next && offset - ahead_.next <= kSequentialGap;
  ahead_.pack = pack;
  ahead_.next = offset + length;
  if (auto at = std::find_if(w.begin(), w.end(), holds); at != w.end()) {
    w.erase(w.begin(), at);  // read past: freed
  } else if (auto in = std::find_if(spans.begin(), spans.end(), holds); in != spans.end()) {
    w.clear();  // skipped (a damaged file's rest): GETs under way end on their own, bytes dropped
    spans.erase(spans.begin(), in);
    spans.front().start = offset;
  } else if (in_order && length < kReadAhead) {
    w.clear();
    spans.assign(1, Span{pack, offset, kToTheEnd});
  } else {
    return {};  // not planned (a manifest part, a footer): exactly its bytes
  }
  add_windows(pack, offset + length);
  return chain(pack, offset, length);
}

std::vector<S3Backend::Window> S3Backend::chain(const std::string& pack, uint64_t offset, size_t length) const {
  std::vector<Window> out;
  uint64_t reached = offset;
  for (const Window& w : ahead_.windows) {  // the first holds `offset`; a later one may hold it again
    if (w.pack != pack || w.start > reached || reached >= w.end) break;
    out.push_back(w);
    reached = w.end;
    if (reached >= offset + length) return out;
  }
  return {};
}

void S3Backend::add_windows(const std::string& pack, uint64_t until) {
  std::deque<Window>& w = ahead_.windows;
  std::deque<Span>& spans = ahead_.spans;
  while (w.size() < kAheadWindows && !spans.empty()) {
    Span& s = spans.front();
    if (s.end == kToTheEnd && !w.empty() && ended_short(w.back())) {  // the pack's end: nothing follows
      spans.clear();
      return;
    }
    uint64_t end = s.end - s.start > kReadAhead ? s.start + kReadAhead : s.end;
    bool needed = s.pack == pack && s.start < until;
    if (end - s.start < kReadAhead && spans.size() == 1 && !ahead_.complete && !needed) return;  // may grow
    std::string name = s.pack;
    uint64_t start = s.start;
    size_t length = end - start;
    w.push_back({name, start, end, pool().fetch([this, name, start, length] {
                   return get_range(ObjectKind::Pack, name, start, length);
                 })});
    s.start = end;
    if (s.start >= s.end) spans.pop_front();
  }
}

std::string S3Backend::get_range(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) {
  std::optional<std::string> got = client_->get(bucket_, key_of(kind, name), std::make_pair(offset, length));
  if (!got) throw CorruptError(object_kind_word(kind) + " " + name + " is missing from " + where(kind));
  return std::move(*got);
}

std::string S3Backend::read_all(ObjectKind kind, const std::string& name) {
  std::optional<std::string> got = client_->get(bucket_, key_of(kind, name));
  if (!got) throw CorruptError(object_kind_word(kind) + " " + name + " is missing from " + where(kind));
  return std::move(*got);
}

std::optional<uint64_t> S3Backend::size(ObjectKind kind, const std::string& name) {
  return client_->size(bucket_, key_of(kind, name));
}

std::vector<ObjectInfo> S3Backend::list(ObjectKind kind) {
  std::string dir = dir_of(kind);
  std::vector<ObjectInfo> out;
  for (fs::S3Object& o : client_->list(bucket_, dir)) {
    std::string name = o.key.substr(dir.size());
    if (name.empty() || name.find('/') != std::string::npos) continue;  // another kind's, below
    if (kind == ObjectKind::Config && name != "config") continue;
    out.push_back({std::move(name), o.size});
  }
  return out;
}

std::unique_ptr<StoreLock> S3Backend::lock(bool exclusive, const std::string& command) {
  auto own = std::make_unique<S3Backend>(location_, settings_);
  own->set_crypto(shared_crypto());  // lock objects are sealed as every other object
  return std::make_unique<RemoteLock>(std::move(own), exclusive, command);
}

void S3Backend::remove(ObjectKind kind, const std::string& name) { client_->remove(bucket_, key_of(kind, name)); }

}  // namespace mdb::store
