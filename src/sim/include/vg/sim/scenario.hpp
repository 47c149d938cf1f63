#pragma once
// Scenario: what a simulation run contains, read from a JSON file (docs/simulator.md).
//
// A scenario is a fleet of wearers in groups (size, rule profile, age range,
// glucose sensor) over a time window (duration, reading interval), plus
// labelled events injected into some wearers of a group: emergencies
// (tachycardia, hypoxaemia, glucose low, signal loss, ...) that the server
// should detect, and non-emergencies (exercise bouts, single-reading sensor
// spikes) that it must not treat as emergencies. Every emergency has a
// "knowable" rule: the moment the injected data first make the event visible
// (e.g. the first reading beyond the NEWS2 band), from which detection
// latency is measured.
//
// Parsing is strict, like the HTTP API: wrong types, out-of-range values and
// unknown keys are all reported at once, each naming its JSON path
// ("groups[1].events[0].target"). Pure values and pure functions.
//
// IMU: a scenario may also replay REAL IMU trials of the public data sets
// (SisFall, UMAFall, HIFD, WEDA-FALL, FallAllD, read in place through vg_imu) through the server's
// posture API. The top-level `imu` section says where the data are, which
// subjects (the test split by default: the shipped posture model was trained
// on the train and validation subjects), which data sets and placements, and
// how many fall and ADL (activity of daily living) events each wearer gets per
// day; groups may add explicit `fall` / `adl` events (ImuEventSpec) beside
// their vitals events. Trials are chosen when the run is planned (imu_replay.hpp).
// Thread-safety: distinct objects from any thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/imu/trial.hpp"

namespace vg::sim {

enum class EventType : uint8_t {
    kTachycardia = 0,
    kBradycardia,
    kHypoxaemia,
    kTachypnoea,
    kBradypnoea,
    kFeverTrend,
    kHypothermiaTrend,
    kExercise,     // not an emergency: advice is right, anything more is a false alert
    kSensorSpike,  // not an emergency: one implausible-looking reading; any alert is false
    kSignalLoss,
    kGlucoseLow,
    kGlucoseHigh,
    kGlucoseFastDrop,
};
inline constexpr int kEventTypeCount = 13;

// Wire names: "tachycardia", "bradycardia", "hypoxaemia", "tachypnoea", "bradypnoea", "fever_trend",
// "hypothermia_trend", "exercise", "sensor_spike", "signal_loss", "glucose_low", "glucose_high",
// "glucose_fast_drop".
std::string_view EventTypeName(EventType type);
std::optional<EventType> EventTypeFromName(std::string_view name);
// False for exercise and sensor_spike: the server should not raise an emergency for them.
bool IsEmergency(EventType type);
// Whether the event needs glucose readings (the wearer's group must have "glucose": true).
bool NeedsGlucose(EventType type);

// Durations in scenarios and options are read with vg::ParseDuration (vg/common/time_text.hpp).
// "1h30m"-style text for reports: "90s" → "1m30s", "2h" → "2h".
std::string FormatSimDuration(Milliseconds d);

// A moment or length within the run: absolute ("3h") or a fraction of the run's duration ("40%").
struct TimeSpec {
    Milliseconds absolute{0};
    std::optional<double> fraction;  // 0..1, wins over `absolute` when set

    Milliseconds Resolve(Milliseconds run_duration) const;
    friend bool operator==(const TimeSpec&, const TimeSpec&) = default;
};

// One way the data can make an event knowable. An event is knowable at the time of the first reading
// (between its onset and its end) that meets any of its criteria.
struct KnowableCriterion {
    enum class Kind : uint8_t {
        kAbove,        // metric value >= value (held for `hold` when hold > 0)
        kBelow,        // metric value <= value (held for `hold` when hold > 0)
        kAboveNormal,  // metric value >= the wearer's own normal for that moment + value
        kBelowNormal,  // metric value <= the wearer's own normal for that moment - value
        kDropPct,      // metric fell by >= value % from a reading at most `within` earlier
        kRisePct,      // metric rose by >= value % from a reading at most `within` earlier
        kAfter,        // a fixed time after onset (signal loss: no reading for `hold`)
    };
    Kind kind = Kind::kAbove;
    double value = 0;
    Milliseconds hold{0};
    Milliseconds within{0};

