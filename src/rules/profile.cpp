// ParseProfile: strict JSON -> ProfileData, every problem reported with its JSON path.

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <set>

#include "profile_data.hpp"
#include "vg/rules/rules.hpp"

namespace vg::rules {
namespace json = boost::json;
using domain::Level;
using domain::Metric;
using internal::BaselineConfig;
using internal::BaselineRule;
using internal::Bound;
using internal::Compare;
using internal::ExerciseConfig;
using internal::MetricRules;
using internal::ProfileData;
using internal::RuleInfo;
using internal::RuleKind;
using internal::SilenceConfig;
using internal::SustainedRule;
using internal::ThresholdRule;
using internal::TrendRule;

namespace {

constexpr int64_t kDaySeconds = 86'400;

std::string Join(std::string_view path, std::string_view key) {
    std::string out(path);
    if (!out.empty()) out += '.';
    out += key;
    return out;
}

std::string Index(std::string_view path, size_t i) { return std::string(path) + "[" + std::to_string(i) + "]"; }

std::string Num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", v);
    return buf;
}

std::string AllMetricNames() {
    std::string out;
    for (int i = 0; i < domain::kMetricCount; ++i) {
        if (i) out += ", ";
        out += domain::MetricName(static_cast<Metric>(i));
    }
    return out;
}

class Problems {
  public:
    void Add(std::string field, std::string problem) { list_.push_back({std::move(field), std::move(problem)}); }
    bool empty() const { return list_.empty(); }
    size_t size() const { return list_.size(); }
    std::vector<FieldError> Take() { return std::move(list_); }

  private:
    std::vector<FieldError> list_;
};

// Reads one JSON object strictly: typed getters mark keys as known; Finish() reports the rest.
class ObjectReader {
  public:
    ObjectReader(const json::value& v, std::string path, Problems& problems)
        : object_(v.if_object()), path_(std::move(path)), problems_(problems) {
        if (!object_) problems_.Add(path_, "must be an object");
    }
    ObjectReader(const ObjectReader&) = delete;
    ObjectReader& operator=(const ObjectReader&) = delete;

    bool valid() const { return object_ != nullptr; }
    const std::string& path() const { return path_; }
    std::string PathOf(std::string_view key) const { return Join(path_, key); }
    const json::object* object() const { return object_; }

    // The value of `key`, marking it known; nullptr when absent (a problem when required).
    const json::value* Take(std::string_view key, bool required) {
        known_.emplace_back(key);
        if (!object_) return nullptr;
        const json::value* v = object_->if_contains(key);
        if (!v && required) problems_.Add(PathOf(key), "is required");
        return v;
    }

    std::optional<std::string> String(std::string_view key, bool required) {
        const json::value* v = Take(key, required);
        if (!v) return std::nullopt;
        if (!v->is_string()) {
            problems_.Add(PathOf(key), "must be a string");
            return std::nullopt;
        }
        return std::string(v->get_string());
    }

    std::optional<bool> Bool(std::string_view key, bool required) {
        const json::value* v = Take(key, required);
        if (!v) return std::nullopt;
        if (!v->is_bool()) {
            problems_.Add(PathOf(key), "must be true or false");
            return std::nullopt;
        }
        return v->get_bool();
    }

    std::optional<double> Number(std::string_view key, bool required, double min, double max) {
        const json::value* v = Take(key, required);
        if (!v) return std::nullopt;
        return CheckNumber(*v, PathOf(key), min, max);
    }

    std::optional<int64_t> Integer(std::string_view key, bool required, int64_t min, int64_t max) {
        const json::value* v = Take(key, required);
        if (!v) return std::nullopt;
        std::optional<double> d = AsNumber(*v);
        if (!d || std::floor(*d) != *d) {
            problems_.Add(PathOf(key), "must be a whole number");
            return std::nullopt;
        }
        if (*d < static_cast<double>(min) || *d > static_cast<double>(max)) {
            problems_.Add(PathOf(key), "must be between " + std::to_string(min) + " and " + std::to_string(max));
            return std::nullopt;
        }
        return static_cast<int64_t>(*d);
    }

