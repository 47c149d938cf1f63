#pragma once
// InProcBus: the ReadingBus inside one process. One thread per shard, each with
// a bounded queue; the shard thread takes everything queued at once and hands it
// to the consumer as one batch (amortising wake-ups under load), and calls
// OnTick about every tick_interval of wall time (time read from the Clock).
// Thread-safety: as ReadingBus.

#include <chrono>
#include <memory>

#include "vg/bus/bus.hpp"

namespace vg::bus {

struct InProcBusOptions {
    int shards = 2;
    size_t queue_limit = 1'000'000;  // readings queued per shard before Publish refuses (backpressure)
    std::chrono::milliseconds tick_interval{1000};
    // Readings of one wearer queued in its shard before Publish refuses that wearer's batches (kRateLimited):
    // its fair share, so one account sending without pause cannot fill the shard's queue and have every
    // other wearer of the shard refused. A watch's batch is at most 1,000 readings; 0: no per-wearer limit.
    size_t per_wearer_limit = 20'000;
    // Window jobs (IMU requests) queued per shard before PublishWindows refuses (the posture intake bounds the
    // windows in flight too).
    size_t window_job_limit = 4096;
};

class InProcBus final : public ReadingBus {
  public:
    InProcBus(const Clock& clock, InProcBusOptions options);
    ~InProcBus() override;  // Stops.

    int shard_count() const override;
    Status Publish(std::vector<ReadingEnvelope> batch) override;
    Status PublishWindows(posture::WindowJob job) override;
    void Start(ReadingConsumer& consumer) override;
    void Stop() override;
    // Readings published but not yet handed to the consumer (all shards).
    size_t queued() const;
    // Runs the consumer's OnTick on every shard at the clock's time now, on the shard threads, and waits for
    // them (tests on simulated time; the shards also tick on their own every tick_interval). Returns at once
    // when not started or stopped.
    void TickAll();

  private:
    struct Shard;
    void RunShard(int index);
    // Whether `part` (readings for `shard`) keeps each of its wearers within per_wearer_limit. REQUIRES: shard.mu
    bool FitsWearerShare(const Shard& shard, const std::vector<ReadingEnvelope>& part) const;

    const Clock& clock_;
    const InProcBusOptions options_;
    std::vector<std::unique_ptr<Shard>> shards_;
    ReadingConsumer* consumer_ = nullptr;
};

}  // namespace vg::bus
