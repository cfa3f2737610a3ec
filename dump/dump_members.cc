#include "dump/dump_members.h"

#include "base/error.h"

namespace mdb {

namespace {
bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

DumpMembers find_dump_members(const zip::Reader& zip, const std::filesystem::path& zip_path) {
  DumpMembers m;
  std::string stem = zip_path.stem().string();
  std::vector<zip::Entry> root_json, root_capnp;  // only a dump's own members: a few
  std::optional<zip::Entry> json;
  for (const zip::Entry& e : zip.entries()) {
    if (e.is_directory) continue;
    m.run_files += is_run_file(e);
    if (e.name.find('/') != std::string::npos) continue;
    if (!json && e.name == stem + ".json") json = e;
    if (ends_with(e.name, ".json") && root_json.size() < 2) root_json.push_back(e);
    if (ends_with(e.name, ".capnp") && root_capnp.size() < 2) root_capnp.push_back(e);
  }
  if (!json && root_json.size() == 1) json = root_json[0];
  if (!json)
    throw Error("The zip " + zip_path.string() + " holds no member " + stem + ".json" +
                (root_json.empty() ? " and no other .json member at its root"
                                   : " and several other .json members at its root, so none is the dump") +
                ": it is not a Mephisto dump.", ErrorKind::Damaged);
  m.json = *json;
  std::string json_stem = m.json.name.substr(0, m.json.name.size() - 5);
  m.capnp = zip.find(json_stem + ".capnp");
  if (!m.capnp && root_capnp.size() == 1) m.capnp = root_capnp[0];
  return m;
}

}  // namespace mdb
