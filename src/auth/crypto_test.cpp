#include "vg/auth/crypto.hpp"

#include <gtest/gtest.h>

#include <set>

namespace vg::auth {
namespace {

TEST(PasswordHasherTest, HashesWithArgon2idAndVerifies) {
    PasswordHasher hasher(PasswordHashCost::Minimum());
    auto hash = hasher.Hash("correct horse battery");
    ASSERT_TRUE(hash.ok());
    EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
    EXPECT_TRUE(hasher.Verify(*hash, "correct horse battery"));
    EXPECT_FALSE(hasher.Verify(*hash, "correct horse batterY"));
    EXPECT_FALSE(hasher.Verify(*hash, ""));
}

TEST(PasswordHasherTest, SamePasswordHashesDifferently) {
    PasswordHasher hasher(PasswordHashCost::Minimum());
    EXPECT_NE(*hasher.Hash("password1"), *hasher.Hash("password1"));
}

TEST(PasswordHasherTest, MalformedHashNeverMatches) {
    PasswordHasher hasher(PasswordHashCost::Minimum());
    EXPECT_FALSE(hasher.Verify("", "x"));
    EXPECT_FALSE(hasher.Verify("plaintext-password", "plaintext-password"));
    EXPECT_FALSE(hasher.Verify(std::string(500, '$'), "x"));
}

TEST(PasswordHasherTest, NeedsRehashWhenCostChanges) {
    PasswordHasher weak(PasswordHashCost::Minimum());
    PasswordHasher strong(PasswordHashCost::Interactive());
    auto hash = weak.Hash("password1");
    ASSERT_TRUE(hash.ok());
    EXPECT_FALSE(weak.NeedsRehash(*hash));
    EXPECT_TRUE(strong.NeedsRehash(*hash));
    EXPECT_TRUE(strong.Verify(*hash, "password1"));  // old hashes keep working
}

TEST(TokenTest, TokensAreRandom256BitBase64Url) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        std::string t = RandomToken();
        EXPECT_EQ(t.size(), 43u);
        EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                  std::string::npos);
        seen.insert(t);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(TokenTest, HashIsHexSha256) {
    EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(HashToken("").size(), 64u);
}

TEST(TokenTest, SecretsEqualIsExact) {
    EXPECT_TRUE(SecretsEqual("abc", "abc"));
    EXPECT_FALSE(SecretsEqual("abc", "abd"));
    EXPECT_FALSE(SecretsEqual("abc", "abcd"));
    EXPECT_FALSE(SecretsEqual("", ""));
}

}  // namespace
}  // namespace vg::auth
