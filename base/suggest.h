#pragma once
// "Did you mean ...?" for names a user typed that match nothing: snapshot names, task names,
// qualification names, labels.
#include <string>
#include <string_view>
#include <vector>

namespace mdb {

// Levenshtein distance (insert, delete, substitute one byte).
size_t edit_distance(std::string_view a, std::string_view b);

// The (at most 3) candidates closest to `typed`, closest first (ties by name), among those at most
// max(2, |typed|/3) edits away. A candidate equal to `typed` is not suggested.
std::vector<std::string> closest_names(std::string_view typed, const std::vector<std::string>& candidates);

// " Did you mean a, b or c?" for `names`, or "" when there are none.
std::string did_you_mean_sentence(const std::vector<std::string>& names);

}  // namespace mdb
