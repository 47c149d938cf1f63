#pragma once
// The ReadingBus conformance suite: the contract of vg::bus::ReadingBus (bus.hpp) as GoogleTest tests
// that every implementation runs — order per wearer across concurrent publishers, stable shards, replies
// and ticks on the shard, window jobs in order on their wearer's shard, a stopped bus's answers, and Stop
// delivering everything already published first.
//
// An implementation plugs in with a harness that gives each test a fresh bus (nothing published on it
// yet, not started), and one instantiation in its own test (see README.md):
//
//   INSTANTIATE_TEST_SUITE_P(InProc, BusConformance,
//                            ::testing::Values(conformance::BusImplementation{"inproc", &OpenInProc}),
//                            conformance::ImplementationName);
//
// The suite runs each bus as the only consumer of its shards: "Stop delivers everything already
// published" is a promise of a bus whose one node consumes every shard. What the suite cannot reach through
// ReadingBus (queue limits, several processes, reclaim after a crash) stays in the implementation's tests.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "vg/bus/bus.hpp"
#include "vg/common/clock.hpp"

namespace vg::bus::conformance {

// What a test asks of the bus it gets.
struct BusParams {
    int shards = 2;
    Milliseconds tick_interval{1000};
};

// Owns one bus under test and whatever it needs (keys on a server), and cleans up when destroyed (after
// stopping the bus).
class BusHarness {
  public:
    virtual ~BusHarness() = default;
    // The bus: not started, valid until the harness is destroyed.
    virtual ReadingBus& bus() = 0;
};

struct BusImplementation {
    std::string name;  // the instantiation's test name suffix: letters, digits and '_'
    // A new harness for one test, its bus on `clock` (which outlives the harness) with `params`; nullptr
    // (after reporting why with ADD_FAILURE) when it cannot be made, or after GTEST_SKIP (in a void helper it
    // calls) when its live server is not there: then the test is skipped.
    std::function<std::unique_ptr<BusHarness>(const Clock& clock, const BusParams& params)> open;
};

// For INSTANTIATE_TEST_SUITE_P's name generator.
std::string ImplementationName(const ::testing::TestParamInfo<BusImplementation>& info);
void PrintTo(const BusImplementation& implementation, std::ostream* os);

// A reading of `wearer` measured at `ms` ms since the epoch (no values).
ReadingEnvelope At(int64_t wearer, int64_t ms);
// A window job of `wearer` with `windows` empty windows, whose answer counts into `answered` (a result) or
// `failed` (an error).
posture::WindowJob Job(int64_t wearer, size_t windows, std::atomic<int>* answered, std::atomic<int>* failed);

// A consumer that records what it is given, for the suite and the implementations' own tests. It answers
// every on_detected with an empty Detection and every window job with one default WindowResult per window,
// and fails the test when a wearer shows up on two shards. Thread-safe.
class RecordingConsumer : public ReadingConsumer {
  public:
    void OnReadings(int shard, std::span<ReadingEnvelope> batch) override;
    void OnWindows(int shard, std::span<posture::WindowJob> jobs) override;
    void OnTick(int shard, TimePoint now) override;

    std::mutex mu_;
    std::map<int64_t, std::vector<size_t>> window_jobs_;  // per wearer, each job's window count. GUARDED_BY(mu_)
    std::map<int64_t, std::vector<int64_t>> seen_;        // per wearer, measured_at ms. GUARDED_BY(mu_)
    std::map<int64_t, int> shard_of_;                     // GUARDED_BY(mu_)
    std::atomic<int> count_{0};
    std::atomic<int> ticks_{0};
};

class BusConformance : public ::testing::TestWithParam<BusImplementation> {
  protected:
    // A new harness (see BusImplementation::open); nullptr when the test was skipped or failed (then the
    // test should return). Declare the consumer BEFORE the harness, so that the bus stops (its destructor)
    // before the consumer it delivers to goes.
    std::unique_ptr<BusHarness> OpenBus(const Clock& clock, BusParams params);
};

}  // namespace vg::bus::conformance
