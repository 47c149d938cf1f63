#pragma once
// The simulator's side of the wire format (private to vg_sim): reading batches
// as the device ingest endpoint takes them, and the live stream's messages as
// the WebSocket delivers them (docs/api.md). Pure functions.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vg/common/clock.hpp"
#include "vg/sim/imu_replay.hpp"
#include "vg/sim/physiology.hpp"
#include "vg/sim/scorer.hpp"

namespace vg::sim::wire {

// {"readings":[{"seq":1,"timestamp":<ms>,"heart_rate":72,...},...]}; metrics that are missing are left out.
std::string ReadingsBatchJson(std::span<const SimReading> readings);

// One window of a replayed IMU event, as POST /api/devices/posture takes it.
struct PostureWindowRef {
    const ImuEventPlan* event = nullptr;
    size_t index = 0;       // window of the event
    TimePoint measured_at;  // the window's last sample
};
// {"windows":[{"sample_rate_hz":50,"placement":"wrist","gravity_removed":false,"measured_at":<ms>,
// "samples":[[ax,ay,az,gx,gy,gz],...]},...]}.
std::string PostureBatchJson(std::span<const PostureWindowRef> windows);

enum class MessageKind { kHello, kDetection, kPosture, kIncident, kOther, kInvalid };
struct StreamMessage {
    MessageKind kind = MessageKind::kInvalid;
    std::string wearer_id;        // "wearer" of hello, detection and posture messages, the incident's wearer
    ObservedDetection detection;  // for kDetection; `wearer` is left 0 for the caller to set
    ObservedPosture posture;      // for kPosture (`wearer` left 0)
    ObservedIncident incident;    // for kIncident (`wearer` left 0)
};
// Parses one live-stream message received at `client_received_at`. kInvalid when it is not JSON, a
// detection lacks status/detected_at, a posture event lacks fall/at, or an incident event lacks
// incident.id/kind.
StreamMessage ParseStreamMessage(std::string_view text, TimePoint client_received_at);

// The value of `name` in a Set-Cookie header value ("vg_session=abc; Path=/; HttpOnly" → "abc"), or
// nullopt when the header sets another cookie.
std::optional<std::string> CookieFromSetCookie(std::string_view set_cookie, std::string_view name);

}  // namespace vg::sim::wire
