// The native posture engine's cost per window with the shipped network (models/): one window per call
// (a watch's request), and batches (the device batch route, evaluation). Single-threaded, as each posture
// worker runs. The cost does not depend on the values, so the windows are synthetic.
#include <benchmark/benchmark.h>

#include <random>

#include "vg/posture/native/native_classifier.hpp"

namespace vg::posture::native {
namespace {

const PostureClassifier& Shipped() {
    static const std::unique_ptr<PostureClassifier> classifier = [] {
        auto loaded = LoadNativeClassifier(VG_MODELS_DIR);
        if (!loaded.ok()) {
            std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
            std::abort();
        }
        return std::move(loaded).value();
    }();
    return *classifier;
}

std::vector<ModelWindow> Windows(size_t n) {
    std::mt19937 rng(5);
    std::normal_distribution<float> noise(0.0F, 0.3F);
    std::vector<ModelWindow> out(n);
    for (auto& w : out) {
        for (size_t v = 0; v < w.values.size(); ++v) w.values[v] = v % kChannels == 2 ? 1.0F + noise(rng) : noise(rng);
    }
    return out;
}

void BM_NativeClassify(benchmark::State& state) {
    const auto windows = Windows(static_cast<size_t>(state.range(0)));
    const PostureClassifier& classifier = Shipped();
    for (auto _ : state) {
        auto p = classifier.Classify(windows);
        benchmark::DoNotOptimize(p);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["us_per_window"] =
        benchmark::Counter(static_cast<double>(state.range(0)) * 1e-6,
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_NativeClassify)->Arg(1)->Arg(8)->Arg(64)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vg::posture::native
