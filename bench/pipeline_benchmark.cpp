// The detection pipeline in-process: batched ingest end to end (validate, durable SQLite append,
// bus, detector with the real rule profiles) and detector memory per wearer.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "vg/bus/inproc_bus.hpp"
#include "vg/detector/detector.hpp"
#include "vg/ingest/ingest_service.hpp"
#include "vg/rules/rules.hpp"
#include "vg/store/sqlite_store.hpp"

#ifndef VG_PROFILES_DIR
#define VG_PROFILES_DIR "profiles"
#endif

namespace {

using vg::domain::Metric;

class CountingListener : public vg::detector::DetectionListener {
  public:
    void OnDetection(int64_t, vg::bus::ReadingEnvelope*, const vg::domain::Detection&, vg::domain::Level) override {
        count.fetch_add(1, std::memory_order_relaxed);
    }
    void OnLateReading(int64_t, vg::bus::ReadingEnvelope&, const vg::domain::Detection&) override {}
    std::atomic<uint64_t> count{0};
};

size_t ResidentBytes() {
    std::ifstream statm("/proc/self/statm");
    size_t pages_total = 0, pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

vg::domain::VitalsReading Typical(int64_t ms, int i) {
    vg::domain::VitalsReading r;
    r.measured_at = vg::FromUnixMillis(ms);
    r.set(Metric::kHeartRate, 68 + (i % 9));
    r.set(Metric::kRespirationRate, 14 + (i % 3));
    r.set(Metric::kSpo2, 96 + (i % 3));
    r.set(Metric::kSkinTemp, 33.0 + (i % 5) * 0.1);
    r.set(Metric::kSteps, (i % 7) * 3);
    r.set(Metric::kCalories, 1.1);
    return r;
}

// Batches of 1000 readings (10 wearers x 100 readings) through IngestService::SubmitBatch; the
// detector runs on 2 shard threads. Items/s counts readings stored and evaluated.
void BM_IngestBatchEndToEnd(benchmark::State& state) {
    spdlog::set_level(spdlog::level::warn);
    const auto dir = std::filesystem::temp_directory_path() / ("vg_pipeline_bench_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    vg::ManualClock clock(vg::SystemClock::Instance().Now());
    {
        vg::store::SqliteStoreOptions options;
        options.path = (dir / "bench.db").string();
        auto store = std::move(vg::store::SqliteStore::Open(options)).value();
        vg::rules::ProfileRegistry profiles;
        if (!profiles.LoadDirectory(VG_PROFILES_DIR).ok()) {
            state.SkipWithError("cannot load profiles");
            return;
        }
        std::vector<int64_t> wearers;
        for (int w = 0; w < 100; ++w) {
            vg::store::NewUser u;
            u.profile = {"bench" + std::to_string(w), "Bench", 70, "Seoul", "", "010-1234-5678", "", "", ""};
            u.password_hash = "x";
            u.created_at = clock.Now();
            wearers.push_back(store->CreateUser(u)->unique_num);
        }
        CountingListener listener;
        vg::bus::InProcBus bus(clock, {2, 10'000'000, std::chrono::milliseconds(1000)});
        vg::detector::Detector detector(bus.shard_count(), profiles, "adult-default", nullptr, listener);
        bus.Start(detector);
        vg::ingest::IngestService ingest(*store, bus, clock, {});
        const int64_t start_ms = vg::ToUnixMillis(clock.Now()) - 20LL * 24 * 3600 * 1000;
        int64_t step = 0;
        uint64_t readings = 0;
        for (auto _ : state) {
            const int64_t w0 = (step % 10) * 10;
            std::vector<vg::store::IncomingReading> batch;
            batch.reserve(1000);
            for (int k = 0; k < 100; ++k) {
                for (int64_t w = w0; w < w0 + 10; ++w) {
                    (void)w;
                    batch.push_back({std::nullopt, Typical(start_ms + (step * 100 + k) * 1000, k)});
                }
            }
            // One request carries one wearer's readings, as one watch posts its own.
            for (int64_t w = 0; w < 10; ++w) {
                std::vector<vg::store::IncomingReading> mine(batch.begin() + w * 100, batch.begin() + (w + 1) * 100);
                auto r = ingest.SubmitBatch(wearers[static_cast<size_t>(w0 + w)], std::nullopt, mine);
                if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
            }
            readings += 1000;
            ++step;
        }
        bus.Stop();  // includes draining: the time counted covers detection too
        state.SetItemsProcessed(static_cast<int64_t>(readings));
        state.counters["evaluated"] = static_cast<double>(listener.count.load());
    }
    std::filesystem::remove_all(dir);
}
BENCHMARK(BM_IngestBatchEndToEnd)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(50);

// Resident memory added by 100k wearers, each with one reading evaluated (state allocated).
void BM_DetectorMemoryPerWearer(benchmark::State& state) {
    vg::rules::ProfileRegistry profiles;
    if (!profiles.LoadDirectory(VG_PROFILES_DIR).ok()) {
        state.SkipWithError("cannot load profiles");
        return;
    }
    const int64_t wearers = state.range(0);
    for (auto _ : state) {
        CountingListener listener;
        const size_t before = ResidentBytes();
        {
            vg::detector::Detector detector(1, profiles, "adult-default", nullptr, listener);
            std::vector<vg::bus::ReadingEnvelope> batch(1);
            for (int64_t w = 1; w <= wearers; ++w) {
                batch[0].wearer = w;
                batch[0].reading = Typical(1'700'000'000'000, static_cast<int>(w));
                detector.OnReadings(0, batch);
            }
            const size_t after = ResidentBytes();
            state.counters["bytes_per_wearer"] = static_cast<double>(after - before) / static_cast<double>(wearers);
            state.counters["wearers"] = static_cast<double>(detector.wearer_count());
        }
    }
}
BENCHMARK(BM_DetectorMemoryPerWearer)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Rule evaluation inside the detector (no store, no bus): readings/s on one shard thread.
void BM_DetectorEvaluate(benchmark::State& state) {
    vg::rules::ProfileRegistry profiles;
    if (!profiles.LoadDirectory(VG_PROFILES_DIR).ok()) {
        state.SkipWithError("cannot load profiles");
        return;
    }
    CountingListener listener;
    vg::detector::Detector detector(1, profiles, "adult-default", nullptr, listener);
    std::vector<vg::bus::ReadingEnvelope> batch(1000);
    int64_t t = 1'700'000'000'000;
    for (auto _ : state) {
        for (int i = 0; i < 1000; ++i) {
            batch[static_cast<size_t>(i)].wearer = 1 + (i % 100);
            batch[static_cast<size_t>(i)].reading = Typical(t, i);
            if (i % 100 == 99) t += 60'000;
        }
        detector.OnReadings(0, batch);
    }
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_DetectorEvaluate);

// The same with the shipped status and cause models (models/) fused with the rules, as serve runs.
void BM_DetectorEvaluateWithModels(benchmark::State& state) {
    vg::rules::ProfileRegistry profiles;
    if (!profiles.LoadDirectory(VG_PROFILES_DIR).ok()) {
        state.SkipWithError("cannot load profiles");
        return;
    }
    auto status = vg::models::StatusModel::Load(VG_PROFILES_DIR "/../models", "status");
    auto cause = vg::models::StatusModel::Load(VG_PROFILES_DIR "/../models", "cause");
    if (!status.ok() || !cause.ok()) {
        state.SkipWithError("cannot load the shipped models");
        return;
    }
    CountingListener listener;
    vg::detector::Detector detector(1, profiles, "adult-default", nullptr, listener);
    vg::detector::ModelSet set;
    set.status = std::make_shared<const vg::models::StatusModel>(std::move(status).value());
    set.cause = std::make_shared<const vg::models::StatusModel>(std::move(cause).value());
    detector.SetModels(set);
    std::vector<vg::bus::ReadingEnvelope> batch(1000);
    int64_t t = 1'700'000'000'000;
    for (auto _ : state) {
        for (int i = 0; i < 1000; ++i) {
            batch[static_cast<size_t>(i)].wearer = 1 + (i % 100);
            batch[static_cast<size_t>(i)].reading = Typical(t, i);
            if (i % 100 == 99) t += 60'000;
        }
        detector.OnReadings(0, batch);
    }
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_DetectorEvaluateWithModels);

}  // namespace
