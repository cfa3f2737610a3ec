#include "import/key_map.h"

#include <nlohmann/json.hpp>

#include "dump/dump_values.h"
#include "formats/pyjson.h"

namespace mdb {

namespace {

std::string render_id_list(const std::vector<Value>& ids) {
  std::string out;
  PyJsonWriter w(out, -1);
  w.begin_array();
  for (const Value& id : ids) {
    if (id.kind == StorageClass::Integer) w.integer(id.i);
    else w.string(id.s);
  }
  w.end_array();
  return out;
}

// `key` put back in the storage class of `as` (a text column keeps holding ids as text).
Value like(const Value& as, const Value& key) { return as.kind == StorageClass::Text ? Value::text(key.to_string()) : key; }

}  // namespace

std::optional<std::vector<Value>> parse_id_list(const Value& v) {
  if (v.kind != StorageClass::Text) return std::nullopt;
  try {
    nlohmann::json j = nlohmann::json::parse(v.s);
    if (!j.is_array()) return std::nullopt;
    std::vector<Value> out;
    for (const auto& e : j) {
      if (e.is_number_integer()) out.push_back(Value::integer(e.get<int64_t>()));
      else if (e.is_string()) out.push_back(Value::text(e.get<std::string>()));
      else return std::nullopt;
    }
    return out;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::optional<Value> as_key(const Value& v, bool integer_target) {
  if (!integer_target || v.kind == StorageClass::Integer) return v;
  if (v.kind == StorageClass::Text)
    if (auto i = parse_integer_text(v.s)) return Value::integer(*i);
  return std::nullopt;
}

std::optional<Value> map_ids(RefKind kind, bool integer_target, const Value& v, const KeyChange& change) {
  if (kind != RefKind::JsonIdList) {
    std::optional<Value> key = as_key(v, integer_target);
    std::optional<Value> changed = key ? change(*key) : std::nullopt;
    return changed ? std::optional<Value>(like(v, *changed)) : std::nullopt;
  }
  std::optional<std::vector<Value>> ids = parse_id_list(v);
  if (!ids) return std::nullopt;
  bool any = false;
  for (Value& id : *ids)
    if (std::optional<Value> key = as_key(id, true))
      if (std::optional<Value> changed = change(*key)) {
        id = like(id, *changed);
        any = true;
      }
  return any ? std::optional<Value>(Value::text(render_id_list(*ids))) : std::nullopt;
}

size_t KeyMap::KeyHash::operator()(const Key& k) const {
  return std::visit([](const auto& v) { return std::hash<std::decay_t<decltype(v)>>()(v); }, k);
}

KeyMap::Key KeyMap::key(const Value& v) { return v.kind == StorageClass::Integer ? Key(v.i) : Key(v.to_string()); }

void KeyMap::set(const Column& column, const Value& from, const Value& to) { maps_[column][key(from)] = key(to); }

Value KeyMap::map_key(DbId db, const std::string& table, const std::string& column, const Value& v) const {
  auto it = maps_.find({db, table, column});
  if (it == maps_.end()) return v;
  Key k = v.kind == StorageClass::Integer ? Key(v.i) : Key(v.s);
  auto m = it->second.find(k);
  if (m == it->second.end()) return v;
  return std::holds_alternative<int64_t>(m->second) ? Value::integer(std::get<int64_t>(m->second))
                                                    : Value::text(std::get<std::string>(m->second));
}

std::optional<Value> KeyMap::map_ref(const ImportRef& r, const Value& v) const {
  return map_ids(r.kind, r.integer_target, v, [&](const Value& key) -> std::optional<Value> {
    Value mapped = map_key(r.target_db, r.target_table, r.target_column, key);
    if (mapped == key) return std::nullopt;
    return mapped;
  });
}

}  // namespace mdb
