#pragma once
// Standard base64 (RFC 4648, with padding): how a BLOB value appears in a dump's JSON half,
// which has no bytes type (the Cap'n Proto half keeps the bytes).
#include <string>
#include <string_view>

namespace mdb {

std::string base64(std::string_view bytes);

}  // namespace mdb
