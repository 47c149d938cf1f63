#include "vg/sim/scenario.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "vg/common/time_text.hpp"
#include "vg/imu/labels.hpp"

namespace vg::sim {
namespace {

namespace json = boost::json;
using domain::Metric;

constexpr Milliseconds kMinute{60'000};
constexpr Milliseconds kHour{3'600'000};

constexpr std::array<std::string_view, kEventTypeCount> kEventNames = {
    "tachycardia", "bradycardia",       "hypoxaemia",       "tachypnoea",   "bradypnoea",
    "fever_trend", "hypothermia_trend", "exercise",         "sensor_spike", "signal_loss",
    "glucose_low", "glucose_high",      "glucose_fast_drop"};

std::string Fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", v);
    return buf;
}

// The values a target may take, by type (spikes: the metric's plausible range).
struct TargetRange {
    double min;
    double max;
    std::string_view unit;
};
TargetRange TargetRangeOf(EventType type, Metric spike_metric) {
    switch (type) {
        case EventType::kTachycardia:
            return {100, 220, "beats/min"};
        case EventType::kBradycardia:
            return {25, 50, "beats/min"};
        case EventType::kHypoxaemia:
            return {60, 93, "%"};
        case EventType::kTachypnoea:
            return {21, 60, "breaths/min"};
        case EventType::kBradypnoea:
            return {3, 11, "breaths/min"};
        case EventType::kFeverTrend:
            return {0.5, 6, "°C of rise"};
        case EventType::kHypothermiaTrend:
            return {-8, -0.5, "°C of change"};
        case EventType::kExercise:
            return {90, 200, "beats/min"};
        case EventType::kSensorSpike: {
            const domain::PlausibleRange r = domain::PlausibleRangeOf(spike_metric);
            return {r.min, r.max, r.unit};
        }
        case EventType::kSignalLoss:
            return {0, 0, ""};
        case EventType::kGlucoseLow:
            return {20, 69, "mg/dL"};
        case EventType::kGlucoseHigh:
            return {181, 600, "mg/dL"};
        case EventType::kGlucoseFastDrop:
            return {31, 80, "% fall"};
    }
    return {0, 0, ""};
}

double DefaultSpikeValue(Metric m) {
    switch (m) {
        case Metric::kHeartRate:
            return 182;
        case Metric::kRespirationRate:
            return 36;
        case Metric::kSpo2:
            return 79;
        case Metric::kSkinTemp:
            return 38.6;
        case Metric::kGlucose:
            return 42;
        default:
            return 0;
    }
}

// ---- strict JSON reading -------------------------------------------------------------------------

// Reads the fields of one JSON object, collecting problems under a path prefix. Every key must be read
// (or be known) by the time Finish() runs; the rest are reported as unknown.
class FieldReader {
  public:
    FieldReader(const json::object& object, std::string prefix, std::vector<FieldError>& problems)
        : object_(object), prefix_(std::move(prefix)), problems_(problems) {}

    std::string Path(std::string_view key) const {
        return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
    }
    void Problem(std::string_view key, std::string problem) { problems_.push_back({Path(key), std::move(problem)}); }
    bool Has(std::string_view key) const { return object_.contains(key); }

    const json::value* Get(std::string_view key, bool required) {
        known_.insert(std::string(key));
        auto it = object_.find(key);
        if (it == object_.end()) {
            if (required) Problem(key, "is required");
            return nullptr;
        }
        return &it->value();
    }

    std::optional<std::string> String(std::string_view key, bool required) {
        const json::value* v = Get(key, required);
        if (!v) return std::nullopt;
        if (!v->is_string()) {
            Problem(key, "must be a string");
            return std::nullopt;
        }
        return std::string(v->as_string());
    }

    std::optional<double> Number(std::string_view key, bool required, double min, double max) {
        const json::value* v = Get(key, required);
        if (!v) return std::nullopt;
        if (!v->is_number()) {
            Problem(key, "must be a number");
            return std::nullopt;
        }
        const double d = v->to_number<double>();
        if (!(d >= min && d <= max)) {
            Problem(key, "must be between " + Fmt(min) + " and " + Fmt(max));
            return std::nullopt;
        }
        return d;
    }

    std::optional<int64_t> Integer(std::string_view key, bool required, int64_t min, int64_t max) {
        const json::value* v = Get(key, required);
        if (!v) return std::nullopt;
        int64_t i = 0;
        if (v->is_int64()) {
            i = v->as_int64();
        } else if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
            i = static_cast<int64_t>(v->as_uint64());
        } else if (v->is_double() && std::nearbyint(v->as_double()) == v->as_double() &&
                   std::abs(v->as_double()) < 9e15) {
            i = static_cast<int64_t>(v->as_double());
        } else {
            Problem(key, "must be a whole number");
            return std::nullopt;
        }
        if (i < min || i > max) {
            Problem(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
            return std::nullopt;
        }
        return i;
    }

    std::optional<bool> Bool(std::string_view key, bool required) {
        const json::value* v = Get(key, required);
        if (!v) return std::nullopt;
        if (!v->is_bool()) {
            Problem(key, "must be true or false");
            return std::nullopt;
        }
        return v->as_bool();
    }

