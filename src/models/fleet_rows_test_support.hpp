#pragma once
// Feature rows of a simulated fleet for the tree model's tests and benchmarks (private to src/models):
// 200 wearers an hour each — tachycardia, hypoxaemia with fast breathing, fever, exercise, and missing
// values — through the serving FeatureTracker, row-major, a fixed seed so every run sees the same rows.

#include <random>
#include <vector>

#include "vg/domain/vitals.hpp"
#include "vg/models/features.hpp"

namespace vg::models::test_support {

inline std::vector<float> FleetRows(const ExercisePca& pca) {
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<float> rows;
    for (int w = 0; w < 200; ++w) {
        FeatureTracker tracker;
        const double hr0 = 60 + 30 * u(rng), temp0 = 32.5 + 2 * u(rng);
        const int kind = w % 5;
        for (int m = 0; m < 60; ++m) {
            const double x = m < 30 ? 0 : (m - 30) / 30.0;
            double hr = hr0 + 2 * noise(rng), rr = 15 + noise(rng), spo2 = 97 + 0.5 * noise(rng), temp = temp0;
            double steps = 0, cal = 1.1 + 0.1 * u(rng);
            if (kind == 1) hr += 80 * x;
            if (kind == 2) spo2 -= 12 * x, rr += 10 * x;
            if (kind == 3) temp += 2.5 * x;
            if (kind == 4 && m >= 30) steps = 100 + 20 * u(rng), cal = 6 + u(rng), hr += 50;
            domain::VitalsReading r;
            r.measured_at = FromUnixMillis(1'800'000'000'000 + m * 60'000);
            if (u(rng) > 0.05) r.set(domain::Metric::kHeartRate, hr);
            if (u(rng) > 0.2) r.set(domain::Metric::kRespirationRate, rr);
            if (u(rng) > 0.1) r.set(domain::Metric::kSpo2, spo2);
            if (u(rng) > 0.1) r.set(domain::Metric::kSkinTemp, temp);
            if (u(rng) > 0.3) r.set(domain::Metric::kSteps, steps);
            if (u(rng) > 0.3) r.set(domain::Metric::kCalories, cal);
            const FeatureVector f = tracker.Extract(r, pca);
            rows.insert(rows.end(), f.begin(), f.end());
        }
    }
    return rows;
}

}  // namespace vg::models::test_support
