#include "vg/common/status.hpp"

#include <gtest/gtest.h>

#include <set>

#include "vg/common/clock.hpp"

namespace vg {
namespace {

TEST(StatusTest, DefaultIsOk) {
    Status s;
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ErrorCarriesCodeMessageAndFields) {
    Status s = Status::Error(ErrorCode::kValidationFailed, "bad input", {{"age", "must be between 1 and 130"}});
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), ErrorCode::kValidationFailed);
    ASSERT_EQ(s.fields().size(), 1u);
    EXPECT_EQ(s.fields()[0].field, "age");
    EXPECT_EQ(s.ToString(), "validation_failed: bad input; age: must be between 1 and 130");
}

TEST(StatusTest, EveryCodeHasADistinctName) {
    std::set<std::string_view> names;
    for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
        names.insert(ErrorCodeName(static_cast<ErrorCode>(c)));
    }
    EXPECT_EQ(names.size(), static_cast<size_t>(ErrorCode::kInternal) + 1);
}

TEST(ResultTest, HoldsValueOrStatus) {
    Result<int> good = 42;
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, 42);
    EXPECT_TRUE(good.status().ok());

    Result<int> bad = Status::Error(ErrorCode::kNotFound, "no such user");
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), ErrorCode::kNotFound);
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
    ManualClock clock(FromUnixMillis(1000));
    EXPECT_EQ(ToUnixMillis(clock.Now()), 1000);
    clock.Advance(std::chrono::seconds(2));
    EXPECT_EQ(ToUnixMillis(clock.Now()), 3000);
}

TEST(ClockTest, FormatsIso8601InUtc) {
    EXPECT_EQ(FormatIso8601(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(FormatIso8601(FromUnixMillis(1'700'000'000'123)), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace vg
