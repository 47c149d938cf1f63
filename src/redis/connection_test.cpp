// Hermetic tests of vg_redis: the URL (moved here from the bus's test with the connection) and what Connect
// answers without a server. What the connection does on a live Redis is exercised by the adapters' live
// tests (bus/redis_streams, auth/redis).
#include "vg/redis/connection.hpp"

#include <gtest/gtest.h>

namespace vg::redis {
namespace {

TEST(RedisUrlTest, ParsesHostPortDbAndCredentials) {
    auto plain = ParseRedisUrl("redis://127.0.0.1:6390");
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(plain->host, "127.0.0.1");
    EXPECT_EQ(plain->port, 6390);
    EXPECT_EQ(plain->db, 0);
    EXPECT_EQ(plain->password, "");

    auto full = ParseRedisUrl("redis://vg:s3cret@redis.internal/3");
    ASSERT_TRUE(full.ok()) << full.status().ToString();
    EXPECT_EQ(full->host, "redis.internal");
    EXPECT_EQ(full->port, 6379);
    EXPECT_EQ(full->db, 3);
    EXPECT_EQ(full->user, "vg");
    EXPECT_EQ(full->password, "s3cret");
    EXPECT_EQ(full->ToString(), "redis.internal:6379/3");

    auto v6 = ParseRedisUrl("redis://[::1]:7000");
    ASSERT_TRUE(v6.ok()) << v6.status().ToString();
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->ToString(), "[::1]:7000");

    for (const char* bad :
         {"", "http://host:1", "redis://", "redis://:1", "redis://host:", "redis://host:0", "redis://host:65536",
          "redis://host:12x", "redis://host/db", "redis://host/-1", "redis://[::1", "redis://pw@"}) {
        auto refused = ParseRedisUrl(bad, "SomeOptions.url");
        ASSERT_FALSE(refused.ok()) << bad;
        EXPECT_EQ(refused.status().code(), ErrorCode::kInternal) << bad;
        EXPECT_NE(refused.status().message().find("SomeOptions.url"), std::string::npos) << refused.status().message();
    }
}

TEST(RedisUrlTest, TheMessageNeverRepeatsThePassword) {
    auto refused = ParseRedisUrl("redis://:pa55word@host:notaport");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().message().find("pa55word"), std::string::npos) << refused.status().message();
}

TEST(RedisConnectionTest, AnUnreachableRedisIsUnavailableNamingItsAddress) {
    auto address = ParseRedisUrl("redis://:pa55word@127.0.0.1:1");  // nothing listens on port 1
    ASSERT_TRUE(address.ok());
    auto connection = RedisConnection::Connect(*address, "vg-redis-test", std::chrono::milliseconds(500),
                                               std::chrono::milliseconds(500));
    ASSERT_FALSE(connection.ok());
    EXPECT_EQ(connection.status().code(), ErrorCode::kUnavailable);
    EXPECT_NE(connection.status().message().find("127.0.0.1:1"), std::string::npos) << connection.status().message();
    EXPECT_EQ(connection.status().message().find("pa55word"), std::string::npos) << connection.status().message();
}

}  // namespace
}  // namespace vg::redis
