#pragma once
// The example at the end of each command's --help (ls and find have theirs with notes).
#include <map>
#include <string>

namespace mdb {

// Command name -> one command line that uses it.
const std::map<std::string, std::string>& command_examples();

}  // namespace mdb
