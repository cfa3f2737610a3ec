#include "commands/outcome.h"

namespace mdb {

std::string advice(Remedy r) {
  switch (r) {
    case Remedy::None: return "";
    case Remedy::RebuildIndex: return " Rebuild it from the packs with `mephisto db verify --repair-index`.";
    case Remedy::FirstBackup:
      return ": no backup has been made there (`mephisto db backup` creates it), or --store / MEPHISTO_STORE "
             "points elsewhere.";
    case Remedy::StalePin:
      return " If no `mephisto db` command was interrupted on any data directory using this store, delete the file.";
    case Remedy::MountInside:
      return " first, or restore into another directory (--data-dir) and copy the files into the mount.";
  }
  return "";
}

Error finish(const Error& e, const std::string& outcome) {
  if (e.kind() == ErrorKind::Usage) return e;
  return e.with_advice(advice(e.remedy())).with_outcome(outcome);
}

}  // namespace mdb
