#pragma once
// Every live-event shape, and the JSON of a detection and an incident shared by the HTTP answers
// (update_status, /api/incidents) and the live stream (/api/stream), so a verdict or an incident looks
// the same wherever a client sees it. The verdict stage publishes these; the api serves them.
// Thread-safety: pure functions.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/domain/incident.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/posture/posture_service.hpp"

namespace vg::events {

// {"status": 2, "level": "danger", "causes": [...], "rules": [{rule, kind, metric, level, value, detail}],
//  "explanation": "...", "advice_only": false, "summary": {"ko": "...", "en": "..."}}. `explanation` is the
// rules' English evidence with its numbers; `summary` (caution and danger only) the plain words of the
// message catalogue (vg/messages/verdict_text.hpp) in both languages, for the reader's to be shown.
boost::json::object DetectionJson(const domain::Detection& detection);

// A live event for the wearer's stream:
// {"type": "detection", "wearer": "<id>", "changed": bool, "previous_status": n, ...DetectionJson,
//  "reading_at": iso|null, "received_at": iso|null, "detected_at": iso}
std::string DetectionEvent(std::string_view wearer_id, const domain::Detection& detection, domain::Level previous,
                           std::optional<TimePoint> reading_at, std::optional<TimePoint> received_at,
                           TimePoint detected_at);

// An incident as docs/api.md shows it (without guidance, which depends on the reader's language), with
// its `summary` in both languages like DetectionJson's.
boost::json::object IncidentJson(const domain::Incident& incident, std::string_view wearer_id, TimePoint now);

// A live event: {"type": "incident", "incident": {...IncidentJson}, "notices": ["wearer_countdown", ...]}
std::string IncidentEvent(const domain::Incident& incident, std::string_view wearer_id,
                          const std::vector<std::string>& notices, TimePoint now);

// A live event for a posture change or a fall transition:
// {"type": "posture", "wearer": "<id>", "posture": n, "name": "Lying", "previous_posture": n|null,
//  "changed": bool, "fall": "none|suspected|confirmed|dismissed", "at": iso}
std::string PostureLiveEvent(std::string_view wearer_id, const posture::PostureEvent& event);

}  // namespace vg::events
