#include "core/verify_dump.h"

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "core/content_hash.h"
#include "core/dump_members.h"
#include "core/dump_values.h"
#include "core/schema.h"
#include "formats/base64.h"
#include "formats/capnp_dump.h"
#include "formats/dump_json.h"
#include "formats/error.h"

namespace mdb::core {

namespace {

// An order-sensitive digest of one table's rows after normalisation, so the two halves can be
// compared without holding either in memory.
struct TableDigest {
  uint64_t rows = 0;
  std::unique_ptr<ContentHash> hash = std::make_unique<ContentHash>();
};

using Digests = std::map<std::string, TableDigest>;  // "db.table" -> digest

// The canonical bytes of a value: its class, then its payload.
void append_value(std::string& out, Value v) {
  out += static_cast<char>(v.kind);
  switch (v.kind) {
    case StorageClass::Null: break;
    case StorageClass::Integer: out += std::to_string(v.i); break;
    case StorageClass::Real: {
      double r = std::isnan(v.r) ? NAN : v.r;  // one NaN
      char bits[sizeof r];
      std::memcpy(bits, &r, sizeof r);
      out.append(bits, sizeof bits);
      break;
    }
    case StorageClass::Text:
    case StorageClass::Blob: out += std::to_string(v.s.size()) + ':' + v.s; break;
  }
}

// Adds one row to the digest of its table; `blob_as_base64` renders BLOBs as the JSON half does.
void digest_row(Digests& digests, std::string_view db_key, std::string_view table,
                const std::vector<std::string>& columns, Row& values, bool blob_as_base64) {
  std::optional<DbId> db = db_from_key(db_key);
  std::string canon;
  for (size_t i = 0; i < columns.size() && i < values.size(); ++i) {
    Value& v = values[i];
    if (blob_as_base64 && v.kind == StorageClass::Blob) v = Value::text(base64(v.s));
    if (db) normalize_dump_value(*db, columns[i], v);  // a value that does not convert stays as read
    canon += columns[i];
    canon += '=';
    append_value(canon, v);
    canon += '\x1f';
  }
  TableDigest& d = digests[std::string(db_key) + "." + std::string(table)];
  ++d.rows;
  d.hash->update(canon);
  d.hash->update("\x1e");
}

// The final schema of each kind of DB, to check that a dump's tables and columns exist.
class Schemas {
 public:
  // Empty when `db` has no known schema (inhouse).
  const SchemaInfo* of(DbId db) {
    if (db == DbId::Inhouse) return nullptr;
    auto it = cache_.find(rules_of(db));
    if (it == cache_.end()) {
      sql::Db mem = sql::Db::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY);
      create_schema(mem, schema_kind_of(db));
      it = cache_.emplace(rules_of(db), read_schema(mem)).first;
    }
    return &it->second;
  }

 private:
  std::map<DbId, SchemaInfo> cache_;
};

class JsonSide : public DumpJsonVisitor {
 public:
  explicit JsonSide(std::vector<std::string>& problems) : problems_(problems) {}
  void begin_db(std::string_view db) override {
    if (!db_from_key(db))
      problems_.push_back("the JSON member has the key \"" + std::string(db) +
                          "\", which is neither \"mephisto\" nor a provider type");
  }
  void row(std::string_view db, std::string_view table, size_t index, const std::vector<std::string>& columns,
           Row& values) override {
    if (index == 0) check_columns(db, table, columns);
    digest_row(digests, db, table, columns, values, false);
  }
  void end_table(std::string_view db, std::string_view table, size_t) override {
    digests[std::string(db) + "." + std::string(table)];  // empty tables count too
  }
  void metadata(nlohmann::ordered_json meta) override {
    has_metadata = true;
    if (!meta.is_object()) problems_.push_back("dump_metadata in the JSON member is not an object");
  }
  void problem(std::string message) override { problems_.push_back("JSON member: " + message); }

  Digests digests;
  bool has_metadata = false;

 private:
  // The first row of each table stands for its columns: Mephisto rows of one table share them.
  void check_columns(std::string_view db_key, std::string_view table, const std::vector<std::string>& columns) {
    std::optional<DbId> db = db_from_key(db_key);
    const SchemaInfo* schema = db ? schemas_.of(*db) : nullptr;
    if (!schema) return;
    std::string where = "database `" + std::string(db_key) + "`, table `" + std::string(table) + "`";
    const TableInfo* t = schema->find(table);
    if (!t) {
      problems_.push_back(where + ": no such table in Mephisto's schema");
      return;
    }
    for (const std::string& c : columns)
      if (!t->has_column(c)) problems_.push_back(where + ": no column `" + c + "` in Mephisto's schema");
  }

  std::vector<std::string>& problems_;
  Schemas schemas_;
};

class CapnpSide : public capnp_dump::StreamVisitor {
 public:
  void header(const capnp_dump::Header& h) override { header_ = h; }
  void file(const capnp_dump::FileRecord& f) override { files.push_back(f); }
  void begin_table(std::string_view db, std::string_view table, const std::vector<std::string>&) override {
    digests[std::string(db) + "." + std::string(table)];
  }
  void row(std::string_view db, std::string_view table, size_t, const std::vector<std::string>& columns,
           Row& values) override {
    digest_row(digests, db, table, columns, values, true);
  }

