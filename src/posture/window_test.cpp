// The API window → ModelWindow: every check names its field; resampling onto 128 samples at 50 Hz;
// timing, stitching and the movement statistics.
#include "vg/posture/window.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace vg::posture {
namespace {

using ::testing::HasSubstr;

// The API's names are the seed's labels exactly (its API table: 0:Downstair … 7:Fall); the model's class
// names stay for logs and reports.
TEST(WireName, IsTheSeedsLabelForEveryClass) {
    const std::vector<std::string_view> seed = {"Downstair", "Upstair", "Running", "Sitdown",
                                                "StandUp",   "Walking", "Lying",   "Fall"};
    ASSERT_EQ(seed.size(), kNumPostures);
    for (size_t i = 0; i < kNumPostures; ++i) EXPECT_EQ(WireName(static_cast<Posture>(i)), seed[i]) << i;
    EXPECT_EQ(WireName(static_cast<Posture>(9)), "Unknown");
    EXPECT_EQ(PostureName(Posture::kSitting), "Sitting");
    EXPECT_EQ(PostureName(Posture::kStanding), "Standing");
}

// A wearer standing still at `rate` Hz: gravity on z, tiny noise-free values.
ImuWindow Still(double rate, size_t n = 0, bool gravity_removed = false) {
    ImuWindow w;
    w.sample_rate_hz = rate;
    w.gravity_removed = gravity_removed;
    if (n == 0) n = ExpectedSamples(rate);
    w.samples.assign(n, {0.01, -0.02, gravity_removed ? 0.01 : 0.99, 1.5, -0.5, 0.25});
    return w;
}

std::vector<FieldError> Errors(const ImuWindow& w, std::string_view prefix = "") {
    auto r = ToModelWindow(w, prefix);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return {};
    EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
    return r.status().fields();
}

// The one problem of `w`, which must be on `field`.
std::string ProblemOf(const ImuWindow& w, const std::string& field, std::string_view prefix = "") {
    auto errors = Errors(w, prefix);
    EXPECT_EQ(errors.size(), 1u);
    for (const auto& e : errors) {
        EXPECT_EQ(e.field, field) << e.problem;
        if (e.field == field) return e.problem;
    }
    return {};
}

TEST(ExpectedSamples, IsTwoPointFiveSixSecondsRounded) {
    EXPECT_EQ(ExpectedSamples(50), 128u);
    EXPECT_EQ(ExpectedSamples(20), 51u);
    EXPECT_EQ(ExpectedSamples(100), 256u);
    EXPECT_EQ(ExpectedSamples(200), 512u);
    EXPECT_EQ(ExpectedSamples(25), 64u);
}

TEST(ToModelWindow, FiftyHertzIsCopiedAsItIs) {
    ImuWindow w = Still(50);
    for (size_t i = 0; i < w.samples.size(); ++i) w.samples[i][3] = static_cast<double>(i);
    w.placement = Placement::kWaist;
    auto r = ToModelWindow(w);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->placement, Placement::kWaist);
    EXPECT_FALSE(r->gravity_removed);
    for (size_t k = 0; k < kWindowSamples; ++k) {
        EXPECT_FLOAT_EQ(r->values[k * kChannels + 3], static_cast<float>(k));
        EXPECT_FLOAT_EQ(r->values[k * kChannels + 2], 0.99F);
    }
}

TEST(ToModelWindow, OtherRatesAreResampledLinearlyOnTheWindowsOwnTime) {
    for (double rate : {20.0, 33.0, 100.0, 200.0}) {
        ImuWindow w = Still(rate);
        const size_t n = w.samples.size();
        // gx = the sample's time in cs before the last sample (a ramp): the model sample k must read
        // (127 − k) · 2 cs, except where the window is shorter than the model's 2.54 s (held).
        for (size_t i = 0; i < n; ++i) w.samples[i][3] = static_cast<double>(n - 1 - i) * 100.0 / rate;
        auto r = ToModelWindow(w);
        ASSERT_TRUE(r.ok()) << rate << ": " << r.status().ToString();
        const double span_cs = static_cast<double>(n - 1) * 100.0 / rate;
        for (size_t k = 0; k < kWindowSamples; ++k) {
            const double expected = std::min(span_cs, static_cast<double>(kWindowSamples - 1 - k) * 2.0);
            EXPECT_NEAR(r->values[k * kChannels + 3], expected, 1e-3 * span_cs) << rate << " Hz, k=" << k;
        }
    }
}

