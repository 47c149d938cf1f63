// predict_model2's assessment of one reading (predict.hpp) is the detector's verdict for a new wearer
// sending the same values: the same rules, the same features and the same fusion (models::Fuse) with the
// detector's options — levels, causes, rules fired, explanation and the models' outputs all equal.
#include "predict.hpp"

#include <gtest/gtest.h>

#include <random>

#include "vg/detector/detector.hpp"

namespace vg::api {
namespace {

using domain::Level;
using domain::Metric;

// A status model that learnt "a pulse around 105 at rest is caution, around 125 danger" (the adult-default
// rules say caution for 105 only after 30 minutes, and caution for 125), and a cause model that blames the
// heart rate for both.
models::Dataset PulseFleet() {
    models::Dataset d;
    d.has_causes = true;
    std::mt19937 rng(5);
    std::normal_distribution<double> noise(0, 2);
    for (int w = 0; w < 45; ++w) {
        for (int m = 0; m < 40; ++m) {
            models::LabelledReading r;
            r.wearer = "w" + std::to_string(w);
            const int status = m >= 20 ? w % 3 : 0;
            r.reading.measured_at = FromUnixMillis(1'700'000'000'000 + m * 60'000);
            r.reading.set(Metric::kHeartRate, (status == 2 ? 125 : status == 1 ? 105 : 68) + noise(rng));
            r.reading.set(Metric::kSpo2, 97);
            r.reading.set(Metric::kRespirationRate, 15);
            r.reading.set(Metric::kSteps, m % 4);
            r.reading.set(Metric::kCalories, 1.1);
            r.status = status;
            if (status > 0) r.causes = {1, 0, 0, 0};
            d.rows.push_back(r);
        }
    }
    return d;
}

class LastVerdict : public detector::DetectionListener {
  public:
    void OnDetection(int64_t, bus::ReadingEnvelope*, const domain::Detection& d, Level) override { last = d; }
    void OnLateReading(int64_t, bus::ReadingEnvelope&, const domain::Detection&) override { ++late; }
    domain::Detection last;
    int late = 0;
};

class PredictTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        const models::Dataset data = PulseFleet();
        models::TrainSettings settings;
        settings.booster.max_rounds = 40;
        auto status = models::StatusModel::Train(models::ModelKind::kStatus, data, settings);
        auto cause = models::StatusModel::Train(models::ModelKind::kCause, data, settings);
        ASSERT_TRUE(status.ok()) << status.status().ToString();
        ASSERT_TRUE(cause.ok()) << cause.status().ToString();
        status_ = std::make_shared<const models::StatusModel>(std::move(status).value());
        cause_ = std::make_shared<const models::StatusModel>(std::move(cause).value());
    }
    static void TearDownTestSuite() {
        status_.reset();
        cause_.reset();
    }
    void SetUp() override { ASSERT_TRUE(registry_.LoadDirectory(VG_PROFILES_DIR).ok()); }

    static domain::VitalsReading Reading(double hr, double spo2, double rr) {
        domain::VitalsReading r;
        r.measured_at = FromUnixMillis(1'800'000'000'000);
        r.set(Metric::kHeartRate, hr);
        r.set(Metric::kSpo2, spo2);
        r.set(Metric::kRespirationRate, rr);
        r.set(Metric::kSkinTemp, 33.5);
        r.set(Metric::kSteps, 0);
        r.set(Metric::kCalories, 1.1);
        return r;
    }

    // The detector's verdict for a new wearer whose watch sent `reading` FeedCount times, a minute apart.
    domain::Detection DetectorVerdict(detector::Detector& d, int64_t wearer, const domain::VitalsReading& reading,
                                      const models::FusionOptions& options) {
        std::vector<bus::ReadingEnvelope> batch;
        for (int back = FeedCount(options) - 1; back >= 0; --back) {
            bus::ReadingEnvelope e;
            e.wearer = wearer;
            e.reading = reading;
            e.reading.measured_at = reading.measured_at - std::chrono::minutes(back);
            batch.push_back(std::move(e));
        }
        d.OnReadings(0, batch);
        return listener_.last;
    }

