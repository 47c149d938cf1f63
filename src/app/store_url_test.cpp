#include "vg/app/store_url.hpp"

#include <gtest/gtest.h>

namespace vg::app {
namespace {

TEST(RedactedStoreUrl, HidesThePasswordAndKeepsTheRest) {
    EXPECT_EQ(RedactedStoreUrl("postgresql://vg:s3cr%40t@db.internal:5432/vg"),
              "postgresql://vg:***@db.internal:5432/vg");
    EXPECT_EQ(RedactedStoreUrl("postgres://vg:pw@db/vg?sslmode=require&password=other&application_name=x"),
              "postgres://vg:***@db/vg?sslmode=require&password=***&application_name=x");
    EXPECT_EQ(RedactedStoreUrl("postgresql://db/vg?password=only"), "postgresql://db/vg?password=***");
    // A password holding '@' (libpq takes the last '@' of the authority).
    EXPECT_EQ(RedactedStoreUrl("postgresql://vg:a@b@db/vg"), "postgresql://vg:***@db/vg");
    // The Redis bus's URL (--bus) is logged through the same function.
    EXPECT_EQ(RedactedStoreUrl("redis://:s3cret@cache:6379/2"), "redis://:***@cache:6379/2");
    EXPECT_EQ(RedactedStoreUrl("redis://default:s3cret@cache"), "redis://default:***@cache");
    EXPECT_EQ(RedactedStoreUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
}

TEST(RedactedStoreUrl, KeepsAUrlWithoutAPassword) {
    EXPECT_EQ(RedactedStoreUrl("postgresql://vg@127.0.0.1:5433/vg_test"), "postgresql://vg@127.0.0.1:5433/vg_test");
    EXPECT_EQ(RedactedStoreUrl("postgresql://[::1]:5433/vg"), "postgresql://[::1]:5433/vg");
    EXPECT_EQ(RedactedStoreUrl("postgresql:///vg?host=/run/postgresql"), "postgresql:///vg?host=/run/postgresql");
    EXPECT_EQ(RedactedStoreUrl(""), "");
}

}  // namespace
}  // namespace vg::app
