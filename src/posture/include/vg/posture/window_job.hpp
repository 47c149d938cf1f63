#pragma once
// WindowJob: one request's IMU windows on their way from the API to posture detection, over the bus
// (bus::ReadingBus::PublishWindows), sharded by wearer like readings. The types here are what the bus
// carries and what the caller is answered; they know nothing of threads.

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/posture/classifier.hpp"
#include "vg/posture/fall_monitor.hpp"
#include "vg/posture/window.hpp"

namespace vg::posture {

// One validated window (ToModelWindow) with its times (TimingOf).
struct TimedWindow {
    ModelWindow window;
    WindowTiming timing;
};

enum class RecordPolicy : uint8_t {
    kEveryCall,  // a UserPosture row for every window (update_posture, as the seed does)
    kOnChange,   // a row when the posture changes (the device batch)
};

struct WindowResult {
    PosturePrediction prediction;
    Posture posture = Posture::kStanding;  // Fall when fall_probability ≥ fall_threshold, else prediction.posture
    FallState fall = FallState::kNone;     // the transition at this window, else suspected or none
    std::optional<int64_t> incident_id;    // the incident a confirmed fall at this window opened or escalated
    bool late = false;                     // not after the wearer's latest window: not fed to the monitor
    TimePoint at;                          // the window's end
};

using WindowAnswer = std::function<void(Result<std::vector<WindowResult>>)>;

// A request's windows of one wearer (REQUIRES: strictly increasing timing.end, at least one).
struct WindowJob {
    int64_t wearer = 0;
    std::vector<TimedWindow> windows;
    RecordPolicy policy = RecordPolicy::kOnChange;
    TimePoint received{};  // server time the request arrived
    // Called exactly once: with one result per window once its rows and the wearer's fall state are durable
    // (by the verdict stage), or with the error. Process-local: a networked bus answers through a reply channel.
    WindowAnswer answer;
};

}  // namespace vg::posture
