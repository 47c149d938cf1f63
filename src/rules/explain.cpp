#include "explain.hpp"

#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace vg::rules::internal {
namespace {

constexpr std::array<std::string_view, domain::kMetricCount> kLabels = {
    "Heart rate", "Respiration rate", "SpO2", "Skin temperature", "Glucose", "Step cadence", "Calories"};
constexpr std::array<std::string_view, domain::kMetricCount> kUnits = {"bpm",   "breaths/min", "%",       "°C",
                                                                       "mg/dL", "steps/min",   "kcal/min"};

std::string_view Label(Metric m) { return kLabels[static_cast<size_t>(m)]; }

// "142 bpm", "91%"
std::string WithUnit(double v, Metric m) {
    const std::string_view unit = kUnits[static_cast<size_t>(m)];
    return FormatNumber(v) + (unit == "%" ? "" : " ") + std::string(unit);
}

__attribute__((format(printf, 2, 3))) void Appendf(std::string& out, const char* fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    const int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    if (n > 0) out.append(buf, static_cast<size_t>(std::min<int>(n, static_cast<int>(sizeof(buf)) - 1)));
}

std::string_view Phrase(Compare c) {
    switch (c) {
        case Compare::kAbove:
            return "above";
        case Compare::kAtLeast:
            return "at or above";
        case Compare::kBelow:
            return "below";
        case Compare::kAtMost:
            return "at or below";
    }
    return "";
}

std::string_view Operator(Compare c) {
    switch (c) {
        case Compare::kAbove:
            return ">";
        case Compare::kAtLeast:
            return ">=";
        case Compare::kBelow:
            return "<";
        case Compare::kAtMost:
            return "<=";
    }
    return "";
}

std::string LevelWord(Level l) { return std::string(domain::LevelName(l)); }

const std::string& RuleId(const ProfileData& p, uint16_t rule) {
    static const std::string kNone = "(none)";
    return rule < p.rules.size() ? p.rules[rule].id : kNone;
}

}  // namespace

std::string_view HitKindName(HitKind k) {
    switch (k) {
        case HitKind::kThreshold:
            return "threshold";
        case HitKind::kTrend:
            return "trend";
        case HitKind::kSustained:
            return "sustained";
        case HitKind::kBaseline:
            return "baseline";
        case HitKind::kExercise:
            return "exercise";
        case HitKind::kSignalLoss:
            return "signal_loss";
        case HitKind::kHysteresis:
            return "hysteresis";
    }
    return "";
}

std::string FormatNumber(double v) {
    char buf[32];
    const double rounded = std::round(v * 10) / 10;
    if (std::fabs(rounded - std::round(rounded)) < 1e-9) {
        std::snprintf(buf, sizeof(buf), "%.0f", rounded);
    } else {
        std::snprintf(buf, sizeof(buf), "%.1f", rounded);
    }
    return buf;
}

std::string FormatDuration(int64_t s) {
    if (s < 0) s = 0;
    std::string out;
    if (s < 120 && s % 60 != 0) {
        Appendf(out, "%lld s", static_cast<long long>(s));
    } else if (s < 3600) {
        Appendf(out, "%lld min", static_cast<long long>(s / 60));
    } else if ((s / 60) % 60 == 0) {
        Appendf(out, "%lld h", static_cast<long long>(s / 3600));
    } else {
        Appendf(out, "%lld h %lld min", static_cast<long long>(s / 3600), static_cast<long long>((s / 60) % 60));
    }
    return out;
}

double FiredValue(const Hit& h) { return h.kind == HitKind::kTrend ? h.b : h.value; }

