// One reading's features plus a status prediction (issue goal: <= 30 us), with a model of the
// shipped size trained on synthetic rows (the latency depends on the trees, not on what they learnt).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "fleet_rows_test_support.hpp"
#include "vg/models/booster.hpp"
#include "vg/models/features.hpp"
#include "vg/models/status_model.hpp"
#include "vg/models/tree_ensemble.hpp"

namespace vg::models {
namespace {

Booster TrainedModel() {
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0, 1);
    auto make = [&](size_t n, Matrix& m, std::vector<float>& y) {
        m.rows = n;
        m.cols = kFeatureCount;
        for (size_t i = 0; i < n; ++i) {
            const int cls = static_cast<int>(i % 3);
            for (size_t k = 0; k < kFeatureCount; ++k) m.values.push_back(noise(rng) + (k < 4 ? cls * 2.0f : 0));
            y.push_back(static_cast<float>(cls));
        }
    };
    Matrix train, valid;
    std::vector<float> yt, yv;
    make(6000, train, yt);
    make(1500, valid, yv);
    TrainOptions o;
    o.max_rounds = 150;
    o.early_stopping_rounds = 1000;  // keep every round: the worst case for latency
    return std::move(Booster::Train(train, yt, valid, yv, o)).value();
}

// Created once and never destroyed: XGBoost's own globals may be gone when statics are destroyed.
const Booster& Model() {
    static const Booster* model = new Booster(TrainedModel());
    return *model;
}

void BM_FeaturesAndStatusPrediction(benchmark::State& state) {
    const Booster& model = Model();
    FeatureTracker tracker;
    ExercisePca pca;
    domain::VitalsReading r;
    int64_t minute = 0;
    Matrix row;
    row.rows = 1;
    row.cols = kFeatureCount;
    row.values.resize(kFeatureCount);
    for (auto _ : state) {
        r.measured_at = FromUnixMillis(1'800'000'000'000 + (minute++) * 60'000);
        r.set(domain::Metric::kHeartRate, 70 + static_cast<double>(minute % 20));
        r.set(domain::Metric::kRespirationRate, 15);
        r.set(domain::Metric::kSpo2, 97);
        r.set(domain::Metric::kSkinTemp, 33.5);
        r.set(domain::Metric::kSteps, 0);
        r.set(domain::Metric::kCalories, 1.1);
        const FeatureVector f = tracker.Extract(r, pca);
        std::copy(f.begin(), f.end(), row.values.begin());
        auto p = model.Predict(row);
        benchmark::DoNotOptimize(p);
    }
    state.counters["rounds"] = model.rounds();
}
BENCHMARK(BM_FeaturesAndStatusPrediction);

// The serving path: the same model evaluated natively (TreeEnsemble).
void BM_FeaturesAndStatusPredictionNative(benchmark::State& state) {
    const Booster& model = Model();
    static const TreeEnsemble native = std::move(TreeEnsemble::FromXgboostJson(model.SaveJson().value())).value();
    FeatureTracker tracker;
    ExercisePca pca;
    domain::VitalsReading r;
    int64_t minute = 0;
    float out[3];
    for (auto _ : state) {
        r.measured_at = FromUnixMillis(1'800'000'000'000 + (minute++) * 60'000);
        r.set(domain::Metric::kHeartRate, 70 + static_cast<double>(minute % 20));
        r.set(domain::Metric::kRespirationRate, 15);
        r.set(domain::Metric::kSpo2, 97);
        r.set(domain::Metric::kSkinTemp, 33.5);
        r.set(domain::Metric::kSteps, 0);
        r.set(domain::Metric::kCalories, 1.1);
        const FeatureVector f = tracker.Extract(r, pca);
        native.Predict(f.data(), out);
        benchmark::DoNotOptimize(out);
    }
    state.counters["trees"] = model.rounds() * 3;
}
BENCHMARK(BM_FeaturesAndStatusPredictionNative);

void BM_FeaturesOnly(benchmark::State& state) {
    FeatureTracker tracker;
    ExercisePca pca;
    domain::VitalsReading r;
    int64_t minute = 0;
    for (auto _ : state) {
        r.measured_at = FromUnixMillis(1'800'000'000'000 + (minute++) * 60'000);
        r.set(domain::Metric::kHeartRate, 70 + static_cast<double>(minute % 20));
        r.set(domain::Metric::kSpo2, 97);
        benchmark::DoNotOptimize(tracker.Extract(r, pca));
    }
}
BENCHMARK(BM_FeaturesOnly);

// The shipped status model (models/status.json) on feature rows of a simulated fleet: 200 wearers an
// hour each, with tachycardia, hypoxaemia, fever, exercise and missing values.
std::filesystem::path ShippedModels() {
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "models";
}

struct Shipped {
    TreeEnsemble status;
    std::vector<float> rows;  // FleetRows, row-major
    size_t count() const { return rows.size() / kFeatureCount; }
};

const Shipped* LoadShipped() {
    static const Shipped* shipped = []() -> const Shipped* {
        std::ifstream in(ShippedModels() / "status.json");
        std::stringstream text;
        text << in.rdbuf();
        auto e = TreeEnsemble::FromXgboostJson(text.str());
        auto model = StatusModel::Load(ShippedModels().string(), "status");
        if (!e.ok() || !model.ok()) return nullptr;
        return new Shipped{std::move(e).value(), test_support::FleetRows(model->pca())};
    }();
    return shipped;
}

// One row at a time (the detector's path before batching), over the fleet's rows in turn.
void BM_ShippedStatusPredictRow(benchmark::State& state) {
    const Shipped* s = LoadShipped();
    if (s == nullptr) {
        state.SkipWithError("cannot load models/status.json");
        return;
    }
    float out[3];
    size_t i = 0;
    for (auto _ : state) {
        s->status.Predict(s->rows.data() + i * kFeatureCount, out);
        benchmark::DoNotOptimize(out);
        if (++i == s->count()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ShippedStatusPredictRow);

// PredictBatch over the fleet's rows, state.range(0) rows a call (items: rows).
void BM_ShippedStatusPredictBatch(benchmark::State& state) {
    const Shipped* s = LoadShipped();
    if (s == nullptr) {
        state.SkipWithError("cannot load models/status.json");
        return;
    }
    const auto n = static_cast<size_t>(state.range(0));
    std::vector<float> out(n * 3);
    size_t i = 0;
    for (auto _ : state) {
        if (i + n > s->count()) i = 0;
        s->status.PredictBatch(s->rows.data() + i * kFeatureCount, n, out.data());
        benchmark::DoNotOptimize(out.data());
        i += n;
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_ShippedStatusPredictBatch)->Arg(8)->Arg(64)->Arg(1000);

}  // namespace
}  // namespace vg::models
