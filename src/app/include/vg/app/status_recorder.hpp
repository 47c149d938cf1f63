#pragma once
// StatusRecorder: where detections go in a running server.
//
// - The seed's UserStatus history: a row (with causes and explanation) whenever a
//   wearer's level changes, and for every update_status call (the seed's API stores
//   one per call); users.danger_degree follows.
// - The live stream: every detection of a watched wearer becomes a "detection"
//   event on the LiveHub, immediately.
// Runs on the detector's shard threads (DetectionListener contract).
// Thread-safety: OnDetection is called concurrently from different shards.

#include <mutex>
#include <string>
#include <unordered_map>

#include "vg/detector/detector.hpp"
#include "vg/escalation/escalation_service.hpp"
#include "vg/live/live_hub.hpp"
#include "vg/store/store.hpp"

namespace vg::app {

class StatusRecorder final : public detector::DetectionListener {
  public:
    StatusRecorder(store::Store& store, live::LiveHub& hub, const Clock& clock);
    // Verdicts also go to escalation (incidents) once this is set; set it before the bus starts.
    void set_escalation(escalation::EscalationService* escalation) { escalation_ = escalation; }
    // The wearer's public login id (cached; ids never change); empty when unknown.
    std::string WearerId(int64_t wearer);

    void OnDetection(int64_t wearer, const bus::ReadingEnvelope* envelope, const domain::Detection& detection,
                     domain::Level previous) override;

  private:
    store::Store& store_;
    live::LiveHub& hub_;
    const Clock& clock_;
    escalation::EscalationService* escalation_ = nullptr;
    std::mutex ids_mu_;
    std::unordered_map<int64_t, std::string> ids_;  // GUARDED_BY(ids_mu_); public ids never change
};

}  // namespace vg::app