std::string Detail(const ProfileData& p, const Hit& h) {
    const std::string name(domain::MetricName(h.metric));
    const std::string v = WithUnit(h.value, h.metric);
    std::string out;
    switch (h.kind) {
        case HitKind::kThreshold: {
            const auto& t = *static_cast<const ThresholdRule*>(h.def);
            Appendf(out, "%s %s %s %s for %d consecutive readings (confirmation %d)", name.c_str(), v.c_str(),
                    std::string(Operator(t.bound.cmp)).c_str(), WithUnit(t.bound.value, h.metric).c_str(),
                    static_cast<int>(h.a), static_cast<int>(t.confirm));
            break;
        }
        case HitKind::kTrend: {
            const auto& t = *static_cast<const TrendRule*>(h.def);
            Appendf(out,
                    "%s %s vs %s about %s ago: %+.1f %% (limit: %s of %s %% within %s) for %d consecutive readings "
                    "(confirmation %d)",
                    name.c_str(), v.c_str(), WithUnit(h.a, h.metric).c_str(), FormatDuration(t.window_s).c_str(), h.b,
                    t.rise ? "rise" : "fall", FormatNumber(t.pct).c_str(), FormatDuration(t.window_s).c_str(),
                    static_cast<int>(h.c), static_cast<int>(t.confirm));
            break;
        }
        case HitKind::kSustained: {
            const auto& s = *static_cast<const SustainedRule*>(h.def);
            Appendf(out, "%s %s %s for %lld s (limit %d s); now %s", name.c_str(),
                    std::string(Operator(s.bound.cmp)).c_str(), WithUnit(s.bound.value, h.metric).c_str(),
                    static_cast<long long>(h.a), s.for_s, v.c_str());
            break;
        }
        case HitKind::kBaseline: {
            const auto& b = *static_cast<const BaselineRule*>(h.def);
            Appendf(out,
                    "%s %s vs baseline %s (robust sd %.2f): z = %.1f %s %s for %d consecutive readings "
                    "(confirmation %d)",
                    name.c_str(), v.c_str(), WithUnit(h.a, h.metric).c_str(), h.b, h.c,
                    std::string(Operator(b.bound.cmp)).c_str(), FormatNumber(b.bound.value).c_str(),
                    static_cast<int>(h.d), static_cast<int>(b.confirm));
            break;
        }
        case HitKind::kExercise: {
            const auto& e = *static_cast<const ExerciseConfig*>(h.def);
            if (std::isnan(h.a)) {
                Appendf(out, "heart_rate %s > %s, %s after cadence fell below %s steps/min (recovery %d s)", v.c_str(),
                        WithUnit(e.heart_rate_above, h.metric).c_str(),
                        FormatDuration(static_cast<int64_t>(h.b)).c_str(), FormatNumber(e.cadence_at_least).c_str(),
                        e.recovery_s);
            } else {
                Appendf(out, "heart_rate %s > %s with cadence %s steps/min >= %s steps/min", v.c_str(),
                        WithUnit(e.heart_rate_above, h.metric).c_str(), FormatNumber(h.a).c_str(),
                        FormatNumber(e.cadence_at_least).c_str());
            }
            if (h.stands_in_for != kNoRule) {
                Appendf(out, "; advice instead of %s (%s)", RuleId(p, h.stands_in_for).c_str(),
                        LevelWord(p.rules[h.stands_in_for].level).c_str());
            }
            break;
        }
        case HitKind::kSignalLoss: {
            const auto& s = *static_cast<const SilenceConfig*>(h.def);
            Appendf(out, "no reading for %lld s (limit %lld s)", static_cast<long long>(h.a),
                    static_cast<long long>(s.after_ms / 1000));
            break;
        }
        case HitKind::kHysteresis: {
            const auto& mr = *static_cast<const MetricRules*>(h.def);
            Appendf(out,
                    "%s %s%s held at %s (set by %s): below %s for %lld s and %d readings; release needs %d s and %d "
                    "readings",
                    name.c_str(), v.c_str(), h.c != 0 ? " (last reading)" : "", LevelWord(h.level).c_str(),
                    RuleId(p, h.rule).c_str(), LevelWord(h.level).c_str(), static_cast<long long>(h.a),
                    static_cast<int>(h.b), mr.hold_s, mr.hold_readings);
            break;
        }
    }
    return out;
}

