#pragma once
// PostureEventRelay: where the posture path's events go in a running server (the verdict stage's posture
// listener, called after the verdict's rows and fall state are committed).
//
// - A confirmed fall calls EscalationService::Fall (an incident of kind fall with the countdown and the
//   "I'm OK" flow; its own live `incident` events go out from there); the incident's id is returned so
//   the HTTP answer can name it.
// - Then every event (a posture change, a fall suspected, confirmed or dismissed) becomes a live
//   `posture` event on the wearer's stream (events::PostureLiveEvent), and fall transitions are logged:
//   a client that sees a fall confirmed has already been sent the incident it opened.
// Thread-safety: OnPostureEvent is called concurrently from the verdict stage's shards.
// Ownership: borrows the hub, the id cache and the escalation service; they must outlive the verdict
// stage that calls it.

#include "vg/escalation/escalation_service.hpp"
#include "vg/live/live_hub.hpp"
#include "vg/posture/posture_service.hpp"
#include "vg/verdict/wearer_ids.hpp"

namespace vg::app {

class PostureEventRelay final : public posture::PostureListener {
  public:
    PostureEventRelay(live::LiveHub& hub, verdict::WearerIds& ids, escalation::EscalationService& escalation)
        : hub_(hub), ids_(ids), escalation_(escalation) {}

    std::optional<int64_t> OnPostureEvent(const posture::PostureEvent& event) override;

  private:
    live::LiveHub& hub_;
    verdict::WearerIds& ids_;
    escalation::EscalationService& escalation_;
};

}  // namespace vg::app
