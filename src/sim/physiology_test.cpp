#include "vg/sim/physiology.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "vg/sim/random.hpp"

namespace vg::sim {
namespace {

using domain::Metric;
constexpr Milliseconds kMinute{60'000};
constexpr Milliseconds kHour{3'600'000};
// 2026-11-23T00:00:00Z, a Monday.
const TimePoint kStart = FromUnixMillis(1'795'392'000'000);

Scenario CleanFleet(int watches, Milliseconds duration, bool glucose = false) {
    Scenario s;
    s.name = "test";
    s.seed = 42;
    s.duration = duration;
    GroupSpec g;
    g.name = "clean";
    g.watches = watches;
    g.glucose = glucose;
    s.groups.push_back(g);
    return s;
}

// Every reading of every wearer, with the labels.
struct Generated {
    FleetPlan fleet;
    std::vector<std::vector<SimReading>> readings;  // by wearer
    std::vector<LabelledEvent> labels;
};
Generated Generate(const Scenario& s) {
    Generated out;
    out.fleet = PlanFleet(s, kStart);
    for (size_t i = 0; i < out.fleet.wearers.size(); ++i) {
        WearerSimulator sim(out.fleet, static_cast<int>(i));
        std::vector<SimReading> r;
        sim.GenerateUntil(kStart + s.duration, r);
        EXPECT_TRUE(sim.done());
        out.readings.push_back(std::move(r));
        auto l = sim.Labels();
        out.labels.insert(out.labels.end(), l.begin(), l.end());
    }
    return out;
}

double Mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
}

TEST(RngTest, SameSeedSameStreamDifferentSeedDifferentStream) {
    Rng a(7), b(7), c(8);
    for (int i = 0; i < 100; ++i) {
        const uint64_t x = a.NextU64();
        EXPECT_EQ(x, b.NextU64());
        (void)c;
    }
    Rng d(7), e(8);
    int same = 0;
    for (int i = 0; i < 100; ++i) same += d.NextU64() == e.NextU64();
    EXPECT_EQ(same, 0);
    EXPECT_EQ(Rng::ForStream(1, 5).NextU64(), Rng::ForStream(1, 5).NextU64());
    EXPECT_NE(Rng::ForStream(1, 5).NextU64(), Rng::ForStream(1, 6).NextU64());
}

TEST(RngTest, NormalHasUnitVarianceAndUniformStaysInRange) {
    Rng r(3);
    double sum = 0, sq = 0;
    const int n = 200'000;
    for (int i = 0; i < n; ++i) {
        const double x = r.Normal();
        sum += x;
        sq += x * x;
        const double u = r.Uniform(2, 5);
        ASSERT_GE(u, 2);
        ASSERT_LT(u, 5);
    }
    EXPECT_NEAR(sum / n, 0, 0.01);
    EXPECT_NEAR(sq / n, 1, 0.02);
}

TEST(PhysiologyTest, BaselinesAreInTheDocumentedRanges) {
    Rng r(11);
    for (int i = 0; i < 2000; ++i) {
        const WearerBaseline b = DrawBaseline(r, 60, 95, i % 2 == 0);
        EXPECT_GE(b.age, 60);
        EXPECT_LE(b.age, 95);
        EXPECT_GE(b.heart_rate, 60);
        EXPECT_LE(b.heart_rate, 84);
        EXPECT_GE(b.respiration_rate, 12);
        EXPECT_LE(b.respiration_rate, 18);
        EXPECT_GE(b.spo2, 95);
        EXPECT_LE(b.spo2, 99);
        EXPECT_GE(b.skin_temp, 32);
        EXPECT_LE(b.skin_temp, 35);
        EXPECT_EQ(b.glucose.has_value(), i % 2 == 0);
        if (b.glucose) {
            EXPECT_GE(*b.glucose, 90);
            EXPECT_LE(*b.glucose, 120);
        }
        EXPECT_LT(b.wake_hour, b.sleep_hour);
    }
}

TEST(PhysiologyTest, CleanWearersStayPlausibleAndMostlyInTheNormalBands) {
    const Generated g = Generate(CleanFleet(20, 48 * kHour, /*glucose=*/true));
    int64_t total = 0, hr_out = 0, spo2_low = 0, rr_out = 0;
    for (const auto& wearer : g.readings) {
        for (const SimReading& r : wearer) {
            ++total;
            EXPECT_TRUE(domain::ValidateReading(r.reading).empty());  // the server would accept it
            for (int m = 0; m < domain::kMetricCount; ++m) {
                if (auto v = r.reading.values[static_cast<size_t>(m)]) {
                    const auto range = domain::PlausibleRangeOf(static_cast<Metric>(m));
                    ASSERT_GE(*v, range.min);
                    ASSERT_LE(*v, range.max);
                }
            }
            if (auto hr = r.reading.get(Metric::kHeartRate)) {
                EXPECT_GE(*hr, 40);
                EXPECT_LE(*hr, 140);  // brisk walking at most
                hr_out += *hr < 50 || *hr > 110;
            }
            if (auto spo2 = r.reading.get(Metric::kSpo2)) {
                EXPECT_GE(*spo2, 90);
                spo2_low += *spo2 <= 93;
            }
            if (auto rr = r.reading.get(Metric::kRespirationRate)) rr_out += *rr <= 8 || *rr >= 21;
            if (auto t = r.reading.get(Metric::kSkinTemp)) {
                EXPECT_GE(*t, 30);
                EXPECT_LE(*t, 37);
            }
            if (auto glucose = r.reading.get(Metric::kGlucose)) {
                EXPECT_GE(*glucose, 65);
                EXPECT_LT(*glucose, 200);
            }
        }
    }
    EXPECT_GT(total, 20 * 48 * 60 * 0.95);
    // Clean wearers give a rules engine little to cry wolf about.
    EXPECT_LT(static_cast<double>(hr_out) / total, 0.01);
    EXPECT_LT(static_cast<double>(spo2_low) / total, 0.01);
    EXPECT_LT(static_cast<double>(rr_out) / total, 0.005);
    EXPECT_TRUE(g.labels.empty());
}

TEST(PhysiologyTest, SameSeedSameReadingsOtherSeedOtherReadings) {
    Scenario s = CleanFleet(3, 6 * kHour);
    const Generated a = Generate(s);
    const Generated b = Generate(s);
    ASSERT_EQ(a.readings.size(), b.readings.size());
    for (size_t w = 0; w < a.readings.size(); ++w) {
        ASSERT_EQ(a.readings[w].size(), b.readings[w].size());
        for (size_t i = 0; i < a.readings[w].size(); ++i) {
            EXPECT_EQ(a.readings[w][i].seq, b.readings[w][i].seq);
            EXPECT_EQ(a.readings[w][i].reading.measured_at, b.readings[w][i].reading.measured_at);
            EXPECT_EQ(a.readings[w][i].reading.values, b.readings[w][i].reading.values);
        }
    }
    s.seed = 43;
    const Generated c = Generate(s);
    int differing = 0;
    for (size_t i = 0; i < std::min(a.readings[0].size(), c.readings[0].size()); ++i) {
        differing += a.readings[0][i].reading.values != c.readings[0][i].reading.values;
    }
    EXPECT_GT(differing, 100);
}

TEST(PhysiologyTest, GeneratingInPiecesGivesTheSameReadings) {
    const Scenario s = CleanFleet(1, 3 * kHour);
    const FleetPlan fleet = PlanFleet(s, kStart);
    WearerSimulator whole(fleet, 0), pieces(fleet, 0);
    std::vector<SimReading> a, b;
    whole.GenerateUntil(kStart + s.duration, a);
    for (TimePoint t = kStart + 7 * kMinute; !pieces.done(); t += 7 * kMinute) pieces.GenerateUntil(t, b);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].reading.values, b[i].reading.values);
}

