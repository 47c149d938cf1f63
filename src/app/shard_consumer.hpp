#pragma once
// ShardConsumer: what the bus's shard threads run — a shard's readings to the vital-sign Detector, its IMU
// window jobs to the PostureDetector (when posture detection is on), and the shard's ticks to both.
//
// When a bus across processes (Redis Streams) gives this node a shard, the shard's wearers may have been
// another node's a moment ago: OnShardAssigned forgets what this node held of them and rebuilds it from the
// store as a restart does — readings measured within `replay_window` through the rules (Detector::Warm) and
// the stored fall suspicions (PostureDetector::Restore) — so that a shard changing hands neither starts cold
// (missing a sustained danger) nor on stale state (a false signal loss). OnShardRevoked forgets them.
// Readings stored but still on the bus (the shard's backlog: never delivered, or delivered to a node that died
// before acknowledging them) are left out of the rebuild, each wearer's from its earliest one on: they are
// judged when the bus delivers them, so a detector killed mid-stream loses no verdict. The replay reads every
// wearer's recent readings and keeps the shard's (the store port has no per-shard read yet): its cost grows
// with all wearers, not the shard's; logged with its duration.
// Settle (before the bus acknowledges a delivery) waits until the verdict stage has committed every verdict
// handed to it so far (`settle`; none: returns at once).
//
// Thread-safety: as bus::ReadingConsumer (one thread per shard). Ownership: borrows the detectors and the
// store; they must outlive the bus's Stop().

#include <chrono>
#include <functional>

#include "vg/bus/bus.hpp"
#include "vg/detector/detector.hpp"
#include "vg/posture/posture_detector.hpp"
#include "vg/store/store.hpp"

namespace vg::app {

class ShardConsumer final : public bus::ReadingConsumer {
  public:
    // `shards`: the bus's shard count (ShardFor); `replay_window` 0: no replay on assignment.
    // `settle`: blocks until every verdict handed on so far is durable (e.g. VerdictStage::AfterHandled).
    ShardConsumer(detector::Detector& vitals, posture::PostureDetector* posture, store::Store& store, int shards,
                  std::chrono::milliseconds replay_window, std::function<void()> settle = {})
        : vitals_(vitals),
          posture_(posture),
          store_(store),
          shards_(shards),
          replay_window_(replay_window),
          settle_(std::move(settle)) {}

    void OnReadings(int shard, std::span<bus::ReadingEnvelope> batch) override { vitals_.OnReadings(shard, batch); }
    void OnWindows(int shard, std::span<posture::WindowJob> jobs) override {
        if (posture_ != nullptr) {
            posture_->OnWindows(shard, jobs);
        } else {
            bus::ReadingConsumer::OnWindows(shard, jobs);
        }
    }
    void OnTick(int shard, TimePoint now) override {
        vitals_.OnTick(shard, now);
        if (posture_ != nullptr) posture_->OnTick(shard, now);
    }
    void OnShardAssigned(int shard, TimePoint now, const bus::ShardBacklogReader& backlog) override;
    void OnShardRevoked(int shard) override {
        vitals_.DropShard(shard);
        if (posture_ != nullptr) posture_->DropShard(shard);
    }
    void Settle(int /*shard*/) override {
        if (settle_) settle_();
    }

  private:
    detector::Detector& vitals_;
    posture::PostureDetector* posture_;
    store::Store& store_;
    const int shards_;
    const std::chrono::milliseconds replay_window_;
    const std::function<void()> settle_;
};

}  // namespace vg::app
