#pragma once
// Scorer: how well the server's detections matched the labelled events of a run.
//
// Inputs are plain lists, so the scorer is pure and tested on hand-made cases:
// the labelled events (what was injected, when it became knowable) and every
// detection message the WebSocket stream delivered, per wearer in arrival
// order. Definitions (docs/simulator.md has the long form):
//
// - Alert: a reading-driven detection whose level rises above the wearer's
//   previous reading-driven level (normal→caution, normal→danger,
//   caution→danger), or the first of a run of advice_only detections, or a
//   signal-loss detection. Levels are tracked here rather than read from the
//   server's `changed`, so that a signal-loss verdict in between cannot hide a
//   rise, and a fall (danger→caution) is not an alert.
// - Alert time: the reading's simulated time (reading_at); for signal loss,
//   detected_at.
// - Detected: an emergency event is detected when a verdict at caution or
//   danger, not advice, names its metric (in causes, or as the metric of a
//   fired rule above normal): a new alert on a reading in [onset, end + grace],
//   or a verdict of an episode already under way on a reading in
//   [knowable_at, end + grace] (counted as "ongoing"). Signal loss: a
//   signal-loss alert in [onset, end + grace]. Data latency = that reading's
//   time − knowable_at (before knowable_at: "early", latency 0). Events never
//   knowable (the data never crossed) are reported but not in the rate.
// - Push latency: client receive time − the server's received_at.
// - False alert: an alert outside every emergency window [onset, end + grace]
//   of its wearer. Inside an exercise window [onset, end + grace] advice is
//   right and any other alert is false; any alert within grace after a sensor
//   spike is false.
//
// Falls (ScoreFalls, from the IMU replay, imu_replay.hpp):
//
// - The server's fall decisions are read from the live stream's posture
//   events (fall "suspected", then "confirmed" or "dismissed", each with the
//   window's time `at`) and incident events (kind "fall"). A confirmation
//   counts when an incident of kind fall (opened, or an open one escalated)
//   arrived within 5 s of it: that is the fall incident a guardian sees.
// - A confirmation belongs to the IMU event of its wearer in whose
//   [onset, end + detect_within] its suspicion (the suspected event's time;
//   the confirmation's own when none came first) lies.
// - A fall event is detected when a fall incident's confirmation belongs to it
//   and its time is at most detect_within after the impact; latency = that
//   time − impact (simulated time: the window that decided, on whose request
//   the incident opened). Confirmed later (e.g. by the server's 30 s silence
//   rule, whose time is the server's clock) is "late", not detected.
// - A false fall is a fall incident's confirmation that belongs to an ADL
//   event, or to no IMU event at all (unlabelled); per ADL event and per
//   wearer-day.
//
// Thread-safety: pure functions.

#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/sim/scenario.hpp"

