#include "vg/bus/inproc_bus.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "vg/bus/bus_conformance.hpp"

namespace vg::bus {
namespace {

using conformance::At;
using conformance::Job;
using conformance::RecordingConsumer;

// ---- the conformance suite ----

class InProcHarness final : public conformance::BusHarness {
  public:
    InProcHarness(const Clock& clock, const conformance::BusParams& params)
        : bus_(clock, InProcBusOptions{.shards = params.shards, .tick_interval = params.tick_interval}) {}
    ReadingBus& bus() override { return bus_; }

  private:
    InProcBus bus_;
};

std::unique_ptr<conformance::BusHarness> OpenInProc(const Clock& clock, const conformance::BusParams& params) {
    return std::make_unique<InProcHarness>(clock, params);
}

}  // namespace

namespace conformance {
INSTANTIATE_TEST_SUITE_P(InProc, BusConformance, ::testing::Values(BusImplementation{"inproc", &OpenInProc}),
                         ImplementationName);
}  // namespace conformance

namespace {

// ---- InProcBus's own: its queue limits and TickAll ----

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

TEST(InProcBusTest, AFullWindowQueueRefusesAndAStoppedBusAnswersWhatItNeverRan) {
    ManualClock clock;
    InProcBusOptions options{1, 1'000'000, std::chrono::hours(1)};
    options.window_job_limit = 2;
    std::atomic<int> answered{0}, failed{0};
    {
        InProcBus bus(clock, options);  // never started (the conformance suite checks a stopped bus's answers)
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
