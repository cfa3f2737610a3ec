#pragma once
// The original's config file (~/.mephisto/config.yml). We read one setting from it,
// core.main_data_directory, with a real YAML parser (yaml-cpp), so every config the original's
// yaml.safe_load reads is read here too: block and flow style, every quoting style, comments,
// document markers, anchors, aliases and merge keys ("<<: *defaults").
#include <optional>
#include <string>
#include <string_view>

namespace mdb {

// Returns the value of core.main_data_directory, if set and not null/empty. As Python's yaml
// loads it: of a repeated key the last one counts, and a merge key supplies the keys a mapping
// lacks. Throws mdb::Error("<origin>: line N, column C: ...") when the text is not YAML, holds
// more than one document, or has a `core` or main_data_directory that is not a mapping/a path.
std::optional<std::string> parse_main_data_directory(std::string_view yaml, std::string_view origin);

}  // namespace mdb