    friend bool operator==(const KnowableCriterion&, const KnowableCriterion&) = default;
};

struct EventSpec {
    EventType type = EventType::kTachycardia;
    TimeSpec at;               // earliest onset
    TimeSpec jitter;           // onset = at + uniform[0, jitter), drawn per wearer
    Milliseconds duration{0};  // onset to back-to-normal, ramp and recovery included
    Milliseconds ramp{0};      // onset to full effect (linear)
    Milliseconds recovery{0};  // full effect to back-to-normal, at the end of `duration`
    // The event's size, by type (see docs/simulator.md): an absolute value in the metric's unit
    // (heart rate, SpO2, respiration, glucose; exercise: heart rate reached; spike: the spike value),
    // a change in °C (fever_trend +, hypothermia_trend -) or a percent fall (glucose_fast_drop).
    double target = 0;
    double spread = 0;                                   // per-wearer target = target + uniform[-spread, spread]
    domain::Metric metric = domain::Metric::kHeartRate;  // the metric changed (chosen only for spikes)
    double cadence = 0;                                  // exercise: steps/min while active
    std::vector<KnowableCriterion> knowable;             // emergencies only; never empty for them
    int wearers = -1;  // how many of the group's wearers get it (chosen by seed); -1: all

    friend bool operator==(const EventSpec&, const EventSpec&) = default;
};

// The defaults of an event type (every field but `at`, `jitter` and `wearers`).
EventSpec DefaultEventSpec(EventType type);

// A real IMU trial replayed on a wearer: a fall trial for kFall (scored: the server should open a fall
// incident), any non-fall trial for kAdl (walking, sitting, stairs, and the data sets' "none of the
// eight" activities such as SisFall D18 stumble, D19 jump, UMAFall clapping: a fall incident is false).
enum class ImuKind : uint8_t { kFall, kAdl };
std::string_view ImuKindName(ImuKind kind);  // "fall", "adl"

// The data sets by their folder names under imu.data_dir. SisFall is worn on the waist, UMAFall on the wrist and
// the waist, HIFD, WEDA-FALL and FallAllD on the wrist (docs/posture-data.md).
enum class ImuDataset : uint8_t { kSisFall, kUmaFall, kHifd, kWedaFall, kFallAllD };
inline constexpr ImuDataset kAllImuDatasets[] = {ImuDataset::kSisFall, ImuDataset::kUmaFall, ImuDataset::kHifd,
                                                 ImuDataset::kWedaFall, ImuDataset::kFallAllD};
// "sisfall", "umafall", "hifd", "wedafall", "fallalld" (imu::DatasetName's, the folder names).
std::string_view ImuDatasetName(ImuDataset dataset);
std::optional<ImuDataset> ImuDatasetFromName(std::string_view name);  // nullopt for any other text
imu::DatasetId ToImuDatasetId(ImuDataset dataset);                    // the reader's id of the same data set
enum class ImuPlacement : uint8_t { kWrist, kWaist };
std::string_view ImuPlacementName(ImuPlacement placement);  // "wrist", "waist"
// Which subjects' trials are replayed (imu::AssignSplits, seed 20260422); kAny: every subject.
enum class ImuSplit : uint8_t { kTrain, kValidation, kTest, kAny };
std::string_view ImuSplitName(ImuSplit split);  // "train", "validation", "test", "any"

// An explicit IMU event of a group ({"type": "fall" | "adl", ...} in its events).
struct ImuEventSpec {
    ImuKind kind = ImuKind::kFall;
    TimeSpec at;                            // earliest onset (the trial's first sample)
    TimeSpec jitter;                        // onset = at + uniform[0, jitter), drawn per wearer
    int wearers = -1;                       // how many of the group's wearers get it (chosen by seed); -1: all
    std::optional<ImuDataset> dataset;      // else one of the imu section's, drawn per event
    std::optional<ImuPlacement> placement;  // else one of the imu section's, drawn per event
    // The data set's activity code ("F01", "D18", "forwardFall", "clap", "A102"); empty: any. SisFall and WEDA-FALL
    // share codes of the same form (D01, F01, ...): without `dataset` the code matches in either.
    std::string activity;

