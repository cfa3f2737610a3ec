#include "import/import_outcome.h"

namespace mdb {

int64_t ImportOutcome::counted(DbId db, std::string_view table) const {
  for (const TableCounts& c : tables)
    if (c.db == db && c.table == table) return c.inserted + c.merged;
  return 0;
}

int64_t ImportOutcome::rows(DbId db, std::string_view table) const {
  for (const TableCounts& c : tables)
    if (c.db == db && c.table == table) return c.rows;
  return 0;
}

}  // namespace mdb
