// EventJudge as the server drives it: a wearer's stream judged window by window, keeping only what the next
// judgement may read, gives the same impacts and probabilities as the whole recording judged at once.
#include "vg/fall/event_judge.hpp"

#include <gtest/gtest.h>

#include "fall_test_support.hpp"
#include "vg/posture/native/native_classifier.hpp"

namespace vg::fall {
namespace {

TEST(EventJudge, WindowByWindowJudgesEveryImpactOnceAsTheWholeRecordingDoes) {
    auto model = FallEventModel::Load(VG_MODELS_DIR);
    if (!model.ok()) GTEST_SKIP() << "no shipped fall event model: " << model.status().message();
    VG_REQUIRE_DATA_SET("sisfall");  // and WEDA-FALL and HIFD where they are there
    auto network = posture::native::LoadNativeClassifier(VG_MODELS_DIR);
    ASSERT_TRUE(network.ok()) << network.status().ToString();
    const EventJudge judge(*model, **network);
    size_t trials = 0, impacts = 0;
    for (imu::DatasetId d : {imu::DatasetId::kSisFall, imu::DatasetId::kWedaFall, imu::DatasetId::kHifd}) {
        if (!testing::HaveData(d)) continue;
        for (const imu::TrialInfo& info : testing::FallTrials(d, imu::Split::kTest, 2)) {
            auto loaded = testing::LoadSeries(info);
            ASSERT_TRUE(loaded.has_value()) << info.path;
            const SampleStream stream = testing::StreamOf(loaded->series, info);
            // Whole windows only, as a watch sends them.
            const size_t n = stream.samples.size() / posture::kWindowSamples * posture::kWindowSamples;
            const auto all = stream.samples.first(n);
            auto whole = judge.Judge(all, 0, 0, stream.placement, stream.gravity_removed);
            ASSERT_TRUE(whole.ok()) << whole.status().ToString();

            std::vector<posture::StreamSample> kept;
            int64_t first = 0, from = 0;
            std::vector<posture::JudgedImpact> streamed;
            for (size_t w = 0; w < n; w += posture::kWindowSamples) {
                kept.insert(kept.end(), all.begin() + static_cast<std::ptrdiff_t>(w),
                            all.begin() + static_cast<std::ptrdiff_t>(w + posture::kWindowSamples));
                auto j = judge.Judge(kept, first, from, stream.placement, stream.gravity_removed);
                ASSERT_TRUE(j.ok()) << j.status().ToString();
                streamed.insert(streamed.end(), j->impacts.begin(), j->impacts.end());
                from = std::max(from, j->next_from);
                const int64_t keep_from = from - static_cast<int64_t>(judge.context_before());
                if (keep_from > first) {
                    kept.erase(kept.begin(), kept.begin() + (keep_from - first));
                    first = keep_from;
                }
            }
            ASSERT_EQ(streamed.size(), whole->impacts.size()) << info.path;
            for (size_t k = 0; k < streamed.size(); ++k) {
                EXPECT_EQ(streamed[k].sample, whole->impacts[k].sample) << info.path;
                EXPECT_EQ(streamed[k].probability, whole->impacts[k].probability) << info.path;
                EXPECT_EQ(streamed[k].fall, whole->impacts[k].fall) << info.path;
            }
            EXPECT_LE(kept.size(), judge.context_before() + kSamplesAfter + posture::kWindowSamples);
            ++trials;
            impacts += streamed.size();
        }
    }
    ASSERT_GT(trials, 0U);
    EXPECT_GT(impacts, 0u);
}

}  // namespace
}  // namespace vg::fall