    // A duration: "90s", "30m", "2h", "1d", or a number of seconds.
    std::optional<Milliseconds> Duration(std::string_view key, bool required, Milliseconds min, Milliseconds max) {
        const json::value* v = Get(key, required);
        if (!v) return std::nullopt;
        std::optional<Milliseconds> d;
        if (v->is_string()) {
            auto parsed = ParseDuration(v->as_string());
            if (parsed.ok()) d = *parsed;
        } else if (v->is_number() && v->to_number<double>() >= 0 && v->to_number<double>() < 1e12) {
            d = Milliseconds(static_cast<int64_t>(std::llround(v->to_number<double>() * 1000)));
        }
        if (!d) {
            Problem(key, "must be a duration such as \"90s\", \"30m\", \"2h\" or \"1d\"");
            return std::nullopt;
        }
        if (*d < min || *d > max) {
            Problem(key, "must be between " + FormatSimDuration(min) + " and " + FormatSimDuration(max));
            return std::nullopt;
        }
        return d;
    }

    // A moment or length in the run: a duration, or a percentage of the run's duration ("40%").
    std::optional<TimeSpec> Time(std::string_view key, bool required) {
        const json::value* v = Get(key, required);
        if (!v) return std::nullopt;
        if (v->is_string() && !v->as_string().empty() && v->as_string().back() == '%') {
            const std::string_view text(v->as_string().data(), v->as_string().size() - 1);
            double pct = -1;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pct);
            if (ec != std::errc() || end != text.data() + text.size() || !(pct >= 0 && pct <= 100)) {
                Problem(key, "must be a percentage of the run from \"0%\" to \"100%\", or a duration");
                return std::nullopt;
            }
            return TimeSpec{Milliseconds(0), pct / 100.0};
        }
        known_.erase(std::string(key));  // Duration() re-reads it
        auto d = Duration(key, required, Milliseconds(0), kMaxRunDuration);
        if (!d) return std::nullopt;
        return TimeSpec{*d, std::nullopt};
    }

    const json::array* Array(std::string_view key, bool required) {
        const json::value* v = Get(key, required);
        if (!v) return nullptr;
        if (!v->is_array()) {
            Problem(key, "must be a list");
            return nullptr;
        }
        return &v->as_array();
    }

    const json::object* Object(std::string_view key, bool required) {
        const json::value* v = Get(key, required);
        if (!v) return nullptr;
        if (!v->is_object()) {
            Problem(key, "must be an object");
            return nullptr;
        }
        return &v->as_object();
    }

    void Finish() {
        for (const auto& kv : object_) {
            if (!known_.count(std::string(kv.key()))) Problem(kv.key(), "is not a known field");
        }
    }

  private:
    const json::object& object_;
    std::string prefix_;
    std::vector<FieldError>& problems_;
    std::set<std::string> known_;
};

bool ValidName(std::string_view s, size_t max_len) {
    if (s.empty() || s.size() > max_len) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    });
}

std::optional<KnowableCriterion> ParseCriterion(const json::value& v, const std::string& path,
                                                std::vector<FieldError>& problems) {
    if (!v.is_object()) {
        problems.push_back({path, "must be an object such as {\"above\": 130}"});
        return std::nullopt;
    }
    FieldReader r(v.as_object(), path, problems);
    static constexpr std::array<std::pair<std::string_view, KnowableCriterion::Kind>, 7> kKinds = {{
        {"above", KnowableCriterion::Kind::kAbove},
        {"below", KnowableCriterion::Kind::kBelow},
        {"above_normal", KnowableCriterion::Kind::kAboveNormal},
        {"below_normal", KnowableCriterion::Kind::kBelowNormal},
        {"drop_pct", KnowableCriterion::Kind::kDropPct},
        {"rise_pct", KnowableCriterion::Kind::kRisePct},
        {"after", KnowableCriterion::Kind::kAfter},
    }};
    int found = 0;
    KnowableCriterion c;
    bool ok = true;
    for (const auto& [key, kind] : kKinds) {
        if (!r.Has(key)) continue;
        ++found;
        c.kind = kind;
        if (kind == KnowableCriterion::Kind::kAfter) {
            auto d = r.Duration(key, true, Milliseconds(0), kMaxRunDuration);
            if (d)
                c.hold = *d;
            else
                ok = false;
        } else {
            auto n = r.Number(
                key, true,
                kind == KnowableCriterion::Kind::kDropPct || kind == KnowableCriterion::Kind::kRisePct ? 0.1 : -1000,
                1000);
            if (n)
                c.value = *n;
            else
                ok = false;
        }
    }
    if (found != 1) {
        problems.push_back({path,
                            "must have exactly one of above, below, above_normal, below_normal, drop_pct, "
                            "rise_pct, after"});
        r.Finish();
        return std::nullopt;
    }
    const bool threshold = c.kind == KnowableCriterion::Kind::kAbove || c.kind == KnowableCriterion::Kind::kBelow;
    const bool pct = c.kind == KnowableCriterion::Kind::kDropPct || c.kind == KnowableCriterion::Kind::kRisePct;
    if (threshold) {
        if (auto d = r.Duration("for", false, Milliseconds(0), kMaxRunDuration)) c.hold = *d;
    }
    if (pct) {
        if (auto d = r.Duration("within", true, Milliseconds(1000), 24 * kHour))
            c.within = *d;
        else
            ok = false;
    }
    r.Finish();
    if (!ok) return std::nullopt;
    return c;
}

// "sisfall, umafall, hifd, wedafall, fallalld", for messages.
std::string ImuDatasetList() {
    std::string out;
    for (ImuDataset d : kAllImuDatasets) {
        if (!out.empty()) out += ", ";
        out += ImuDatasetName(d);
    }
    return out;
}

