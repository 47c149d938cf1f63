#pragma once
// Incidents: one episode of trouble of one wearer, from the first caution or danger
// verdict (or fall, or SOS press) until it is resolved, and every step of its
// escalation (docs/escalation.md).
//
// An Incident is the whole state of the escalation state machine: the store keeps it
// (with every transition as an IncidentEvent) so that a restarted server resumes
// exactly where the previous one stopped, deadlines included.
// Pure values. Thread-safety: distinct objects from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/domain/vitals.hpp"

namespace vg::domain {

enum class IncidentKind : uint8_t {
    kVitals = 0,  // opened by a caution or danger verdict of the rules
    kFall = 1,    // opened by a confirmed fall (posture)
    kSos = 2,     // the wearer pressed SOS (신고하기)
};
std::string_view IncidentKindName(IncidentKind k);  // "vitals", "fall", "sos"
std::optional<IncidentKind> IncidentKindFromName(std::string_view name);

enum class IncidentPhase : uint8_t {
    kGuidance = 0,    // caution: the wearer has what-to-do guidance; guardians not told yet
    kGuardians = 1,   // guardians notified (and re-notified until one acknowledges)
    kCountdown = 2,   // danger or fall: the emergency call goes out at `deadline` unless answered
    kDispatched = 3,  // the emergency call went out
    kClosed = 4,      // over: see close_reason
};
std::string_view IncidentPhaseName(IncidentPhase p);  // "guidance", "guardians", "countdown", ...
std::optional<IncidentPhase> IncidentPhaseFromName(std::string_view name);

enum class CloseReason : uint8_t {
    kNone = 0,
    kAllClear = 1,  // the values recovered (auto-resolve)
    kResolved = 2,  // the wearer or a guardian closed it
};
std::string_view CloseReasonName(CloseReason r);  // "", "all_clear", "resolved"
std::optional<CloseReason> CloseReasonFromName(std::string_view name);

struct Incident {
    int64_t id = 0;  // 0 until stored
    int64_t wearer = 0;
    IncidentKind kind = IncidentKind::kVitals;
    IncidentPhase phase = IncidentPhase::kGuidance;
    Level level = Level::kCaution;      // the current level of the episode
    Level max_level = Level::kCaution;  // the highest level it reached
    std::vector<Metric> causes;         // of the latest abnormal verdict
    std::vector<std::string> rules;     // rule ids of the latest abnormal verdict
    std::string explanation;            // of the latest abnormal verdict
    TimePoint opened_at;
    TimePoint updated_at;
    std::optional<TimePoint> escalate_at;  // kGuidance: guardians are told then if it is still open
    std::optional<TimePoint> deadline;     // kCountdown: the emergency call goes out then
    std::optional<TimePoint> guardians_notified_at;
    std::optional<TimePoint> next_reraise_at;  // guardians are told again then, until acknowledged
    int reraise_count = 0;
    std::optional<TimePoint> dispatched_at;
    std::optional<TimePoint> acknowledged_at;
    std::string acknowledged_by;               // the guardian's login id (or "guardian" for a contact without one)
    std::optional<TimePoint> wearer_ok_at;     // the last "I'm OK"
    std::optional<TimePoint> wearer_ok_until;  // no new countdown before this
    std::optional<TimePoint> snoozed_until;    // caution only: no re-notification before this
    std::optional<TimePoint> closed_at;
    CloseReason close_reason = CloseReason::kNone;
    int64_t version = 0;  // bumped by every stored transition (optimistic concurrency)

    bool open() const { return phase != IncidentPhase::kClosed; }
    // The earliest time at which a clock tick may move this incident on (escalate_at, deadline,
    // next re-notification, end of the "I'm OK" grace); empty when only an event can.
    std::optional<TimePoint> NextDue() const;
};

// One stored step of an incident: what happened, when, by whom.
struct IncidentEvent {
    int64_t id = 0;
    int64_t incident_id = 0;
    TimePoint at;
    std::string type;    // "opened", "escalated", "guardians_notified", "countdown_started", "dispatched", ...
    std::string actor;   // "system", "wearer", or the guardian's login id
    std::string detail;  // one readable sentence
};

}  // namespace vg::domain
