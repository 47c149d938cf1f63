// Rule evaluation cost per reading, and the memory of one wearer's rule state.
//
// BM_EvaluateDay: adult-default, a realistic day of one reading a minute with every metric the watch
// sends (heart rate, respiration, SpO2, skin temperature, steps, calories; glucose every 5 min),
// walks, sleep and the odd sensor spike, fed round-robin to many wearers so that the states do not
// all sit in L1. BM_EvaluateAlerting: a stream where rules fire on most readings (the Detection's
// strings are built). BM_CheckSilence: the per-tick signal-loss check.

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "vg/rules/rules.hpp"

namespace vg::rules {
namespace {

using domain::Metric;
using domain::VitalsReading;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int kMinutesPerDay = 1440;

std::shared_ptr<const RuleProfile> AdultDefault() {
    static const std::shared_ptr<const RuleProfile> profile = [] {
        ProfileRegistry registry;
        if (!registry.LoadDirectory(VG_PROFILES_DIR).ok()) std::abort();
        return registry.Find("adult-default");
    }();
    return profile;
}

std::vector<VitalsReading> NormalDay(uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0, 1);
    std::vector<VitalsReading> day;
    day.reserve(kMinutesPerDay);
    for (int m = 0; m < kMinutesPerDay; ++m) {
        const bool asleep = m < 7 * 60 || m > 23 * 60;
        const bool walking = (m >= 9 * 60 && m < 9 * 60 + 40) || (m >= 17 * 60 && m < 17 * 60 + 25);
        const double cadence = walking ? 110 + 5 * noise(rng) : asleep ? 0 : std::max(0.0, 15 + 12 * noise(rng));
        double hr = (asleep ? 58 : walking ? 105 : 73) + 3 * noise(rng);
        if (m % 60 == 17) hr = 150;  // a motion artefact once an hour: silent, one reading
        VitalsReading r;
        r.measured_at = FromUnixMillis(kT0 + int64_t{m} * 60'000);
        r.set(Metric::kHeartRate, std::round(hr));
        r.set(Metric::kRespirationRate, std::round((asleep ? 13 : walking ? 18 : 15) + noise(rng)));
        r.set(Metric::kSpo2, std::round(std::min(100.0, 97 + 0.8 * noise(rng))));
        r.set(Metric::kSkinTemp, (asleep ? 34.0 : 33.2) + 0.15 * noise(rng));
        r.set(Metric::kSteps, std::round(cadence));
        r.set(Metric::kCalories, walking ? 4.5 : 1.2);
        if (m % 5 == 0) r.set(Metric::kGlucose, std::round(100 + 8 * noise(rng)));
        day.push_back(r);
    }
    return day;
}

void BM_EvaluateDay(benchmark::State& st) {
    auto profile = AdultDefault();
    const int wearers = static_cast<int>(st.range(0));
    const std::vector<VitalsReading> day = NormalDay(7);
    std::vector<std::unique_ptr<WearerState>> states;
    for (int w = 0; w < wearers; ++w) states.push_back(NewWearerState(*profile));
    int64_t minute = 0;
    int w = 0;
    int64_t alerts = 0;
    for (auto _ : st) {
        VitalsReading r = day[static_cast<size_t>(minute % kMinutesPerDay)];
        r.measured_at = FromUnixMillis(kT0 + minute * 60'000);
        domain::Detection d = Evaluate(*profile, *states[static_cast<size_t>(w)], r);
        alerts += d.level != domain::Level::kNormal;
        benchmark::DoNotOptimize(d);
        if (++w == wearers) {
            w = 0;
            ++minute;
        }
    }
    st.SetItemsProcessed(st.iterations());
    st.counters["bytes_per_wearer"] = static_cast<double>(WearerStateBytes(*states[0]));
    st.counters["alert_fraction"] =
        static_cast<double>(alerts) / static_cast<double>(std::max<int64_t>(1, st.iterations()));
}
BENCHMARK(BM_EvaluateDay)->Arg(1)->Arg(1000)->Arg(100'000);

void BM_EvaluateAlerting(benchmark::State& st) {
    auto profile = AdultDefault();
    auto state = NewWearerState(*profile);
    int64_t minute = 0;
    for (auto _ : st) {
        VitalsReading r;
        r.measured_at = FromUnixMillis(kT0 + minute * 60'000);
        r.set(Metric::kHeartRate, 140 + static_cast<double>(minute % 5));  // danger, confirmed every reading
        r.set(Metric::kSpo2, 93);                                          // caution
        r.set(Metric::kRespirationRate, 22);                               // caution
        r.set(Metric::kSkinTemp, 33.5);
        r.set(Metric::kSteps, 0);
        domain::Detection d = Evaluate(*profile, *state, r);
        benchmark::DoNotOptimize(d);
        ++minute;
    }
    st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_EvaluateAlerting);

void BM_CheckSilence(benchmark::State& st) {
    auto profile = AdultDefault();
    auto state = NewWearerState(*profile);
    VitalsReading r;
    r.measured_at = FromUnixMillis(kT0);
    r.set(Metric::kHeartRate, 72);
    (void)Evaluate(*profile, *state, r);
    const TimePoint now = FromUnixMillis(kT0 + 60'000);  // within the silence time: the common case
    for (auto _ : st) benchmark::DoNotOptimize(CheckSilence(*profile, *state, now));
    st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_CheckSilence);

}  // namespace
}  // namespace vg::rules
