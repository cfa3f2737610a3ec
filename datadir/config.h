#pragma once
// The original's config file (~/.mephisto/config.yml). We read one setting from it,
// core.main_data_directory, with a small YAML-subset parser: block mappings by
// indentation, plain/single-quoted/double-quoted scalars, comments, "---". Anything
// outside that subset is a parse error naming the line, never a guess.
#include <optional>
#include <string>
#include <string_view>

namespace mdb::core {

// Throws mdb::Error("<origin>: line N: ...") when the text does not parse.
// Returns the value of core.main_data_directory, if set and not null/empty.
std::optional<std::string> parse_main_data_directory(std::string_view yaml, std::string_view origin);

}  // namespace mdb::core
