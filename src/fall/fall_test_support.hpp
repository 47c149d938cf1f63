#pragma once
// Test support (not part of the module): a deterministic stand-in for the posture network, and real trials of
// the public IMU data sets read in place from ../shared/data (or $VG_SHARED_DATA: tests/shared_data;
// docs/posture-data.md). A test that reads them skips without them (VG_REQUIRE_DATA_SET).

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vg/fall/impact_candidates.hpp"
#include "vg/imu/labels.hpp"
#include "vg/imu/series.hpp"
#include "vg/imu/split.hpp"
#include "vg/imu/trial.hpp"
#include "vg/posture/classifier.hpp"
#include "vg/testing/shared_data.hpp"

namespace vg::fall::testing {

// Probabilities that are a pure function of the window's content (its largest |a| and the spread of |a|), so
// equal windows always get equal predictions, as the real network's do.
class SignalClassifier : public posture::PostureClassifier {
  public:
    Result<std::vector<posture::PosturePrediction>> Classify(
        std::span<const posture::ModelWindow> windows) const override {
        std::vector<posture::PosturePrediction> out;
        for (const posture::ModelWindow& w : windows) {
            double peak = 0, sum = 0, sum_sq = 0;
            for (size_t t = 0; t < posture::kWindowSamples; ++t) {
                const float* v = &w.values[t * posture::kChannels];
                const double m = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
                peak = std::max(peak, m);
                sum += m;
                sum_sq += m * m;
            }
            const double n = posture::kWindowSamples;
            const double spread = std::sqrt(std::max(0.0, sum_sq / n - (sum / n) * (sum / n)));
            std::array<double, posture::kNumModelClasses> logits{};
            logits[static_cast<size_t>(posture::Posture::kFall)] = 2 * (peak - 2);
            logits[static_cast<size_t>(posture::Posture::kWalking)] = 10 * spread - 1;
            logits[static_cast<size_t>(posture::Posture::kLying)] = 1 - 20 * spread;
            double z = 0;
            for (double l : logits) z += std::exp(l);
            std::array<float, posture::kNumModelClasses> p{};
            for (size_t c = 0; c < p.size(); ++c) p[c] = static_cast<float>(std::exp(logits[c]) / z);
            out.push_back(posture::PredictionFromProbabilities(p));
        }
        return out;
    }
    const posture::ClassifierInfo& info() const override { return info_; }

  private:
    posture::ClassifierInfo info_{"signal-stand-in", 0.5F};
};

inline const std::filesystem::path kData = ::vg::testing::SharedDataRoot();

// For tests that go over every data set: false (saying so; a failure under VG_REQUIRE_DATA) when `d` is missing.
inline bool HaveData(imu::DatasetId d) { return ::vg::testing::HaveDataSet(imu::DatasetName(d)); }

inline const std::vector<imu::TrialInfo>& Listed(imu::DatasetId d) {
    static std::map<imu::DatasetId, std::vector<imu::TrialInfo>> cache;
    auto it = cache.find(d);
    if (it == cache.end()) {
        auto r = imu::ListTrials(kData, d);
        it = cache.emplace(d, r.ok() ? r.value() : std::vector<imu::TrialInfo>{}).first;
    }
    return it->second;
}

// Each subject's split (imu::AssignSplits with the default seed).
inline imu::Split SplitOf(const imu::TrialInfo& t) {
    std::vector<std::string> subjects;
    for (const auto& x : Listed(t.dataset)) subjects.push_back(x.subject);
    std::sort(subjects.begin(), subjects.end());
    subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
    return imu::AssignSplits(t.dataset, subjects).at(t.subject);
}

// The first `count` fall trials of `split` of a data set, one per activity code where possible.
inline std::vector<imu::TrialInfo> FallTrials(imu::DatasetId d, imu::Split split, size_t count) {
    std::vector<imu::TrialInfo> out;
    std::map<std::string, int> per_code;
    for (const auto& t : Listed(d)) {
        if (out.size() >= count) break;
        if (!t.is_fall_trial || SplitOf(t) != split || per_code[t.activity_code]++ > 0) continue;
        out.push_back(t);
    }
    return out;
}

struct LoadedSeries {
    imu::Series series;
    std::optional<size_t> impact;  // fall trials: the labelled impact
};

inline std::optional<LoadedSeries> LoadSeries(const imu::TrialInfo& info) {
    auto t = imu::LoadTrial(info);
    if (!t.ok()) return std::nullopt;
    auto s = imu::Resample(*t);
    if (!s.ok()) return std::nullopt;
    LoadedSeries out{std::move(*s), std::nullopt};
    if (info.is_fall_trial) {
        auto l = imu::LabelSamples(info, out.series);
        if (l.ok()) out.impact = l->impact;
    }
    return out;
}

inline SampleStream StreamOf(const imu::Series& series, const imu::TrialInfo& info) {
    return {series.samples,
            info.placement == imu::Placement::kWaist ? posture::Placement::kWaist : posture::Placement::kWrist,
            series.gravity_removed};
}

}  // namespace vg::fall::testing