    friend bool operator==(const ImuEventSpec&, const ImuEventSpec&) = default;
};

// The scenario's `imu` section.
struct ImuSpec {
    // The folder holding the data sets' folders (sisfall/, umafall/, ...; LoadScenarioFile: relative to the file).
    std::string data_dir;
    ImuSplit split = ImuSplit::kTest;
    // Default: the three original sets (what scenarios written before WEDA-FALL and FallAllD were meant to
    // replay, and all that older data folders hold); name "wedafall" and "fallalld" to add the wrist sets.
    std::vector<ImuDataset> datasets = {ImuDataset::kSisFall, ImuDataset::kUmaFall, ImuDataset::kHifd};
    std::vector<ImuPlacement> placements = {ImuPlacement::kWrist, ImuPlacement::kWaist};
    double falls_per_wearer_day = 0;  // events placed at random on every wearer of a group with "imu": true
    double adl_per_wearer_day = 0;
    Milliseconds lying_still{10'000};    // after a fall trial: still windows repeated from its own end
    Milliseconds detect_within{30'000};  // a fall incident this long after the impact still detects it
    int batch = 8;                       // windows per POST /api/devices/posture (1..32)

    friend bool operator==(const ImuSpec&, const ImuSpec&) = default;
};

struct GroupSpec {
    std::string name;
    int watches = 0;
    std::string profile = "adult-default";  // the server's rule profile for these wearers
    bool glucose = false;                   // wearers also send glucose (a CGM)
    int age_min = 65;
    int age_max = 90;
    std::vector<EventSpec> events;
    std::vector<ImuEventSpec> imu_events;  // its "fall" and "adl" events (need the scenario's imu section)
    bool imu = true;                       // the imu section's per-wearer-day rates apply to this group

    friend bool operator==(const GroupSpec&, const GroupSpec&) = default;
};

struct DropoutSpec {
    double reading = 0.005;  // probability that a reading is missing altogether
    double metric = 0.01;    // probability that one metric is missing from a reading

    friend bool operator==(const DropoutSpec&, const DropoutSpec&) = default;
};

struct Scenario {
    std::string name;
    std::string description;
    std::string source;  // file it was read from, for messages
    uint64_t seed = 1;
    Milliseconds duration{24 * 3'600'000};
    Milliseconds interval{60'000};
    int utc_offset_minutes = 9 * 60;  // local time of day drives the daily rhythm
    // At max speed the replayed window starts at this local time of day (the latest such moment that
    // lets it end before now), so that a seed gives the same day whenever it is run.
    Milliseconds start_time_of_day{8 * 3'600'000};
    DropoutSpec dropouts;
    Milliseconds grace{10 * 60'000};  // an alert up to this long after an event's end still belongs to it
    std::vector<GroupSpec> groups;
    std::optional<ImuSpec> imu;  // absent: vitals only

    int watches() const;

    friend bool operator==(const Scenario&, const Scenario&) = default;
};

// Limits checked by ParseScenario and ApplyOverrides.
inline constexpr Milliseconds kMinRunDuration{10 * 60'000};
inline constexpr Milliseconds kMaxRunDuration{29LL * 86'400'000};  // the server refuses readings > 30 days old
inline constexpr Milliseconds kMinInterval{1'000};
inline constexpr Milliseconds kMaxInterval{3'600'000};
inline constexpr int kMaxWatches = 100'000;
// Longest stretch of one trial that is replayed (SisFall's walking trials last 100 s); with the
// lying-still tail an IMU event lasts at most kMaxImuEvent, and must start that long before the end.
inline constexpr Milliseconds kMaxImuTrial{120'000};
inline constexpr Milliseconds kMaxImuEvent{180'000};

// Parses and validates a scenario. kInvalidJson (one FieldError, field "", with line and column) when
// the text is not JSON; kValidationFailed with one FieldError per problem otherwise.
[[nodiscard]] Result<Scenario> ParseScenario(std::string_view json_text, std::string_view source_name);
// Reads and parses a file; kNotFound when it cannot be read. A relative imu.data_dir is resolved
// against the file's folder.
[[nodiscard]] Result<Scenario> LoadScenarioFile(const std::string& path);

// Command-line overrides of a scenario.
struct ScenarioOverrides {
    std::optional<int> watches;  // scales every group in proportion (largest remainder)
    std::optional<Milliseconds> duration;
    std::optional<Milliseconds> interval;
    std::optional<uint64_t> seed;
};
// The scenario with the overrides applied; kValidationFailed (field = the option name, e.g. "watches")
// when an override is out of range.
[[nodiscard]] Result<Scenario> ApplyOverrides(Scenario scenario, const ScenarioOverrides& overrides);

}  // namespace vg::sim