std::string Sentence(const ProfileData& p, const Hit& h) {
    (void)p;
    const std::string label(Label(h.metric));
    const std::string v = WithUnit(h.value, h.metric);
    std::string out;
    switch (h.kind) {
        case HitKind::kThreshold: {
            const auto& t = *static_cast<const ThresholdRule*>(h.def);
            const std::string bound = WithUnit(t.bound.value, h.metric);
            const std::string phrase(Phrase(t.bound.cmp));
            if (h.a > 1) {
                Appendf(out, "%s %s has been %s %s for %d readings.", label.c_str(), v.c_str(), phrase.c_str(),
                        bound.c_str(), static_cast<int>(h.a));
            } else {
                Appendf(out, "%s %s is %s %s.", label.c_str(), v.c_str(), phrase.c_str(), bound.c_str());
            }
            break;
        }
        case HitKind::kTrend: {
            const auto& t = *static_cast<const TrendRule*>(h.def);
            Appendf(out, "%s %s %.0f%% in %s (from %s to %s).", label.c_str(), h.b >= 0 ? "rose" : "fell",
                    std::fabs(h.b), FormatDuration(t.window_s).c_str(), FormatNumber(h.a).c_str(), v.c_str());
            break;
        }
        case HitKind::kSustained: {
            const auto& s = *static_cast<const SustainedRule*>(h.def);
            Appendf(out, "%s has been %s %s for %s (now %s).", label.c_str(), std::string(Phrase(s.bound.cmp)).c_str(),
                    WithUnit(s.bound.value, h.metric).c_str(), FormatDuration(static_cast<int64_t>(h.a)).c_str(),
                    v.c_str());
            break;
        }
        case HitKind::kBaseline: {
            Appendf(out, "%s %s is well %s your usual %s (%.1f times your usual variation).", label.c_str(), v.c_str(),
                    h.c >= 0 ? "above" : "below", WithUnit(h.a, h.metric).c_str(), std::fabs(h.c));
            break;
        }
        case HitKind::kExercise: {
            if (std::isnan(h.a)) {
                Appendf(out, "Heart rate %s is still high %s after activity: slow down and rest until it settles.",
                        v.c_str(), FormatDuration(static_cast<int64_t>(h.b)).c_str());
            } else {
                Appendf(out, "Heart rate %s while moving at %s steps/min: slow down and rest until it settles.",
                        v.c_str(), FormatNumber(h.a).c_str());
            }
            break;
        }
        case HitKind::kSignalLoss: {
            Appendf(out, "No readings for %s: check that the %s is worn, charged and connected.",
                    FormatDuration(static_cast<int64_t>(h.a)).c_str(),
                    h.metric == Metric::kGlucose ? "glucose sensor" : "watch");
            break;
        }
        case HitKind::kHysteresis: {
            const auto& mr = *static_cast<const MetricRules*>(h.def);
            const std::string level = LevelWord(h.level);
            const std::string until = h.level == Level::kDanger ? "out of the danger range" : "back to normal";
            if (h.d != 0) {
                Appendf(out, "%s %s is still in the %s range; the alert stays.", label.c_str(), v.c_str(),
                        level.c_str());
            } else if (h.c != 0) {
                Appendf(out, "%s was %s at its last reading; the %s alert stays until it has been %s for %s.",
                        label.c_str(), v.c_str(), level.c_str(), until.c_str(), FormatDuration(mr.hold_s).c_str());
            } else {
                Appendf(out, "%s %s has eased, but the %s alert stays until it has been %s for %s.", label.c_str(),
                        v.c_str(), level.c_str(), until.c_str(), FormatDuration(mr.hold_s).c_str());
            }
            break;
        }
    }
    return out;
}

}  // namespace vg::rules::internal
