// Posture network latency and throughput (numbers go in the issue note, never into tests):
//   BM_ShippedOneWindow        one window per call, 1 intra-op thread (the serving configuration)
//   BM_ShippedOneWindowPool/threads:2   two callers at once, 1 thread each: windows/s on 2 cores
//   BM_ShippedBatch64          64 windows per call, 2 intra-op threads
//   BM_ShapeOneWindow/<w>/<d>/<layers>  the width trade-off with random weights (latency only)
// Run: build/src/posture/torch/vg_posture_torch_benchmark
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "model_file.hpp"
#include "network.hpp"
#include "vg/posture/torch/torch_classifier.hpp"
#include "vg/posture/torch/training.hpp"

namespace vg::posture {
namespace {

std::vector<ModelWindow> Windows(size_t n) {
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.0F, 0.2F);
    std::vector<ModelWindow> out(n);
    for (auto& w : out) {
        for (size_t i = 0; i < w.values.size(); ++i) w.values[i] = (i % kChannels == 1 ? 1.0F : 0.0F) + noise(rng);
    }
    return out;
}

const PostureClassifier& Shipped() {
    static std::unique_ptr<PostureClassifier> classifier = [] {
        auto c = LoadTorchClassifier(VG_MODELS_DIR, {1});
        if (!c.ok()) {
            std::fprintf(stderr, "no shipped model (%s): using an untrained default network\n",
                         c.status().message().c_str());
            return std::unique_ptr<PostureClassifier>(
                std::make_unique<TorchClassifier>(net::PostureNet(net::NetworkConfig{}), ClassifierInfo{}));
        }
        return std::move(c).value();
    }();
    return *classifier;
}

void BM_ShippedOneWindow(benchmark::State& state) {
    const auto& c = Shipped();
    torch::set_num_threads(1);
    const auto w = Windows(1);
    for (auto _ : state) benchmark::DoNotOptimize(c.Classify(w));
    state.SetItemsProcessed(state.iterations());
    const auto size = std::filesystem::file_size(std::filesystem::path(VG_MODELS_DIR) / kWeightsFile);
    state.counters["weight_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_ShippedOneWindow)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_ShippedOneWindowPool(benchmark::State& state) {
    const auto& c = Shipped();
    const auto w = Windows(1);
    for (auto _ : state) benchmark::DoNotOptimize(c.Classify(w));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ShippedOneWindowPool)->Unit(benchmark::kMicrosecond)->Threads(2)->UseRealTime();

void BM_ShippedBatch64(benchmark::State& state) {
    const auto& c = Shipped();
    torch::set_num_threads(2);
    const auto w = Windows(64);
    for (auto _ : state) benchmark::DoNotOptimize(c.Classify(w));
    state.SetItemsProcessed(state.iterations() * 64);
    torch::set_num_threads(1);
}
BENCHMARK(BM_ShippedBatch64)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ShapeOneWindow(benchmark::State& state) {
    net::NetworkConfig config;
    config.width = static_cast<int>(state.range(0));
    config.transformer_dim = static_cast<int>(state.range(1));
    config.layers = static_cast<int>(state.range(2));
    net::PostureNet model(config);
    const int64_t params = net::ParameterCount(*model);
    TorchClassifier c(std::move(model), ClassifierInfo{});
    torch::set_num_threads(1);
    const auto w = Windows(1);
    for (auto _ : state) benchmark::DoNotOptimize(c.Classify(w));
    state.counters["params"] = static_cast<double>(params);
    state.counters["MB"] = static_cast<double>(params) * 4 / 1e6;
}
BENCHMARK(BM_ShapeOneWindow)
    ->Args({8, 32, 1})
    ->Args({12, 48, 1})
    ->Args({16, 64, 1})
    ->Args({16, 64, 2})
    ->Args({24, 96, 2})
    ->Args({32, 128, 2})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace vg::posture
