// Calibration of the fall monitor's movement thresholds on the TRAIN-split subjects of the real data
// sets (the numbers in src/posture/README.md). Run with
//   vg_posture_test --gtest_also_run_disabled_tests --gtest_filter='*Calibration*'
// It prints, per data set and placement, the distribution of std |a| and periodicity of the windows
// the monitor has to tell apart, and how many of each pass the default thresholds.

#include <gtest/gtest.h>

#include <cstdio>

#include "real_data_test_support.hpp"
#include "vg/posture/fall_monitor.hpp"
#include "vg/posture/window.hpp"

namespace vg::posture {
namespace {

using imu::Label;

struct Sample {
    double std_g;
    double periodicity;
};

double Percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

void Print(const std::string& name, const std::vector<Sample>& samples, const FallMonitorOptions& o, bool gravity) {
    std::vector<double> s, p;
    size_t still = 0, gait = 0;
    for (const auto& x : samples) {
        s.push_back(x.std_g);
        p.push_back(x.periodicity);
        still += x.std_g <= o.still_std_g;
        gait += gravity && x.std_g >= o.gait_min_std_g && x.periodicity >= o.gait_min_periodicity;
    }
    const double n = std::max<double>(1, static_cast<double>(samples.size()));
    std::printf(
        "%-34s n=%6zu  std|a| p10 %.3f p50 %.3f p90 %.3f p99 %.3f  period p50 %.2f p90 %.2f  still %5.1f%%  gait "
        "%5.1f%%\n",
        name.c_str(), samples.size(), Percentile(s, 0.1), Percentile(s, 0.5), Percentile(s, 0.9), Percentile(s, 0.99),
        Percentile(p, 0.5), Percentile(p, 0.9), 100.0 * static_cast<double>(still) / n,
        100.0 * static_cast<double>(gait) / n);
}

TEST(FallCalibration, DISABLED_TrainSplitNumbers) {
    const FallMonitorOptions defaults;
    for (imu::DatasetId d : imu::kAllDatasets) {
        for (imu::Placement place : {imu::Placement::kWaist, imu::Placement::kWrist}) {
            std::map<std::string, std::vector<Sample>> groups;
            size_t trials = 0;
            for (const imu::TrialInfo& info : testdata::Listed(d)) {
                if (info.placement != place || !testdata::InSplit(info, imu::Split::kTrain)) continue;
                const imu::ActivitySpec* spec = imu::FindActivity(d, info.activity_code);
                if (spec == nullptr) continue;
                testdata::LoadedTrial t = testdata::Load(info);
                if (!t.ok) continue;
                ++trials;
                for (const imu::LabelledWindow& w : t.windows) {
                    const WindowMotion m = MeasureMotion(testdata::WindowAt(t.series, info, w.start));
                    const Sample sample{m.accel_std_g, m.periodicity};
                    if (spec->scenario == imu::Scenario::kFall && t.labels.impact) {
                        const size_t impact = *t.labels.impact;
                        // The monitor's post-fall windows: wholly after the impact's 0.5 s aftermath.
                        if (w.start >= impact + 25) {
                            groups["post-fall (all)"].push_back(sample);
                            if (w.start < impact + 25 + 5 * 50) groups["post-fall (first 5 s)"].push_back(sample);
                            if (w.label == Label::kLying) groups["post-fall labelled Lying"].push_back(sample);
                        }
                        continue;
                    }
                    switch (w.label) {
                        case Label::kWalking:
                            groups["walking"].push_back(sample);
                            break;
                        case Label::kRunning:
                            groups["running"].push_back(sample);
                            break;
                        case Label::kUpstairs:
                        case Label::kDownstairs:
                            groups["stairs"].push_back(sample);
                            break;
                        case Label::kStanding:
                            groups["standing still"].push_back(sample);
                            break;
                        case Label::kLying:
                            groups["lying (ADL)"].push_back(sample);
                            break;
                        case Label::kOther:
                            if (info.activity_code == "D18") groups["stumble while walking (D18)"].push_back(sample);
                            break;
                        case Label::kIgnore:
                            if (spec->scenario == imu::Scenario::kChair || spec->scenario == imu::Scenario::kLieDown) {
                                groups["sit/stand/lie transitions"].push_back(sample);
                            }
                            break;
                        default:
                            break;
                    }
                }
            }
            if (trials == 0) continue;
            std::printf("== %s %s (train split, %zu trials)\n", std::string(imu::DatasetName(d)).c_str(),
                        std::string(imu::PlacementName(place)).c_str(), trials);
            for (const auto& [name, samples] : groups) Print(name, samples, defaults, d != imu::DatasetId::kHifd);
            // The gait rule's trade-off (without the gravity condition): walking windows recognised vs early
            // post-fall windows passed.
            for (double gs : {0.08, 0.10}) {
                for (double gp : {0.6, 0.7, 0.8}) {
                    auto rate = [&](const std::string& g) {
                        const auto& v = groups[g];
                        size_t k = 0;
                        for (const auto& x : v) k += x.std_g >= gs && x.periodicity >= gp;
                        return v.empty() ? 0.0 : 100.0 * static_cast<double>(k) / static_cast<double>(v.size());
                    };
                    std::printf(
                        "   gait std>=%.2f period>=%.1f: walking %5.1f%%  post-fall first 5 s %4.1f%%  stumble %5.1f%% "
                        " transitions %4.1f%%\n",
                        gs, gp, rate("walking"), rate("post-fall (first 5 s)"), rate("stumble while walking (D18)"),
                        rate("sit/stand/lie transitions"));
                }
            }
        }
    }
}

}  // namespace
}  // namespace vg::posture