    // "caution" or "danger" (a rule that fires at "normal" would say nothing).
    std::optional<Level> AlertLevel(std::string_view key, bool required) {
        std::optional<std::string> s = String(key, required);
        if (!s) return std::nullopt;
        if (*s == "caution") return Level::kCaution;
        if (*s == "danger") return Level::kDanger;
        problems_.Add(PathOf(key), "must be \"caution\" or \"danger\"");
        return std::nullopt;
    }

    std::optional<Metric> MetricOf(std::string_view key, bool required) {
        std::optional<std::string> s = String(key, required);
        if (!s) return std::nullopt;
        std::optional<Metric> m = domain::MetricFromName(*s);
        if (!m) problems_.Add(PathOf(key), "must be one of " + AllMetricNames());
        return m;
    }

    // Exactly one of the four comparison keys (prefix "" or "z_"): above, at_least, below, at_most.
    std::optional<Bound> OneBound(std::string_view prefix, double min, double max) {
        static constexpr std::array<std::pair<std::string_view, Compare>, 4> kKeys = {{
            {"above", Compare::kAbove},
            {"at_least", Compare::kAtLeast},
            {"below", Compare::kBelow},
            {"at_most", Compare::kAtMost},
        }};
        std::optional<Bound> bound;
        std::vector<std::string> present;
        bool bad = false;
        for (const auto& [name, cmp] : kKeys) {
            const std::string key = std::string(prefix) + std::string(name);
            const json::value* v = Take(key, false);
            if (!v) continue;
            present.push_back(key);
            std::optional<double> d = CheckNumber(*v, PathOf(key), min, max);
            if (!d) {
                bad = true;
                continue;
            }
            bound = Bound{cmp, *d};
        }
        if (present.size() > 1) {
            std::string keys;
            for (const auto& k : present) keys += (keys.empty() ? "" : ", ") + k;
            problems_.Add(path_, "must have only one of " + keys);
            return std::nullopt;
        }
        if (present.empty() && valid()) {
            const std::string p(prefix);
            problems_.Add(path_, "needs one of " + p + "above, " + p + "at_least, " + p + "below, " + p + "at_most");
        }
        if (bad) return std::nullopt;
        return bound;
    }

    // An array; reports a wrong type. Absent -> empty.
    const json::array* Array(std::string_view key, bool required) {
        const json::value* v = Take(key, required);
        if (!v) return nullptr;
        if (!v->is_array()) {
            problems_.Add(PathOf(key), "must be an array");
            return nullptr;
        }
        return &v->get_array();
    }

    void Finish() {
        if (!object_) return;
        for (const auto& [key, value] : *object_) {
            if (std::find(known_.begin(), known_.end(), std::string_view(key)) != known_.end()) continue;
            std::string known;
            for (const auto& k : known_) {
                if (!known.empty()) known += ", ";
                known += k;
            }
            problems_.Add(PathOf(key), "is not a known key (known here: " + known + ")");
        }
    }

  private:
    static std::optional<double> AsNumber(const json::value& v) {
        if (v.is_int64()) return static_cast<double>(v.get_int64());
        if (v.is_uint64()) return static_cast<double>(v.get_uint64());
        if (v.is_double()) return v.get_double();
        return std::nullopt;
    }
    std::optional<double> CheckNumber(const json::value& v, const std::string& path, double min, double max) {
        std::optional<double> d = AsNumber(v);
        if (!d) {
            problems_.Add(path, "must be a number");
            return std::nullopt;
        }
        if (!std::isfinite(*d) || *d < min || *d > max) {
            problems_.Add(path, "must be between " + Num(min) + " and " + Num(max));
            return std::nullopt;
        }
        return d;
    }

    const json::object* object_;
    std::string path_;
    Problems& problems_;
    std::vector<std::string> known_;
};

struct Defaults {
    int64_t confirm = 2;
    int64_t max_gap_s = 300;
    int64_t hold_s = 300;
    int64_t hold_readings = 3;
};

class Parser {
  public:
    Parser(ProfileData& data, Problems& problems) : data_(data), problems_(problems) {}

