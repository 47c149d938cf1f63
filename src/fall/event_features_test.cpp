#include "vg/fall/event_features.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "fall_test_support.hpp"

namespace vg::fall {
namespace {

size_t Index(std::string_view name) {
    const auto names = EventFeatureNames();
    return static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

// Returns, for the k-th window of a call, Fall 0.1·(k+1), Lying 0.5 − 0.1·k, Standing and Sitting 0.05 each,
// Walking 0.1, Running 0.02, Other 0.03; and keeps the windows it was given.
class RecordingClassifier : public posture::PostureClassifier {
  public:
    Result<std::vector<posture::PosturePrediction>> Classify(
        std::span<const posture::ModelWindow> windows) const override {
        seen_.assign(windows.begin(), windows.end());
        std::vector<posture::PosturePrediction> out;
        for (size_t k = 0; k < windows.size(); ++k) {
            std::array<float, posture::kNumModelClasses> p{};
            p[static_cast<size_t>(posture::Posture::kFall)] = 0.1F * static_cast<float>(k + 1);
            p[static_cast<size_t>(posture::Posture::kLying)] = 0.5F - 0.1F * static_cast<float>(k);
            p[static_cast<size_t>(posture::Posture::kStanding)] = 0.05F;
            p[static_cast<size_t>(posture::Posture::kSitting)] = 0.05F;
            p[static_cast<size_t>(posture::Posture::kWalking)] = 0.1F;
            p[static_cast<size_t>(posture::Posture::kRunning)] = 0.02F;
            p[posture::kOtherClass] = 0.03F;
            out.push_back(posture::PredictionFromProbabilities(p));
        }
        return out;
    }
    const posture::ClassifierInfo& info() const override { return info_; }
    mutable std::vector<posture::ModelWindow> seen_;  // tests only: one caller

  private:
    posture::ClassifierInfo info_{"recording", 0.5F};
};

// Standing upright (1 g on y), 0.3 s of free fall (0.1 g), a 3 g impact, then lying still on the side (1 g on x).
constexpr size_t kImpact = 150;
std::vector<ImuSample> SyntheticFall() {
    std::vector<ImuSample> s(400, ImuSample{0, 1, 0, 0, 0, 0});
    for (size_t k = kImpact - 15; k < kImpact; ++k) s[k] = ImuSample{0, 0.1F, 0, 0, 0, 0};
    const float diagonal = 3.0F / std::sqrt(2.0F);
    s[kImpact] = ImuSample{diagonal, diagonal, 0, 0, 0, 0};
    for (size_t k = kImpact + 1; k < s.size(); ++k) s[k] = ImuSample{1, 0, 0, 0, 0, 0};
    return s;
}

TEST(EventFeatures, NamesAreUniqueAndGrouped) {
    const auto names = EventFeatureNames();
    std::set<std::string_view> unique(names.begin(), names.end());
    EXPECT_EQ(unique.size(), kNumEventFeatures);
    EXPECT_EQ(FeatureGroupOf(Index("placement_waist")), FeatureGroup::kContext);
    EXPECT_EQ(FeatureGroupOf(Index("post_periodicity")), FeatureGroup::kImpact);
    EXPECT_EQ(FeatureGroupOf(Index("net_fall_max")), FeatureGroup::kNetwork);
    EXPECT_EQ(FeatureGroupOf(Index("net_other_after")), FeatureGroup::kNetwork);
}

TEST(EventFeatures, SyntheticFallFreeFallImpactThenLyingStillOnTheSide) {
    const std::vector<ImuSample> samples = SyntheticFall();
    RecordingClassifier network;
    const size_t impacts[] = {kImpact};
    auto features = ComputeEventFeatures({samples, posture::Placement::kWaist, false}, impacts, network);
    ASSERT_TRUE(features.ok()) << features.status().ToString();
    const EventFeatures& f = (*features)[0];
    auto at = [&](std::string_view name) { return f[Index(name)]; };
    EXPECT_EQ(at("placement_waist"), 1.0F);
    EXPECT_EQ(at("gravity_removed"), 0.0F);
    EXPECT_NEAR(at("peak_acc_g"), 3.0, 1e-5);
    EXPECT_NEAR(at("freefall_min_acc_g"), 0.1, 1e-6);
    EXPECT_NEAR(at("freefall_s"), 0.3, 1e-6);  // 15 samples
    // 15 samples of 0.1 g against 1 g of gravity: 15 · 0.9 g / 50 Hz downwards.
    EXPECT_NEAR(at("vertical_velocity_m_s"), -15 * 0.9 * 9.80665 / 50, 1e-4);
    // The largest step is into the impact: from (0, 0.1, 0) to (2.12, 2.12, 0), at 50 Hz.
    const double d = 3.0 / std::sqrt(2.0);
    EXPECT_NEAR(at("impact_jerk_g_per_s"), std::hypot(d, d - 0.1) * 50, 1e-3);
    // ±0.5 s: 10 samples of 1 g, 15 of 0.1 g, the 3 g impact, 25 of 1 g.
    const double mean = (35 * 1.0 + 15 * 0.1 + 3.0) / 51, mean_sq = (35 * 1.0 + 15 * 0.01 + 9.0) / 51;
    EXPECT_NEAR(at("impact_acc_std_g"), std::sqrt(mean_sq - mean * mean), 1e-5);
    EXPECT_NEAR(at("impact_gyro_max_dps"), 0, 1e-6);
    EXPECT_EQ(at("peaks_before"), 0);  // one blow
    EXPECT_EQ(at("peaks_after"), 0);
    EXPECT_NEAR(at("pre_acc_std_g"), 0, 1e-6);
    EXPECT_NEAR(at("pre_gyro_rms_dps"), 0, 1e-6);
    EXPECT_NEAR(at("orientation_change_deg"), 90, 1e-3);  // upright → on the side
    EXPECT_NEAR(at("post_acc_std_g"), 0, 1e-6);           // lying still
    EXPECT_NEAR(at("post_acc_std_late_g"), 0, 1e-6);
    EXPECT_NEAR(at("post_gyro_rms_dps"), 0, 1e-6);
    EXPECT_NEAR(at("post_acc_max_g"), 1, 1e-6);
    EXPECT_NEAR(at("post_periodicity"), 0, 1e-6);

    // The network saw the three windows holding the impact, then the one ending 3.5 s after it.
    ASSERT_EQ(network.seen_.size(), 4U);
    auto sample = [&](size_t window, size_t t, size_t c) { return network.seen_[window].values[t * 6 + c]; };
    EXPECT_NEAR(sample(0, 64, 0), d, 1e-6);  // the impact, 1.28 s into the first window
    EXPECT_NEAR(sample(1, 48, 0), d, 1e-6);
    EXPECT_NEAR(sample(2, 32, 0), d, 1e-6);
    EXPECT_EQ(network.seen_[0].placement, posture::Placement::kWaist);
    EXPECT_FALSE(network.seen_[0].gravity_removed);
    EXPECT_EQ(sample(3, 127, 0), 1.0F);  // lying on the side up to the span's end
    EXPECT_NEAR(at("net_fall_max"), 0.3, 1e-6);
    EXPECT_NEAR(at("net_fall_mean"), 0.2, 1e-6);
    EXPECT_NEAR(at("net_locomotion_impact"), 0.12, 1e-6);
    EXPECT_NEAR(at("net_other_impact"), 0.03, 1e-6);
    EXPECT_NEAR(at("net_fall_after"), 0.4, 1e-6);
    EXPECT_NEAR(at("net_lying_after"), 0.2, 1e-6);
    EXPECT_NEAR(at("net_upright_after"), 0.1, 1e-6);
    EXPECT_NEAR(at("net_locomotion_after"), 0.12, 1e-6);
    EXPECT_NEAR(at("net_other_after"), 0.03, 1e-6);
}

TEST(EventFeatures, WithoutGravityFreeFallAndOrientationAreMissing) {
    const std::vector<ImuSample> samples = SyntheticFall();  // the flag, not the signal, decides
    RecordingClassifier network;
    const size_t impacts[] = {kImpact};
    auto features = ComputeEventFeatures({samples, posture::Placement::kWrist, true}, impacts, network);
    ASSERT_TRUE(features.ok());
    const EventFeatures& f = (*features)[0];
    EXPECT_EQ(f[Index("gravity_removed")], 1.0F);
    EXPECT_EQ(f[Index("placement_waist")], 0.0F);
    EXPECT_TRUE(std::isnan(f[Index("freefall_min_acc_g")]));
    EXPECT_TRUE(std::isnan(f[Index("freefall_s")]));
    EXPECT_TRUE(std::isnan(f[Index("orientation_change_deg")]));
    EXPECT_TRUE(std::isnan(f[Index("vertical_velocity_m_s")]));
    EXPECT_TRUE(network.seen_[0].gravity_removed);
}

TEST(EventFeatures, RepeatedBlowsAreCountedBeforeAndAfter) {
    // Clapping: 2.5 g blows every 0.4 s, on a wrist at rest otherwise; the event is the one at kImpact.
    std::vector<ImuSample> samples(400, ImuSample{0, 1, 0, 0, 0, 0});
    for (size_t k = kImpact - 60; k <= kImpact + 160; k += 20) samples[k] = ImuSample{0, 2.5F, 0, 0, 0, 0};
    samples[kImpact] = ImuSample{0, 3.0F, 0, 0, 0, 0};
    testing::SignalClassifier network;
    const size_t impacts[] = {kImpact};
    auto features = ComputeEventFeatures({samples}, impacts, network);
    ASSERT_TRUE(features.ok());
    EXPECT_EQ((*features)[0][Index("peaks_before")], 3);  // at −60, −40 and −20 samples
    EXPECT_EQ((*features)[0][Index("peaks_after")], 8);   // at +20 … +160
}

TEST(EventFeatures, AnEventWithoutItsWholeSpanIsRefused) {
    const std::vector<ImuSample> samples = SyntheticFall();
    testing::SignalClassifier network;
    EXPECT_TRUE(HasEventContext(samples.size(), kSamplesBefore));
    EXPECT_FALSE(HasEventContext(samples.size(), kSamplesBefore - 1));
    EXPECT_TRUE(HasEventContext(samples.size(), samples.size() - 1 - kSamplesAfter));
    EXPECT_FALSE(HasEventContext(samples.size(), samples.size() - kSamplesAfter));
    const size_t impacts[] = {kImpact, samples.size() - 10};
    auto features = ComputeEventFeatures({samples}, impacts, network);
    ASSERT_FALSE(features.ok());
    EXPECT_EQ(features.status().code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(features.status().fields().at(0).field, "impacts[1]");
}

TEST(EventFeatures, SamplesOutsideTheSpanChangeNothing) {
    std::vector<ImuSample> samples = SyntheticFall();
    testing::SignalClassifier network;
    const size_t impacts[] = {kImpact};
    auto before = ComputeEventFeatures({samples}, impacts, network);
    for (size_t k = 0; k < kImpact - kSamplesBefore; ++k) samples[k] = ImuSample{2, -1, 0.5F, 90, 0, -40};
    for (size_t k = kImpact + kSamplesAfter + 1; k < samples.size(); ++k) samples[k] = ImuSample{-3, 0, 1, 0, 200, 0};
    auto after = ComputeEventFeatures({samples}, impacts, network);
    ASSERT_TRUE(before.ok() && after.ok());
    for (size_t f = 0; f < kNumEventFeatures; ++f) {
        EXPECT_TRUE((*before)[0][f] == (*after)[0][f] || (std::isnan((*before)[0][f]) && std::isnan((*after)[0][f])))
            << EventFeatureNames()[f];
    }
}

// No feature knows where the event lies in its recording: a real trial shifted by 3 s (its first sample
// repeated) gives the same candidates, 150 samples later, with the same features.
TEST(EventFeatures, ShiftingARealTrialChangesNoFeature) {
    VG_REQUIRE_DATA_SET("sisfall");  // and every other data set that is there
    testing::SignalClassifier network;
    size_t compared = 0;
    for (imu::DatasetId d : imu::kAllDatasets) {
        if (!testing::HaveData(d)) continue;
        for (const imu::TrialInfo& info : testing::FallTrials(d, imu::Split::kTrain, 2)) {
            auto loaded = testing::LoadSeries(info);
            ASSERT_TRUE(loaded.has_value()) << info.path;
            const SampleStream stream = testing::StreamOf(loaded->series, info);
            std::vector<size_t> scored;
            for (size_t c : FindImpactCandidates(stream)) {
                if (HasEventContext(stream.samples.size(), c)) scored.push_back(c);
            }
            auto original = ComputeEventFeatures(stream, scored, network);
            ASSERT_TRUE(original.ok()) << original.status().ToString();

            constexpr size_t kShift = 150;
            std::vector<ImuSample> shifted(kShift, stream.samples.front());
            shifted.insert(shifted.end(), stream.samples.begin(), stream.samples.end());
            const SampleStream shifted_stream{shifted, stream.placement, stream.gravity_removed};
            const std::vector<size_t> shifted_candidates = FindImpactCandidates(shifted_stream);
            std::vector<size_t> moved;
            for (size_t c : scored) {
                EXPECT_TRUE(std::find(shifted_candidates.begin(), shifted_candidates.end(), c + kShift) !=
                            shifted_candidates.end())
                    << info.path << ": candidate " << c;
                moved.push_back(c + kShift);
            }
            auto again = ComputeEventFeatures(shifted_stream, moved, network);
            ASSERT_TRUE(again.ok());
            for (size_t e = 0; e < scored.size(); ++e) {
                for (size_t f = 0; f < kNumEventFeatures; ++f) {
                    const float a = (*original)[e][f], b = (*again)[e][f];
                    EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b)))
                        << info.path << " candidate " << scored[e] << " " << EventFeatureNames()[f] << ": " << a
                        << " vs " << b;
                }
                ++compared;
            }
        }
    }
    EXPECT_GT(compared, 0U);
}

}  // namespace
}  // namespace vg::fall
