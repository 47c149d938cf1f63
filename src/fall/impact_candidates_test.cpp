#include "vg/fall/impact_candidates.hpp"

#include <gtest/gtest.h>

#include "fall_test_support.hpp"

namespace vg::fall {
namespace {

// `n` samples of a device at rest (1 g on y), with |a| = peaks[k] at sample k.
std::vector<ImuSample> AtRest(size_t n, const std::map<size_t, float>& peaks, bool gravity_removed = false) {
    std::vector<ImuSample> s(n, ImuSample{0, gravity_removed ? 0.0F : 1.0F, 0, 0, 0, 0});
    for (const auto& [k, g] : peaks) s[k] = ImuSample{0, g, 0, 0, 0, 0};
    return s;
}

TEST(ImpactCandidates, LocalMaximaAboveTheThresholdAtLeastASecondApart) {
    // 3 g at 100; 2 g at 130 (within 1 s of a larger peak: suppressed); 1.4 g at 250 (below 1.5 g);
    // 2.5 g at 300 and 2.5 g at 340 (equal: the earlier wins); 1.6 g at 500.
    const auto samples = AtRest(700, {{100, 3.0F}, {130, 2.0F}, {250, 1.4F}, {300, 2.5F}, {340, 2.5F}, {500, 1.6F}});
    EXPECT_EQ(FindImpactCandidates({samples}), (std::vector<size_t>{100, 300, 500}));
}

TEST(ImpactCandidates, GravityRemovedHasItsOwnThreshold) {
    const auto samples = AtRest(400, {{100, 1.2F}, {250, 0.8F}}, /*gravity_removed=*/true);
    EXPECT_EQ(FindImpactCandidates({samples, posture::Placement::kWrist, true}), (std::vector<size_t>{100}));
    // The same signal read as if gravity were present: 1.2 g is everyday movement.
    EXPECT_TRUE(FindImpactCandidates({samples, posture::Placement::kWrist, false}).empty());
}

TEST(ImpactCandidates, OnlyPeaksWithASecondOnBothSides) {
    const auto samples = AtRest(300, {{20, 3.0F}, {150, 3.0F}, {280, 3.0F}});
    EXPECT_EQ(FindImpactCandidates({samples}), (std::vector<size_t>{150}));
}

TEST(ImpactCandidates, AppendingSamplesNeverChangesACandidateFound) {
    // A streaming caller asks again as samples arrive; what it was told stays true.
    const auto all = AtRest(1000, {{100, 2.0F}, {160, 2.5F}, {400, 3.0F}, {449, 3.5F}, {700, 1.8F}});
    std::vector<size_t> told;
    for (size_t n = 101; n <= all.size(); n += 7) {
        const std::vector<size_t> now = FindImpactCandidates({std::span(all).first(n)});
        ASSERT_GE(now.size(), told.size());
        EXPECT_TRUE(std::equal(told.begin(), told.end(), now.begin())) << "at " << n << " samples";
        told = now;
    }
    EXPECT_EQ(told, (std::vector<size_t>{100, 160, 449, 700}));
}

// The labelled impact of real falls (imu::LabelSamples, the |a| peak) is a candidate, on every data set and
// placement; the whole training split's recall is in the model's manifest.
TEST(ImpactCandidates, RealFallImpactsAreCandidates) {
    VG_REQUIRE_DATA_SET("sisfall");  // and every other data set that is there
    size_t checked = 0;
    for (imu::DatasetId d : imu::kAllDatasets) {
        if (!testing::HaveData(d)) continue;
        for (const imu::TrialInfo& info : testing::FallTrials(d, imu::Split::kTrain, 6)) {
            auto loaded = testing::LoadSeries(info);
            ASSERT_TRUE(loaded.has_value()) << info.path;
            ASSERT_TRUE(loaded->impact.has_value()) << info.path;
            const auto candidates = FindImpactCandidates(testing::StreamOf(loaded->series, info));
            const size_t impact = *loaded->impact;
            const bool found = std::any_of(candidates.begin(), candidates.end(), [&](size_t c) {
                return (c > impact ? c - impact : impact - c) <= static_cast<size_t>(kRateHz);
            });
            EXPECT_TRUE(found) << info.path << ": impact at sample " << impact;
            ++checked;
        }
    }
    EXPECT_GT(checked, 0U);
}

}  // namespace
}  // namespace vg::fall
