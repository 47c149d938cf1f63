#pragma once
// JSON shapes of detections, shared by the HTTP answers (update_status) and the
// live stream (/api/stream), so a verdict looks the same wherever a client sees it.
// Thread-safety: pure functions.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "vg/common/clock.hpp"
#include "vg/domain/vitals.hpp"

namespace vg::api {

// {"status": 2, "level": "danger", "causes": [...], "rules": [{rule, kind, metric, level, value, detail}],
//  "explanation": "...", "advice_only": false}
boost::json::object DetectionJson(const domain::Detection& detection);

// A live event for the wearer's stream:
// {"type": "detection", "wearer": "<id>", "changed": bool, "previous_status": n, ...DetectionJson,
//  "reading_at": iso|null, "received_at": iso|null, "detected_at": iso}
std::string DetectionEvent(std::string_view wearer_id, const domain::Detection& detection, domain::Level previous,
                           std::optional<TimePoint> reading_at, std::optional<TimePoint> received_at,
                           TimePoint detected_at);

}  // namespace vg::api
