// Loading, resampling, labelling and windowing one trial from the real data.

#include <benchmark/benchmark.h>

#include <cstdlib>

#include "vg/imu/labels.hpp"
#include "vg/imu/series.hpp"
#include "vg/imu/trial.hpp"

namespace vg::imu {
namespace {

TrialInfo FirstTrial(DatasetId d, std::string_view code) {
    auto list = ListTrials(VG_DATA_DIR, d);
    if (!list.ok()) std::abort();
    for (const auto& t : *list)
        if (t.activity_code == code) return t;
    std::abort();
}

void LoadAndWindow(benchmark::State& state, DatasetId d, std::string_view code) {
    const TrialInfo info = FirstTrial(d, code);
    size_t windows = 0;
    for (auto _ : state) {
        auto trial = LoadTrial(info);
        auto series = Resample(*trial);
        auto labels = LabelSamples(info, *series);
        for (const auto& w : LabelWindows(*labels, {})) {
            auto values = WindowValues(*series, w.start, {});
            benchmark::DoNotOptimize(values.data());
            ++windows;
        }
    }
    state.counters["windows/trial"] = static_cast<double>(windows) / static_cast<double>(state.iterations());
}

BENCHMARK_CAPTURE(LoadAndWindow, sisfall_F01_15s, DatasetId::kSisFall, "F01")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(LoadAndWindow, sisfall_D01_100s, DatasetId::kSisFall, "D01")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(LoadAndWindow, umafall_Walking, DatasetId::kUmaFall, "Walking")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(LoadAndWindow, hifd_fall1, DatasetId::kHifd, "fall1")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vg::imu