  capnp_dump::Header header_;
  std::vector<capnp_dump::FileRecord> files;
  Digests digests;
};

// Reads the JSON member once: parses it and hashes its bytes.
capnp_dump::Hash128 check_json(const zip::Reader& zip, const zip::Entry& member, JsonSide& side) {
  ContentHash hash;
  std::unique_ptr<zip::MemberReader> in = zip.open(member);
  auto read = [&](char* buf, size_t n) {
    size_t got = in->read(buf, n);
    hash.update(std::string_view(buf, got));
    return got;
  };
  read_dump_json(read, side, zip.path().string() + ":" + member.name);
  return hash.digest();
}

void compare_halves(const Digests& json, const Digests& capnp, std::vector<std::string>& problems) {
  for (const auto& [table, d] : json) {
    auto it = capnp.find(table);
    if (it == capnp.end()) {
      if (d.rows > 0) problems.push_back("table " + table + " is in the JSON member but not in the Cap'n Proto half");
      continue;
    }
    if (it->second.rows != d.rows)
      problems.push_back("table " + table + ": the JSON member has " + std::to_string(d.rows) +
                         " rows, the Cap'n Proto half " + std::to_string(it->second.rows));
    else if (!(it->second.hash->digest() == d.hash->digest()))
      problems.push_back("table " + table + ": the JSON member and the Cap'n Proto half hold different rows");
  }
  for (const auto& [table, d] : capnp)
    if (!json.count(table) && d.rows > 0)
      problems.push_back("table " + table + " is in the Cap'n Proto half but not in the JSON member");
}

// Every run file is readable (CRC and size); with a Cap'n Proto half, each matches its record.
uint64_t check_files(const zip::Reader& zip, const DumpMembers& members, const CapnpSide* capnp,
                     std::vector<std::string>& problems) {
  std::map<std::string, const capnp_dump::FileRecord*> recorded;
  if (capnp)
    for (const capnp_dump::FileRecord& f : capnp->files) recorded[f.path] = &f;
  uint64_t bytes = 0;
  for (const zip::Entry* e : members.run_files) {
    ContentHash hash;
    uint64_t size = 0;
    try {
      zip.stream(*e, [&](std::string_view chunk) {
        hash.update(chunk);
        size += chunk.size();
      });
    } catch (const Error& err) {
      problems.push_back(err.what());
      continue;
    }
    bytes += size;
    if (!capnp) continue;
    auto it = recorded.find(e->name);
    if (it == recorded.end()) {
      problems.push_back(e->name + " is in the zip but not recorded in the Cap'n Proto header");
      continue;
    }
    if (it->second->size != size || !(it->second->hash == hash.digest()))
      problems.push_back(e->name + " does not match the size and hash recorded for it (the file was changed)");
    recorded.erase(it);
  }
  for (const auto& [path, f] : recorded) problems.push_back(path + " is recorded in the Cap'n Proto header but missing");
  return bytes;
}

}  // namespace

std::vector<std::string> verify_dump_zip(Context& ctx, const zip::Reader& zip) {
  std::vector<std::string> problems;
  DumpMembers members = find_dump_members(zip, zip.path(), "Nothing was checked.");
  JsonSide json(problems);
  capnp_dump::Hash128 json_hash;
  try {
    json_hash = check_json(zip, *members.json, json);
    if (!json.has_metadata) problems.push_back("the JSON member has no dump_metadata");
  } catch (const Error& e) {
    problems.push_back(e.what());
  }
  std::optional<CapnpSide> capnp;
  if (members.capnp) {
    capnp.emplace();
    try {
      std::unique_ptr<zip::MemberReader> in = zip.open(*members.capnp);
      capnp_dump::read_stream([&](char* buf, size_t n) { return in->read(buf, n); }, *capnp,
                              zip.path().string() + ":" + members.capnp->name);
      if (!(capnp->header_.json_hash == json_hash) || capnp->header_.json_size != members.json->size)
        problems.push_back("the JSON member " + members.json->name +
                           " is not the one the Cap'n Proto half was written with (it was edited)");
      else
        compare_halves(json.digests, capnp->digests, problems);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  uint64_t bytes = check_files(zip, members, capnp ? &*capnp : nullptr, problems);
  uint64_t rows = 0;
  for (const auto& [table, d] : json.digests) rows += d.rows;
  ctx.console.info("Checked the dump " + zip.path().string() + ": " + std::to_string(json.digests.size()) +
                   " tables, " + std::to_string(rows) + " rows, " + std::to_string(members.run_files.size()) +
                   " files (" + std::to_string(bytes) + " bytes)" +
                   (members.capnp ? ", JSON and Cap'n Proto halves compared." : "; no Cap'n Proto half (a dump of the original)."));
  ctx.console.set("zip", zip.path().string());
  ctx.console.set("tables", json.digests.size());
  ctx.console.set("rows", rows);
  ctx.console.set("files", members.run_files.size());
  ctx.console.set("capnp", members.capnp != nullptr);
  return problems;
}

}  // namespace mdb::core