    void Top(const json::value& root) {
        ObjectReader top(root, "", problems_);
        top.Integer("format_version", false, 1, 1);
        if (auto name = top.String("name", true)) {
            if (!ValidName(*name)) {
                problems_.Add("name", "must be 1 to 64 characters of a-z, 0-9, '-' and '_', starting with a letter");
            }
            data_.name = *name;
        }
        if (auto d = top.String("description", true)) data_.description = *d;
        top.String("note", false);
        if (const json::value* v = top.Take("defaults", false)) ReadDefaults(*v);
        if (const json::value* v = top.Take("metrics", true)) ReadMetrics(*v);
        const json::value* exercise = top.Take("exercise", false);
        if (exercise) ReadExercise(*exercise);
        ReadSilence(top.Take("signal_loss", false));
        top.Finish();
    }

    void CheckIds() {
        std::map<std::string, std::string, std::less<>> seen;  // id -> path
        for (size_t i = 0; i < data_.rules.size(); ++i) {
            const std::string& id = data_.rules[i].id;
            const std::string& path = id_paths_[i];
            auto [it, inserted] = seen.emplace(id, path);
            if (!inserted) problems_.Add(path, "duplicates the id \"" + id + "\" of " + it->second);
        }
        if (data_.rules.size() > kMaxRulesPerProfile) {
            problems_.Add("metrics", "has " + std::to_string(data_.rules.size()) + " rules; at most " +
                                         std::to_string(kMaxRulesPerProfile) + " are allowed in one profile");
        }
    }

  private:
    static bool ValidName(std::string_view s) {
        if (s.empty() || s.size() > 64 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
        return std::all_of(s.begin(), s.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        });
    }
    static bool ValidId(std::string_view s) {
        if (s.empty() || s.size() > 64) return false;
        return std::all_of(s.begin(), s.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                   c == '.';
        });
    }

    // Reads "id" and registers the rule; kNoRule when the id is missing or malformed.
    uint16_t Rule(ObjectReader& r, std::optional<std::string> id, RuleKind kind, Metric metric, Level level,
                  bool high) {
        if (!id) return internal::kNoRule;
        if (!ValidId(*id)) {
            problems_.Add(r.PathOf("id"), "must be 1 to 64 characters of letters, digits, '.', '-' and '_'");
            return internal::kNoRule;
        }
        data_.rules.push_back(RuleInfo{*id, kind, metric, level, high});
        id_paths_.push_back(r.PathOf("id"));
        return static_cast<uint16_t>(data_.rules.size() - 1);
    }

    void ReadDefaults(const json::value& v) {
        ObjectReader r(v, "defaults", problems_);
        defaults_.confirm = r.Integer("confirm_readings", false, 1, 50).value_or(defaults_.confirm);
        defaults_.max_gap_s = r.Integer("max_gap_s", false, 1, kDaySeconds).value_or(defaults_.max_gap_s);
        defaults_.hold_s = r.Integer("hold_s", false, 0, kDaySeconds).value_or(defaults_.hold_s);
        defaults_.hold_readings = r.Integer("hold_readings", false, 1, 200).value_or(defaults_.hold_readings);
        r.Finish();
    }

    void ReadMetrics(const json::value& v) {
        ObjectReader r(v, "metrics", problems_);
        // Metric order, not file order, so that detections list rules in the same order for every profile.
        for (int i = 0; i < domain::kMetricCount; ++i) {
            const Metric m = static_cast<Metric>(i);
            if (const json::value* mv = r.Take(domain::MetricName(m), false))
                ReadMetric(m, *mv, r.PathOf(domain::MetricName(m)));
        }
        if (r.object()) {
            for (const auto& [key, value] : *r.object()) {
                if (!domain::MetricFromName(key)) {
                    problems_.Add(r.PathOf(key), "is not a known metric (known: " + AllMetricNames() + ")");
                }
            }
        }
        if (r.object() && r.object()->empty()) problems_.Add("metrics", "must configure at least one metric");
    }

