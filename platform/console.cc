#include "platform/console.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "base/interrupt.h"
#include "formats/pyjson.h"

namespace mdb {

namespace {
int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Python's str() of an option value, as click hands it to the original's options block.
std::string python_str(const OptionSetting& o) {
  struct {
    std::string operator()(int v) const { return std::to_string(v); }
    std::string operator()(bool v) const { return v ? "True" : "False"; }
    std::string operator()(const std::optional<std::string>& v) const { return v ? *v : "None"; }
    std::string operator()(const std::vector<std::string>& v) const {
      if (v.empty()) return "None";
      std::string out = "[";
      for (const std::string& s : v) out += (out.size() > 1 ? ", " : "") + python_repr(s);
      return out + "]";
    }
  } visit;
  return std::visit(visit, o.value);
}

std::string human(uint64_t n, bool bytes) { return bytes ? human_bytes(n) : std::to_string(n); }

// "0:07", "12:03", "1:02:03".
std::string clock_time(int64_t us) {
  int64_t s = us / 1'000'000;
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

// "40.1 MiB/s" or "1234 files/s"-like: units per second, for a bar of bytes or of items.
std::string rate_text(double per_second, bool bytes) {
  if (bytes) return human_bytes(static_cast<uint64_t>(per_second)) + "/s";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f/s", per_second);
  return buf;
}
}  // namespace

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

Console::Console(bool json, bool assume_yes)
    : json_(json),
      assume_yes_(assume_yes),
      progress_enabled_(!json && ::isatty(STDERR_FILENO)),
      start_us_(now_us()) {}

void Console::step(std::string_view label) {
  if (!progress_enabled_) return;
  if (bar_) bar_->finish();
  std::fprintf(stderr, "[%s] %.*s ...\n", clock_time(now_us() - start_us_).c_str(), static_cast<int>(label.size()),
               label.data());
  std::fflush(stderr);
}

void Console::info(std::string_view line) {
  if (json_) return;
  std::cout << line << '\n' << std::flush;
}

void Console::echo_options(const std::vector<OptionSetting>& options) {
  if (json_) return;
  // The original's console expands its tab to 8 spaces.
  std::string block = "Running command with the following options:\n";
  for (const OptionSetting& o : options) block += "        " + std::string(o.names) + " = " + python_str(o) + "\n";
  std::cout << block << '\n' << std::flush;
}

void Console::warn(std::string_view line) { std::cerr << line << '\n' << std::flush; }

bool Console::confirm() {
  if (assume_yes_) return true;
  // The prompt goes to stderr under --json so stdout stays one JSON object.
  std::ostream& out = json_ ? std::cerr : std::cout;
  out << "Are you sure? It will affect your databases and related files. Type 'yes' and press Enter if you "
         "want to proceed: "
      << std::flush;
  std::string answer;
  bool got = static_cast<bool>(std::getline(std::cin, answer));
  if (!got && interrupt::pending()) {  // a signal ended the read (EINTR): not a "no"
    out << '\n' << std::flush;          // the prompt's line ends before the outcome's
    interrupt::check();
  }
  if (got && answer == "yes") return true;
  out << "Exiting now ...\n" << std::flush;
  set("ok", false);
  set("error", "The prompt was not answered 'yes'. Nothing was changed.");
  set("kind", "declined");
  return false;
}

void Console::set(std::string_view key, nlohmann::ordered_json value) { result_[std::string(key)] = std::move(value); }

void Console::finish(int exit_code, std::string_view command) {
  if (!json_) return;
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["ok"] = result_.contains("ok") ? result_["ok"] : nlohmann::ordered_json(exit_code == 0 || exit_code == kExitWarnings);
  out["command"] = command.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(command);
  for (const auto& [key, value] : result_.items())
    if (key != "ok" && key != "command" && key != "exit_code") out[key] = value;
  out["exit_code"] = exit_code;
  std::cout << out.dump(2) << '\n' << std::flush;
}

Console::Progress::Progress(Console& c, std::string label, uint64_t total, bool bytes, uint64_t files)
    : console_(c),
      label_(std::move(label)),
      total_(total),
      files_total_(files),
      bytes_(bytes),
      enabled_(c.progress_enabled_),
      start_us_(now_us()) {
  if (enabled_) {
    if (console_.bar_) console_.bar_->finish();
    console_.bar_ = this;
  }
}

Console::Progress::~Progress() {
  finish();
  if (console_.bar_ == this) console_.bar_ = nullptr;
}

void Console::Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_ && (done_ > 0 || files_done_ > 0 || last_draw_us_ != 0)) draw(true);
}

void Console::Progress::add(uint64_t n, uint64_t files) {
  done_ += n;
  files_done_ += files;
  if (!enabled_ || finished_) return;
  int64_t t = now_us();
  if (t - last_draw_us_ < 100'000) return;
  last_draw_us_ = t;
  draw(false);
}

void Console::Progress::draw(bool final) {
  constexpr int kWidth = 30;
  double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 0;
  if (frac > 1) frac = 1;
  int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  int64_t now = now_us();
  double seconds = static_cast<double>(now - start_us_) / 1e6;
  std::string tail;
  if (files_total_ > 0)
    tail = ", " + std::to_string(files_done_) + " / " + std::to_string(files_total_) + " files";
  if (seconds > 0.05) {
    double rate = static_cast<double>(done_) / seconds;
    tail += ", " + rate_text(rate, bytes_);
    if (!final && rate > 0 && done_ < total_)
      tail += ", ETA " + clock_time(static_cast<int64_t>(static_cast<double>(total_ - done_) / rate * 1e6));
  }
  // \x1b[K clears what a longer earlier drawing left on the line.
  std::fprintf(stderr, "\r[%s] %s [%s] %3d%% %s / %s%s\x1b[K", clock_time(now - console_.start_us_).c_str(),
               label_.c_str(), bar.c_str(), static_cast<int>(frac * 100), human(done_, bytes_).c_str(),
               human(total_, bytes_).c_str(), tail.c_str());
  if (final) std::fputs("\n", stderr);
  std::fflush(stderr);
}

}  // namespace mdb
