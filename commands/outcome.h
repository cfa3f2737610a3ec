#pragma once
// The command boundary (docs/EXIT_CODES.md "Error kinds"): an Error that ends a command gets
// its remedy worded in the CLI's terms and, as its last sentence, what became of the user's
// data. Deeper layers say neither: they do not know which command runs, nor its state.
#include <string>

#include "base/error.h"

namespace mdb {

// The words for `r` in the CLI's terms, to follow the message as they are ("" for None).
std::string advice(Remedy r);

// `e` with its remedy worded and `outcome` ("Nothing was imported.") as its last sentence. A
// usage error is left as it is: it came before any file was opened.
Error finish(const Error& e, const std::string& outcome);

}  // namespace mdb
