#include "vg/detector/detector.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace vg::detector {
namespace {

using domain::Level;
using domain::Metric;

struct Recorded {
    int64_t wearer;
    bool silence;
    Level level;
    Level previous;
};

class RecordingListener : public DetectionListener {
  public:
    void OnDetection(int64_t wearer, bus::ReadingEnvelope* e, const domain::Detection& d, Level previous) override {
        events.push_back({wearer, e == nullptr, d.level, previous});
        if (e && e->on_detected) e->on_detected(d);
    }
    void OnLateReading(int64_t, bus::ReadingEnvelope& e, const domain::Detection& current) override {
        ++late;
        if (e.on_detected) e.on_detected(current);
    }
    int late = 0;
    std::vector<Recorded> events;
};

class DetectorTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(registry_.LoadDirectory(VG_PROFILES_DIR).ok()); }

    bus::ReadingEnvelope Reading(int64_t wearer, int64_t minute, double hr) {
        bus::ReadingEnvelope e;
        e.wearer = wearer;
        e.reading.measured_at = FromUnixMillis(1'700'000'000'000 + minute * 60'000);
        e.reading.set(Metric::kHeartRate, hr);
        e.reading.set(Metric::kSpo2, 97);
        e.reading.set(Metric::kRespirationRate, 15);
        return e;
    }

    rules::ProfileRegistry registry_;
    RecordingListener listener_;
};

TEST_F(DetectorTest, EvaluatesEachWearersReadingsWithItsOwnState) {
    Detector detector(1, registry_, "adult-default", nullptr, listener_);
    std::vector<bus::ReadingEnvelope> batch;
    for (int m = 0; m < 5; ++m) {
        batch.push_back(Reading(1, m, 72));
        batch.push_back(Reading(2, m, m < 3 ? 72 : 175));  // wearer 2: sustained tachycardia
    }
    detector.OnReadings(0, batch);
    EXPECT_EQ(detector.wearer_count(), 2u);
    EXPECT_EQ(detector.stats().evaluated, 10u);
    Level last1 = Level::kNormal, last2 = Level::kNormal;
    for (const auto& r : listener_.events) (r.wearer == 1 ? last1 : last2) = r.level;
    EXPECT_EQ(last1, Level::kNormal);
    EXPECT_EQ(last2, Level::kDanger);
}

TEST_F(DetectorTest, LateReadingsAreNotEvaluatedButAnswered) {
    Detector detector(1, registry_, "adult-default", nullptr, listener_);
    std::vector<bus::ReadingEnvelope> batch{Reading(1, 10, 72)};
    detector.OnReadings(0, batch);
    bool answered = false;
    auto late = Reading(1, 5, 72);
    late.on_detected = [&](const Result<domain::Detection>& d) {
        answered = true;
        ASSERT_TRUE(d.ok());
        EXPECT_NE(d->explanation.find("older"), std::string::npos);
    };
    std::vector<bus::ReadingEnvelope> late_batch;
    late_batch.push_back(std::move(late));
    detector.OnReadings(0, late_batch);
    EXPECT_TRUE(answered);
    EXPECT_EQ(listener_.late, 1);
    EXPECT_EQ(listener_.events.size(), 1u);  // the late reading is not a verdict
    EXPECT_EQ(detector.stats().late, 1u);
    EXPECT_EQ(detector.stats().evaluated, 1u);
}

TEST_F(DetectorTest, SilenceAfterReadingsRaisesSignalLossOnce) {
    Detector detector(1, registry_, "adult-default", nullptr, listener_);
    std::vector<bus::ReadingEnvelope> batch{Reading(1, 0, 72)};
    detector.OnReadings(0, batch);
    const TimePoint later = FromUnixMillis(1'700'000'000'000 + 3 * 3600 * 1000);
    detector.OnTick(0, later);
    detector.OnTick(0, later + std::chrono::minutes(1));
    int silences = 0;
    for (const auto& r : listener_.events) silences += r.silence ? 1 : 0;
    EXPECT_EQ(silences, 1);
    EXPECT_EQ(detector.stats().silence_alerts, 1u);
}

TEST_F(DetectorTest, ProfileComesFromTheResolverAndResetForgetsState) {
    int resolved = 0;
    Detector detector(
        1, registry_, "adult-default",
        [&](int64_t) {
            ++resolved;
            return std::string("glucose");
        },
        listener_);
    std::vector<bus::ReadingEnvelope> batch{Reading(1, 0, 72), Reading(1, 1, 72)};
    detector.OnReadings(0, batch);
    EXPECT_EQ(resolved, 1);
    detector.ResetWearer(0, 1);
    std::vector<bus::ReadingEnvelope> again{Reading(1, 2, 72)};
    detector.OnReadings(0, again);
    EXPECT_EQ(resolved, 2);
}

}  // namespace
}  // namespace vg::detector

