#include "vg/bus/inproc_bus.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace vg::bus {
namespace {

class RecordingConsumer : public ReadingConsumer {
  public:
    void OnReadings(int shard, std::span<ReadingEnvelope> batch) override {
        std::lock_guard lock(mu_);
        for (auto& e : batch) {
            auto [it, inserted] = shard_of_.emplace(e.wearer, shard);
            EXPECT_EQ(it->second, shard) << "wearer " << e.wearer << " moved shards";
            seen_[e.wearer].push_back(ToUnixMillis(e.reading.measured_at));
            if (e.on_detected) e.on_detected(domain::Detection{});
            ++count_;
        }
    }
    void OnTick(int, TimePoint) override { ++ticks_; }
    void OnWindows(int shard, std::span<posture::WindowJob> jobs) override {
        std::lock_guard lock(mu_);
        for (auto& job : jobs) {
            auto [it, inserted] = shard_of_.emplace(job.wearer, shard);
            EXPECT_EQ(it->second, shard) << "wearer " << job.wearer << " moved shards";
            window_jobs_[job.wearer].push_back(job.windows.size());
            job.answer(std::vector<posture::WindowResult>(job.windows.size()));
        }
    }

    std::mutex mu_;
    std::map<int64_t, std::vector<size_t>> window_jobs_;
    std::map<int64_t, std::vector<int64_t>> seen_;
    std::map<int64_t, int> shard_of_;
    std::atomic<int> count_{0};
    std::atomic<int> ticks_{0};
};

ReadingEnvelope At(int64_t wearer, int64_t ms) {
    ReadingEnvelope e;
    e.wearer = wearer;
    e.reading.measured_at = FromUnixMillis(ms);
    return e;
}

TEST(InProcBusTest, KeepsEachWearersOrderAcrossConcurrentPublishers) {
    ManualClock clock;
    InProcBus bus(clock, {4, 1'000'000, std::chrono::milliseconds(50)});
    RecordingConsumer consumer;
    bus.Start(consumer);
    // Each publisher owns a disjoint set of wearers, as each device posts its own wearer's readings.
    std::vector<std::thread> publishers;
    for (int p = 0; p < 4; ++p) {
        publishers.emplace_back([&, p] {
            for (int64_t t = 0; t < 500; ++t) {
                std::vector<ReadingEnvelope> batch;
                for (int64_t w = p * 10; w < p * 10 + 10; ++w) batch.push_back(At(w, t));
                ASSERT_TRUE(bus.Publish(std::move(batch)).ok());
            }
        });
    }
    for (auto& t : publishers) t.join();
    bus.Stop();  // delivers everything queued first
    EXPECT_EQ(consumer.count_.load(), 4 * 500 * 10);
    for (const auto& [wearer, times] : consumer.seen_) {
        ASSERT_EQ(times.size(), 500u) << wearer;
        for (size_t i = 1; i < times.size(); ++i) ASSERT_LT(times[i - 1], times[i]) << wearer;
    }
}

TEST(InProcBusTest, ShardsAreSpreadAndStable) {
    ManualClock clock;
    InProcBus bus(clock, {8, 100, std::chrono::milliseconds(1000)});
    std::vector<int> per_shard(8);
    for (int64_t w = 1; w <= 8000; ++w) {
        int s = bus.ShardOf(w);
        ASSERT_EQ(s, bus.ShardOf(w));
        per_shard[static_cast<size_t>(s)]++;
    }
    for (int n : per_shard) EXPECT_NEAR(n, 1000, 200);
}

TEST(InProcBusTest, FullQueueRefusesTheWholeBatch) {
    ManualClock clock;
    InProcBus bus(clock, {1, 3, std::chrono::milliseconds(1000)});  // not started: nothing drains
    EXPECT_TRUE(bus.Publish({At(1, 1), At(1, 2)}).ok());
    Status full = bus.Publish({At(1, 3), At(1, 4)});
    EXPECT_EQ(full.code(), ErrorCode::kRateLimited);
    EXPECT_EQ(bus.queued(), 2u);
}

TEST(InProcBusTest, OneWearerCannotTakeMoreThanItsShareOfTheQueue) {
    ManualClock clock;
    InProcBusOptions options{1, 1000, std::chrono::milliseconds(1000)};
    options.per_wearer_limit = 3;
    InProcBus bus(clock, options);  // not started: nothing drains
    EXPECT_TRUE(bus.Publish({At(1, 1), At(1, 2)}).ok());
    // Wearer 1 would have 4 queued: refused, the whole batch, while the shard has room for others.
    Status over = bus.Publish({At(1, 3), At(1, 4)});
    EXPECT_EQ(over.code(), ErrorCode::kRateLimited);
    EXPECT_TRUE(over.retry_after_seconds().has_value());
    EXPECT_TRUE(bus.Publish({At(1, 3)}).ok());  // exactly its share
    EXPECT_TRUE(bus.Publish({At(2, 1), At(2, 2), At(2, 3)}).ok());
    // A batch mixing wearers is refused when any of them goes over (all-or-nothing).
    EXPECT_EQ(bus.Publish({At(3, 1), At(2, 4)}).code(), ErrorCode::kRateLimited);
    EXPECT_EQ(bus.queued(), 6u);
}

TEST(InProcBusTest, AWearersShareFreesWhenItsReadingsAreHandedToDetection) {
    ManualClock clock;
    InProcBusOptions options{1, 1000, std::chrono::milliseconds(1000)};
    options.per_wearer_limit = 2;
    InProcBus bus(clock, options);
    RecordingConsumer consumer;
    bus.Start(consumer);
    for (int round = 0; round < 5; ++round) {
        // Published only when the previous two were taken by the shard thread.
        Status s;
        for (int i = 0; i < 500; ++i) {
            s = bus.Publish({At(9, round * 2 + 1), At(9, round * 2 + 2)});
            if (s.ok()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        ASSERT_TRUE(s.ok()) << s.ToString();
    }
    bus.Stop();
    std::lock_guard lock(consumer.mu_);
    EXPECT_EQ(consumer.seen_[9].size(), 10u);
}

TEST(InProcBusTest, RepliesAndTicksRunOnTheShard) {
    ManualClock clock;
    InProcBus bus(clock, {2, 1000, std::chrono::milliseconds(10)});
    RecordingConsumer consumer;
    bus.Start(consumer);
    std::atomic<bool> replied{false};
    auto e = At(7, 1);
    e.on_detected = [&](const Result<domain::Detection>&) { replied = true; };
    std::vector<ReadingEnvelope> batch;
    batch.push_back(std::move(e));
    ASSERT_TRUE(bus.Publish(std::move(batch)).ok());
    for (int i = 0; i < 200 && (!replied || consumer.ticks_ < 2); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(replied.load());
    EXPECT_GE(consumer.ticks_.load(), 2);
    bus.Stop();
    EXPECT_EQ(bus.Publish({At(7, 2)}).code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace vg::bus

namespace vg::bus {
namespace {

posture::WindowJob Job(int64_t wearer, size_t windows, std::atomic<int>* answered, std::atomic<int>* failed) {
    posture::WindowJob job;
    job.wearer = wearer;
    job.windows.resize(windows);
    job.answer = [answered, failed](Result<std::vector<posture::WindowResult>> r) { ++(r.ok() ? *answered : *failed); };
    return job;
}

TEST(InProcBusTest, WindowJobsTravelTheirWearersShardInOrder) {
    ManualClock clock;
    InProcBus bus(clock, {3, 1'000'000, std::chrono::hours(1)});
    RecordingConsumer consumer;
    bus.Start(consumer);
    std::atomic<int> answered{0}, failed{0};
    for (int64_t w = 1; w <= 20; ++w) {
        ASSERT_TRUE(bus.Publish({At(w, 1)}).ok());
        for (size_t n = 1; n <= 3; ++n) ASSERT_TRUE(bus.PublishWindows(Job(w, n, &answered, &failed)).ok());
    }
    bus.Stop();
    EXPECT_EQ(answered.load(), 60);
    EXPECT_EQ(failed.load(), 0);
    for (int64_t w = 1; w <= 20; ++w) {
        EXPECT_EQ(consumer.window_jobs_[w], (std::vector<size_t>{1, 2, 3})) << w;  // same shard as its readings
    }
}

TEST(InProcBusTest, AFullWindowQueueRefusesAndAStoppedBusAnswersWhatItNeverRan) {
    ManualClock clock;
    InProcBusOptions options{1, 1'000'000, std::chrono::hours(1)};
    options.window_job_limit = 2;
    std::atomic<int> answered{0}, failed{0};
    {
        InProcBus bus(clock, options);  // never started
        ASSERT_TRUE(bus.PublishWindows(Job(1, 1, &answered, &failed)).ok());
        ASSERT_TRUE(bus.PublishWindows(Job(2, 1, &answered, &failed)).ok());
        Status full = bus.PublishWindows(Job(3, 1, &answered, &failed));
        EXPECT_EQ(full.code(), ErrorCode::kRateLimited);
        EXPECT_EQ(full.retry_after_seconds(), 1);
        bus.TickAll();  // not started: returns at once
        bus.Stop();
        EXPECT_EQ(bus.PublishWindows(Job(4, 1, &answered, &failed)).code(), ErrorCode::kUnavailable);
    }
    EXPECT_EQ(answered.load(), 0);
    EXPECT_EQ(failed.load(), 2) << "the two queued jobs are answered, the refused ones are not";
}

TEST(InProcBusTest, TickAllRunsEveryShardsTickAndWaits) {
    ManualClock clock;
    InProcBus bus(clock, {3, 1'000'000, std::chrono::hours(1)});
    RecordingConsumer consumer;
    bus.Start(consumer);
    bus.TickAll();
    EXPECT_EQ(consumer.ticks_.load(), 3);
    bus.TickAll();
    EXPECT_EQ(consumer.ticks_.load(), 6);
    bus.Stop();
    bus.TickAll();  // stopped: returns at once
}

}  // namespace
}  // namespace vg::bus
