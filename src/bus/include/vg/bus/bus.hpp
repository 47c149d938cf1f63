#pragma once
// ReadingBus: carries stored readings from ingest to detection, and the wearers' IMU windows from the
// API to posture detection, in order per wearer.
//
// Each wearer belongs to exactly one shard (ShardOf), and each shard has exactly
// one consumer at a time, so a wearer's detector state is touched by one thread
// only and needs no lock (the seastar shape). Readings of one wearer are
// delivered in the order they were published; nothing is promised across wearers.
//
// Implementations: bus/inproc (threads in this process); later bus/redis_streams
// (consumer groups over per-wearer shards, pending-entry reclaim when a worker dies).
// Publish happens only after the readings are durably stored, so a bus that loses
// messages in a crash loses detections, never data; the detector rebuilds state
// from new readings. The one exception is a reading whose caller waits for its verdict
// (store_with_verdict): it is stored with its status row and acknowledged only then, so a
// crash before that loses a reading nobody was told was saved.
//
// IMU windows (PublishWindows: one request's windows as a posture::WindowJob) travel the same shards, so a
// wearer's readings and windows are evaluated on one thread and their verdicts meet in one verdict-stage
// shard; no order is promised between a wearer's readings and its windows.
//
// Thread-safety: Publish/PublishWindows from any thread; Start/Stop from one controlling thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/posture/window_job.hpp"

namespace vg::bus {

// A reading as it travels to detection.
struct ReadingEnvelope {
    int64_t wearer = 0;  // users.unique_num
    domain::VitalsReading reading;
    TimePoint received_at;       // when the server acknowledged it (for latency accounting)
    bool record_status = false;  // store a UserStatus row for this verdict even if the level did not change
    // Not stored yet: the verdict's recorder stores the reading in the same transaction as its status row
    // (the seed's synchronous update_status: one commit, acknowledged when both are durable). Every other
    // reading is stored before it is published.
    bool store_with_verdict = false;
    std::optional<int64_t> device_id;  // with store_with_verdict: the device that sent it, if any
    // Set by callers that wait for the verdict (the seed's synchronous update_status); called once, by
    // whoever records the verdict (detector::DetectionListener), after the verdict's status row is
    // durable — or with the error when it could not be recorded. Process-local: a networked bus answers
    // through a reply channel.
    std::function<void(const Result<domain::Detection>&)> on_detected;
};

// A shard's readings still on the bus when a node takes the shard over: per wearer, the earliest measured_at
// among its readings that no node acknowledged (delivered to nobody yet, or to a node that died before
// acknowledging them). Whether their verdicts were recorded is unknown, so the new owner must judge them
// when they are delivered again, not take them for judged when it rebuilds its state from the store.
struct ShardBacklog {
    std::unordered_map<int64_t, TimePoint> earliest_unjudged;
};
// Reads the shard's backlog from the bus (a network round trip or several). kUnavailable when it cannot.
using ShardBacklogReader = std::function<Result<ShardBacklog>()>;

// The consumer side: called on the shard's own thread, never concurrently for one shard.
class ReadingConsumer {
  public:
    virtual ~ReadingConsumer() = default;
    // A batch of readings of wearers of `shard`, in publish order per wearer.
    virtual void OnReadings(int shard, std::span<ReadingEnvelope> batch) = 0;
    // Window jobs of wearers of `shard`, in publish order per wearer. Each job's answer must be called
    // exactly once. The default answers kUnavailable: a consumer without posture detection.
    virtual void OnWindows(int shard, std::span<posture::WindowJob> jobs);
    // Called about every tick interval, for time-driven work (signal loss, a fall's silence rule); `now` from
    // the bus's Clock.
    virtual void OnTick(int shard, TimePoint now) = 0;
    // A bus across processes moves shards between nodes. OnShardAssigned is called on the shard's thread
    // before anything of a shard this node now consumes is delivered: another node may have had its wearers,
    // so the consumer rebuilds their state (from the store) rather than trusting what it may hold from
    // before. Readings stored but still on the bus (`backlog`) are delivered after the call and must not be
    // taken for judged: a consumer that rebuilds from the store calls `backlog` *after* reading the store (a
    // reading stored and published meanwhile is then in the backlog) and leaves each wearer's readings from
    // its earliest unjudged one on for delivery. OnShardRevoked is called on the shard's thread after the
    // last delivery of a shard this node gave up or lost: the consumer forgets its wearers' state. InProcBus
    // owns every shard from Start to Stop and calls neither. The defaults do nothing.
    virtual void OnShardAssigned(int /*shard*/, TimePoint /*now*/, const ShardBacklogReader& /*backlog*/) {}
    virtual void OnShardRevoked(int /*shard*/) {}
    // Called on the shard's thread by a bus that acknowledges deliveries (Redis Streams) before it
    // acknowledges what it delivered on `shard`; returns once every verdict of those deliveries is durable
    // (its commit done), so a node killed after an acknowledgement has lost no verdict the bus would not
    // deliver again. The default returns at once: for consumers that record nothing asynchronously.
    virtual void Settle(int /*shard*/) {}
};

inline void ReadingConsumer::OnWindows(int /*shard*/, std::span<posture::WindowJob> jobs) {
    for (posture::WindowJob& job : jobs) {
        if (job.answer) job.answer(Status::Error(ErrorCode::kUnavailable, "Posture detection is off."));
    }
}

// The shard of `wearer` among `shards` (> 0). Multiplicative hashing spreads consecutive ids evenly.
// Stages after the bus (the verdict stage) shard with the same function, so a wearer stays on one thread.
inline int ShardFor(int64_t wearer, int shards) {
    const uint64_t h = static_cast<uint64_t>(wearer) * 0x9E3779B97F4A7C15ull;
    return static_cast<int>((h >> 32) % static_cast<uint64_t>(shards));
}

class ReadingBus {
  public:
    virtual ~ReadingBus() = default;
    virtual int shard_count() const = 0;
    int ShardOf(int64_t wearer) const { return ShardFor(wearer, shard_count()); }
    // Enqueues the batch. kUnavailable when stopped; kRateLimited (with retry-after) when a shard's
    // queue is full, in which case nothing of the batch was enqueued.
    virtual Status Publish(std::vector<ReadingEnvelope> batch) = 0;
    // Enqueues one request's windows on its wearer's shard. kUnavailable when stopped; kRateLimited (with
    // retry-after) when the shard's window queue is full. On an error the job is dropped and its answer is
    // not called.
    virtual Status PublishWindows(posture::WindowJob job) = 0;
    // Starts delivering to `consumer`, which must outlive Stop().
    virtual void Start(ReadingConsumer& consumer) = 0;
    // Delivers everything already published, then stops the shard threads. Idempotent.
    virtual void Stop() = 0;
};

}  // namespace vg::bus
