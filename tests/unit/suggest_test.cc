// "Did you mean ...?": the edit distance and the choice of names (base/suggest.h).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "base/suggest.h"

namespace mdb {
namespace {

TEST(Suggest, EditDistanceCountsInsertsDeletesAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("image_labelin", "image_labeling"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Suggest, ClosestNamesAreNearFirstAtMostThreeAndNeverTheNameItself) {
  std::vector<std::string> names = {"image_labeling", "image_labelling", "qa_check", "image_label", "labeling",
                                    "image_labeling"};
  EXPECT_EQ(closest_names("image_labelng", names),
            (std::vector<std::string>{"image_labeling", "image_label", "image_labelling"}));  // ties by name
  EXPECT_EQ(closest_names("zzz", names), std::vector<std::string>{});
  EXPECT_EQ(closest_names("qa_check", names), std::vector<std::string>{});
  EXPECT_EQ(did_you_mean_sentence({}), "");
  EXPECT_EQ(did_you_mean_sentence({"a"}), " Did you mean a?");
  EXPECT_EQ(did_you_mean_sentence({"a", "b", "c"}), " Did you mean a, b or c?");
}

RC_GTEST_PROP(Suggest, EditDistanceIsAMetric, (const std::string& a, const std::string& b, const std::string& c)) {
  RC_ASSERT(edit_distance(a, b) == edit_distance(b, a));
  RC_ASSERT((edit_distance(a, b) == 0) == (a == b));
  RC_ASSERT(edit_distance(a, c) <= edit_distance(a, b) + edit_distance(b, c));
  RC_ASSERT(edit_distance(a, b) <= std::max(a.size(), b.size()));
}

RC_GTEST_PROP(Suggest, AOneEditTypoOfALongNameFindsIt, (const std::string& tail, unsigned pos)) {
  std::string name = "task_" + tail + "_name";
  std::string typo = name;
  typo.erase(pos % typo.size(), 1);
  std::vector<std::string> found = closest_names(typo, {name, "unrelated_thing_entirely"});
  RC_ASSERT(!found.empty());
  RC_ASSERT(found[0] == name);
}

}  // namespace
}  // namespace mdb
