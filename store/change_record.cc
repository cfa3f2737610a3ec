#include "store/change_record.h"

#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "platform/lock.h"

namespace mdb::store {

ChangeRecord ChangeRecord::begun_here(std::string store, std::string data_dir, std::string snapshot,
                                      std::string command) {
  int64_t now_s = fs::env().now_ns() / 1'000'000'000;
  return ChangeRecord{std::move(store), std::move(data_dir), std::move(snapshot), std::move(command),
                      static_cast<long>(::getpid()), host_name(), local_time_text(now_s)};
}

std::string ChangeRecord::encode() const {
  nlohmann::ordered_json j;
  j["store"] = store;
  j["data_dir"] = data_dir;
  j["snapshot"] = snapshot;
  j["command"] = command;
  j["pid"] = pid;
  j["host"] = host;
  j["started"] = started;
  return j.dump(2) + "\n";
}

std::optional<ChangeRecord> ChangeRecord::decode(std::string_view text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    ChangeRecord r;
    r.snapshot = j.at("snapshot").get<std::string>();
    r.store = j.value("store", "");
    r.data_dir = j.value("data_dir", "");
    r.command = j.value("command", "unknown command");
    r.pid = j.value("pid", 0L);
    r.host = j.value("host", "");
    r.started = j.value("started", "");
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

bool ChangeRecord::on_this_host() const { return host.empty() || host == host_name(); }

}  // namespace mdb::store
