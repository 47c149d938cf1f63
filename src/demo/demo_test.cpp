#include "vg/demo/demo.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace vg::demo {
namespace {

namespace fs = std::filesystem;

class DemoCredentialsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("vg-demo-test-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(DemoCredentialsTest, FirstStartCreatesOwnerOnlyFileAndRestartsReuseIt) {
    auto first = LoadOrCreateCredentials(dir_.string());
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(first->wearer_password.size(), 20u);
    EXPECT_EQ(first->guardian_password.size(), 20u);
    EXPECT_NE(first->wearer_password, first->guardian_password);

    struct stat st {};
    ASSERT_EQ(::stat((dir_ / kCredentialsFile).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    auto second = LoadOrCreateCredentials(dir_.string());
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ(*second, *first);  // a restart logs in to the same accounts
}

TEST_F(DemoCredentialsTest, TwoDataDirectoriesGetDifferentPasswords) {
    fs::create_directories(dir_ / "other");
    auto a = LoadOrCreateCredentials(dir_.string());
    auto b = LoadOrCreateCredentials((dir_ / "other").string());
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(a->wearer_password, b->wearer_password);  // drawn at random, not a fixed demo password
}

TEST_F(DemoCredentialsTest, MalformedFileIsRefusedAndKept) {
    {
        std::ofstream out(dir_ / kCredentialsFile);
        out << "demo_wearer onlyone\n";
    }
    auto loaded = LoadOrCreateCredentials(dir_.string());
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), ErrorCode::kValidationFailed);
    EXPECT_NE(loaded.status().message().find("demo_guardian"), std::string::npos) << loaded.status().message();
    std::ifstream in(dir_ / kCredentialsFile);
    std::string kept((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(kept, "demo_wearer onlyone\n");  // never overwritten: the accounts' passwords may be in it
}

TEST(DemoLoginBannerTest, NamesBothLoginsAndThePort) {
    DemoCredentials c{"wpass", "gpass"};
    EXPECT_EQ(LoginBanner(c, 8080),
              "Demo: log in as wearer demo_wearer / wpass and as guardian demo_guardian / gpass at "
              "http://localhost:8080");
}

}  // namespace
}  // namespace vg::demo