namespace vg::detector {
namespace {

class DetectorWarmTest : public DetectorTest {};

TEST_F(DetectorWarmTest, WarmedStateContinuesWhereTheStoredReadingsLeftIt) {
    Detector detector(1, registry_, "adult-default", nullptr, listener_);
    // Before the restart: one reading of 175 bpm (not yet confirmed), stored.
    std::vector<domain::VitalsReading> stored;
    for (int m = 0; m < 5; ++m) stored.push_back(Reading(1, m, 72).reading);
    stored.push_back(Reading(1, 5, 175).reading);
    const TimePoint now = stored.back().measured_at + std::chrono::seconds(30);
    EXPECT_EQ(detector.Warm(0, 1, stored, now), 6u);
    EXPECT_TRUE(listener_.events.empty()) << "warming is silent";
    EXPECT_EQ(detector.wearer_count(), 1u);
    // After it: the second high reading confirms at once, as it would have without the restart.
    std::vector<bus::ReadingEnvelope> batch{Reading(1, 6, 176)};
    detector.OnReadings(0, batch);
    ASSERT_EQ(listener_.events.size(), 1u);
    EXPECT_EQ(listener_.events[0].level, Level::kDanger);
    EXPECT_EQ(listener_.events[0].previous, Level::kNormal);
}

// A shard given to another node and back starts from what is rebuilt then, not from what was held before.
TEST_F(DetectorWarmTest, DropShardForgetsEveryWearerOfTheShardAndNoOther) {
    Detector detector(2, registry_, "adult-default", nullptr, listener_);
    std::vector<domain::VitalsReading> stored{Reading(1, 0, 72).reading, Reading(1, 1, 74).reading};
    const TimePoint now = stored.back().measured_at + std::chrono::seconds(30);
    EXPECT_EQ(detector.Warm(0, 1, stored, now), 2u);
    EXPECT_EQ(detector.Warm(0, 2, stored, now), 2u);
    EXPECT_EQ(detector.Warm(1, 3, stored, now), 2u);
    EXPECT_EQ(detector.wearer_count(), 3u);
    detector.DropShard(0);
    EXPECT_EQ(detector.wearer_count(), 1u);
    // Kept state would skip the reading older than its last one; forgotten state evaluates both again.
    EXPECT_EQ(detector.Warm(0, 1, stored, now), 2u) << "warmed again from scratch";
    EXPECT_EQ(detector.wearer_count(), 2u);
}

TEST_F(DetectorWarmTest, ColdStateNeedsTwoReadingsAgain) {
    // The same live reading without the warm-up: one reading is not enough (the contrast above).
    Detector detector(1, registry_, "adult-default", nullptr, listener_);
    std::vector<bus::ReadingEnvelope> batch{Reading(1, 6, 176)};
    detector.OnReadings(0, batch);
    ASSERT_EQ(listener_.events.size(), 1u);
    EXPECT_EQ(listener_.events[0].level, Level::kNormal);
}

TEST_F(DetectorWarmTest, SilenceIsCountedFromTheRestartAndStillReported) {
    Detector detector(1, registry_, "adult-default", nullptr, listener_);
    std::vector<domain::VitalsReading> stored{Reading(1, 0, 72).reading, Reading(1, 1, 72).reading};
    // The process restarts an hour after the wearer's last reading: not reported at once...
    const TimePoint restart = stored.back().measured_at + std::chrono::hours(1);
    detector.Warm(0, 1, stored, restart);
    detector.OnTick(0, restart + std::chrono::seconds(1));
    EXPECT_TRUE(listener_.events.empty());
    detector.OnTick(0, restart + std::chrono::minutes(14));
    EXPECT_TRUE(listener_.events.empty());
    // ...but once a full silence time has passed since the restart, and only once.
    detector.OnTick(0, restart + std::chrono::minutes(15));
    detector.OnTick(0, restart + std::chrono::minutes(16));
    ASSERT_EQ(listener_.events.size(), 1u);
    EXPECT_TRUE(listener_.events[0].silence);
}

TEST_F(DetectorWarmTest, WarmKeepsTheLastLevelAsThePreviousOfTheNextVerdict) {
    Detector detector(1, registry_, "adult-default", nullptr, listener_);
    std::vector<domain::VitalsReading> stored{Reading(1, 0, 175).reading, Reading(1, 1, 175).reading};
    detector.Warm(0, 1, stored, stored.back().measured_at);
    std::vector<bus::ReadingEnvelope> batch{Reading(1, 2, 176)};
    detector.OnReadings(0, batch);
    ASSERT_EQ(listener_.events.size(), 1u);
    EXPECT_EQ(listener_.events[0].previous, Level::kDanger) << "no second 'new danger' after a restart";
    EXPECT_EQ(listener_.events[0].level, Level::kDanger);
}

}  // namespace
}  // namespace vg::detector