TEST(ToModelWindow, AcceptsTheCountToleranceAndGravityRemoved) {
    EXPECT_TRUE(ToModelWindow(Still(50, 126)).ok());
    EXPECT_TRUE(ToModelWindow(Still(50, 130)).ok());
    auto r = ToModelWindow(Still(50, 0, /*gravity_removed=*/true));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->gravity_removed);
}

TEST(ToModelWindow, SampleRateOutOfRange) {
    for (double rate : {0.0, 19.9, 200.5, std::numeric_limits<double>::quiet_NaN()}) {
        ImuWindow w = Still(50);
        w.sample_rate_hz = rate;
        EXPECT_THAT(ProblemOf(w, "sample_rate_hz"), HasSubstr("between 20 and 200")) << rate;
    }
}

TEST(ToModelWindow, WrongNumberOfSamples) {
    EXPECT_THAT(ProblemOf(Still(50, 125), "samples"),
                HasSubstr("must hold 126 to 130 samples (2.56 s at 50 Hz); got 125"));
    EXPECT_THAT(ProblemOf(Still(50, 131), "samples"), HasSubstr("got 131"));
    EXPECT_THAT(ProblemOf(Still(100, 200), "samples"), HasSubstr("254 to 258"));
    ImuWindow empty = Still(50);
    empty.samples.clear();
    EXPECT_THAT(ProblemOf(empty, "samples"), HasSubstr("got 0"));
}

TEST(ToModelWindow, AtMost1024SamplesIsCheckedFirst) {
    ImuWindow w = Still(200, 2000);
    w.samples[5] = {std::nan("")};  // not even looked at
    EXPECT_THAT(ProblemOf(w, "samples"), HasSubstr("at most 1024"));
}

TEST(ToModelWindow, EachSampleIsSixNumbers) {
    ImuWindow w = Still(50);
    w.samples[12] = {0, 0, 1, 0, 0};
    EXPECT_THAT(ProblemOf(w, "samples[12]"), HasSubstr("must be 6 numbers [ax, ay, az, gx, gy, gz]"));
    w.samples[12] = {0, 0, 1, 0, 0, 0, 0};
    EXPECT_THAT(ProblemOf(w, "samples[12]"), HasSubstr("got 7"));
}

TEST(ToModelWindow, EveryValueFinite) {
    ImuWindow w = Still(50);
    w.samples[12][3] = std::numeric_limits<double>::infinity();
    EXPECT_EQ(ProblemOf(w, "samples[12][3]"), "must be a finite number");
    w = Still(50);
    w.samples[0][0] = std::nan("");
    EXPECT_EQ(ProblemOf(w, "samples[0][0]"), "must be a finite number");
}

TEST(ToModelWindow, AccelerationAndRotationRanges) {
    ImuWindow w = Still(50);
    w.samples[3][1] = -16.5;
    EXPECT_THAT(ProblemOf(w, "samples[3][1]"), HasSubstr("between -16 and 16 g"));
    w = Still(50);
    w.samples[3][1] = 16.0;  // the limit itself is fine
    EXPECT_TRUE(ToModelWindow(w).ok());
    w.samples[7][5] = 2000.5;
    EXPECT_THAT(ProblemOf(w, "samples[7][5]"), HasSubstr("between -2000 and 2000 °/s"));
}

TEST(ToModelWindow, MetresPerSecondSquaredAreRecognised) {
    ImuWindow w = Still(50);
    for (auto& s : w.samples) s[2] = 9.81;
    EXPECT_THAT(ProblemOf(w, "samples"), HasSubstr("looks like m/s²; send g"));
    w.gravity_removed = true;
    EXPECT_THAT(ProblemOf(w, "samples"), HasSubstr("looks like m/s²"));
}

TEST(ToModelWindow, GravityMustBeThereUnlessRemoved) {
    ImuWindow w = Still(50);
    for (auto& s : w.samples) s[2] = 0.05;
    EXPECT_THAT(ProblemOf(w, "samples"), HasSubstr("\"gravity_removed\": true"));
    w.gravity_removed = true;
    EXPECT_TRUE(ToModelWindow(w).ok());
    for (auto& s : w.samples) s = {2.5, 2.5, 0, 0, 0, 0};  // 3.5 g on average, without gravity
    EXPECT_THAT(ProblemOf(w, "samples"), HasSubstr("at most 3 g"));
    w.gravity_removed = false;
    EXPECT_THAT(ProblemOf(w, "samples"), HasSubstr("at most 3 g"));
}

