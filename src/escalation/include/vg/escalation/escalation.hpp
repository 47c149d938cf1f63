#pragma once
// The escalation state machine (docs/escalation.md): pure functions from an incident
// (or none), an input and the time to the next incident, the events to store and the
// notices to send. No I/O and no clock reads: time is an argument, so every path runs
// on simulated time in tests, and a restarted server that reloads the stored incident
// continues exactly where the previous process stopped.
//
//   caution verdict ──▶ open, phase guidance (wearer guidance)
//        │ still open after caution_to_guardians        ┌── I'm OK: countdown cancelled,
//        ▼                                              │   no new one for wearer_ok_grace
//   phase guardians (guardians notified, re-notified ◀──┤── guardian ack: countdown cancelled,
//        │             every reraise_every until ack)   │   no more re-notification
//   danger verdict / fall                               │
//        ▼                                              │
//   phase countdown ── deadline, nobody answered ──▶ phase dispatched (emergency call)
//   SOS ──▶ dispatched at once (an established account), or phase countdown (a new or unverified
//           account: a person can still cancel a mistake with "I'm OK")
//   normal verdict (vitals incidents) ──▶ closed, all clear; resolve by a person ──▶ closed
//
// Thread-safety: pure functions. The caller serialises transitions of one incident.

#include <optional>
#include <string>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/incident.hpp"
#include "vg/domain/vitals.hpp"

namespace vg::escalation {

struct EscalationPolicy {
    // A caution incident still open this long after it opened is told to the guardians.
    Milliseconds caution_to_guardians{10 * 60 * 1000};
    // Danger or fall: the emergency call goes out this long after the countdown starts unless the
    // wearer answers "I'm OK" or a guardian acknowledges.
    Milliseconds countdown{60 * 1000};
    // Guardians are told again this often until one acknowledges.
    Milliseconds reraise_every{5 * 60 * 1000};
    // After "I'm OK", a danger that is still there starts a new countdown only after this long.
    Milliseconds wearer_ok_grace{10 * 60 * 1000};
    // The longest snooze a guardian may ask for (caution incidents only).
    Milliseconds max_snooze{2 * 60 * 60 * 1000};
    // A verdict on a reading measured longer ago than this, or a fall whose impact is older (a watch's
    // backlog sent after hours without a connection), is recorded and shown but neither opens, escalates
    // nor clears an incident: a countdown to 119 now for an episode of three hours ago misleads everyone,
    // and a normal reading of then says nothing about now. A danger that lasts into the present is
    // caught by the backlog's last readings and the next fresh ones (the rules' windows span both).
    // 0: no limit, every reading escalates however old it is (a simulator's max-speed replay of past
    // days, an evaluation through the server).
    Milliseconds escalate_within{10 * 60 * 1000};
};

// Returns the problems of a policy (empty when valid), one per field, e.g. {"countdown", "must be
// between 5 s and 10 min"}.
std::vector<FieldError> ValidatePolicy(const EscalationPolicy& policy);

// What the outside world must be told because of a transition; the service turns each into
// messages (live events, SMS, webhook, the emergency call) written with the transition.
enum class Notice {
    kWearerGuidance,       // the wearer: what to do now (guidance text)
    kWearerCountdown,      // the wearer: the emergency call goes out at `deadline` unless "I'm OK"
    kGuardiansAlert,       // the guardians: first notification
    kGuardiansReminder,    // the guardians: still not acknowledged
    kGuardiansDispatched,  // the guardians: the emergency call went out
    kGuardiansWearerOk,    // the guardians: the wearer answered "I'm OK"
    kGuardiansAllClear,    // the guardians (only if they were told): it is over
    kWearerGuardianAcked,  // the wearer: a guardian has seen it and is on it
    kEmergencyDispatch,    // the emergency service (119): the report
};
std::string_view NoticeName(Notice n);

struct Transition {
    domain::Incident incident;                  // the incident after the transition
    bool opened = false;                        // a new incident (incident.id is still 0)
    std::vector<domain::IncidentEvent> events;  // to store with it (incident_id filled in by the store)
    std::vector<Notice> notices;
    // The measured values behind a verdict's transition (metric, value), for the words of its messages;
    // set by the service from the verdict, empty for ticks and people's actions.
    std::vector<std::pair<domain::Metric, double>> values;
};

// A verdict of the rules for the wearer, as escalation sees it.
struct VerdictInput {
    domain::Level level = domain::Level::kNormal;
    bool advice_only = false;  // exercise advice: never an incident
    bool signal_loss = false;  // a silence verdict: does not resolve anything
    std::vector<domain::Metric> causes;
    std::vector<std::string> rules;
    std::string explanation;
};

// A verdict for a wearer whose open incident is `open` (nullopt: none). Nullopt when nothing
// changes (a normal verdict without an incident, a repeated caution, advice).
std::optional<Transition> OnVerdict(const EscalationPolicy& policy, const std::optional<domain::Incident>& open,
                                    int64_t wearer, const VerdictInput& verdict, TimePoint now);

// The clock moved to `now`: deadlines that passed take effect (caution → guardians, countdown →
// dispatch, re-notification, end of the "I'm OK" grace). Nullopt when nothing was due.
std::optional<Transition> OnTick(const EscalationPolicy& policy, const domain::Incident& incident, TimePoint now);

// A fall confirmed by the posture model: danger with a countdown (a new incident of kind fall, or
// the open one escalated).
Transition OnFall(const EscalationPolicy& policy, const std::optional<domain::Incident>& open, int64_t wearer,
                  TimePoint now);

// The wearer pressed SOS: the guardians are told, and the emergency call goes out at once when
// `dispatch_at_once` (an established account), otherwise when the countdown runs out unless the wearer
// answers "I'm OK" or a guardian acknowledges (a new incident of kind sos, or the open one: pressing
// again joins it, never a second call).
Transition OnSos(const EscalationPolicy& policy, const std::optional<domain::Incident>& open, int64_t wearer,
                 TimePoint now, bool dispatch_at_once = true);

// People acting on an incident. Errors: kConflict when the incident is closed, or for a snooze of a
// danger-level incident; kValidationFailed (field "minutes") for a snooze outside 1 min..max_snooze.
// Answering "I'm OK" again, or acknowledging twice, is accepted and changes nothing (idempotent:
// Transition with no events).
Result<Transition> WearerOk(const EscalationPolicy& policy, const domain::Incident& incident, TimePoint now);
Result<Transition> GuardianAck(const EscalationPolicy& policy, const domain::Incident& incident,
                               const std::string& guardian, TimePoint now);
Result<Transition> Snooze(const EscalationPolicy& policy, const domain::Incident& incident, const std::string& guardian,
                          Milliseconds length, TimePoint now);
Result<Transition> Resolve(const EscalationPolicy& policy, const domain::Incident& incident, const std::string& actor,
                           TimePoint now);

}  // namespace vg::escalation