std::optional<ImuPlacement> ImuPlacementFromName(std::string_view name) {
    if (name == "wrist") return ImuPlacement::kWrist;
    if (name == "waist") return ImuPlacement::kWaist;
    return std::nullopt;
}

// A "fall" or "adl" event of a group. `imu` is the scenario's imu section (nullptr when it has none or
// it did not parse: the activity is then checked against every data set).
void ParseImuEvent(FieldReader& r, ImuKind kind, const GroupSpec& group, const ImuSpec* imu, Milliseconds run_duration,
                   std::vector<FieldError>& problems, size_t problems_before, std::vector<ImuEventSpec>& out) {
    ImuEventSpec e;
    e.kind = kind;
    if (auto t = r.Time("at", true)) e.at = *t;
    if (auto t = r.Time("jitter", false)) e.jitter = *t;
    if (auto name = r.String("dataset", false)) {
        e.dataset = ImuDatasetFromName(*name);
        if (!e.dataset) {
            r.Problem("dataset", "must be one of " + ImuDatasetList());
        } else if (imu && std::find(imu->datasets.begin(), imu->datasets.end(), *e.dataset) == imu->datasets.end()) {
            r.Problem("dataset", "must be one of the imu section's datasets");
        }
    }
    if (auto name = r.String("placement", false)) {
        e.placement = ImuPlacementFromName(*name);
        if (!e.placement) {
            r.Problem("placement", "must be wrist or waist");
        } else if (imu &&
                   std::find(imu->placements.begin(), imu->placements.end(), *e.placement) == imu->placements.end()) {
            r.Problem("placement", "must be one of the imu section's placements");
        }
    }
    if (auto code = r.String("activity", false)) {
        // The code must name an activity of the right kind in a data set the event may use.
        std::vector<ImuDataset> sets;
        if (e.dataset) {
            sets.push_back(*e.dataset);
        } else if (imu) {
            sets = imu->datasets;
        } else {
            sets.assign(std::begin(kAllImuDatasets), std::end(kAllImuDatasets));
        }
        bool known = false, right_kind = false;
        for (ImuDataset d : sets) {
            if (const imu::ActivitySpec* a = imu::FindActivity(ToImuDatasetId(d), *code)) {
                known = true;
                right_kind = right_kind || ((a->scenario == imu::Scenario::kFall) == (kind == ImuKind::kFall));
            }
        }
        if (!known) {
            r.Problem("activity",
                      "must be an activity code of the data set (docs/posture-data.md), e.g. F01, D18, "
                      "forwardFall, clap, A102");
        } else if (!right_kind) {
            r.Problem("activity", kind == ImuKind::kFall ? "must be a fall activity for a fall event"
                                                         : "must not be a fall activity for an adl event");
        } else {
            e.activity = *code;
        }
    }
    if (auto w = r.Integer("wearers", false, 1, kMaxWatches)) {
        if (*w > group.watches) {
            r.Problem("wearers", "must not exceed the group's watches (" + std::to_string(group.watches) + ")");
        } else {
            e.wearers = static_cast<int>(*w);
        }
    }
    // Keys of the vitals events that mean nothing here: say so rather than "not a known field".
    for (std::string_view key : {"duration", "ramp", "recovery", "target", "spread", "metric", "cadence", "knowable"}) {
        if (!r.Has(key)) continue;
        r.Get(key, false);
        r.Problem(key, std::string("is not used by ") + std::string(ImuKindName(kind)) +
                           " (a real trial is replayed as recorded)");
    }
    r.Finish();
    const Milliseconds latest = e.at.Resolve(run_duration) + e.jitter.Resolve(run_duration);
    if (problems.size() == problems_before && latest + kMaxImuEvent > run_duration) {
        r.Problem("at", "the event may start at " + FormatSimDuration(latest) + " (at + jitter); an IMU event needs " +
                            FormatSimDuration(kMaxImuEvent) + " before the end of the run (" +
                            FormatSimDuration(run_duration) + ")");
    }
    if (problems.size() == problems_before) out.push_back(std::move(e));
}

