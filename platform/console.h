#pragma once
// How commands talk to the user: prose lines on stdout (or one JSON object with --json),
// warnings on stderr, the confirmation prompt, and progress bars on a terminal.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace mdb {

// One option of a command with its value, as the original lists it ("-i/--export-indent"):
// a number, a flag, a single text (unset: nullopt) or a repeatable option's values.
struct OptionSetting {
  std::string_view names;
  std::variant<int, bool, std::optional<std::string>, std::vector<std::string>> value;
};

// A byte count as every message and progress bar shows it: "512 B", "1.2 MiB" (powers of 1024, one
// decimal from KiB up).
std::string human_bytes(uint64_t n);

class Console {
 public:
  Console(bool json, bool assume_yes);

  bool json() const { return json_; }
  // Whether progress bars are shown (stderr is a terminal and no --json).
  bool progress_enabled() const { return progress_enabled_; }
  // A line of the original's prose; suppressed with --json.
  void info(std::string_view line);
  // The original's first lines, so logs still match: "Running command with the following
  // options:", one line per option with its value as Python prints it (None, True, 2, a text,
  // ['a', 'b']; an empty list is None), then an empty line. Suppressed with --json.
  void echo_options(const std::vector<OptionSetting>& options);
  // Always shown, on stderr.
  void warn(std::string_view line);
  // The original's prompt; true when the user typed 'yes' (or -y was given). Otherwise
  // prints "Exiting now ...", records in the --json result that the prompt was declined, and
  // returns false.
  bool confirm();
  // Sets `key` of the --json result (printed by finish()). There is no access to the result
  // by reference: adding a key to the ordered object moves the values already in it, so a
  // reference kept across another command's set() would dangle.
  void set(std::string_view key, nlohmann::ordered_json value);
  const nlohmann::ordered_json& result() const { return result_; }
  // Prints the --json result as the one object every command prints (docs/JSON.md): "ok"
  // (as set, else whether `exit_code` is 0 or 3), "command" (null when none was recognised),
  // the keys set, then "exit_code". Without --json it prints nothing.
  void finish(int exit_code, std::string_view command);

  // On a terminal (progress_enabled()), announces a phase that has no bar on stderr, so no
  // phase after a bar's 100% is silent: "[0:07] Finishing the zip ...".
  void step(std::string_view label);

  // A progress bar on stderr, only when stderr is a terminal and not --json. Like restic's:
  // "[0:03] Backing up [#####.....] 45% 120.3 MiB / 268.5 MiB, 40.1 MiB/s, ETA 0:04", the
  // elapsed time counted from the command's start, the rate and ETA from the bar's.
  class Progress {
   public:
    // With `files` > 0 the bar also counts files: "..., 120 / 300 files, ...".
    Progress(Console& c, std::string label, uint64_t total, bool bytes, uint64_t files = 0);
    ~Progress();
    void add(uint64_t n, uint64_t files = 0);
    // Draws the last state and ends the line (once; the destructor does it otherwise).
    void finish();

   private:
    void draw(bool final);
    Console& console_;
    std::string label_;
    uint64_t total_, done_ = 0, files_total_, files_done_ = 0;
    bool bytes_, enabled_, finished_ = false;
    int64_t start_us_, last_draw_us_ = 0;
  };

 private:
  bool json_;
  bool assume_yes_;
  bool progress_enabled_;
  int64_t start_us_;  // when the command started, for the elapsed time progress shows
  Progress* bar_ = nullptr;  // the bar being drawn: a step's line must not land on it
  nlohmann::ordered_json result_ = nlohmann::ordered_json::object();
};

}  // namespace mdb
