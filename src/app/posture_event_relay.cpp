#include "vg/app/posture_event_relay.hpp"

#include <spdlog/spdlog.h>

#include "vg/events/events.hpp"

namespace vg::app {

std::optional<int64_t> PostureEventRelay::OnPostureEvent(const posture::PostureEvent& event) {
    std::optional<int64_t> incident;
    if (event.transition) {
        const posture::FallEvent& t = *event.transition;
        const auto after_ms = (t.at - t.impact_at).count();
        switch (t.state) {
            case posture::FallState::kSuspected:
                spdlog::warn("wearer {}: fall suspected at {}", event.wearer, FormatIso8601(t.impact_at));
                break;
            case posture::FallState::kDismissed:
                spdlog::info("wearer {}: suspected fall at {} dismissed after {} ms ({})", event.wearer,
                             FormatIso8601(t.impact_at), after_ms, posture::FallReasonName(t.reason));
                break;
            case posture::FallState::kConfirmed: {
                spdlog::warn("wearer {}: fall at {} confirmed after {} ms ({})", event.wearer,
                             FormatIso8601(t.impact_at), after_ms, posture::FallReasonName(t.reason));
                auto opened = escalation_.Fall(event.wearer, t.impact_at);
                if (opened.ok() && opened->has_value()) {
                    incident = (*opened)->id;
                } else if (opened.ok()) {
                    spdlog::warn(
                        "wearer {}: the fall at {} came with a backlog, longer ago than escalation looks back: "
                        "recorded, no incident opened",
                        event.wearer, FormatIso8601(t.impact_at));
                } else {
                    spdlog::error("wearer {}: the confirmed fall could not open an incident: {}", event.wearer,
                                  opened.status().ToString());
                }
                break;
            }
            case posture::FallState::kNone:
                break;
        }
    }
    // After the incident: a client that sees "fall confirmed" on the stream has already been sent the
    // incident it opened (the simulator, like a dashboard, matches the two).
    if (hub_.HasSubscribers(event.wearer)) {
        hub_.Publish(event.wearer, events::PostureLiveEvent(ids_.Of(event.wearer), event));
    }
    return incident;
}

}  // namespace vg::app
