#include "datadir/locations.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "base/error.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

// Sets environment variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (auto [k, v] : vars) {
      const char* old = std::getenv(k);
      saved_.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
      if (v) ::setenv(k, v, 1);
      else ::unsetenv(k);
    }
  }
  ~ScopedEnv() {
    for (auto& [k, v] : saved_) {
      if (v) ::setenv(k.c_str(), v->c_str(), 1);
      else ::unsetenv(k.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(Locations, OptionBeatsEnvBeatsConfig) {
  test::TempDir home;
  test::write(home / ".mephisto/config.yml", "core:\n  main_data_directory: /from/config/data\n");
  ScopedEnv env{{"HOME", home.path().c_str()}, {"MEPHISTO_DATA_DIR", "/from/env/data"},
                {"MEPHISTO_OUTPUTS_DIR", nullptr}, {"MEPHISTO_STORE", nullptr}};
  GlobalOptions opts;
  EXPECT_EQ(resolve_locations(opts).data_dir, "/from/env/data");
  opts.data_dir = "/from/option/data/";
  Locations l = resolve_locations(opts);
  EXPECT_EQ(l.data_dir, "/from/option/data");
  EXPECT_EQ(l.outputs_dir, "/from/option/outputs");
  EXPECT_EQ(l.store_dir, "/from/option/outputs/store");
  ::unsetenv("MEPHISTO_DATA_DIR");
  EXPECT_EQ(resolve_locations(GlobalOptions{}).data_dir, "/from/config/data");
}

TEST(Locations, OutputsAndStoreFromEnvAndOptions) {
  ScopedEnv env{{"MEPHISTO_OUTPUTS_DIR", "/o"}, {"MEPHISTO_STORE", nullptr}};
  GlobalOptions opts;
  opts.data_dir = "/d/data";
  EXPECT_EQ(resolve_locations(opts).outputs_dir, "/o");
  EXPECT_EQ(resolve_locations(opts).store_dir, "/o/store");
  opts.store = "/s";
  opts.outputs_dir = "/p";
  EXPECT_EQ(resolve_locations(opts).outputs_dir, "/p");
  EXPECT_EQ(resolve_locations(opts).store_dir, "/s");
}

TEST(Locations, NothingConfiguredIsAClearError) {
  test::TempDir home;
  ScopedEnv env{{"HOME", home.path().c_str()}, {"MEPHISTO_DATA_DIR", nullptr}};
  try {
    resolve_locations(GlobalOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--data-dir"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("MEPHISTO_DATA_DIR"), std::string::npos);
  }
}

TEST(Locations, BrokenConfigNamesTheFile) {
  test::TempDir home;
  test::write(home / ".mephisto/config.yml", "core:\n  main_data_directory: [x\n");
  ScopedEnv env{{"HOME", home.path().c_str()}, {"MEPHISTO_DATA_DIR", nullptr}};
  try {
    resolve_locations(GlobalOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((home / ".mephisto/config.yml").string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mdb