void ParseEvent(const json::value& v, const std::string& path, const GroupSpec& group, const ImuSpec* imu,
                Milliseconds run_duration, std::vector<FieldError>& problems, std::vector<EventSpec>& out,
                std::vector<ImuEventSpec>& imu_out) {
    if (!v.is_object()) {
        problems.push_back({path, "must be an object"});
        return;
    }
    const size_t problems_before = problems.size();
    FieldReader r(v.as_object(), path, problems);
    auto type_name = r.String("type", true);
    if (type_name && (*type_name == "fall" || *type_name == "adl")) {
        ParseImuEvent(r, *type_name == "fall" ? ImuKind::kFall : ImuKind::kAdl, group, imu, run_duration, problems,
                      problems_before, imu_out);
        return;
    }
    std::optional<EventType> type;
    if (type_name) {
        type = EventTypeFromName(*type_name);
        if (!type) {
            std::string all;
            for (std::string_view n : kEventNames) all += (all.empty() ? "" : ", ") + std::string(n);
            r.Problem("type", "must be one of: " + all + ", fall, adl");
        }
    }
    if (!type) {
        r.Finish();
        return;
    }
    EventSpec e = DefaultEventSpec(*type);
    const bool spike = *type == EventType::kSensorSpike;
    const bool loss = *type == EventType::kSignalLoss;
    if (auto t = r.Time("at", true)) e.at = *t;
    if (auto t = r.Time("jitter", false)) e.jitter = *t;
    if (spike) {
        if (auto m = r.String("metric", false)) {
            auto metric = domain::MetricFromName(*m);
            if (!metric || *metric == Metric::kSteps || *metric == Metric::kCalories) {
                r.Problem("metric", "must be one of heart_rate, respiration_rate, spo2, skin_temp, glucose");
            } else {
                e.metric = *metric;
                e.target = DefaultSpikeValue(*metric);
            }
        }
    }
    if (!spike) {
        if (auto d = r.Duration("duration", false, kMinute, 2 * 24 * kHour)) e.duration = *d;
    }
    if (!spike && !loss) {
        if (auto d = r.Duration("ramp", false, Milliseconds(0), 24 * kHour)) e.ramp = *d;
        if (auto d = r.Duration("recovery", false, Milliseconds(0), 24 * kHour)) e.recovery = *d;
    }
    if (!loss) {
        const TargetRange range = TargetRangeOf(*type, e.metric);
        if (auto t = r.Number("target", false, range.min, range.max)) e.target = *t;
        if (auto s = r.Number("spread", false, 0, 1000)) {
            e.spread = *s;
            if (e.target - e.spread < range.min || e.target + e.spread > range.max) {
                r.Problem("spread", "target ± spread must stay between " + Fmt(range.min) + " and " + Fmt(range.max) +
                                        " " + std::string(range.unit));
            }
        }
    }
    if (*type == EventType::kExercise) {
        if (auto c = r.Number("cadence", false, 60, 220)) e.cadence = *c;
    }
    // Keys that exist but mean nothing for this type: say so rather than "not a known field".
    auto not_for = [&](std::string_view key, bool applies, const char* why) {
        if (applies || !r.Has(key)) return;
        r.Get(key, false);
        r.Problem(key, std::string("is not used by ") + std::string(EventTypeName(*type)) + " (" + why + ")");
    };
    not_for("duration", !spike, "a spike is one reading");
    not_for("ramp", !spike && !loss, spike ? "a spike is one reading" : "readings just stop");
    not_for("recovery", !spike && !loss, spike ? "a spike is one reading" : "readings just stop");
    not_for("target", !loss, "readings just stop");
    not_for("spread", !loss, "readings just stop");
    not_for("metric", spike, "its metric is fixed");
    not_for("cadence", *type == EventType::kExercise, "only exercise has a cadence");
    not_for("knowable", IsEmergency(*type), "it is not an emergency");
    if (IsEmergency(*type)) {
        if (const json::value* k = r.Get("knowable", false)) {
            e.knowable.clear();
            const std::string kpath = r.Path("knowable");
            if (k->is_array()) {
                if (k->as_array().empty()) problems.push_back({kpath, "must not be empty"});
                for (size_t i = 0; i < k->as_array().size(); ++i) {
                    if (auto c = ParseCriterion(k->as_array()[i], kpath + "[" + std::to_string(i) + "]", problems)) {
                        e.knowable.push_back(*c);
                    }
                }
            } else if (auto c = ParseCriterion(*k, kpath, problems)) {
                e.knowable.push_back(*c);
            }
            for (const KnowableCriterion& c : e.knowable) {
                if (loss != (c.kind == KnowableCriterion::Kind::kAfter)) {
                    problems.push_back({kpath, loss ? "signal_loss is knowable only {\"after\": duration}"
                                                    : "\"after\" is only for signal_loss"});
                    break;
                }
            }
        }
    }
    if (auto w = r.Integer("wearers", false, 1, kMaxWatches)) {
        if (*w > group.watches) {
            r.Problem("wearers", "must not exceed the group's watches (" + std::to_string(group.watches) + ")");
        } else {
            e.wearers = static_cast<int>(*w);
        }
    }
    r.Finish();
    if (!spike && e.ramp + e.recovery > e.duration) {
        problems.push_back(
            {path + ".duration", "must be at least ramp + recovery (" + FormatSimDuration(e.ramp + e.recovery) + ")"});
    }
    if (problems.size() == problems_before) out.push_back(std::move(e));
}

void ParseGroup(const json::value& v, const std::string& path, const ImuSpec* imu, Milliseconds run_duration,
                std::vector<FieldError>& problems, std::vector<GroupSpec>& out) {
    if (!v.is_object()) {
        problems.push_back({path, "must be an object"});
        return;
    }
    FieldReader r(v.as_object(), path, problems);
    GroupSpec g;
    if (auto n = r.String("name", true)) {
        if (!ValidName(*n, 40)) r.Problem("name", "must be 1–40 characters of a-z 0-9 _ . -");
        g.name = *n;
    }
    if (auto w = r.Integer("watches", true, 0, kMaxWatches)) g.watches = static_cast<int>(*w);
    if (auto p = r.String("profile", false)) {
        if (!ValidName(*p, 64)) r.Problem("profile", "must be a rule profile name (a-z 0-9 _ . -)");
        g.profile = *p;
    }
    if (auto b = r.Bool("glucose", false)) g.glucose = *b;
    if (auto b = r.Bool("imu", false)) g.imu = *b;
    if (const json::array* age = r.Array("age", false)) {
        const bool ok = age->size() == 2 && age->at(0).is_int64() && age->at(1).is_int64() &&
                        age->at(0).as_int64() >= 1 && age->at(0).as_int64() <= age->at(1).as_int64() &&
                        age->at(1).as_int64() <= 120;
        if (!ok) {
            r.Problem("age", "must be [youngest, oldest], whole years from 1 to 120");
        } else {
            g.age_min = static_cast<int>(age->at(0).as_int64());
            g.age_max = static_cast<int>(age->at(1).as_int64());
        }
    }
    if (const json::array* events = r.Array("events", false)) {
        for (size_t i = 0; i < events->size(); ++i) {
            ParseEvent((*events)[i], r.Path("events") + "[" + std::to_string(i) + "]", g, imu, run_duration, problems,
                       g.events, g.imu_events);
        }
        for (size_t i = 0; i < g.events.size(); ++i) {
            if (NeedsGlucose(g.events[i].type) && !g.glucose) {
                problems.push_back({r.Path("glucose"), "must be true: the group has glucose events"});
                break;
            }
        }
    }
    r.Finish();
    out.push_back(std::move(g));
}