TEST(PhysiologyTest, ReadingsComeEveryIntervalWithIncreasingSeq) {
    Scenario s = CleanFleet(2, 2 * kHour);
    s.interval = Milliseconds(30'000);
    s.dropouts = {0, 0};
    const Generated g = Generate(s);
    for (const auto& wearer : g.readings) {
        ASSERT_EQ(wearer.size(), 240u);
        for (size_t i = 0; i < wearer.size(); ++i) {
            EXPECT_EQ(wearer[i].seq, static_cast<int64_t>(i) + 1);
            EXPECT_EQ(wearer[i].reading.measured_at, kStart + Milliseconds(30'000) * static_cast<int64_t>(i));
        }
    }
}

TEST(PhysiologyTest, NightsAreCalmerAndActivityRaisesHeartRateWithCadence) {
    Scenario s = CleanFleet(10, 72 * kHour);
    s.utc_offset_minutes = 0;
    s.dropouts = {0, 0};
    const Generated g = Generate(s);
    std::vector<double> night_hr, day_rest_hr, active_hr, other;
    for (const auto& wearer : g.readings) {
        for (const SimReading& r : wearer) {
            const int64_t ms = ToUnixMillis(r.reading.measured_at) % 86'400'000;
            const double hour = static_cast<double>(ms) / 3'600'000.0;
            const double hr = *r.reading.get(Metric::kHeartRate);
            const double steps = *r.reading.get(Metric::kSteps);
            if (hour >= 1 && hour < 4) {
                night_hr.push_back(hr);
                EXPECT_EQ(steps, 0);
            } else if (hour >= 12 && hour < 18) {
                (steps >= 70 ? active_hr : steps == 0 ? day_rest_hr : other).push_back(hr);
            }
        }
    }
    ASSERT_FALSE(active_hr.empty());
    EXPECT_LT(Mean(night_hr) + 3, Mean(day_rest_hr));
    EXPECT_GT(Mean(active_hr), Mean(day_rest_hr) + 12);
}

TEST(PhysiologyTest, DropoutsRemoveReadingsAndMetricsAtTheConfiguredRates) {
    Scenario s = CleanFleet(10, 48 * kHour);
    s.dropouts = {0.05, 0.1};
    const Generated g = Generate(s);
    int64_t readings = 0, missing_hr = 0;
    for (const auto& wearer : g.readings) {
        for (const SimReading& r : wearer) {
            ++readings;
            missing_hr += !r.reading.get(Metric::kHeartRate).has_value();
            EXPECT_FALSE(r.reading.get(Metric::kGlucose).has_value());  // no CGM in this group
        }
    }
    const double slots = 10.0 * 48 * 60;
    EXPECT_NEAR(1.0 - readings / slots, 0.05, 0.01);
    EXPECT_NEAR(static_cast<double>(missing_hr) / readings, 0.1, 0.015);
}

// A fleet of one wearer with one event.
Generated WithEvent(EventSpec e, bool glucose = false, Milliseconds duration = 12 * kHour) {
    Scenario s = CleanFleet(1, duration, glucose);
    s.dropouts = {0, 0};
    s.groups[0].events.push_back(std::move(e));
    return Generate(s);
}

std::vector<const SimReading*> During(const Generated& g, TimePoint from, TimePoint to) {
    std::vector<const SimReading*> out;
    for (const SimReading& r : g.readings[0]) {
        if (r.reading.measured_at >= from && r.reading.measured_at < to) out.push_back(&r);
    }
    return out;
}

TEST(PhysiologyTest, TachycardiaRampsToItsTargetAndIsKnowableAtTheFirstReadingBeyondTheBand) {
    EventSpec e = DefaultEventSpec(EventType::kTachycardia);
    e.at.absolute = 3 * kHour;
    e.target = 150;
    const Generated g = WithEvent(e);
    ASSERT_EQ(g.labels.size(), 1u);
    const LabelledEvent& l = g.labels[0];
    EXPECT_EQ(l.type, EventType::kTachycardia);
    EXPECT_EQ(l.onset, kStart + 3 * kHour);
    EXPECT_EQ(l.end, l.onset + e.duration);
    ASSERT_TRUE(l.knowable_at.has_value());
    // The knowable moment is the first reading at or beyond 111 bpm.
    const SimReading* first_beyond = nullptr;
    for (const SimReading* r : During(g, l.onset, l.end)) {
        if (*r->reading.get(Metric::kHeartRate) >= 111) {
            first_beyond = r;
            break;
        }
    }
    ASSERT_NE(first_beyond, nullptr);
    EXPECT_EQ(*l.knowable_at, first_beyond->reading.measured_at);
    EXPECT_LE(*l.knowable_at, l.onset + e.ramp);
    std::vector<double> plateau;
    for (const SimReading* r : During(g, l.onset + e.ramp, l.end - e.recovery)) {
        plateau.push_back(*r->reading.get(Metric::kHeartRate));
    }
    EXPECT_NEAR(Mean(plateau), 150, 4);
    // Back to normal afterwards.
    std::vector<double> after;
    for (const SimReading* r : During(g, l.end, l.end + 30 * kMinute))
        after.push_back(*r->reading.get(Metric::kHeartRate));
    EXPECT_LT(Mean(after), 100);
}

TEST(PhysiologyTest, EventsThatNeverCrossTheLineAreNeverKnowable) {
    EventSpec e = DefaultEventSpec(EventType::kTachycardia);
    e.at.absolute = 3 * kHour;
    e.target = 100;  // stays below 111 (noise of a few bpm)
    e.knowable = {{KnowableCriterion::Kind::kAbove, 125}};
    const Generated g = WithEvent(e);
    ASSERT_EQ(g.labels.size(), 1u);
    EXPECT_FALSE(g.labels[0].knowable_at.has_value());
}

TEST(PhysiologyTest, HypoxaemiaLowersSpo2AndRaisesHeartRate) {
    EventSpec e = DefaultEventSpec(EventType::kHypoxaemia);
    e.at.absolute = 4 * kHour;
    const Generated g = WithEvent(e);
    const LabelledEvent& l = g.labels[0];
    ASSERT_TRUE(l.knowable_at.has_value());
    std::vector<double> spo2;
    for (const SimReading* r : During(g, l.onset + e.ramp, l.end - e.recovery))
        spo2.push_back(*r->reading.get(Metric::kSpo2));
    EXPECT_NEAR(Mean(spo2), 86, 1.5);
}

TEST(PhysiologyTest, ASensorSpikeIsExactlyOneReading) {
    EventSpec e = DefaultEventSpec(EventType::kSensorSpike);
    e.at.absolute = 2 * kHour;
    e.metric = Metric::kSpo2;
    e.target = 79;
    const Generated g = WithEvent(e);
    int spikes = 0;
    for (const SimReading& r : g.readings[0]) spikes += *r.reading.get(Metric::kSpo2) <= 85;
    EXPECT_EQ(spikes, 1);
    EXPECT_EQ(g.labels[0].end - g.labels[0].onset, Milliseconds(60'000));
    EXPECT_FALSE(g.labels[0].knowable_at.has_value());
}

TEST(PhysiologyTest, SignalLossSendsNothingAndIsKnowableAfterTheSilence) {
    EventSpec e = DefaultEventSpec(EventType::kSignalLoss);
    e.at.absolute = 5 * kHour;
    const Generated g = WithEvent(e);
    const LabelledEvent& l = g.labels[0];
    EXPECT_TRUE(During(g, l.onset, l.end).empty());
    EXPECT_FALSE(During(g, l.end, l.end + kMinute).empty());
    ASSERT_TRUE(l.knowable_at.has_value());
    // 15 min (adult-default's silence time) after the last reading, one interval before the onset.
    EXPECT_EQ(*l.knowable_at, l.onset - kMinute + 15 * kMinute);
}

TEST(PhysiologyTest, ExerciseAddsCadenceAndHeartRateThenRecovers) {
    EventSpec e = DefaultEventSpec(EventType::kExercise);
    e.at.absolute = 6 * kHour;  // 15:00 in Korea (the run starts at 09:00 local)
    const Generated g = WithEvent(e);
    const LabelledEvent& l = g.labels[0];
    std::vector<double> hr, steps;
    for (const SimReading* r : During(g, l.onset + e.ramp, l.end - e.recovery)) {
        hr.push_back(*r->reading.get(Metric::kHeartRate));
        steps.push_back(*r->reading.get(Metric::kSteps));
    }
    EXPECT_NEAR(Mean(hr), 135, 5);
    EXPECT_NEAR(Mean(steps), 130, 5);
    for (const SimReading* r : During(g, l.end - e.recovery, l.end)) EXPECT_LT(*r->reading.get(Metric::kSteps), 30);
    std::vector<double> after;
    for (const SimReading* r : During(g, l.end + 5 * kMinute, l.end + 15 * kMinute)) {
        after.push_back(*r->reading.get(Metric::kHeartRate));
    }
    EXPECT_LT(Mean(after), 100);
}

TEST(PhysiologyTest, FeverIsKnowableByDeviationFromTheWearersOwnNormal) {
    EventSpec e = DefaultEventSpec(EventType::kFeverTrend);
    e.at.absolute = 2 * kHour;
    const Generated g = WithEvent(e, false, 12 * kHour);
    const LabelledEvent& l = g.labels[0];
    ASSERT_TRUE(l.knowable_at.has_value());
    // +1.5 °C of +2.5 over a 2 h ramp: about 72 min in, give or take noise.
    EXPECT_GT(*l.knowable_at, l.onset + 40 * kMinute);
    EXPECT_LT(*l.knowable_at, l.onset + 100 * kMinute);
}

TEST(PhysiologyTest, GlucoseEventsFollowTheSeedsRules) {
    EventSpec low = DefaultEventSpec(EventType::kGlucoseLow);
    low.at.absolute = 2 * kHour;
    Generated g = WithEvent(low, true);
    ASSERT_TRUE(g.labels[0].knowable_at.has_value());
    const TimePoint k = *g.labels[0].knowable_at;
    // Knowable at the first reading <= 50, or after 30 min <= 60, whichever came first.
    std::optional<TimePoint> first50, run60;
    for (const SimReading* r : During(g, g.labels[0].onset, g.labels[0].end)) {
        const double v = *r->reading.get(Metric::kGlucose);
        if (v <= 50 && !first50) first50 = r->reading.measured_at;
        if (v <= 60 && !run60) run60 = r->reading.measured_at;
        if (v > 60) run60.reset();
        if (run60 && r->reading.measured_at - *run60 >= 30 * kMinute) break;
    }
    ASSERT_TRUE(first50.has_value());
    EXPECT_EQ(k, *first50);

    EventSpec drop = DefaultEventSpec(EventType::kGlucoseFastDrop);
    drop.at.absolute = 3 * kHour;
    g = WithEvent(drop, true);
    const LabelledEvent& l = g.labels[0];
    ASSERT_TRUE(l.knowable_at.has_value());
    EXPECT_LE(*l.knowable_at, l.onset + drop.ramp + 2 * kMinute);
    // At the knowable moment glucose is >= 30 % below some reading of the previous 30 minutes.
    double knowable_value = 0, max_before = 0;
    for (const SimReading& r : g.readings[0]) {
        if (r.reading.measured_at == *l.knowable_at) knowable_value = *r.reading.get(Metric::kGlucose);
        if (r.reading.measured_at < *l.knowable_at && r.reading.measured_at >= *l.knowable_at - 30 * kMinute) {
            max_before = std::max(max_before, *r.reading.get(Metric::kGlucose));
        }
    }
    EXPECT_LE(knowable_value, 0.7 * max_before);

    EventSpec high = DefaultEventSpec(EventType::kGlucoseHigh);
    high.at.absolute = 2 * kHour;
    g = WithEvent(high, true);
    ASSERT_TRUE(g.labels[0].knowable_at.has_value());
}

TEST(PhysiologyTest, EventsGoToTheRequestedNumberOfWearersAndSpreadTheirOnsets) {
    Scenario s = CleanFleet(10, 24 * kHour);
    EventSpec e = DefaultEventSpec(EventType::kBradycardia);
    e.at.fraction = 0.2;
    e.jitter.fraction = 0.5;
    e.wearers = 4;
    e.spread = 2;
    s.groups[0].events.push_back(e);
    const FleetPlan fleet = PlanFleet(s, kStart);
    int with = 0;
    std::map<int64_t, int> onsets;
    for (const WearerPlan& w : fleet.wearers) {
        with += !w.events.empty();
        for (const PlacedEvent& p : w.events) {
            EXPECT_GE(p.onset, kStart + Milliseconds(static_cast<int64_t>(0.2 * 24 * 3'600'000)));
            EXPECT_LE(p.onset, kStart + Milliseconds(static_cast<int64_t>(0.7 * 24 * 3'600'000)) + kMinute);
            EXPECT_EQ((p.onset - kStart) % s.interval, Milliseconds(0));
            EXPECT_GE(p.spec.target, 34);
            EXPECT_LE(p.spec.target, 38);
            ++onsets[ToUnixMillis(p.onset)];
        }
    }
    EXPECT_EQ(with, 4);
    EXPECT_GE(onsets.size(), 3u);
    EXPECT_TRUE(fleet.warnings.empty());
    // Deterministic.
    const FleetPlan again = PlanFleet(s, kStart);
    for (size_t i = 0; i < fleet.wearers.size(); ++i) {
        ASSERT_EQ(fleet.wearers[i].events.size(), again.wearers[i].events.size());
        for (size_t k = 0; k < fleet.wearers[i].events.size(); ++k) {
            EXPECT_EQ(fleet.wearers[i].events[k].onset, again.wearers[i].events[k].onset);
        }
    }
}

TEST(PhysiologyTest, EventsThatNoLongerFitAreDroppedWithAWarning) {
    Scenario s = CleanFleet(2, 2 * kHour);
    EventSpec e = DefaultEventSpec(EventType::kTachycardia);
    e.at.absolute = 100 * kMinute;  // ends at 140 min, after the 2 h window
    s.groups[0].events.push_back(e);
    const FleetPlan fleet = PlanFleet(s, kStart);
    for (const WearerPlan& w : fleet.wearers) EXPECT_TRUE(w.events.empty());
    ASSERT_EQ(fleet.warnings.size(), 1u);
    EXPECT_NE(fleet.warnings[0].find("tachycardia"), std::string::npos);
}

}  // namespace
}  // namespace vg::sim
