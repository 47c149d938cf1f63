#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "../fall_test_support.hpp"
#include "vg/fall/fall_event_model.hpp"
#include "vg/fall/training/event_data.hpp"
#include "vg/fall/training/fall_model_training.hpp"

namespace vg::fall::training {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

TEST(Proportion, WilsonIntervalsOfKnownCounts) {
    const Proportion none{0, 10};
    EXPECT_NEAR(none.low(), 0.0, 1e-6);
    EXPECT_NEAR(none.high(), 0.2775, 1e-4);
    const Proportion half{5, 10};
    EXPECT_NEAR(half.low(), 0.2366, 1e-4);
    EXPECT_NEAR(half.high(), 0.7634, 1e-4);
    const Proportion all{20, 20};
    EXPECT_NEAR(all.low(), 0.8389, 1e-4);
    EXPECT_NEAR(all.high(), 1.0, 1e-9);
    EXPECT_EQ(Proportion{}.rate(), 0);
}

// Events of hand-made trials: (trial, impact sample, label, probability).
struct Synthetic {
    EventData data;
    std::vector<float> probabilities;

    uint32_t AddTrial(imu::Placement placement, imu::Split split, bool fall, double duration_s = 20) {
        TrialRecord t;
        t.placement = placement;
        t.split = split;
        t.is_fall_trial = fall;
        t.duration_s = duration_s;
        t.subject = "S" + std::to_string(data.trials.size());
        if (fall) t.impact = 500;
        data.trials.push_back(t);
        return static_cast<uint32_t>(data.trials.size() - 1);
    }
    void AddEvent(uint32_t trial, size_t impact, float probability) {
        EventRow row;
        row.trial = trial;
        row.impact = impact;
        row.label = data.trials[trial].is_fall_trial ? (impact == 500 ? 1 : -1) : 0;
        data.events.push_back(row);
        probabilities.push_back(probability);
    }
};

TEST(EvaluateTrials, AFallCountsOnlyWhenFoundAtItsImpact) {
    Synthetic s;
    const auto test = imu::Split::kTest;
    const uint32_t found = s.AddTrial(imu::Placement::kWrist, test, true);
    s.AddEvent(found, 500 + 80, 0.9F);  // 1.6 s after the impact: within the 2 s
    const uint32_t elsewhere = s.AddTrial(imu::Placement::kWrist, test, true);
    s.AddEvent(elsewhere, 500, 0.1F);
    s.AddEvent(elsewhere, 100, 0.95F);  // 8 s before the impact: not this fall
    const uint32_t unscored = s.AddTrial(imu::Placement::kWrist, test, true);
    s.AddEvent(unscored, 900, 0.2F);
    const uint32_t quiet = s.AddTrial(imu::Placement::kWrist, test, false, 3600);
    s.AddEvent(quiet, 100, 0.1F);
    const uint32_t noisy = s.AddTrial(imu::Placement::kWrist, test, false, 3600);
    s.AddEvent(noisy, 100, 0.6F);
    s.AddEvent(noisy, 300, 0.7F);
    s.AddEvent(noisy, 600, 0.2F);
    s.AddTrial(imu::Placement::kWaist, imu::Split::kValidation, true);  // another split: not counted

    const TrialEvaluation ev = EvaluateTrials(s.data, s.probabilities, {0.5F, 0.5F}, test);
    const GroupOutcome* wrist = ev.Find("wrist");
    ASSERT_NE(wrist, nullptr);
    EXPECT_EQ(wrist->falls.k, 1U);
    EXPECT_EQ(wrist->falls.n, 3U);
    EXPECT_EQ(wrist->falls_not_scored, 1U);
    EXPECT_EQ(wrist->falls_found_elsewhere, 1U);
    EXPECT_EQ(wrist->adl_false.k, 1U);
    EXPECT_EQ(wrist->adl_false.n, 2U);
    EXPECT_EQ(wrist->adl_false_decisions, 2U);
    EXPECT_NEAR(wrist->false_per_hour(), 1.0, 1e-9);
    EXPECT_EQ(ev.Find("waist"), nullptr);
    EXPECT_EQ(ev.Find("all")->falls.n, 3U);
    EXPECT_NE(ev.ToText().find("1/3"), std::string::npos) << ev.ToText();
}

TEST(ChooseThresholds, HighestThresholdKeepingTheValidationRecall) {
    Synthetic s;
    // 50 wrist validation falls scored 0.02, 0.04, …, 1.00: detecting ≥ 98 % (49) allows one miss, so the
    // threshold is the second-lowest score.
    for (int k = 1; k <= 50; ++k) {
        s.AddEvent(s.AddTrial(imu::Placement::kWrist, imu::Split::kValidation, true), 500, 0.02F * k);
    }
    // Waist: test falls only (never used), so the waist keeps 0.5.
    s.AddEvent(s.AddTrial(imu::Placement::kWaist, imu::Split::kTest, true), 500, 0.01F);
    const PlacementThresholds t = ChooseThresholds(s.data, s.probabilities, ThresholdRule{0.98});
    EXPECT_FLOAT_EQ(t[0], 0.04F);
    EXPECT_FLOAT_EQ(t[1], 0.5F);
    EXPECT_FLOAT_EQ(ChooseThresholds(s.data, s.probabilities, ThresholdRule{0.5})[0], 0.52F);
}

TEST(AblationFeatureSets, ShippedSetFirstAndEverySetKeepsTheContext) {
    const auto sets = AblationFeatureSets();
    ASSERT_GE(sets.size(), 4U);
    EXPECT_EQ(sets[0].features.size(), kNumEventFeatures);
    for (const FeatureSet& set : sets) {
        EXPECT_EQ(set.features[0], 0U) << set.name;
        EXPECT_EQ(set.features[1], 1U) << set.name;
    }
}

// A slice of SisFall: two activities and two falls of a few subjects from each split.
bool InSlice(const imu::TrialInfo& t) {
    if (t.dataset != imu::DatasetId::kSisFall) return false;
    static const std::set<std::string> codes = {"D01", "D18", "D19", "F01", "F04", "F05"};
    static const std::set<std::string> subjects = [] {
        std::map<imu::Split, int> taken;
        std::set<std::string> out;
        for (const auto& info : testing::Listed(imu::DatasetId::kSisFall)) {
            if (out.contains(info.subject) || info.subject.rfind("SA", 0) != 0) continue;
            const imu::Split split = testing::SplitOf(info);
            if (taken[split] < (split == imu::Split::kTrain ? 3 : 1)) {
                ++taken[split];
                out.insert(info.subject);
            }
        }
        return out;
    }();
    return codes.contains(t.activity_code) && subjects.contains(t.subject);
}

TEST(LoadEventData, LabelsOneFallImpactPerFallTrialAndEveryActivityCandidateNegative) {
    VG_REQUIRE_DATA_SET("sisfall");
    testing::SignalClassifier network;
    EventDataOptions options;
    options.include = InSlice;
    auto data = LoadEventData(testing::kData, network, options);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    ASSERT_GT(data->trials.size(), 20U);
    EXPECT_EQ(data->posture_model, "signal-stand-in");
    std::vector<int> positives(data->trials.size(), 0);
    for (const EventRow& e : data->events) {
        const TrialRecord& t = data->trials[e.trial];
        EXPECT_TRUE(HasEventContext(static_cast<size_t>(std::lround(t.duration_s * kRateHz)), e.impact));
        if (!t.is_fall_trial) {
            EXPECT_EQ(e.label, 0);
            continue;
        }
        if (e.label == 1) {
            ++positives[e.trial];
            const size_t distance = e.impact > *t.impact ? e.impact - *t.impact : *t.impact - e.impact;
            EXPECT_LE(distance, 50U);
        }
    }
    for (size_t i = 0; i < data->trials.size(); ++i) {
        const TrialRecord& t = data->trials[i];
        EXPECT_EQ(positives[i], t.is_fall_trial && t.impact_is_scored ? 1 : 0) << t.subject << " " << t.activity_code;
        if (t.is_fall_trial) {
            EXPECT_TRUE(t.impact_is_candidate) << t.subject << " " << t.activity_code;
        }
    }
}

TEST(TrainFallModel, ATinySliceWritesALoadableModel) {
    VG_REQUIRE_DATA_SET("sisfall");
    testing::SignalClassifier network;
    EventDataOptions options;
    options.include = InSlice;
    auto data = LoadEventData(testing::kData, network, options);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    FallTrainSettings settings;
    settings.booster.max_rounds = 20;
    settings.booster.threads = 1;
    settings.ablation = false;
    auto result = TrainFallModel(*data, settings);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->ablation.size(), 1U);
    EXPECT_EQ(result->probabilities.size(), data->events.size());

