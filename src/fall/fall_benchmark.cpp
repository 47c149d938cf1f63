// What the fall decision costs a server per wearer: finding candidates in the kept 5 s of samples, one
// event's features with the shipped posture network (four windows, one Classify call), and the trees.
// Single-threaded. The cost hardly depends on the values, so the samples are synthetic.
#include <benchmark/benchmark.h>

#include <random>

#include "vg/fall/event_features.hpp"
#include "vg/fall/fall_event_model.hpp"
#include "vg/fall/impact_candidates.hpp"
#include "vg/posture/native/native_classifier.hpp"

namespace vg::fall {
namespace {

constexpr size_t kKept = kSamplesBefore + kSamplesAfter + 1;  // what a server keeps per wearer

std::vector<ImuSample> Samples(size_t n) {
    std::mt19937 rng(5);
    std::normal_distribution<float> noise(0.0F, 0.2F);
    std::vector<ImuSample> s(n);
    for (ImuSample& x : s) x = {noise(rng), 1.0F + noise(rng), noise(rng), 20 * noise(rng), 20 * noise(rng), 0};
    s[kSamplesBefore] = {0.5F, 3.0F, 0.2F, 150, 40, 10};  // an impact where the event's span fits
    return s;
}

const posture::PostureClassifier* Network() {
    static const std::unique_ptr<posture::PostureClassifier> network = [] {
        auto loaded = posture::native::LoadNativeClassifier(VG_MODELS_DIR);
        return loaded.ok() ? std::move(loaded).value() : nullptr;
    }();
    return network.get();
}

void BM_FindImpactCandidates(benchmark::State& state) {
    const auto samples = Samples(kKept);
    for (auto _ : state) {
        auto c = FindImpactCandidates({samples});
        benchmark::DoNotOptimize(c);
    }
}
BENCHMARK(BM_FindImpactCandidates)->Unit(benchmark::kMicrosecond);

void BM_EventFeaturesWithTheShippedNetwork(benchmark::State& state) {
    const posture::PostureClassifier* network = Network();
    if (network == nullptr) {
        state.SkipWithError("no posture network in models/");
        return;
    }
    const auto samples = Samples(kKept);
    const size_t impacts[] = {kSamplesBefore};
    for (auto _ : state) {
        auto f = ComputeEventFeatures({samples}, impacts, *network);
        benchmark::DoNotOptimize(f);
    }
}
BENCHMARK(BM_EventFeaturesWithTheShippedNetwork)->Unit(benchmark::kMicrosecond);

void BM_FallEventModelProbability(benchmark::State& state) {
    auto model = FallEventModel::Load(VG_MODELS_DIR);
    if (!model.ok()) {
        state.SkipWithError(model.status().message().c_str());
        return;
    }
    EventFeatures features{};
    features.fill(0.5F);
    for (auto _ : state) benchmark::DoNotOptimize(model->Probability(features));
}
BENCHMARK(BM_FallEventModelProbability)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vg::fall