// Line and column (1-based) of byte `offset` in `text`.
std::string LineColumn(std::string_view text, size_t offset) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// The `imu` section.
std::optional<ImuSpec> ParseImuSection(const json::object& o, std::vector<FieldError>& problems) {
    const size_t before = problems.size();
    FieldReader r(o, "imu", problems);
    ImuSpec spec;
    if (auto d = r.String("data_dir", true)) {
        if (d->empty()) r.Problem("data_dir", "must name the folder holding the data sets' folders (sisfall/, ...)");
        spec.data_dir = *d;
    }
    if (auto split = r.String("split", false)) {
        bool ok = false;
        for (ImuSplit sp : {ImuSplit::kTrain, ImuSplit::kValidation, ImuSplit::kTest, ImuSplit::kAny}) {
            if (ImuSplitName(sp) == *split) {
                spec.split = sp;
                ok = true;
            }
        }
        if (!ok) r.Problem("split", "must be test (default), validation, train or any");
    }
    if (const json::array* list = r.Array("datasets", false)) {
        spec.datasets.clear();
        if (list->empty()) r.Problem("datasets", "must name at least one of " + ImuDatasetList());
        for (size_t i = 0; i < list->size(); ++i) {
            const std::string path = "imu.datasets[" + std::to_string(i) + "]";
            const json::value& v = (*list)[i];
            auto d = v.is_string() ? ImuDatasetFromName(v.as_string()) : std::nullopt;
            if (!d) {
                problems.push_back({path, "must be one of " + ImuDatasetList()});
            } else if (std::find(spec.datasets.begin(), spec.datasets.end(), *d) != spec.datasets.end()) {
                problems.push_back({path, "is listed twice"});
            } else {
                spec.datasets.push_back(*d);
            }
        }
    }
    if (const json::array* list = r.Array("placements", false)) {
        spec.placements.clear();
        if (list->empty()) r.Problem("placements", "must name at least one of wrist, waist");
        for (size_t i = 0; i < list->size(); ++i) {
            const std::string path = "imu.placements[" + std::to_string(i) + "]";
            const json::value& v = (*list)[i];
            auto p = v.is_string() ? ImuPlacementFromName(v.as_string()) : std::nullopt;
            if (!p) {
                problems.push_back({path, "must be wrist or waist"});
            } else if (std::find(spec.placements.begin(), spec.placements.end(), *p) != spec.placements.end()) {
                problems.push_back({path, "is listed twice"});
            } else {
                spec.placements.push_back(*p);
            }
        }
    }
    if (auto n = r.Number("falls_per_wearer_day", false, 0, 200)) spec.falls_per_wearer_day = *n;
    if (auto n = r.Number("adl_per_wearer_day", false, 0, 200)) spec.adl_per_wearer_day = *n;
    if (auto d = r.Duration("lying_still", false, Milliseconds(0), Milliseconds(60'000))) spec.lying_still = *d;
    if (auto d = r.Duration("detect_within", false, Milliseconds(5'000), Milliseconds(300'000)))
        spec.detect_within = *d;
    if (auto b = r.Integer("batch", false, 1, 32)) spec.batch = static_cast<int>(*b);
    r.Finish();
    if (problems.size() != before) return std::nullopt;
    // SisFall is on the waist alone, HIFD, WEDA-FALL and FallAllD on the wrist alone: a combination without trials
    // is a mistake.
    const auto has = [&](ImuDataset d) {
        return std::find(spec.datasets.begin(), spec.datasets.end(), d) != spec.datasets.end();
    };
    const auto at = [&](ImuPlacement p) {
        return std::find(spec.placements.begin(), spec.placements.end(), p) != spec.placements.end();
    };
    const bool wrist_only = has(ImuDataset::kHifd) || has(ImuDataset::kWedaFall) || has(ImuDataset::kFallAllD);
    const bool any = (has(ImuDataset::kSisFall) && at(ImuPlacement::kWaist)) || has(ImuDataset::kUmaFall) ||
                     (wrist_only && at(ImuPlacement::kWrist));
    if (!any) {
        problems.push_back(
            {"imu.placements", "no trials: SisFall is worn on the waist, HIFD, WEDA-FALL and FallAllD on the wrist"});
        return std::nullopt;
    }
    return spec;
}

// Events that end after the run: one problem each.
void CheckEventsFit(const Scenario& s, std::vector<FieldError>& problems) {
    for (size_t gi = 0; gi < s.groups.size(); ++gi) {
        for (size_t ei = 0; ei < s.groups[gi].events.size(); ++ei) {
            const EventSpec& e = s.groups[gi].events[ei];
            const Milliseconds latest_end = e.at.Resolve(s.duration) + e.jitter.Resolve(s.duration) +
                                            (e.type == EventType::kSensorSpike ? s.interval : e.duration);
            if (latest_end > s.duration) {
                problems.push_back({"groups[" + std::to_string(gi) + "].events[" + std::to_string(ei) + "].at",
                                    "the event may end at " + FormatSimDuration(latest_end) +
                                        " (at + jitter + duration), after the run's duration (" +
                                        FormatSimDuration(s.duration) + ")"});
            }
        }
    }
}

}  // namespace

std::string_view EventTypeName(EventType type) { return kEventNames[static_cast<size_t>(type)]; }

std::string_view ImuKindName(ImuKind kind) { return kind == ImuKind::kFall ? "fall" : "adl"; }

std::string_view ImuDatasetName(ImuDataset dataset) {
    switch (dataset) {
        case ImuDataset::kSisFall:
            return "sisfall";
        case ImuDataset::kUmaFall:
            return "umafall";
        case ImuDataset::kHifd:
            return "hifd";
        case ImuDataset::kWedaFall:
            return "wedafall";
        case ImuDataset::kFallAllD:
            return "fallalld";
    }
    return "?";
}

std::optional<ImuDataset> ImuDatasetFromName(std::string_view name) {
    for (ImuDataset d : kAllImuDatasets) {
        if (ImuDatasetName(d) == name) return d;
    }
    return std::nullopt;
}

imu::DatasetId ToImuDatasetId(ImuDataset dataset) {
    switch (dataset) {
        case ImuDataset::kSisFall:
            return imu::DatasetId::kSisFall;
        case ImuDataset::kUmaFall:
            return imu::DatasetId::kUmaFall;
        case ImuDataset::kHifd:
            return imu::DatasetId::kHifd;
        case ImuDataset::kWedaFall:
            return imu::DatasetId::kWedaFall;
        case ImuDataset::kFallAllD:
            return imu::DatasetId::kFallAllD;
    }
    return imu::DatasetId::kSisFall;
}

std::string_view ImuPlacementName(ImuPlacement placement) {
    return placement == ImuPlacement::kWrist ? "wrist" : "waist";
}

std::string_view ImuSplitName(ImuSplit split) {
    switch (split) {
        case ImuSplit::kTrain:
            return "train";
        case ImuSplit::kValidation:
            return "validation";
        case ImuSplit::kTest:
            return "test";
        case ImuSplit::kAny:
            return "any";
    }
    return "?";
}

std::optional<EventType> EventTypeFromName(std::string_view name) {
    for (size_t i = 0; i < kEventNames.size(); ++i) {
        if (kEventNames[i] == name) return static_cast<EventType>(i);
    }
    return std::nullopt;
}

bool IsEmergency(EventType type) { return type != EventType::kExercise && type != EventType::kSensorSpike; }

bool NeedsGlucose(EventType type) {
    return type == EventType::kGlucoseLow || type == EventType::kGlucoseHigh || type == EventType::kGlucoseFastDrop;
}

std::string FormatSimDuration(Milliseconds d) {
    int64_t ms = d.count();
    if (ms == 0) return "0s";
    std::string out;
    if (ms < 0) {
        out = "-";
        ms = -ms;
    }
    const int64_t days = ms / 86'400'000, hours = ms / 3'600'000 % 24, minutes = ms / 60'000 % 60,
                  seconds = ms / 1000 % 60, millis = ms % 1000;
    if (days) out += std::to_string(days) + "d";
    if (hours) out += std::to_string(hours) + "h";
    if (minutes) out += std::to_string(minutes) + "m";
    if (seconds) out += std::to_string(seconds) + "s";
    if (millis) out += std::to_string(millis) + "ms";
    return out;
}

Milliseconds TimeSpec::Resolve(Milliseconds run_duration) const {
    if (fraction)
        return Milliseconds(static_cast<int64_t>(std::llround(*fraction * static_cast<double>(run_duration.count()))));
    return absolute;
}

EventSpec DefaultEventSpec(EventType type) {
    using K = KnowableCriterion::Kind;
    EventSpec e;
    e.type = type;
    auto set = [&](Metric m, double target, Milliseconds ramp, Milliseconds duration, Milliseconds recovery,
                   std::vector<KnowableCriterion> knowable) {
        e.metric = m;
        e.target = target;
        e.ramp = ramp;
        e.duration = duration;
        e.recovery = recovery;
        e.knowable = std::move(knowable);
    };
    const Milliseconds m = kMinute;
    switch (type) {
        // Knowable thresholds are the edges of the NEWS2 bands that score 2 or more.
        case EventType::kTachycardia:
            set(Metric::kHeartRate, 145, 5 * m, 40 * m, 5 * m, {{K::kAbove, 111}});
            break;
        case EventType::kBradycardia:
            set(Metric::kHeartRate, 36, 5 * m, 40 * m, 5 * m, {{K::kBelow, 40}});
            break;
        case EventType::kHypoxaemia:
            set(Metric::kSpo2, 86, 10 * m, 40 * m, 10 * m, {{K::kBelow, 93}});
            break;
        case EventType::kTachypnoea:
            set(Metric::kRespirationRate, 28, 5 * m, 40 * m, 5 * m, {{K::kAbove, 21}});
            break;
        case EventType::kBradypnoea:
            set(Metric::kRespirationRate, 7, 5 * m, 40 * m, 5 * m, {{K::kBelow, 8}});
            break;
        // Wrist skin temperature is not core temperature: knowable by deviation from the wearer's own normal.
        case EventType::kFeverTrend:
            set(Metric::kSkinTemp, 2.5, 120 * m, 300 * m, 60 * m, {{K::kAboveNormal, 1.5}});
            break;
        case EventType::kHypothermiaTrend:
            set(Metric::kSkinTemp, -3.5, 120 * m, 300 * m, 60 * m, {{K::kBelowNormal, 2.0}});
            break;
        case EventType::kExercise:
            set(Metric::kHeartRate, 135, 3 * m, 30 * m, 5 * m, {});
            e.cadence = 130;
            break;
        case EventType::kSensorSpike:
            set(Metric::kHeartRate, DefaultSpikeValue(Metric::kHeartRate), {}, {}, {}, {});
            break;
        case EventType::kSignalLoss:
            // adult-default reports 15 min of silence.
            set(Metric::kHeartRate, 0, {}, 45 * m, {}, {{K::kAfter, 0, 15 * m}});
            break;
        // The seed's glucose rules: <= 50 at once or <= 60 for 30 min; >= 200 at once or >= 180 for 2 h;
        // a 30 % change within 30 min.
        case EventType::kGlucoseLow:
            set(Metric::kGlucose, 45, 75 * m, 150 * m, 20 * m, {{K::kBelow, 50}, {K::kBelow, 60, 30 * m}});
            break;
        case EventType::kGlucoseHigh:
            set(Metric::kGlucose, 260, 180 * m, 360 * m, 90 * m, {{K::kAbove, 200}, {K::kAbove, 180, 120 * m}});
            break;
        case EventType::kGlucoseFastDrop:
            set(Metric::kGlucose, 45, 20 * m, 90 * m, 30 * m, {{K::kDropPct, 30, {}, 30 * m}});
            break;
    }
    return e;
}

int Scenario::watches() const {
    int n = 0;
    for (const GroupSpec& g : groups) n += g.watches;
    return n;
}

Result<Scenario> ParseScenario(std::string_view json_text, std::string_view source_name) {
    json::stream_parser parser;
    boost::system::error_code ec;
    const size_t consumed = parser.write(json_text.data(), json_text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
        return Status::Error(ErrorCode::kInvalidJson,
                             "The scenario " + std::string(source_name) + " is not valid JSON.",
                             {{"", ec.message() + " at " + LineColumn(json_text, consumed)}});
    }
    const json::value root = parser.release();
    if (!root.is_object()) {
        return Status::Error(ErrorCode::kInvalidJson,
                             "The scenario " + std::string(source_name) + " is not valid JSON.",
                             {{"", "the top level must be an object"}});
    }
    std::vector<FieldError> problems;
    Scenario s;
    s.source = source_name;
    FieldReader r(root.as_object(), "", problems);
    if (auto n = r.String("name", true)) s.name = *n;
    if (auto d = r.String("description", false)) s.description = *d;
    if (auto seed = r.Integer("seed", false, 0, INT64_MAX)) s.seed = static_cast<uint64_t>(*seed);
    if (auto d = r.Duration("duration", true, kMinRunDuration, kMaxRunDuration)) s.duration = *d;
    if (auto d = r.Duration("interval", false, kMinInterval, kMaxInterval)) s.interval = *d;
    if (auto d = r.Duration("grace", false, Milliseconds(0), 24 * kHour)) s.grace = *d;
    if (auto off = r.String("utc_offset", false)) {
        // "+09:00", "-05:30", "Z"
        const std::string& t = *off;
        bool ok = false;
        if (t == "Z") {
            s.utc_offset_minutes = 0;
            ok = true;
        } else if (t.size() == 6 && (t[0] == '+' || t[0] == '-') && t[3] == ':' && std::isdigit(t[1]) &&
                   std::isdigit(t[2]) && std::isdigit(t[4]) && std::isdigit(t[5])) {
            const int h = (t[1] - '0') * 10 + (t[2] - '0'), mi = (t[4] - '0') * 10 + (t[5] - '0');
            if (h <= 14 && mi < 60) {
                s.utc_offset_minutes = (t[0] == '-' ? -1 : 1) * (h * 60 + mi);
                ok = true;
            }
        }
        if (!ok) r.Problem("utc_offset", "must be like \"+09:00\", \"-05:30\" or \"Z\"");
    }
    if (auto start = r.String("start_time", false)) {
        // "HH:MM", local time
        const std::string& t = *start;
        const bool shape = t.size() == 5 && t[2] == ':' && std::isdigit(t[0]) && std::isdigit(t[1]) &&
                           std::isdigit(t[3]) && std::isdigit(t[4]);
        const int h = shape ? (t[0] - '0') * 10 + (t[1] - '0') : 99, mi = shape ? (t[3] - '0') * 10 + (t[4] - '0') : 99;
        if (h > 23 || mi > 59) {
            r.Problem("start_time", "must be a local time of day like \"08:00\"");
        } else {
            s.start_time_of_day = Milliseconds((h * 60 + mi) * 60'000);
        }
    }
    if (const json::object* d = r.Object("dropouts", false)) {
        FieldReader dr(*d, "dropouts", problems);
        if (auto p = dr.Number("reading", false, 0, 0.5)) s.dropouts.reading = *p;
        if (auto p = dr.Number("metric", false, 0, 0.5)) s.dropouts.metric = *p;
        dr.Finish();
    }
    bool imu_given = false;
    if (const json::object* imu = r.Object("imu", false)) {
        imu_given = true;
        s.imu = ParseImuSection(*imu, problems);
    }
    if (const json::array* groups = r.Array("groups", true)) {
        if (groups->empty()) r.Problem("groups", "must have at least one group");
        for (size_t i = 0; i < groups->size(); ++i) {
            ParseGroup((*groups)[i], "groups[" + std::to_string(i) + "]", s.imu ? &*s.imu : nullptr, s.duration,
                       problems, s.groups);
        }
        if (!imu_given) {
            for (size_t i = 0; i < s.groups.size(); ++i) {
                if (!s.groups[i].imu_events.empty()) {
                    problems.push_back({"groups[" + std::to_string(i) + "].events",
                                        "fall and adl events need the scenario's imu section (where the data are)"});
                }
            }
        }
        std::set<std::string> names;
        for (size_t i = 0; i < s.groups.size(); ++i) {
            if (!s.groups[i].name.empty() && !names.insert(s.groups[i].name).second) {
                problems.push_back({"groups[" + std::to_string(i) + "].name", "is used by another group"});
            }
        }
    }
    r.Finish();
    if (problems.empty()) {
        if (s.watches() < 1) problems.push_back({"groups", "must have at least one watch in all"});
        if (s.interval * 2 > s.duration) problems.push_back({"interval", "must be at most half the duration"});
        CheckEventsFit(s, problems);
    }
    if (!problems.empty()) {
        return Status::Error(ErrorCode::kValidationFailed,
                             "The scenario " + std::string(source_name) + " needs to be corrected.",
                             std::move(problems));
    }
    return s;
}

Result<Scenario> LoadScenarioFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::Error(ErrorCode::kNotFound, "Cannot read the scenario file " + path + ".");
    std::ostringstream text;
    text << in.rdbuf();
    const size_t slash = path.find_last_of('/');
    auto scenario = ParseScenario(text.str(), slash == std::string::npos ? path : path.substr(slash + 1));
    if (scenario.ok() && scenario->imu && std::filesystem::path(scenario->imu->data_dir).is_relative()) {
        scenario->imu->data_dir =
            (std::filesystem::path(path).parent_path() / scenario->imu->data_dir).lexically_normal().string();
    }
    return scenario;
}

Result<Scenario> ApplyOverrides(Scenario s, const ScenarioOverrides& o) {
    std::vector<FieldError> problems;
    if (o.duration) {
        if (*o.duration < kMinRunDuration || *o.duration > kMaxRunDuration) {
            problems.push_back({"duration", "must be between " + FormatSimDuration(kMinRunDuration) + " and " +
                                                FormatSimDuration(kMaxRunDuration)});
        } else {
            s.duration = *o.duration;
        }
    }
    if (o.interval) {
        if (*o.interval < kMinInterval || *o.interval > kMaxInterval) {
            problems.push_back({"interval", "must be between " + FormatSimDuration(kMinInterval) + " and " +
                                                FormatSimDuration(kMaxInterval)});
        } else {
            s.interval = *o.interval;
        }
    }
    if (s.interval * 2 > s.duration) problems.push_back({"interval", "must be at most half the duration"});
    if (o.seed) s.seed = *o.seed;
    if (o.watches) {
        if (*o.watches < 1 || *o.watches > kMaxWatches) {
            problems.push_back({"watches", "must be between 1 and " + std::to_string(kMaxWatches)});
        } else {
            // Largest remainder: each group gets floor(share), the leftovers go to the largest fractions.
            const int total = s.watches();
            std::vector<std::pair<double, size_t>> remainders;
            int assigned = 0;
            std::vector<int> counts(s.groups.size());
            for (size_t i = 0; i < s.groups.size(); ++i) {
                const double share = static_cast<double>(s.groups[i].watches) * *o.watches / total;
                counts[i] = static_cast<int>(share);
                assigned += counts[i];
                remainders.push_back({share - counts[i], i});
            }
            std::stable_sort(remainders.begin(), remainders.end(),
                             [](const auto& a, const auto& b) { return a.first > b.first; });
            for (size_t k = 0; assigned < *o.watches; ++k, ++assigned)
                ++counts[remainders[k % remainders.size()].second];
            for (size_t i = 0; i < s.groups.size(); ++i) {
                GroupSpec& g = s.groups[i];
                auto scale = [&](int& wearers) {
                    if (wearers < 0 || g.watches == 0) return;
                    const double scaled = static_cast<double>(wearers) * counts[i] / g.watches;
                    wearers = std::clamp(static_cast<int>(std::lround(scaled)), counts[i] > 0 ? 1 : 0, counts[i]);
                };
                for (EventSpec& e : g.events) scale(e.wearers);
                for (ImuEventSpec& e : g.imu_events) scale(e.wearers);
                g.watches = counts[i];
            }
        }
    }
    if (!problems.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "Some options need to be corrected.", std::move(problems));
    }
    return s;
}

}  // namespace vg::sim
