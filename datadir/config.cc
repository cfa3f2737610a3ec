#include "datadir/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "base/error.h"
#include "formats/utf8.h"

namespace mdb {

namespace {

[[noreturn]] void fail(std::string_view origin, const YAML::Mark& mark, const std::string& what) {
  std::string where;
  if (!mark.is_null())
    where = ": line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
  throw Error(std::string(origin) + where + ": " + what, ErrorKind::Damaged);
}

// Merge keys can chain (an anchored mapping merging another); an alias to an enclosing mapping
// would chain forever.
constexpr int kMaxMergeDepth = 32;

// The value of `key` in `map`, as PyYAML's constructor builds the mapping: the last of repeated
// keys wins; a plain `<<` key merges a mapping, or a list of them with the earlier winning, under
// the mapping's own keys. (Nodes are kept in optionals: assigning to a YAML::Node rebinds the node
// it aliases, changing the document.)
std::optional<YAML::Node> lookup(const YAML::Node& map, std::string_view key, std::string_view origin,
                                 int depth = 0) {
  if (depth > kMaxMergeDepth) fail(origin, map.Mark(), "merge keys ('<<') nested too deeply");
  std::optional<YAML::Node> found, merge;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) continue;
    if (entry.first.Scalar() == key) found.emplace(entry.second);
    else if (entry.first.Scalar() == "<<" && entry.first.Tag() == "?") merge.emplace(entry.second);
  }
  if (found || !merge) return found;
  if (merge->IsMap()) return lookup(*merge, key, origin, depth + 1);
  if (merge->IsSequence())
    for (const auto& m : *merge)
      if (m.IsMap())
        if (auto v = lookup(m, key, origin, depth + 1)) return v;
  return std::nullopt;
}

// The characters Python's yaml reads (its reader's printable set); it refuses any other, and
// bytes that are not UTF-8. yaml-cpp 0.7 can loop forever on some of those (NUL, 0xFE: found by
// fuzz/fuzz_config), so they are refused before it sees them.
bool yaml_printable(unsigned cp) {
  return cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 ||
         (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
}

void check_characters(std::string_view yaml, std::string_view origin) {
  unsigned cp = 0;
  size_t line = 1;
  for (size_t i = 0, n; i < yaml.size(); i += n) {
    n = utf8::decode(yaml, i, cp);
    if (n == 0 || !yaml_printable(cp))
      throw Error(std::string(origin) + ": line " + std::to_string(line) + ": " +
                  (n == 0 ? "a byte that is not UTF-8" : "a control character") +
                  ", which YAML does not allow (the file is not valid YAML)",
                  ErrorKind::Damaged);
    line += cp == '\n';
  }
}

// Notes where each document starts, and nothing else.
class DocumentStarts : public YAML::EventHandler {
 public:
  YAML::Mark last;
  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Where a second document starts, if there is one. yaml-cpp 0.7's LoadAll loops forever on some
// invalid input (a stray ','), asking for one more document each time: ask for two at most.
std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  if (!parser.HandleNextDocument(starts) || !parser.HandleNextDocument(starts)) return std::nullopt;
  return starts.last;
}

// The one document of `text`; mdb::Error naming the file and line when it is not YAML.
YAML::Node load_document(const std::string& text, std::string_view origin) {
  try {
    if (auto second = second_document(text))
      fail(origin, *second, "more than one YAML document (the original reads exactly one)");
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail(origin, e.mark, e.msg + " (the file is not valid YAML)");
  }
}

}  // namespace

std::optional<std::string> parse_main_data_directory(std::string_view yaml, std::string_view origin) {
  check_characters(yaml, origin);
  YAML::Node root = load_document(std::string(yaml), origin);
  if (root.IsNull()) return std::nullopt;
  if (!root.IsMap()) fail(origin, root.Mark(), "the file is not a mapping of sections such as 'core:'");
  std::optional<YAML::Node> core = lookup(root, "core", origin);
  if (!core || core->IsNull()) return std::nullopt;
  if (!core->IsMap()) fail(origin, core->Mark(), "'core' is not a mapping of settings");
  std::optional<YAML::Node> dir = lookup(*core, "main_data_directory", origin);
  if (!dir || dir->IsNull()) return std::nullopt;
  if (!dir->IsScalar()) fail(origin, dir->Mark(), "core.main_data_directory is not a path");
  if (dir->Scalar().empty()) return std::nullopt;
  return dir->Scalar();
}

}  // namespace mdb