    const fs::path dir = fs::temp_directory_path() / "vg_fall_training_tiny";
    fs::remove_all(dir);
    ManifestInfo info;
    info.version = "fall-event-tiny";
    info.command = "vg_fall_training_test";
    info.settings = settings;
    ASSERT_TRUE(SaveFallModel(dir, *result, *data, info).ok());
    auto model = FallEventModel::Load(dir);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    EXPECT_EQ(model->version(), "fall-event-tiny");
    EXPECT_TRUE(model->CheckPostureModel(network.info()).ok());
    EXPECT_FLOAT_EQ(model->Threshold(posture::Placement::kWaist), result->thresholds[1]);
    // The served trees give the trained booster's probabilities.
    for (size_t e = 0; e < data->events.size(); e += 7) {
        EXPECT_NEAR(model->Probability(data->events[e].features), result->probabilities[e], 1e-5);
    }
    // The manifest says which subjects trained it and what it scored on the held-out ones.
    std::ifstream in(dir / kManifestFile);
    std::stringstream text;
    text << in.rdbuf();
    const json::object manifest = json::parse(text.str()).as_object();
    EXPECT_EQ(manifest.at("subjects").at("train").at("sisfall").as_array().size(), 3U);
    EXPECT_EQ(manifest.at("subjects").at("test").at("sisfall").as_array().size(), 1U);
    EXPECT_TRUE(manifest.at("metrics").at("test").at("groups").as_object().contains("sisfall/waist"));
    EXPECT_EQ(manifest.at("threshold_rule").as_string(), settings.threshold_rule.Describe());
    fs::remove_all(dir);
}

}  // namespace
}  // namespace vg::fall::training
