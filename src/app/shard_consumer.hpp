#pragma once
// ShardConsumer: what the bus's shard threads run — a shard's readings to the vital-sign Detector, its IMU
// window jobs to the PostureDetector (when posture detection is on), and the shard's ticks to both.
// Thread-safety: as bus::ReadingConsumer (one thread per shard). Ownership: borrows both detectors; they must
// outlive the bus's Stop().

#include "vg/bus/bus.hpp"
#include "vg/detector/detector.hpp"
#include "vg/posture/posture_detector.hpp"

namespace vg::app {

class ShardConsumer final : public bus::ReadingConsumer {
  public:
    ShardConsumer(detector::Detector& vitals, posture::PostureDetector* posture) : vitals_(vitals), posture_(posture) {}

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

  private:
    detector::Detector& vitals_;
    posture::PostureDetector* posture_;
};

}  // namespace vg::app