    void ReadMetric(Metric m, const json::value& v, const std::string& path) {
        MetricRules& mr = data_.metrics[static_cast<size_t>(m)];
        mr.metric = m;
        ObjectReader r(v, path, problems_);
        r.String("note", false);
        const domain::PlausibleRange plausible = domain::PlausibleRangeOf(m);
        if (const json::value* valid = r.Take("valid", false)) {
            ObjectReader vr(*valid, r.PathOf("valid"), problems_);
            auto lo = vr.Number("min", true, plausible.min, plausible.max);
            auto hi = vr.Number("max", true, plausible.min, plausible.max);
            if (lo && hi) {
                if (*lo >= *hi) problems_.Add(vr.PathOf("max"), "must be greater than min");
                mr.valid = std::array<double, 2>{*lo, *hi};
            }
            vr.Finish();
        }
        mr.max_gap_s =
            static_cast<int32_t>(r.Integer("max_gap_s", false, 1, kDaySeconds).value_or(defaults_.max_gap_s));
        mr.hold_s = static_cast<int32_t>(r.Integer("hold_s", false, 0, kDaySeconds).value_or(defaults_.hold_s));
        mr.hold_readings =
            static_cast<int32_t>(r.Integer("hold_readings", false, 1, 200).value_or(defaults_.hold_readings));
        mr.bucket_s = static_cast<int32_t>(r.Integer("trend_bucket_s", false, 10, 3600).value_or(60));

        if (const json::array* a = r.Array("thresholds", false)) {
            for (size_t i = 0; i < a->size(); ++i) ReadThreshold(m, mr, (*a)[i], Index(r.PathOf("thresholds"), i));
        }
        if (const json::array* a = r.Array("trends", false)) {
            for (size_t i = 0; i < a->size(); ++i) ReadTrend(m, mr, (*a)[i], Index(r.PathOf("trends"), i));
        }
        if (const json::array* a = r.Array("sustained", false)) {
            for (size_t i = 0; i < a->size(); ++i) ReadSustained(m, mr, (*a)[i], Index(r.PathOf("sustained"), i));
        }
        if (const json::value* b = r.Take("baseline", false)) ReadBaseline(m, mr, *b, r.PathOf("baseline"));
        r.Finish();
        mr.active = !mr.thresholds.empty() || !mr.trends.empty() || !mr.sustained.empty() || mr.baseline.has_value();
        const bool has_rule_keys = r.valid() && (r.object()->contains("thresholds") || r.object()->contains("trends") ||
                                                 r.object()->contains("sustained") || r.object()->contains("baseline"));
        if (r.valid() && !mr.active && !has_rule_keys) {
            problems_.Add(path, "must have at least one of thresholds, trends, sustained, baseline");
        }
    }

    uint8_t Confirm(ObjectReader& r) {
        return static_cast<uint8_t>(r.Integer("confirm_readings", false, 1, 50).value_or(defaults_.confirm));
    }

    void ReadThreshold(Metric m, MetricRules& mr, const json::value& v, const std::string& path) {
        ObjectReader r(v, path, problems_);
        auto id = r.String("id", true);
        auto level = r.AlertLevel("level", true);
        const domain::PlausibleRange pr = domain::PlausibleRangeOf(m);
        auto bound = r.OneBound("", pr.min, pr.max);
        const uint8_t confirm = Confirm(r);
        r.String("note", false);
        r.Finish();
        if (!r.valid() || !level || !bound) return;
        ThresholdRule t;
        t.rule = Rule(r, id, RuleKind::kThreshold, m, *level, bound->high());
        t.bound = *bound;
        t.confirm = confirm;
        if (t.rule != internal::kNoRule) mr.thresholds.push_back(t);
    }

