#include "base/suggest.h"

#include <algorithm>
#include <utility>

namespace mdb {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> closest_names(std::string_view typed, const std::vector<std::string>& candidates) {
  size_t limit = std::max<size_t>(2, typed.size() / 3);
  std::vector<std::pair<size_t, std::string>> near;
  for (const std::string& name : candidates) {
    if (name == typed) continue;
    // Cheap bound first: the distance is at least the difference in length.
    size_t gap = name.size() > typed.size() ? name.size() - typed.size() : typed.size() - name.size();
    if (gap > limit) continue;
    if (size_t d = edit_distance(typed, name); d <= limit) near.emplace_back(d, name);
  }
  std::sort(near.begin(), near.end());
  near.erase(std::unique(near.begin(), near.end()), near.end());
  std::vector<std::string> names;
  for (size_t i = 0; i < near.size() && i < 3; ++i) names.push_back(near[i].second);
  return names;
}

std::string did_you_mean_sentence(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string list;
  for (size_t i = 0; i < names.size(); ++i)
    list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return " Did you mean " + list + "?";
}

}  // namespace mdb