    static void ExpectSame(const domain::Detection& a, const domain::Detection& b, const std::string& what) {
        EXPECT_EQ(a.level, b.level) << what;
        EXPECT_EQ(a.causes, b.causes) << what;
        EXPECT_EQ(a.fired, b.fired) << what;
        EXPECT_EQ(a.advice_only, b.advice_only) << what;
        EXPECT_EQ(a.explanation, b.explanation) << what;
        EXPECT_EQ(a.model_probabilities, b.model_probabilities) << what;
        EXPECT_EQ(a.model_causes, b.model_causes) << what;
    }

    static inline std::shared_ptr<const models::StatusModel> status_;
    static inline std::shared_ptr<const models::StatusModel> cause_;
    rules::ProfileRegistry registry_;
    LastVerdict listener_;
};

TEST_F(PredictTest, AReadingAloneGetsTheDetectorsVerdictForANewWearer) {
    detector::Detector detector(1, registry_, "adult-default", nullptr, listener_);
    detector::ModelSet set;
    set.status = status_;
    set.cause = cause_;
    detector.SetModels(set);
    const auto profile = registry_.Find("adult-default");
    ASSERT_NE(profile, nullptr);
    const models::FusionModels models{status_.get(), cause_.get()};

    int64_t wearer = 0;
    int raised_over_normal = 0, raised_over_caution = 0, rules_only = 0, blamed = 0;
    for (double hr : {38.0, 45.0, 60.0, 68.0, 95.0, 103.0, 106.0, 112.0, 125.0, 128.0, 130.0, 135.0, 150.0, 175.0}) {
        for (double spo2 : {97.0, 93.0, 90.0}) {
            for (double rr : {15.0, 23.0}) {
                const domain::VitalsReading reading = Reading(hr, spo2, rr);
                const std::string what =
                    "hr " + std::to_string(hr) + ", spo2 " + std::to_string(spo2) + ", rr " + std::to_string(rr);
                const domain::Detection alone = AssessAlone(*profile, reading, models, set.fusion);
                ExpectSame(alone, DetectorVerdict(detector, ++wearer, reading, set.fusion), what);
                bool by_model = false;
                for (const auto& f : alone.fired) by_model = by_model || f.kind == "model";
                if (by_model) {
                    // What the rules alone said for the same values: the level the model raised.
                    const Level rules = AssessAlone(*profile, reading, std::nullopt, set.fusion).level;
                    EXPECT_GT(alone.level, rules) << what;
                    ++(rules == Level::kNormal ? raised_over_normal : raised_over_caution);
                } else if (alone.level != Level::kNormal) {
                    ++rules_only;
                }
                if (!alone.model_causes.empty()) ++blamed;
            }
        }
    }
    EXPECT_EQ(listener_.late, 0);
    // The grid covers each way the fusion can go, so the comparison above is not vacuous.
    EXPECT_GT(raised_over_normal, 0) << "the model raised a level the rules called normal";
    EXPECT_GT(raised_over_caution, 0) << "the model raised a rules caution to danger";
    EXPECT_GT(rules_only, 0) << "the rules decided alone";
    EXPECT_GT(blamed, 0) << "the cause model named metrics";
}

TEST_F(PredictTest, WithoutModelsItIsTheRulesVerdict) {
    detector::Detector detector(1, registry_, "adult-default", nullptr, listener_);
    const auto profile = registry_.Find("adult-default");
    ASSERT_NE(profile, nullptr);
    const models::FusionOptions options;
    int64_t wearer = 0;
    for (double hr : {38.0, 68.0, 135.0, 175.0}) {
        const domain::VitalsReading reading = Reading(hr, 97, 15);
        const domain::Detection alone = AssessAlone(*profile, reading, std::nullopt, options);
        EXPECT_FALSE(alone.model_probabilities.has_value());
        ExpectSame(alone, DetectorVerdict(detector, ++wearer, reading, options), "hr " + std::to_string(hr));
    }
    EXPECT_EQ(AssessAlone(*profile, Reading(175, 97, 15), std::nullopt, options).level, Level::kDanger)
        << "the rules' 2-reading confirmation is met by a reading alone";
}

}  // namespace
}  // namespace vg::api