TEST(ToModelWindow, PrefixNamesTheWindowOfABatch) {
    ImuWindow w = Still(50);
    w.samples[12][0] = 99;
    EXPECT_EQ(Errors(w, "windows[3].").at(0).field, "windows[3].samples[12][0]");
    w.sample_rate_hz = 5;
    auto errors = Errors(w, "windows[3].");
    ASSERT_GE(errors.size(), 2u);
    EXPECT_EQ(errors[0].field, "windows[3].sample_rate_hz");
}

TEST(ToModelWindow, ManyProblemsAreListedUpToTwentyThenCounted) {
    ImuWindow w = Still(50);
    for (auto& s : w.samples) s[4] = 5000;
    auto errors = Errors(w);
    ASSERT_EQ(errors.size(), 21u);
    EXPECT_EQ(errors[19].field, "samples[19][4]");
    EXPECT_EQ(errors[20].field, "samples");
    EXPECT_THAT(errors[20].problem, HasSubstr("108 more"));
}

TEST(TimingOf, FirstSampleAndPeriod) {
    const TimePoint end = FromUnixMillis(1'700'000'010'000);
    WindowTiming t = TimingOf(end, 128, 50);
    EXPECT_EQ(t.end, end);
    EXPECT_EQ(end - t.first, Milliseconds(2540));
    EXPECT_EQ(t.period, Milliseconds(20));
    t = TimingOf(end, 512, 200);
    EXPECT_EQ(end - t.first, Milliseconds(2555));
    EXPECT_EQ(t.period, Milliseconds(5));
}

TEST(StitchHalves, LastHalfOfTheFirstThenFirstHalfOfTheSecond) {
    ModelWindow a, b;
    for (size_t i = 0; i < a.values.size(); ++i) {
        a.values[i] = static_cast<float>(i);
        b.values[i] = -static_cast<float>(i);
    }
    b.placement = Placement::kWaist;
    const ModelWindow s = StitchHalves(a, b);
    EXPECT_EQ(s.placement, Placement::kWaist);
    EXPECT_EQ(s.values[0], a.values[64 * kChannels]);
    EXPECT_EQ(s.values[63 * kChannels + 5], a.values[127 * kChannels + 5]);
    EXPECT_EQ(s.values[64 * kChannels], b.values[0]);
    EXPECT_EQ(s.values[127 * kChannels + 5], b.values[63 * kChannels + 5]);
}

ModelWindow FromMagnitude(const std::function<double(size_t)>& mag) {
    ModelWindow w;
    for (size_t t = 0; t < kWindowSamples; ++t) w.values[t * kChannels + 1] = static_cast<float>(mag(t));
    return w;
}

TEST(MeasureMotion, StillnessGaitAndIrregularMovement) {
    const WindowMotion still = MeasureMotion(FromMagnitude([](size_t) { return 1.0; }));
    EXPECT_NEAR(still.accel_std_g, 0, 1e-9);
    EXPECT_EQ(still.periodicity, 0);
    // Steps every 0.5 s: |a| = 1 + 0.2 sin(2π · 2 Hz · t).
    const WindowMotion gait = MeasureMotion(
        FromMagnitude([](size_t t) { return 1.0 + 0.2 * std::sin(2 * M_PI * 2.0 * static_cast<double>(t) / 50.0); }));
    EXPECT_NEAR(gait.accel_std_g, 0.2 / std::sqrt(2.0), 0.01);
    EXPECT_GT(gait.periodicity, 0.95);
    // Without gravity (|a| around 0.2 g) the spread is the same.
    const WindowMotion no_gravity = MeasureMotion(
        FromMagnitude([](size_t t) { return 0.3 + 0.2 * std::sin(2 * M_PI * 2.0 * static_cast<double>(t) / 50.0); }));
    EXPECT_NEAR(no_gravity.accel_std_g, gait.accel_std_g, 0.01);
    // Irregular movement: white noise has no period.
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(1.0, 0.2);
    const WindowMotion irregular = MeasureMotion(FromMagnitude([&](size_t) { return noise(rng); }));
    EXPECT_GT(irregular.accel_std_g, 0.1);
    EXPECT_LT(irregular.periodicity, 0.5);
}

}  // namespace
}  // namespace vg::posture