namespace vg::detector {
namespace {

// A status model that learnt "pulse around 105 at rest is caution" (which the adult-default rules only
// say after 30 minutes): the detector raises the verdict once the model is confident on 2 readings,
// explains it, and never lowers what the rules decided.
std::shared_ptr<const models::StatusModel> PulseModel() {
    models::Dataset d;
    std::mt19937 rng(5);
    std::normal_distribution<double> noise(0, 2);
    for (int w = 0; w < 40; ++w) {
        for (int m = 0; m < 40; ++m) {
            models::LabelledReading r;
            r.wearer = "w" + std::to_string(w);
            const bool sick = w % 2 == 1 && m >= 20;
            r.reading.measured_at = FromUnixMillis(1'700'000'000'000 + m * 60'000);
            r.reading.set(Metric::kHeartRate, (sick ? 105 : 68) + noise(rng));
            r.reading.set(Metric::kSpo2, 97);
            r.reading.set(Metric::kRespirationRate, 15);
            r.reading.set(Metric::kSteps, 0);
            r.reading.set(Metric::kCalories, 1.1);
            r.status = sick ? 1 : 0;
            d.rows.push_back(r);
        }
    }
    models::TrainSettings settings;
    settings.booster.max_rounds = 40;
    auto model = models::StatusModel::Train(models::ModelKind::kStatus, d, settings);
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    return std::make_shared<const models::StatusModel>(std::move(model).value());
}

TEST_F(DetectorTest, ModelRaisesAfterConfirmationAndNeverLowersTheRules) {
    Detector detector(1, registry_, "adult-default", nullptr, listener_);
    ModelSet set;
    set.status = PulseModel();
    detector.SetModels(set);
    std::vector<bus::ReadingEnvelope> batch;
    for (int m = 0; m < 10; ++m) batch.push_back(Reading(1, m, 68));
    batch.push_back(Reading(1, 10, 106));
    batch.push_back(Reading(1, 11, 106));
    detector.OnReadings(0, batch);
    ASSERT_EQ(listener_.events.size(), 12u);
    EXPECT_EQ(listener_.events[9].level, Level::kNormal);
    EXPECT_EQ(listener_.events[10].level, Level::kNormal) << "one confident reading is not enough";
    EXPECT_EQ(listener_.events[11].level, Level::kCaution) << "raised by the model on the second";
    // A rules danger stays danger whatever the model says.
    std::vector<bus::ReadingEnvelope> danger{Reading(2, 0, 175), Reading(2, 1, 175)};
    detector.OnReadings(0, danger);
    EXPECT_EQ(listener_.events.back().level, Level::kDanger);
}

}  // namespace
}  // namespace vg::detector

namespace vg::detector {
namespace {

// Everything a verdict says, to compare two detectors' outputs.
struct FullVerdict {
    int64_t wearer = 0;
    bool late = false;
    domain::Detection d;
    Level previous = Level::kNormal;
};

bool Same(const FullVerdict& a, const FullVerdict& b) {
    return a.wearer == b.wearer && a.late == b.late && a.previous == b.previous && a.d.level == b.d.level &&
           a.d.causes == b.d.causes && a.d.fired == b.d.fired && a.d.advice_only == b.d.advice_only &&
           a.d.explanation == b.d.explanation && a.d.model_probabilities == b.d.model_probabilities &&
           a.d.model_causes == b.d.model_causes;
}

class FullListener : public DetectionListener {
  public:
    void OnDetection(int64_t wearer, bus::ReadingEnvelope*, const domain::Detection& d, Level previous) override {
        verdicts.push_back({wearer, false, d, previous});
    }
    void OnLateReading(int64_t wearer, bus::ReadingEnvelope&, const domain::Detection& current) override {
        verdicts.push_back({wearer, true, current, Level::kNormal});
    }
    std::vector<FullVerdict> verdicts;
};

// The shipped models (models/), as serve runs them.
ModelSet ShippedModels() {
    auto status = models::StatusModel::Load(VG_PROFILES_DIR "/../models", "status");
    auto cause = models::StatusModel::Load(VG_PROFILES_DIR "/../models", "cause");
    EXPECT_TRUE(status.ok() && cause.ok());
    ModelSet set;
    set.status = std::make_shared<const models::StatusModel>(std::move(status).value());
    set.cause = std::make_shared<const models::StatusModel>(std::move(cause).value());
    return set;
}

// 24 wearers, 90 minutes interleaved: tachycardia, hypoxaemia with fast breathing, fever, exercise,
// missing values, and late readings (a watch re-sending an older minute).
std::vector<bus::ReadingEnvelope> Fleet() {
    std::mt19937 rng(9);
    std::normal_distribution<double> noise(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<bus::ReadingEnvelope> out;
    for (int m = 0; m < 90; ++m) {
        for (int w = 1; w <= 24; ++w) {
            const double x = m < 30 ? 0 : (m - 30) / 60.0;
            double hr = 62 + w + 2 * noise(rng), rr = 15 + noise(rng), spo2 = 97 + 0.5 * noise(rng);
            double temp = 33.4 + 0.1 * noise(rng), steps = 0, cal = 1.1;
            if (w % 5 == 1) hr += 90 * x;
            if (w % 5 == 2) spo2 -= 14 * x, rr += 14 * x;
            if (w % 5 == 3) temp += 3 * x;
            if (w % 5 == 4 && m >= 40 && m < 60) steps = 110, cal = 6.5, hr += 60;
            const int minute = u(rng) < 0.03 && m > 2 ? m - 2 : m;  // now and then a late one
            bus::ReadingEnvelope e;
            e.wearer = w;
            e.reading.measured_at = FromUnixMillis(1'700'000'000'000 + minute * 60'000 + w * 1000);
            if (u(rng) > 0.05) e.reading.set(Metric::kHeartRate, hr);
            if (u(rng) > 0.1) e.reading.set(Metric::kRespirationRate, rr);
            if (u(rng) > 0.1) e.reading.set(Metric::kSpo2, spo2);
            if (u(rng) > 0.1) e.reading.set(Metric::kSkinTemp, temp);
            e.reading.set(Metric::kSteps, steps);
            e.reading.set(Metric::kCalories, cal);
            out.push_back(e);
        }
    }
    return out;
}

TEST(DetectorBatchTest, BatchedModelsGiveTheVerdictsOfOneReadingAtATime) {
    rules::ProfileRegistry registry;
    ASSERT_TRUE(registry.LoadDirectory(VG_PROFILES_DIR).ok());
    const ModelSet models = ShippedModels();
    const std::vector<bus::ReadingEnvelope> fleet = Fleet();
    FullListener one_by_one;
    {
        Detector detector(1, registry, "adult-default", nullptr, one_by_one);
        detector.SetModels(models);
        for (const bus::ReadingEnvelope& e : fleet) {
            std::vector<bus::ReadingEnvelope> batch{e};
            detector.OnReadings(0, batch);
        }
    }
    // The same readings in batches of uneven sizes (one larger than the whole fleet).
    for (size_t size : {size_t{7}, size_t{100}, size_t{1000}, fleet.size()}) {
        FullListener batched;
        Detector detector(1, registry, "adult-default", nullptr, batched);
        detector.SetModels(models);
        for (size_t at = 0; at < fleet.size(); at += size) {
            std::vector<bus::ReadingEnvelope> batch(
                fleet.begin() + static_cast<std::ptrdiff_t>(at),
                fleet.begin() + static_cast<std::ptrdiff_t>(std::min(fleet.size(), at + size)));
            detector.OnReadings(0, batch);
        }
        ASSERT_EQ(batched.verdicts.size(), one_by_one.verdicts.size());
        for (size_t i = 0; i < fleet.size(); ++i) {
            ASSERT_TRUE(Same(batched.verdicts[i], one_by_one.verdicts[i]))
                << "batches of " << size << ", reading " << i << ": " << batched.verdicts[i].d.explanation << " vs "
                << one_by_one.verdicts[i].d.explanation;
        }
        EXPECT_EQ(detector.stats().evaluated + detector.stats().late, fleet.size());
    }
    // The fleet exercises what fusion does: late readings, model raises, blamed metrics, every level.
    size_t late = 0, raised = 0, blamed = 0;
    std::map<Level, size_t> levels;
    for (const FullVerdict& v : one_by_one.verdicts) {
        late += v.late;
        ++levels[v.d.level];
        if (v.late) continue;
        EXPECT_TRUE(v.d.model_probabilities.has_value());
        raised += std::any_of(v.d.fired.begin(), v.d.fired.end(), [](const auto& f) { return f.kind == "model"; });
        blamed += !v.d.model_causes.empty();
    }
    EXPECT_GT(late, 0u);
    EXPECT_GT(raised, 0u);
    EXPECT_GT(blamed, 0u);
    EXPECT_EQ(levels.size(), 3u);
}

}  // namespace
}  // namespace vg::detector
