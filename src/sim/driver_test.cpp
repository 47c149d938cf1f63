#include "vg/sim/driver.hpp"

#include <gtest/gtest.h>

namespace vg::sim {
namespace {

TEST(DriverTest, MaxSpeedWindowStartsAtTheScenariosLocalTimeAndEndsBeforeNow) {
    Scenario s;
    s.duration = std::chrono::hours(2);
    s.utc_offset_minutes = 9 * 60;
    s.start_time_of_day = std::chrono::hours(8);
    // 2026-11-23T12:00:00Z is 21:00 in Korea: the latest 08:00 KST whose 2 h window ends before now is
    // today's, 2026-11-22T23:00:00Z.
    const TimePoint now = FromUnixMillis(1'795'392'000'000 + 12 * 3'600'000);
    EXPECT_EQ(MaxSpeedWindowStart(now, s), FromUnixMillis(1'795'392'000'000 - 3'600'000));
    // At 09:30 KST (00:30Z) the window 08:00–10:00 would not have ended: yesterday's 08:00 it is.
    const TimePoint early = FromUnixMillis(1'795'392'000'000 + 30 * 60'000);
    EXPECT_EQ(MaxSpeedWindowStart(early, s), FromUnixMillis(1'795'392'000'000 - 3'600'000 - 86'400'000));
    for (int minutes = 0; minutes < 48 * 60; minutes += 37) {
        const TimePoint t = now + std::chrono::minutes(minutes);
        const TimePoint start = MaxSpeedWindowStart(t, s);
        EXPECT_LE(start + s.duration, t - std::chrono::minutes(1));
        EXPECT_GT(start + s.duration, t - std::chrono::hours(25));
        EXPECT_EQ((ToUnixMillis(start) + 9 * 3'600'000) % 86'400'000, 8 * 3'600'000);
    }
}

TEST(DriverTest, BadOptionsAreRefusedBeforeAnythingIsSent) {
    Scenario s;
    DriverOptions o;
    o.server = "https://example.org";
    EXPECT_EQ(RunSimulation(s, o).status().fields().at(0).field, "server");
    o.server = "http://127.0.0.1:1";
    o.batch = 5000;
    EXPECT_EQ(RunSimulation(s, o).status().fields().at(0).field, "batch");
    o.batch = 60;
    o.connections = 0;
    EXPECT_EQ(RunSimulation(s, o).status().fields().at(0).field, "connections");
    o.connections = 4;
    o.timeout = std::chrono::seconds(2);
    EXPECT_EQ(RunSimulation(s, o).status().code(), ErrorCode::kUnavailable);  // nothing listens on port 1
}

}  // namespace
}  // namespace vg::sim