    void ReadTrend(Metric m, MetricRules& mr, const json::value& v, const std::string& path) {
        ObjectReader r(v, path, problems_);
        auto id = r.String("id", true);
        auto level = r.AlertLevel("level", true);
        auto window = r.Integer("window_s", true, 60, kDaySeconds);
        auto rise = r.Number("rise_pct", false, 0.1, 1000);
        auto fall = r.Number("fall_pct", false, 0.1, 99.9);
        auto tolerance = r.Integer("tolerance_s", false, 0, kDaySeconds / 2);
        const uint8_t confirm = Confirm(r);
        r.String("note", false);
        r.Finish();
        if (r.valid() && r.object()->contains("rise_pct") == r.object()->contains("fall_pct")) {
            problems_.Add(path, "needs exactly one of rise_pct, fall_pct");
            return;
        }
        if (!r.valid() || !level || !window || (!rise && !fall)) return;
        TrendRule t;
        t.rise = rise.has_value();
        t.pct = rise ? *rise : *fall;
        t.window_s = static_cast<int32_t>(*window);
        t.tolerance_s = static_cast<int32_t>(tolerance.value_or(*window / 6));
        t.confirm = confirm;
        if (t.tolerance_s * 2 > t.window_s) {
            problems_.Add(r.PathOf("tolerance_s"), "must be at most half of window_s");
            return;
        }
        if (t.window_s < 2 * mr.bucket_s) {
            problems_.Add(r.PathOf("window_s"),
                          "must be at least twice the metric's trend_bucket_s (" + std::to_string(mr.bucket_s) + " s)");
            return;
        }
        t.rule = Rule(r, id, RuleKind::kTrend, m, *level, t.rise);
        if (t.rule != internal::kNoRule) mr.trends.push_back(t);
    }

    void ReadSustained(Metric m, MetricRules& mr, const json::value& v, const std::string& path) {
        ObjectReader r(v, path, problems_);
        auto id = r.String("id", true);
        auto level = r.AlertLevel("level", true);
        const domain::PlausibleRange pr = domain::PlausibleRangeOf(m);
        auto bound = r.OneBound("", pr.min, pr.max);
        auto for_s = r.Integer("for_s", true, 1, 7 * kDaySeconds);
        r.String("note", false);
        r.Finish();
        if (!r.valid() || !level || !bound || !for_s) return;
        SustainedRule s;
        s.bound = *bound;
        s.for_s = static_cast<int32_t>(*for_s);
        s.rule = Rule(r, id, RuleKind::kSustained, m, *level, bound->high());
        if (s.rule != internal::kNoRule) mr.sustained.push_back(s);
    }

