#include "vg/common/time_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace vg {
namespace {

// 2026-11-23T16:30:00Z
constexpr int64_t kT = 1'795'451'400'000;

TEST(ParseIso8601Test, AcceptsEveryFormItAlwaysDid) {
    struct Case {
        const char* text;
        int64_t millis;
    };
    const Case cases[] = {
        {"2026-11-23T16:30:00Z", kT},
        {"2026-11-23t16:30:00z", kT},
        {"2026-11-23 16:30:00Z", kT},
        {"2026-11-23T16:30:00+00:00", kT},
        {"2026-11-23T16:30:00-00:00", kT},
        {"2026-11-24T01:30:00+09:00", kT},
        {"2026-11-23T12:00:00-04:30", kT},
        {"2026-11-24T06:30:00+14:00", kT},
        {"2026-11-23T02:30:00-14:00", kT},
        {"2026-11-23T16:30:00.5Z", kT + 500},
        {"2026-11-23T16:30:00.25Z", kT + 250},
        {"2026-11-23T16:30:00.000Z", kT},
        {"2026-11-23T16:30:00.123456789Z", kT + 123},
        {"2026-11-23T16:30:00.9999Z", kT + 999},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59Z", -1000},
        {"2024-02-29T00:00:00Z", 1'709'164'800'000},
        {"2000-02-29T00:00:00Z", 951'782'400'000},
        {"2026-12-31T23:59:59Z", 1'798'761'599'000},
        {"2026-11-30T00:00:00Z", 1'795'996'800'000},
    };
    for (const Case& c : cases) {
        auto t = ParseIso8601(c.text);
        ASSERT_TRUE(t.ok()) << c.text << ": " << t.status().ToString();
        EXPECT_EQ(ToUnixMillis(*t), c.millis) << c.text;
    }
}

TEST(ParseIso8601Test, RefusesTimesThatDoNotExistSayingWhy) {
    struct Case {
        const char* text;
        const char* problem;
    };
    const Case cases[] = {
        {"2026-11-31T10:00:00Z", "2026-11-31 is not a calendar date"},
        {"2026-04-31T10:00:00Z", "2026-04-31 is not a calendar date"},
        {"2026-02-29T10:00:00Z", "2026-02-29 is not a calendar date"},
        {"1900-02-29T10:00:00Z", "1900-02-29 is not a calendar date"},
        {"2026-02-30T10:00:00Z", "2026-02-30 is not a calendar date"},
        {"2026-00-10T10:00:00Z", "2026-00-10 is not a calendar date"},
        {"2026-13-10T10:00:00Z", "2026-13-10 is not a calendar date"},
        {"2026-11-00T10:00:00Z", "2026-11-00 is not a calendar date"},
        {"2026-11-32T10:00:00Z", "2026-11-32 is not a calendar date"},
        {"2026-11-23T24:00:00Z", "24:00:00 is not a time of day (00:00:00 to 23:59:59)"},
        {"2026-11-23T10:60:00Z", "10:60:00 is not a time of day (00:00:00 to 23:59:59)"},
        {"2026-11-23T23:59:60Z", "23:59:60 is not a time of day (00:00:00 to 23:59:59; leap seconds are not accepted)"},
        {"2026-11-23T10:00:61Z", "10:00:61 is not a time of day (00:00:00 to 23:59:59)"},
        {"2026-11-23T10:00:00+14:01", "the offset +14:01 is outside -14:00 to +14:00"},
        {"2026-11-23T10:00:00-15:00", "the offset -15:00 is outside -14:00 to +14:00"},
        {"2026-11-23T10:00:00+09:60", "the offset +09:60 is outside -14:00 to +14:00"},
    };
    for (const Case& c : cases) {
        auto t = ParseIso8601(c.text);
        ASSERT_FALSE(t.ok()) << c.text;
        EXPECT_EQ(t.status().code(), ErrorCode::kValidationFailed) << c.text;
        EXPECT_EQ(t.status().message(), c.problem) << c.text;
    }
}

TEST(ParseIso8601Test, RefusesOtherShapesWithTheFormHelp) {
    for (const char* bad :
         {"", "2026-11-23",
          "2026-11-23T16:30:00",  // no zone: ambiguous
          "2026-11-23T16:30Z", "2026-11-23T16:30:00ZZ", "2026-11-23T16:30:00Z ", " 2026-11-23T16:30:00Z",
          "2026-11-23T16:30:00+0900", "2026-11-23T16:30:00+09", "2026-11-23T16:30:00+09:00x", "2026-11-23T16:30:00.Z",
          "2026-11-23X16:30:00Z", "2026/11/23T16:30:00Z", "26-11-23T16:30:00Z", "+2026-11-23T16:30:00Z",
          "2026-1-23T16:30:00Z", "2026-11-23T16:30:00.5", "2026-11-23T16:30:00UTC"}) {
        auto t = ParseIso8601(bad);
        ASSERT_FALSE(t.ok()) << bad;
        EXPECT_EQ(t.status().message(), kIso8601FormHelp) << bad;
    }
}

TEST(ParseIso8601Test, ReadsWhatFormatIso8601Writes) {
    // -55'805'932'800'000 is 0201-08-01: a year of three digits, written "201" once (found by fuzzing).
    for (int64_t ms : {int64_t{0}, int64_t{1'234'567'890'123}, kT, int64_t{951'782'400'999}, int64_t{-86'400'001},
                       int64_t{-55'805'932'800'000}}) {
        auto t = ParseIso8601(FormatIso8601(FromUnixMillis(ms)));
        ASSERT_TRUE(t.ok()) << ms;
        EXPECT_EQ(ToUnixMillis(*t), ms);
    }
}

TEST(ParseDurationTest, AcceptsUnits) {
    struct Case {
        const char* text;
        int64_t millis;
    };
    const Case cases[] = {{"0", 0},
                          {"500ms", 500},
                          {"90s", 90'000},
                          {"90", 90'000},
                          {"30m", 1'800'000},
                          {"12h", 43'200'000},
                          {"2d", 172'800'000},
                          {"0ms", 0},
                          {"1000000d", 86'400'000'000'000}};
    for (const Case& c : cases) {
        auto d = ParseDuration(c.text);
        ASSERT_TRUE(d.ok()) << c.text;
        EXPECT_EQ(d->count(), c.millis) << c.text;
    }
}

TEST(ParseDurationTest, RefusesNonsense) {
    for (const char* bad : {"", "-5s", "5 s", " 5s", "5s ", "5x", "s", "1.5h", "2 h", "5S", "5sec", "0x10",
                            "99999999999999999999d", "9223372036854775807ms"}) {
        auto d = ParseDuration(bad);
        ASSERT_FALSE(d.ok()) << bad;
        EXPECT_EQ(d.status().code(), ErrorCode::kValidationFailed) << bad;
    }
    EXPECT_EQ(ParseDuration("5x").status().message(), "must be a duration such as 500ms, 90s, 30m, 12h or 2d");
}

}  // namespace
}  // namespace vg
