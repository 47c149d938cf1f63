#include "vg/domain/vitals.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace vg::domain {
namespace {

TEST(VitalsTest, MetricNamesRoundTrip) {
    for (int i = 0; i < kMetricCount; ++i) {
        auto m = static_cast<Metric>(i);
        EXPECT_EQ(MetricFromName(MetricName(m)), m);
    }
    EXPECT_FALSE(MetricFromName("pulse"));
}

TEST(VitalsTest, ExtremeButPossibleValuesAreData) {
    VitalsReading r;
    r.set(Metric::kHeartRate, 220);
    r.set(Metric::kSpo2, 62);
    r.set(Metric::kRespirationRate, 45);
    r.set(Metric::kSkinTemp, 41.5);
    EXPECT_TRUE(ValidateReading(r).empty());
}

TEST(VitalsTest, ImpossibleValuesAndWrongUnitsNameTheField) {
    VitalsReading r;
    r.set(Metric::kHeartRate, 0);
    r.set(Metric::kSpo2, 0.97);
    r.set(Metric::kSkinTemp, 98.6);
    r.set(Metric::kGlucose, 5.5);
    r.set(Metric::kSteps, -3);
    auto errors = ValidateReading(r, "readings[2].");
    ASSERT_EQ(errors.size(), 5u);
    EXPECT_EQ(errors[0].field, "readings[2].heart_rate");
    EXPECT_NE(errors[1].problem.find("percent"), std::string::npos);
    EXPECT_NE(errors[2].problem.find("°F"), std::string::npos);
    EXPECT_NE(errors[3].problem.find("mmol/L"), std::string::npos);
    EXPECT_EQ(errors[4].field, "readings[2].steps");
}

TEST(VitalsTest, NonFiniteValuesAreRejected) {
    VitalsReading r;
    r.set(Metric::kHeartRate, std::nan(""));
    EXPECT_EQ(ValidateReading(r).size(), 1u);
}

TEST(VitalsTest, AReadingNeedsAtLeastOneVital) {
    VitalsReading r;
    r.set(Metric::kSteps, 80);
    auto errors = ValidateReading(r);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].problem.find("at least one"), std::string::npos);
}

}  // namespace
}  // namespace vg::domain
