#include "vg/tz/tz.hpp"

#include <gtest/gtest.h>

namespace vg::tz {
namespace {

// 2026-11-23T07:30:00Z.
const TimePoint kNovember = FromUnixMillis(1'795'419'000'000);
// 2026-07-01T12:00:00Z.
const TimePoint kJuly = FromUnixMillis(1'782'907'200'000);

TEST(TimeZoneTest, NamesAreCheckedAgainstTheDatabase) {
    EXPECT_TRUE(IsTimeZone("Asia/Seoul"));
    EXPECT_TRUE(IsTimeZone("Europe/Berlin"));
    EXPECT_TRUE(IsTimeZone("UTC"));
    EXPECT_FALSE(IsTimeZone("Asia/Pyongyang-ish"));
    EXPECT_FALSE(IsTimeZone("asia/seoul"));  // exact spelling
    EXPECT_FALSE(IsTimeZone("+09:00"));      // an offset is not a zone
    EXPECT_FALSE(IsTimeZone(""));
    EXPECT_FALSE(IsTimeZone(std::string(200, 'A')));
    EXPECT_EQ(CheckTimeZone("Asia/Seoul"), std::nullopt);
    EXPECT_NE(CheckTimeZone("Mars/Olympus").value_or("").find("IANA"), std::string::npos);
}

TEST(TimeZoneTest, LocalTimeFollowsTheZoneAndItsDaylightSaving) {
    const LocalTime seoul = ToLocal(kNovember, "Asia/Seoul");
    EXPECT_EQ(seoul.date, "2026-11-23");
    EXPECT_EQ(seoul.time, "16:30");
    EXPECT_EQ(seoul.offset, "UTC+09:00");
    EXPECT_EQ(seoul.abbreviation, "KST");
    EXPECT_EQ(seoul.utc_offset, std::chrono::minutes(540));
    // Berlin: CET in November, CEST in July.
    EXPECT_EQ(ToLocal(kNovember, "Europe/Berlin").time, "08:30");
    EXPECT_EQ(ToLocal(kNovember, "Europe/Berlin").offset, "UTC+01:00");
    EXPECT_EQ(ToLocal(kJuly, "Europe/Berlin").time, "14:00");
    EXPECT_EQ(ToLocal(kJuly, "Europe/Berlin").offset, "UTC+02:00");
    // West of Greenwich, and across midnight: 07:30Z is the evening before in Los Angeles.
    const LocalTime la = ToLocal(kNovember, "America/Los_Angeles");
    EXPECT_EQ(la.date, "2026-11-22");
    EXPECT_EQ(la.time, "23:30");
    EXPECT_EQ(la.offset, "UTC-08:00");
    // Half-hour zones.
    EXPECT_EQ(ToLocal(kNovember, "Asia/Kolkata").time, "13:00");
}

TEST(TimeZoneTest, AZoneThatIsNotOneFallsBackInsteadOfFailing) {
    const LocalTime t = ToLocal(kNovember, "Not/AZone");
    EXPECT_EQ(t.zone, "Asia/Seoul");
    EXPECT_EQ(t.time, "16:30");
    const LocalTime utc = ToLocal(kNovember, "Not/AZone", "Nor/This");
    EXPECT_EQ(utc.zone, "UTC");
    EXPECT_EQ(utc.time, "07:30");
}

}  // namespace
}  // namespace vg::tz
