#pragma once
// Private to the api module: an IMU window object of the posture API (update_posture's body, an element
// of the device batch) → a validated, timed posture::TimedWindow. docs/api.md, "Posture and falls".
//
// JSON shape problems (types, missing and unknown fields) and the posture module's value checks are
// reported together, one entry per field, each prefixed with `prefix` ("windows[3]."), so one answer
// names everything to fix. Thread-safety: pure function.

#include <boost/json/object.hpp>
#include <chrono>
#include <string_view>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/posture/posture_service.hpp"

namespace vg::api {

struct PostureTimeRules {
    TimePoint now;
    std::chrono::milliseconds max_clock_skew{5 * 60 * 1000};     // as for vitals readings
    std::chrono::milliseconds max_age{30LL * 24 * 3600 * 1000};  // as for vitals readings
};

// Reads `object` as one window. `measured_at` (the time of the window's last sample) is required in a
// batch; otherwise it defaults to rules.now. kValidationFailed lists every problem.
Result<posture::TimedWindow> ReadPostureWindow(const boost::json::object& object, std::string_view prefix,
                                               bool measured_at_required, const PostureTimeRules& rules);

}  // namespace vg::api
