// Self-test of vg_shared_data: the data root and its override, VG_REQUIRE_DATA, and what
// VG_REQUIRE_DATA_SET reports (a skip, or a failure when the data is required) for a missing path.

#include "vg/testing/shared_data.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace vg::testing {
namespace {

namespace fs = std::filesystem;

// Sets (or unsets, for nullopt) an environment variable for the scope, restoring the old value after.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) {
            ::setenv(name, value->c_str(), 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

// A data root holding sisfall/ and wedafall/trials.csv, removed at the end of the test.
class SharedDataTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("vg_shared_data_test_" + std::to_string(::getpid()));
        fs::create_directories(root_ / "sisfall");
        fs::create_directories(root_ / "wedafall");
        std::ofstream(root_ / "wedafall" / "trials.csv") << "path\n";
    }
    void TearDown() override { fs::remove_all(root_); }
    fs::path root_;
};

TEST_F(SharedDataTest, TheRootIsSharedDataBesideTheSourceTreeUnlessVgSharedDataSaysOtherwise) {
    {
        ScopedEnv env("VG_SHARED_DATA", std::nullopt);
        EXPECT_EQ(SharedDataRoot(), fs::path(VG_SHARED_DATA_DEFAULT).lexically_normal());
        EXPECT_EQ(SharedDataRoot().filename(), "data");
        EXPECT_EQ(SharedDataRoot().parent_path().filename(), "shared");
    }
    {
        ScopedEnv env("VG_SHARED_DATA", "");  // empty means unset
        EXPECT_EQ(SharedDataRoot(), fs::path(VG_SHARED_DATA_DEFAULT).lexically_normal());
    }
    ScopedEnv env("VG_SHARED_DATA", root_.string() + "/./");
    EXPECT_EQ(SharedDataRoot(), root_ / "");
    EXPECT_EQ(SharedDataPath("sisfall/SA01"), root_ / "sisfall" / "SA01");
}

TEST_F(SharedDataTest, VgRequireDataIsOnForAnyValueButEmptyAndZero) {
    {
        ScopedEnv env("VG_REQUIRE_DATA", std::nullopt);
        EXPECT_FALSE(DataRequired());
    }
    for (const char* off : {"", "0"}) {
        ScopedEnv env("VG_REQUIRE_DATA", off);
        EXPECT_FALSE(DataRequired()) << '"' << off << '"';
    }
    for (const char* on : {"1", "yes", "true"}) {
        ScopedEnv env("VG_REQUIRE_DATA", on);
        EXPECT_TRUE(DataRequired()) << '"' << on << '"';
    }
}

TEST_F(SharedDataTest, MissingDataIsNothingForAPresentFolderOrFileAndNamesWhatIsMissingOtherwise) {
    ScopedEnv env("VG_SHARED_DATA", root_.string());
    ScopedEnv required("VG_REQUIRE_DATA", std::nullopt);
    EXPECT_EQ(MissingData("sisfall"), std::nullopt);
    EXPECT_EQ(MissingData("wedafall/trials.csv"), std::nullopt);

    const std::optional<std::string> missing = MissingData("fallalld/S01");
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(*missing, "missing test data: " + (root_ / "fallalld" / "S01").string() +
                            " (data set fallalld; see ../shared/data/fallalld/README.md and docs/posture-data.md for "
                            "its source; VG_SHARED_DATA=DIR to point elsewhere)");
}

// The data the helper functions below ask for: present under root_, or not.
void RequirePresent() { VG_REQUIRE_DATA_SET("sisfall"); }
void RequireAbsent() { VG_REQUIRE_DATA_SET("umafall"); }

TEST_F(SharedDataTest, RequireDataSetSkipsWithTheMissingLineAndLetsPresentDataThrough) {
    ScopedEnv env("VG_SHARED_DATA", root_.string());
    ScopedEnv required("VG_REQUIRE_DATA", std::nullopt);
    ::testing::TestPartResultArray results;
    {
        ::testing::ScopedFakeTestPartResultReporter reporter(
            ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
        RequirePresent();
        RequireAbsent();
    }
    ASSERT_EQ(results.size(), 1);  // nothing from RequirePresent
    EXPECT_TRUE(results.GetTestPartResult(0).skipped());
    EXPECT_THAT(results.GetTestPartResult(0).message(),
                ::testing::HasSubstr("missing test data: " + (root_ / "umafall").string() + " (data set umafall"));
}

TEST_F(SharedDataTest, RequireDataSetFailsInsteadUnderVgRequireData) {
    ScopedEnv env("VG_SHARED_DATA", root_.string());
    ScopedEnv required("VG_REQUIRE_DATA", "1");
    EXPECT_FATAL_FAILURE(RequireAbsent(), "VG_REQUIRE_DATA is set, so a missing data set is a failure");
    ::testing::TestPartResultArray results;
    {
        ::testing::ScopedFakeTestPartResultReporter reporter(
            ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
        RequirePresent();
    }
    EXPECT_EQ(results.size(), 0);
}

}  // namespace
}  // namespace vg::testing
