#include "vg/live/stream_registry.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vg::live {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const StreamTime kT0{milliseconds(1'700'000'000'000)};

struct Ended {
    std::vector<std::pair<uint16_t, std::string>> calls;
    StreamEnder Ender() {
        return [this](uint16_t code, const std::string& reason) { calls.emplace_back(code, reason); };
    }
};

TEST(StreamRegistryTest, CapsStreamsPerUserAndAClosedStreamGivesItsPlaceBack) {
    StreamRegistry registry(2);
    auto a = registry.Reserve(1, "s1", kT0 + seconds(60));
    auto b = registry.Reserve(1, "s2", kT0 + seconds(60));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(registry.Reserve(1, "s1", kT0 + seconds(60)), nullptr);
    EXPECT_NE(registry.Reserve(2, "s9", kT0 + seconds(60)), nullptr) << "another user is not affected";
    a.reset();  // the connection's callbacks are gone
    EXPECT_EQ(registry.streams_of(1), 1u);
    EXPECT_NE(registry.Reserve(1, "s1", kT0 + seconds(60)), nullptr);
}

TEST(StreamRegistryTest, EndSessionEndsOnlyThatSessionsStreams) {
    StreamRegistry registry(8);
    Ended ended, other;
    auto a = registry.Reserve(1, "s1", kT0 + seconds(60));
    auto b = registry.Reserve(1, "s1", kT0 + seconds(60));
    auto c = registry.Reserve(1, "s2", kT0 + seconds(60));
    a->Attach(ended.Ender());
    b->Attach(ended.Ender());
    c->Attach(other.Ender());
    EXPECT_EQ(registry.EndSession("s1", "logged out"), 2);
    ASSERT_EQ(ended.calls.size(), 2u);
    EXPECT_EQ(ended.calls[0].first, StreamRegistry::kSessionEnded);
    EXPECT_EQ(ended.calls[0].second, "logged out");
    EXPECT_TRUE(other.calls.empty());
    EXPECT_EQ(registry.EndSession("s1", "again"), 0);
}

TEST(StreamRegistryTest, AStreamWhoseSessionEndedBeforeItsConnectionExistedEndsAtAttach) {
    StreamRegistry registry(8);
    Ended ended;
    auto a = registry.Reserve(1, "s1", kT0 + seconds(60));
    registry.EndSession("s1", "logged out");
    a->Attach(ended.Ender());
    EXPECT_EQ(ended.calls.size(), 1u);
}

TEST(StreamRegistryTest, SweepChecksDueSessionsAndEndsThoseThatAreOver) {
    StreamRegistry registry(8);
    Ended short_lived, long_lived;
    auto a = registry.Reserve(1, "short", kT0 + seconds(2));
    auto b = registry.Reserve(2, "long", kT0 + seconds(60));
    a->Attach(short_lived.Ender());
    b->Attach(long_lived.Ender());
    std::vector<std::string> asked;
    auto check = [&](const std::string& key) -> std::optional<StreamTime> {
        asked.push_back(key);
        return key == "short" ? kT0 + seconds(2) : kT0 + seconds(60);
    };
    EXPECT_EQ(registry.Sweep(kT0, seconds(5), check, "expired"), 0);
    EXPECT_EQ(asked.size(), 2u) << "never checked: both are due";
    asked.clear();
    EXPECT_EQ(registry.Sweep(kT0 + seconds(1), seconds(5), check, "expired"), 0);
    EXPECT_TRUE(asked.empty()) << "nothing due";
    EXPECT_EQ(registry.Sweep(kT0 + seconds(2), seconds(5), check, "expired"), 1);
    EXPECT_EQ(asked, std::vector<std::string>{"short"});
    ASSERT_EQ(short_lived.calls.size(), 1u);
    EXPECT_EQ(short_lived.calls[0].second, "expired");
    EXPECT_TRUE(long_lived.calls.empty());
    // A session that was used meanwhile (idle end moved later) is kept; one that is gone is ended.
    asked.clear();
    auto gone = [&](const std::string&) -> std::optional<StreamTime> { return std::nullopt; };
    EXPECT_EQ(registry.Sweep(kT0 + seconds(6), seconds(5), gone, "ended"), 1);
    EXPECT_EQ(long_lived.calls.size(), 1u);
}

}  // namespace
}  // namespace vg::live