namespace vg::sim {

// One injected event on one wearer.
struct LabelledEvent {
    int wearer = 0;  // index into the fleet
    EventType type = EventType::kTachycardia;
    domain::Metric metric = domain::Metric::kHeartRate;  // what an alert must name (not for signal loss)
    TimePoint onset;
    TimePoint end;                         // the data are back to normal (spike: one interval after onset)
    std::optional<TimePoint> knowable_at;  // emergencies only; nullopt: the data never crossed
    std::string group;
};

// One detection message as received over the WebSocket.
struct ObservedDetection {
    int wearer = 0;
    int status = 0;  // 0 normal, 1 caution, 2 danger
    bool advice_only = false;
    bool signal_loss = false;        // a rule of kind "signal_loss" fired (or no reading_at)
    uint8_t metrics = 0;             // bit (1 << Metric): in causes, or a fired rule's metric above normal
    std::vector<std::string> rules;  // ids of the fired rules above normal (hysteresis holds included)
    std::optional<TimePoint> reading_at;
    std::optional<TimePoint> received_at;
    TimePoint detected_at;
    TimePoint client_received_at;  // the simulator's wall clock when the message arrived
};

inline uint8_t MetricBit(domain::Metric m) { return static_cast<uint8_t>(1u << static_cast<unsigned>(m)); }

struct ScoreOptions {
    int wearers = 0;
    Milliseconds duration{0};  // simulated time covered, for wearer-days
    Milliseconds grace{10 * 60'000};
    // False at max speed: the server checks silence against its own clock, so signal loss in replayed
    // history is an artifact; signal-loss events are then not scored and signal-loss alerts ignored.
    bool score_signal_loss = true;
};

struct LatencyStats {
    size_t count = 0;
    double p50 = 0, p95 = 0, p99 = 0, max = 0;  // nearest-rank percentiles
};
// Nearest-rank percentiles of `samples` (any unit). Empty input: all zero.
LatencyStats ComputeLatencyStats(std::vector<double> samples);

struct EventTypeScore {
    EventType type = EventType::kTachycardia;
    int events = 0;
    int not_scored = 0;      // signal loss at max speed
    int never_knowable = 0;  // the injected data never crossed the knowable line
    int knowable = 0;        // the denominator of the detection rate
    int detected = 0;
    int early = 0;                 // detected by a verdict before knowable_at (latency counted as 0)
    int ongoing = 0;               // detected by an episode for the metric that began before the event
    double detection_rate = 0;     // detected / knowable; 0 when nothing was knowable
    LatencyStats data_latency_s;   // detecting reading − knowable_at, simulated seconds
    LatencyStats push_latency_ms;  // of the detecting verdicts
};

struct NonEmergencyScore {
    int events = 0;
    int advice = 0;        // events with advice (right for exercise)
    int alerted = 0;       // events with at least one non-advice alert (wrong)
    int false_alerts = 0;  // alerts attributed to these events
};

struct FalseAlertScore {
    int total = 0;
    double wearer_days = 0;
    double per_wearer_day = 0;
    int unlabelled = 0;       // outside every labelled window
    int during_exercise = 0;  // non-advice alerts in an exercise window
    int after_spike = 0;      // alerts within grace after a sensor spike
    // by kind of alert
    int advice = 0, caution = 0, danger = 0, signal_loss = 0;
    std::vector<std::pair<std::string, int>> by_rule;  // rule id → false alerts carrying it, most first
};

// An alert, as derived from the detections of one wearer (see the header comment).
struct Alert {
    int wearer = 0;
    TimePoint at;
    int status = 0;
    bool advice_only = false;
    bool signal_loss = false;
    uint8_t metrics = 0;
    std::vector<std::string> rules;
    std::optional<double> push_latency_ms;
};

// What became of one scored emergency event.
struct EventOutcome {
    size_t event = 0;                   // index into the events given to ScoreRun
    std::optional<TimePoint> alert_at;  // the detecting verdict's reading; nullopt: missed
    double data_latency_s = 0;          // when detected (0 when early)
};

struct Score {
    std::vector<EventTypeScore> emergencies;  // one per emergency type present in the run, in enum order
    std::vector<EventOutcome> outcomes;       // every knowable, scored emergency event, in input order
    std::vector<Alert> false_alert_list;      // every false alert, in alert order
    NonEmergencyScore exercise;
    NonEmergencyScore spikes;
    FalseAlertScore false_alerts;
    int detections = 0;  // messages scored
    int alerts = 0;
    int signal_loss_ignored = 0;
    LatencyStats push_latency_all_ms;     // every detection with a received_at
    LatencyStats push_latency_alerts_ms;  // alerts only
};

// One replayed IMU event, in simulated time.
struct ImuLabel {
    int wearer = 0;
    ImuKind kind = ImuKind::kFall;
    ImuDataset dataset = ImuDataset::kSisFall;
    ImuPlacement placement = ImuPlacement::kWaist;
    std::string group;
    std::string subject;
    std::string activity;
    std::string file;
    TimePoint onset;
    TimePoint end;                       // the last window's end (lying-still tail included)
    std::optional<TimePoint> impact_at;  // falls
};

enum class FallPhase : uint8_t { kNone, kSuspected, kConfirmed, kDismissed };

// A live `posture` event.
struct ObservedPosture {
    int wearer = 0;
    int posture = 0;
    FallPhase fall = FallPhase::kNone;
    TimePoint at;  // the window's time (a confirmation by silence: the server's clock)
    TimePoint client_received_at;
};

// A live `incident` event.
struct ObservedIncident {
    int wearer = 0;
    int64_t id = 0;
    std::string kind;  // "vitals", "fall", "sos"
    std::string phase;
    TimePoint client_received_at;
};

struct FallScoreOptions {
    int wearers = 0;
    Milliseconds duration{0};            // simulated time, for wearer-days
    Milliseconds detect_within{30'000};  // impact → fall incident
    Milliseconds incident_match{5'000};  // a confirmation and its incident arrive this close (wall clock)
};

// The falls and ADL events of one (data set, placement), or of all ("all", "all").
struct FallBreakdown {
    std::string dataset;
    std::string placement;
    int falls = 0;
    int detected = 0;
    int late = 0;            // confirmed with an incident, but after detect_within
    int dismissed = 0;       // falls whose only decision was a dismissal (the server thought the wearer got up)
    double sensitivity = 0;  // detected / falls
    LatencyStats latency_s;  // impact → confirmation, of the detected
    int adl = 0;
    int adl_suspected = 0;  // ADL events that raised a suspicion (dismissed or confirmed)
    int false_falls = 0;    // fall incidents on ADL events
    double false_per_adl = 0;
};

struct FallEventOutcome {
    size_t event = 0;  // index into the labels given to ScoreFalls
    bool suspected = false;
    bool confirmed = false;  // with a fall incident
    bool detected = false;   // falls: confirmed within detect_within of the impact
    std::optional<TimePoint> confirmed_at;
    double latency_s = 0;
};

struct FallScore {
    bool available = true;  // false: the server answered that posture is not available
    std::string unavailable_reason;
    std::vector<FallBreakdown> rows;         // per (data set, placement) present, then the "all" row last
    std::vector<FallEventOutcome> outcomes;  // every event, in input order
    int confirmations = 0;                   // fall confirmations seen on the stream
    int with_incident = 0;                   // of which a fall incident arrived with
    int unlabelled_false = 0;                // fall incidents outside every IMU event
    int false_total = 0;                     // ADL + unlabelled
    double wearer_days = 0;
    double false_per_wearer_day = 0;
    int fall_incidents = 0;  // distinct incident ids of kind fall
};

// `postures` and `incidents`: any order across wearers; each wearer's in arrival order.
FallScore ScoreFalls(const std::vector<ImuLabel>& events, const std::vector<ObservedPosture>& postures,
                     const std::vector<ObservedIncident>& incidents, const FallScoreOptions& options);
boost::json::object FallScoreToJson(const FallScore& score, const std::vector<ImuLabel>& events,
                                    const std::vector<std::string>& wearer_ids = {}, size_t max_listed = 2000);
// The falls table (one row per data set and placement, then all), or the "not available" line.
std::string FormatFallTable(const FallScore& score);

// The alerts of `detections` (any order across wearers; each wearer's in arrival order), each wearer
// starting at level 0. Signal-loss detections yield alerts only when `include_signal_loss`.
std::vector<Alert> ExtractAlerts(const std::vector<ObservedDetection>& detections, bool include_signal_loss);

Score ScoreRun(const std::vector<LabelledEvent>& events, const std::vector<ObservedDetection>& detections,
               const ScoreOptions& options);

// The score as JSON; wearers are named by `wearer_ids` (by index) when given, else by index. The lists of
// outcomes and false alerts are cut at `max_listed` entries each.
boost::json::object ScoreToJson(const Score& score, const std::vector<LabelledEvent>& events,
                                const std::vector<std::string>& wearer_ids = {}, size_t max_listed = 2000);
// A table a person reads, one emergency type per row, then exercise, spikes, false alerts and push latency.
std::string FormatScoreTable(const Score& score);

}  // namespace vg::sim
