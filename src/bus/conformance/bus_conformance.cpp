#include "vg/bus/bus_conformance.hpp"

#include <chrono>
#include <thread>
#include <utility>

namespace vg::bus::conformance {

std::string ImplementationName(const ::testing::TestParamInfo<BusImplementation>& info) { return info.param.name; }

void PrintTo(const BusImplementation& implementation, std::ostream* os) { *os << implementation.name; }

ReadingEnvelope At(int64_t wearer, int64_t ms) {
    ReadingEnvelope e;
    e.wearer = wearer;
    e.reading.measured_at = FromUnixMillis(ms);
    return e;
}

posture::WindowJob Job(int64_t wearer, size_t windows, std::atomic<int>* answered, std::atomic<int>* failed) {
    posture::WindowJob job;
    job.wearer = wearer;
    job.windows.resize(windows);
    job.answer = [answered, failed](Result<std::vector<posture::WindowResult>> r) { ++(r.ok() ? *answered : *failed); };
    return job;
}

void RecordingConsumer::OnReadings(int shard, std::span<ReadingEnvelope> batch) {
    std::lock_guard lock(mu_);
    for (auto& e : batch) {
        auto [it, inserted] = shard_of_.emplace(e.wearer, shard);
        EXPECT_EQ(it->second, shard) << "wearer " << e.wearer << " moved shards";
        seen_[e.wearer].push_back(ToUnixMillis(e.reading.measured_at));
        if (e.on_detected) e.on_detected(domain::Detection{});
        ++count_;
    }
}

void RecordingConsumer::OnWindows(int shard, std::span<posture::WindowJob> jobs) {
    std::lock_guard lock(mu_);
    for (auto& job : jobs) {
        auto [it, inserted] = shard_of_.emplace(job.wearer, shard);
        EXPECT_EQ(it->second, shard) << "wearer " << job.wearer << " moved shards";
        window_jobs_[job.wearer].push_back(job.windows.size());
        if (job.answer) job.answer(std::vector<posture::WindowResult>(job.windows.size()));
    }
}

void RecordingConsumer::OnTick(int, TimePoint) { ++ticks_; }

std::unique_ptr<BusHarness> BusConformance::OpenBus(const Clock& clock, BusParams params) {
    std::unique_ptr<BusHarness> harness = GetParam().open(clock, params);
    if (harness == nullptr && !IsSkipped() && !HasFailure()) {
        ADD_FAILURE() << "cannot open a " << GetParam().name << " bus";
    }
    return harness;
}

// A test binary that links the suite without instantiating it (vg_module's TEST_DEPS give it to an
// implementation's hermetic test as well as to its live-server test) is not an error.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BusConformance);

namespace {

using std::chrono::milliseconds;

// Waits (polling, at most `limit`) until `done` holds; returns whether it did.
template <typename Done>
bool WaitFor(Done done, milliseconds limit = milliseconds(10'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
}

TEST_P(BusConformance, KeepsEachWearersOrderAcrossConcurrentPublishers) {
    ManualClock clock;
    RecordingConsumer consumer;
    auto harness = OpenBus(clock, {4, milliseconds(50)});
    if (harness == nullptr) return;
    ReadingBus& bus = harness->bus();
    bus.Start(consumer);
    // Each publisher owns a disjoint set of wearers, as each device posts its own wearer's readings.
    std::vector<std::thread> publishers;
    for (int p = 0; p < 4; ++p) {
        publishers.emplace_back([&, p] {
            for (int64_t t = 0; t < 500; ++t) {
                std::vector<ReadingEnvelope> batch;
                for (int64_t w = p * 10; w < p * 10 + 10; ++w) batch.push_back(At(w, t));
                Status s = bus.Publish(std::move(batch));
                ASSERT_TRUE(s.ok()) << s.ToString();
            }
        });
    }
    for (auto& t : publishers) t.join();
    bus.Stop();  // delivers everything published first
    EXPECT_EQ(consumer.count_.load(), 4 * 500 * 10);
    std::lock_guard lock(consumer.mu_);
    EXPECT_EQ(consumer.seen_.size(), 40u);
    for (const auto& [wearer, times] : consumer.seen_) {
        ASSERT_EQ(times.size(), 500u) << wearer;
        for (size_t i = 1; i < times.size(); ++i) ASSERT_LT(times[i - 1], times[i]) << wearer;
    }
}

TEST_P(BusConformance, ShardsAreSpreadAndStable) {
    ManualClock clock;
    auto harness = OpenBus(clock, {8, milliseconds(1000)});
    if (harness == nullptr) return;
    ReadingBus& bus = harness->bus();
    ASSERT_EQ(bus.shard_count(), 8);
    std::vector<int> per_shard(8);
    for (int64_t w = 1; w <= 8000; ++w) {
        const int s = bus.ShardOf(w);
        ASSERT_EQ(s, bus.ShardOf(w));
        ASSERT_EQ(s, ShardFor(w, 8)) << "the verdict stage shards with ShardFor";
        per_shard[static_cast<size_t>(s)]++;
    }
    for (int n : per_shard) EXPECT_NEAR(n, 1000, 200);
}

TEST_P(BusConformance, RepliesAndTicksRunOnTheShard) {
    ManualClock clock;
    RecordingConsumer consumer;
    auto harness = OpenBus(clock, {2, milliseconds(10)});
    if (harness == nullptr) return;
    ReadingBus& bus = harness->bus();
    bus.Start(consumer);
    std::atomic<int> replied{0};
    auto e = At(7, 1);
    e.on_detected = [&](const Result<domain::Detection>& r) {
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        ++replied;
    };
    std::vector<ReadingEnvelope> batch;
    batch.push_back(std::move(e));
    ASSERT_TRUE(bus.Publish(std::move(batch)).ok());
    EXPECT_TRUE(WaitFor([&] { return replied.load() > 0 && consumer.ticks_.load() >= 2; }));
    EXPECT_EQ(replied.load(), 1);
    EXPECT_GE(consumer.ticks_.load(), 2);
    bus.Stop();
    EXPECT_EQ(replied.load(), 1) << "called exactly once";
    EXPECT_EQ(bus.Publish({At(7, 2)}).code(), ErrorCode::kUnavailable);
    std::atomic<int> answered{0}, failed{0};
    EXPECT_EQ(bus.PublishWindows(Job(7, 1, &answered, &failed)).code(), ErrorCode::kUnavailable);
    EXPECT_EQ(answered.load() + failed.load(), 0) << "a refused job's answer is not called";
}

TEST_P(BusConformance, WindowJobsTravelTheirWearersShardInOrder) {
    ManualClock clock;
    RecordingConsumer consumer;
    auto harness = OpenBus(clock, {3, std::chrono::hours(1)});
    if (harness == nullptr) return;
    ReadingBus& bus = harness->bus();
    bus.Start(consumer);
    std::atomic<int> answered{0}, failed{0};
    for (int64_t w = 1; w <= 20; ++w) {
        ASSERT_TRUE(bus.Publish({At(w, 1)}).ok());
        for (size_t n = 1; n <= 3; ++n) ASSERT_TRUE(bus.PublishWindows(Job(w, n, &answered, &failed)).ok());
    }
    bus.Stop();
    EXPECT_EQ(answered.load(), 60);
    EXPECT_EQ(failed.load(), 0);
    std::lock_guard lock(consumer.mu_);
    for (int64_t w = 1; w <= 20; ++w) {
        EXPECT_EQ(consumer.window_jobs_[w], (std::vector<size_t>{1, 2, 3})) << w;  // same shard as its readings
    }
}

TEST_P(BusConformance, ABusStoppedBeforeItStartedAnswersItsWindowJobsUnavailable) {
    ManualClock clock;
    std::atomic<int> answered{0}, failed{0};
    auto harness = OpenBus(clock, {1, std::chrono::hours(1)});
    if (harness == nullptr) return;
    ReadingBus& bus = harness->bus();  // never started
    ASSERT_TRUE(bus.PublishWindows(Job(1, 1, &answered, &failed)).ok());
    ASSERT_TRUE(bus.PublishWindows(Job(2, 1, &answered, &failed)).ok());
    bus.Stop();
    EXPECT_EQ(answered.load(), 0);
    EXPECT_EQ(failed.load(), 2) << "each queued job is answered, once";
    EXPECT_EQ(bus.PublishWindows(Job(4, 1, &answered, &failed)).code(), ErrorCode::kUnavailable);
    EXPECT_EQ(bus.Publish({At(4, 1)}).code(), ErrorCode::kUnavailable);
    bus.Stop();  // idempotent
    EXPECT_EQ(failed.load(), 2) << "a refused job's answer is not called";
}

// A consumer that takes its time, so that Stop finds work still queued.
class SlowConsumer : public RecordingConsumer {
  public:
    void OnReadings(int shard, std::span<ReadingEnvelope> batch) override {
        std::this_thread::sleep_for(milliseconds(2));
        RecordingConsumer::OnReadings(shard, batch);
    }
};

TEST_P(BusConformance, StopDeliversEverythingAlreadyPublishedFirst) {
    ManualClock clock;
    SlowConsumer consumer;
    auto harness = OpenBus(clock, {2, milliseconds(1000)});
    if (harness == nullptr) return;
    ReadingBus& bus = harness->bus();
    bus.Start(consumer);
    std::atomic<int> replies_ok{0}, replies_failed{0};
    int published = 0, with_reply = 0;
    for (int64_t t = 0; t < 200; ++t) {
        std::vector<ReadingEnvelope> batch;
        for (int64_t w = 1; w <= 5; ++w) {
            ReadingEnvelope e = At(w, t);
            if (t % 10 == 0) {
                e.on_detected = [&](const Result<domain::Detection>& r) { ++(r.ok() ? replies_ok : replies_failed); };
                ++with_reply;
            }
            batch.push_back(std::move(e));
            ++published;
        }
        ASSERT_TRUE(bus.Publish(std::move(batch)).ok());
    }
    bus.Stop();
    EXPECT_EQ(consumer.count_.load(), published);
    EXPECT_EQ(replies_ok.load(), with_reply) << "every reply of a delivered reading arrives before Stop returns";
    EXPECT_EQ(replies_failed.load(), 0);
    std::lock_guard lock(consumer.mu_);
    for (const auto& [wearer, times] : consumer.seen_) {
        ASSERT_EQ(times.size(), 200u) << wearer;
        for (size_t i = 1; i < times.size(); ++i) ASSERT_LT(times[i - 1], times[i]) << wearer;
    }
}

}  // namespace
}  // namespace vg::bus::conformance