    void ReadBaseline(Metric m, MetricRules& mr, const json::value& v, const std::string& path) {
        ObjectReader r(v, path, problems_);
        BaselineConfig b;
        b.warmup_readings = static_cast<int32_t>(r.Integer("warmup_readings", false, 2, 10'000).value_or(30));
        b.half_life_readings = r.Number("half_life_readings", false, 1, 1e6).value_or(1440);
        b.alpha = 1.0 - std::pow(0.5, 1.0 / b.half_life_readings);
        const domain::PlausibleRange pr = domain::PlausibleRangeOf(m);
        b.min_scale = r.Number("min_scale", true, 1e-3, pr.max - pr.min).value_or(1);
        b.clip_z = r.Number("clip_z", false, 1, 10).value_or(3);
        r.String("note", false);
        const json::array* rules = r.Array("rules", true);
        if (rules && rules->empty()) problems_.Add(r.PathOf("rules"), "must have at least one rule");
        if (rules) {
            for (size_t i = 0; i < rules->size(); ++i) {
                const std::string rp = Index(r.PathOf("rules"), i);
                ObjectReader rr((*rules)[i], rp, problems_);
                auto id = rr.String("id", true);
                auto level = rr.AlertLevel("level", true);
                auto bound = rr.OneBound("z_", -50, 50);
                const uint8_t confirm = Confirm(rr);
                rr.String("note", false);
                rr.Finish();
                if (!rr.valid() || !level || !bound) continue;
                BaselineRule br;
                br.bound = *bound;
                br.confirm = confirm;
                br.rule = Rule(rr, id, RuleKind::kBaseline, m, *level, bound->high());
                if (br.rule != internal::kNoRule) b.rules.push_back(br);
            }
        }
        r.Finish();
        if (r.valid()) mr.baseline = std::move(b);
    }

    void ReadExercise(const json::value& v) {
        ObjectReader r(v, "exercise", problems_);
        ExerciseConfig e;
        auto id = r.String("id", true);
        auto cadence = r.Number("cadence_at_least", true, 1, 400);
        auto hr = r.Number("heart_rate_above", true, 40, 250);
        auto walking = r.Number("walking_cadence_at_least", false, 1, 400);
        e.recovery_s = static_cast<int32_t>(r.Integer("recovery_s", false, 0, 4 * 3600).value_or(600));
        e.confirm = Confirm(r);
        const Level level = r.AlertLevel("level", false).value_or(Level::kCaution);
        r.String("note", false);
        e.applies_to[static_cast<size_t>(Metric::kHeartRate)] = true;
        if (const json::array* a = r.Array("applies_to", false)) {
            e.applies_to = {};
            for (size_t i = 0; i < a->size(); ++i) {
                const std::string p = Index(r.PathOf("applies_to"), i);
                const json::value& item = (*a)[i];
                std::optional<Metric> m = item.is_string() ? domain::MetricFromName(item.get_string()) : std::nullopt;
                if (!m || *m == Metric::kSteps) {
                    problems_.Add(p, "must be a metric name other than steps (" + AllMetricNames() + ")");
                    continue;
                }
                e.applies_to[static_cast<size_t>(*m)] = true;
            }
        }
        r.Finish();
        if (walking && cadence && *walking >= *cadence) {
            problems_.Add(r.PathOf("walking_cadence_at_least"), "must be below cadence_at_least");
            return;
        }
        if (!r.valid() || !cadence || !hr) return;
        e.cadence_at_least = *cadence;
        e.walking_cadence_at_least = walking.value_or(0);
        e.heart_rate_above = *hr;
        e.rule = Rule(r, id, RuleKind::kExercise, Metric::kHeartRate, level, true);
        if (e.rule != internal::kNoRule) data_.exercise = e;
    }

    // Absent: the default signal-loss rule (id "signal_loss", 900 s, caution, heart_rate).
    void ReadSilence(const json::value* v) {
        const json::value empty = json::object();
        ObjectReader r(v ? *v : empty, "signal_loss", problems_);
        std::string id = r.String("id", false).value_or("signal_loss");
        const bool enabled = r.Bool("enabled", false).value_or(true);
        auto after = r.Integer("after_s", false, 60, 7 * kDaySeconds);
        const Level level = r.AlertLevel("level", false).value_or(Level::kCaution);
        const Metric metric = r.MetricOf("metric", false).value_or(Metric::kHeartRate);
        r.String("note", false);
        r.Finish();
        if (!r.valid() || !enabled) return;
        SilenceConfig s;
        s.after_ms = after.value_or(900) * 1000;
        s.rule = Rule(r, id, RuleKind::kSignalLoss, metric, level, false);
        if (s.rule != internal::kNoRule) data_.silence = s;
    }

    ProfileData& data_;
    Problems& problems_;
    Defaults defaults_;
    std::vector<std::string> id_paths_;  // parallel to data_.rules
};

uint32_t AlignUp(uint32_t n, uint32_t a) { return (n + a - 1) / a * a; }

// Assigns counters, run slots and byte offsets; returns the heap block's size.
uint32_t Layout(ProfileData& p) {
    uint32_t offset = 0;
    uint16_t counters = 0;
    uint16_t runs = 0;
    for (MetricRules& mr : p.metrics) {
        if (!mr.active) continue;
        mr.state_offset = offset;
        offset += sizeof(internal::MetricState);
        mr.first_counter = counters;
        for (auto& t : mr.thresholds) t.counter = counters++;
        for (auto& t : mr.trends) t.counter = counters++;
        if (mr.baseline) {
            for (auto& b : mr.baseline->rules) b.counter = counters++;
        }
        mr.end_counter = counters;
        mr.first_run = runs;
        for (auto& s : mr.sustained) s.run = runs++;
        mr.end_run = runs;
    }
    p.runs_offset = offset;
    offset += sizeof(uint32_t) * runs;
    for (MetricRules& mr : p.metrics) {
        if (!mr.active || mr.trends.empty()) continue;
        int32_t span = 0;
        for (const auto& t : mr.trends) span = std::max(span, t.window_s + t.tolerance_s);
        // Buckets from bucket(t - span) to bucket(t), both ends included.
        const int64_t len = (span + mr.bucket_s - 1) / mr.bucket_s + 2;
        mr.ring_len = static_cast<uint16_t>(std::min<int64_t>(len, 60'000));
        mr.ring_offset = offset;
        offset = AlignUp(offset + sizeof(internal::RingHeader) + sizeof(int16_t) * mr.ring_len, 4);
    }
    p.counters_offset = offset;
    offset += counters;
    return AlignUp(offset, 8);
}

std::atomic<uint64_t> g_next_profile_id{1};

}  // namespace

RuleProfile::RuleProfile(std::unique_ptr<const internal::ProfileData> data) : data_(std::move(data)) {}
RuleProfile::~RuleProfile() = default;
const std::string& RuleProfile::name() const { return data_->name; }
const std::string& RuleProfile::description() const { return data_->description; }
const std::string& RuleProfile::source() const { return data_->source; }

std::optional<Milliseconds> RuleProfile::silence_after() const {
    if (!data_->silence) return std::nullopt;
    return Milliseconds(data_->silence->after_ms);
}

std::vector<std::string> RuleProfile::RuleIds() const {
    std::vector<std::string> ids;
    ids.reserve(data_->rules.size());
    for (const auto& r : data_->rules) ids.push_back(r.id);
    return ids;
}

std::vector<ValueBand> ValueBands(const RuleProfile& profile, domain::Metric metric) {
    const internal::ProfileData& data = profile.data();
    const internal::MetricRules& rules = data.metrics[static_cast<size_t>(metric)];
    auto compare_name = [](internal::Compare c) -> std::string_view {
        switch (c) {
            case internal::Compare::kAbove:
                return "above";
            case internal::Compare::kAtLeast:
                return "at_least";
            case internal::Compare::kBelow:
                return "below";
            case internal::Compare::kAtMost:
                return "at_most";
        }
        return "above";
    };
    std::vector<ValueBand> bands;
    for (const auto& t : rules.thresholds) {
        const internal::RuleInfo& info = data.rules[t.rule];
        bands.push_back({info.id, info.level, compare_name(t.bound.cmp), t.bound.value, 0});
    }
    for (const auto& r : rules.sustained) {
        const internal::RuleInfo& info = data.rules[r.rule];
        bands.push_back({info.id, info.level, compare_name(r.bound.cmp), r.bound.value, r.for_s});
    }
    return bands;
}

size_t RuleProfile::wearer_state_bytes() const { return sizeof(WearerState) + data_->data_bytes; }

Result<std::shared_ptr<const RuleProfile>> ParseProfile(std::string_view json_text, std::string_view source_name) {
    const std::string source(source_name);
    json::stream_parser parser;
    json::error_code ec;
    const size_t consumed = parser.write(json_text.data(), json_text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
        const size_t at = std::min(consumed, json_text.size());
        int line = 1, column = 1;
        for (size_t i = 0; i < at; ++i) {
            if (json_text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        return Status::Error(
            ErrorCode::kInvalidJson, "Rule profile " + source + " is not valid JSON.",
            {{"", "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + ec.message()}});
    }
    const json::value root = parser.release();
    if (!root.is_object()) {
        return Status::Error(ErrorCode::kInvalidJson, "Rule profile " + source + " must be a JSON object.",
                             {{"", "must be a JSON object"}});
    }

    auto data = std::make_unique<ProfileData>();
    data->source = source;
    Problems problems;
    Parser p(*data, problems);
    p.Top(root);
    p.CheckIds();
    if (problems.empty()) {
        data->data_bytes = Layout(*data);
        const size_t bytes = sizeof(WearerState) + data->data_bytes;
        if (bytes > kMaxWearerStateBytes) {
            problems.Add("metrics", "needs " + std::to_string(bytes) + " bytes of state per wearer; at most " +
                                        std::to_string(kMaxWearerStateBytes) +
                                        " are allowed (use shorter trend windows, a larger trend_bucket_s, or "
                                        "fewer rules)");
        }
    }
    if (!problems.empty()) {
        const size_t n = problems.size();
        return Status::Error(
            ErrorCode::kValidationFailed,
            "Rule profile " + source + " has " + std::to_string(n) + (n == 1 ? " problem." : " problems."),
            problems.Take());
    }
    data->id = g_next_profile_id.fetch_add(1, std::memory_order_relaxed);
    return std::shared_ptr<const RuleProfile>(std::make_shared<RuleProfile>(std::move(data)));
}

}  // namespace vg::rules
