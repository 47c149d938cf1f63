// FallSuspicionStore (fall_suspicions.hpp): suspected falls not decided yet.

#include <chrono>

#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

using std::chrono::minutes;

TEST_P(StoreConformance, FallSuspicionsAreOnePerWearerAndClearedIdempotently) {
    const int64_t kim = CreateUserOrDie("suspected_kim");
    const int64_t lee = CreateUserOrDie("suspected_lee");
    EXPECT_TRUE(store().ListFallSuspicions()->empty());
    const TimePoint device = FromUnixMillis(1'799'999'000'000);  // the watch's clock, behind the server's
    // lee first: the list is by wearer, not by time saved.
    ASSERT_TRUE(store().SaveFallSuspicion({lee, device, 0, device, kT0, kT0, kT0}).ok());
    FallSuspicion first{kim, device, 0, device, kT0, kT0, kT0};
    ASSERT_TRUE(store().SaveFallSuspicion(first).ok());
    // A later state of the same suspicion replaces the first: one row per wearer.
    FallSuspicion later{kim, device,          1, device + std::chrono::milliseconds(2560), kT0 + minutes(1),
                        kT0, kT0 + minutes(1)};
    ASSERT_TRUE(store().SaveFallSuspicion(later).ok());
    auto listed = store().ListFallSuspicions();
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    ASSERT_EQ(listed->size(), 2u);
    const FallSuspicion& k = (*listed)[0];  // by wearer
    EXPECT_EQ(k.wearer, kim);
    EXPECT_EQ(k.impact_at, later.impact_at);
    EXPECT_EQ(k.still_run, 1);
    EXPECT_EQ(k.last_end, later.last_end);
    EXPECT_EQ(k.last_received, later.last_received);
    EXPECT_EQ(k.raised_at, kT0);
    EXPECT_EQ(k.updated_at, kT0 + minutes(1));
    EXPECT_EQ((*listed)[1].wearer, lee);

    ASSERT_TRUE(store().ClearFallSuspicion(kim).ok());
    EXPECT_TRUE(store().ClearFallSuspicion(kim).ok()) << "clearing twice is not an error";
    EXPECT_TRUE(store().ClearFallSuspicion(999'999).ok()) << "nor clearing an unknown wearer";
    ASSERT_EQ(store().ListFallSuspicions()->size(), 1u);
    EXPECT_EQ(store().ListFallSuspicions()->front().wearer, lee);

    EXPECT_EQ(store().SaveFallSuspicion({999'999, device, 0, device, kT0, kT0, kT0}).code(), ErrorCode::kNotFound);
    FallSuspicion negative = first;
    negative.still_run = -1;
    EXPECT_EQ(store().SaveFallSuspicion(negative).code(), ErrorCode::kInternal);  // a caller's bug
    ASSERT_EQ(store().ListFallSuspicions()->size(), 1u) << "neither refused suspicion was stored";
    // A cleared wearer may be suspected again.
    ASSERT_TRUE(store().SaveFallSuspicion(first).ok());
    EXPECT_EQ(store().ListFallSuspicions()->size(), 2u);
}

}  // namespace
}  // namespace vg::store::conformance
