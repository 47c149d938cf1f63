#include "scenario.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace vg::scenarios {
namespace {

using domain::Detection;
using domain::Level;
using domain::Metric;

// Scenarios start at a fixed instant so that results never depend on the day they run.
constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

const std::map<std::string, Metric, std::less<>>& MetricAliases() {
    static const std::map<std::string, Metric, std::less<>> kAliases = {
        {"heart_rate", Metric::kHeartRate},
        {"hr", Metric::kHeartRate},
        {"respiration_rate", Metric::kRespirationRate},
        {"rr", Metric::kRespirationRate},
        {"spo2", Metric::kSpo2},
        {"skin_temp", Metric::kSkinTemp},
        {"temp", Metric::kSkinTemp},
        {"glucose", Metric::kGlucose},
        {"bg", Metric::kGlucose},
        {"steps", Metric::kSteps},
        {"cadence", Metric::kSteps},
        {"calories", Metric::kCalories},
        {"kcal", Metric::kCalories},
    };
    return kAliases;
}

std::optional<Level> ParseLevel(std::string_view s) {
    if (s == "normal") return Level::kNormal;
    if (s == "caution") return Level::kCaution;
    if (s == "danger") return Level::kDanger;
    return std::nullopt;
}

std::optional<double> ParseDouble(std::string_view s) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

// "+1h30m", "+90s", "+0s", "+2h": milliseconds after the start.
std::optional<int64_t> ParseOffset(std::string_view s) {
    if (s.size() < 3 || s[0] != '+') return std::nullopt;
    int64_t total = 0;
    size_t i = 1;
    while (i < s.size()) {
        size_t j = i;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        if (j == i || j == s.size()) return std::nullopt;
        int64_t n = 0;
        std::from_chars(s.data() + i, s.data() + j, n);
        switch (s[j]) {
            case 'h':
                total += n * 3'600'000;
                break;
            case 'm':
                total += n * 60'000;
                break;
            case 's':
                total += n * 1000;
                break;
            default:
                return std::nullopt;
        }
        i = j + 1;
    }
    return total;
}

// Splits on spaces, keeping "quoted text" (after key=) together; a # outside quotes starts a comment.
std::vector<std::string> Tokens(std::string_view line) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (char c : line) {
        if (c == '"') {
            quoted = !quoted;
            continue;
        }
        if (!quoted && c == '#') break;
        if (!quoted && std::isspace(static_cast<unsigned char>(c))) {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
            continue;
        }
        cur += c;
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::string Lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

class Parser {
  public:
    Parser(std::string_view file) : file_(file) {}

    Result<Scenario> Parse(std::string_view text) {
        scenario_.file = std::string(file_);
        size_t pos = 0;
        int line_no = 0;
        while (pos <= text.size()) {
            size_t end = text.find('\n', pos);
            if (end == std::string_view::npos) end = text.size();
            ++line_no;
            Line(text.substr(pos, end - pos), line_no);
            pos = end + 1;
        }
        if (scenario_.name.empty()) Problem(0, "needs a `name:` line");
        if (scenario_.profile.empty()) Problem(0, "needs a `profile:` line");
        const bool has_expect = std::any_of(scenario_.steps.begin(), scenario_.steps.end(),
                                            [](const Step& s) { return s.kind == Step::Kind::kExpect; });
        if (!has_expect) Problem(0, "has no `expect` line: a scenario must check something");
        if (!problems_.empty()) {
            return Status::Error(ErrorCode::kValidationFailed, "Scenario " + std::string(file_) + " is malformed.",
                                 std::move(problems_));
        }
        return std::move(scenario_);
    }

  private:
    void Problem(int line, std::string what) {
        problems_.push_back({std::string(file_) + ":" + std::to_string(line), std::move(what)});
    }

    void Line(std::string_view raw, int n) {
        std::string_view line = raw;
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
        if (line.empty() || line.front() == '#') return;
        const bool indented = std::isspace(static_cast<unsigned char>(raw.front()));
        if (indented && in_description_) {  // an indented line continues the description
            scenario_.description += " " + std::string(line);
            return;
        }
        in_description_ = false;
        for (std::string_view header : {"name:", "description:", "profile:", "seed:"}) {
            if (line.substr(0, header.size()) != header) continue;
            std::string value(line.substr(header.size()));
            value.erase(0, value.find_first_not_of(' '));
            if (header == "name:") scenario_.name = value;
            if (header == "description:") {
                in_description_ = true;
                scenario_.description += (scenario_.description.empty() ? "" : " ") + value;
            }
            if (header == "profile:") scenario_.profile = value;
            if (header == "seed:") {
                auto v = ParseDouble(value);
                if (!v || *v < 0) Problem(n, "seed must be a whole number");
                scenario_.seed = static_cast<uint64_t>(v.value_or(1));
            }
            return;
        }
        const std::vector<std::string> tokens = Tokens(line);
        if (tokens.empty()) return;
        const std::string& verb = tokens[0];
        Step step;
        step.line = n;
        bool ok = true;
        if (verb == "reading" || verb == "readings") {
            ok = ReadingStep(tokens, step, verb == "readings", n);
        } else if (verb == "check") {
            step.kind = Step::Kind::kCheck;
            ok = tokens.size() == 2 && Time(tokens[1], step.t_ms, n);
            if (tokens.size() != 2) Problem(n, "expected `check t=+20m`");
        } else if (verb == "silence") {
            ok = SilenceStep(tokens, step, n);
        } else if (verb == "expect") {
            step.kind = Step::Kind::kExpect;
            step.expect.text = std::string(line);
            ok = ExpectStep(tokens, step.expect, n);
        } else {
            Problem(n, "unknown step `" + verb + "` (reading, readings, check, silence, expect)");
            return;
        }
        if (!ok) return;
        if (step.kind != Step::Kind::kExpect) {
            if (step.t_ms < last_t_ms_) {
                Problem(n,
                        "time goes backwards (" + FormatOffset(step.t_ms) + " after " + FormatOffset(last_t_ms_) + ")");
                return;
            }
            last_t_ms_ = step.kind == Step::Kind::kReadings ? step.end_ms : step.t_ms;
        }
        scenario_.steps.push_back(std::move(step));
    }

    bool Time(std::string_view token, int64_t& out, int n) {
        if (token.substr(0, 2) != "t=") {
            Problem(n, "expected t=+<time> (e.g. t=+5m), got `" + std::string(token) + "`");
            return false;
        }
        auto v = ParseOffset(token.substr(2));
        if (!v) {
            Problem(n, "bad time `" + std::string(token) + "` (use +90s, +5m, +1h30m)");
            return false;
        }
        out = *v;
        return true;
    }

    bool ReadingStep(const std::vector<std::string>& tokens, Step& step, bool series, int n) {
        step.kind = series ? Step::Kind::kReadings : Step::Kind::kReading;
        if (tokens.size() < 3) {
            Problem(n, series ? "expected `readings t=+0s..+30m every=1m hr=72 ...`"
                              : "expected `reading t=+0s hr=72 ...`");
            return false;
        }
        bool ok = true;
        const std::string& t = tokens[1];
        const size_t dots = t.find("..");
        if (series) {
            if (dots == std::string::npos) {
                Problem(n, "a series needs a range: t=+0s..+30m");
                return false;
            }
            int64_t end = 0;
            ok = Time(t.substr(0, dots), step.t_ms, n) && Time("t=" + t.substr(dots + 2), end, n);
            step.end_ms = end;
            if (ok && end < step.t_ms) {
                Problem(n, "the range ends before it starts");
                ok = false;
            }
        } else {
            ok = Time(t, step.t_ms, n);
            step.end_ms = step.t_ms;
        }
        bool any = false;
        for (size_t i = 2; i < tokens.size(); ++i) {
            const std::string& tok = tokens[i];
            const size_t eq = tok.find('=');
            if (eq == std::string::npos) {
                Problem(n, "expected key=value, got `" + tok + "`");
                ok = false;
                continue;
            }
            const std::string key = tok.substr(0, eq);
            const std::string value = tok.substr(eq + 1);
            if (key == "every" && series) {
                auto v = ParseOffset("+" + value);
                if (!v || *v <= 0) {
                    Problem(n, "bad every=`" + value + "` (e.g. every=1m)");
                    ok = false;
                }
                step.every_ms = v.value_or(0);
                continue;
            }
            auto it = MetricAliases().find(key);
            if (it == MetricAliases().end()) {
                Problem(n, "unknown metric `" + key + "`");
                ok = false;
                continue;
            }
            auto spec = Value(value);
            if (!spec) {
                Problem(n, "bad value `" + value + "` (72, 33.0..34.5 for a ramp, 70~5 for jitter)");
                ok = false;
                continue;
            }
            step.values[static_cast<size_t>(it->second)] = *spec;
            any = true;
        }
        if (series && step.every_ms == 0 && ok) {
            Problem(n, "a series needs every=<time>");
            ok = false;
        }
        if (!any && ok) {
            Problem(n, "a reading needs at least one metric value");
            ok = false;
        }
        return ok;
    }

    static std::optional<ValueSpec> Value(std::string_view s) {
        ValueSpec spec;
        const size_t tilde = s.find('~');
        if (tilde != std::string_view::npos) {
            auto j = ParseDouble(s.substr(tilde + 1));
            if (!j || *j < 0) return std::nullopt;
            spec.jitter = *j;
            s = s.substr(0, tilde);
        }
        const size_t dots = s.find("..");
        auto from = ParseDouble(s.substr(0, dots));
        if (!from) return std::nullopt;
        spec.from = spec.to = *from;
        if (dots != std::string_view::npos) {
            auto to = ParseDouble(s.substr(dots + 2));
            if (!to) return std::nullopt;
            spec.to = *to;
        }
        return spec;
    }

    bool SilenceStep(const std::vector<std::string>& tokens, Step& step, int n) {
        step.kind = Step::Kind::kSilence;
        step.every_ms = 60'000;
        if (tokens.size() < 3 || tokens.size() > 4 || tokens[1] != "until") {
            Problem(n, "expected `silence until t=+20m [every=1m]`");
            return false;
        }
        if (!Time(tokens[2], step.t_ms, n)) return false;
        if (tokens.size() == 4) {
            const int64_t every =
                tokens[3].rfind("every=", 0) == 0 ? ParseOffset("+" + tokens[3].substr(6)).value_or(0) : 0;
            if (every <= 0) {
                Problem(n, "expected every=<time>, got `" + tokens[3] + "`");
                return false;
            }
            step.every_ms = every;
        }
        return true;
    }

    bool ExpectStep(const std::vector<std::string>& tokens, Expectation& e, int n) {
        bool ok = true;
        bool any = false;
        for (size_t i = 1; i < tokens.size(); ++i) {
            const std::string& tok = tokens[i];
            if (tok == "no" && i + 1 < tokens.size() && tokens[i + 1] == "alert") {
                e.no_alert = true;
                any = true;
                ++i;
                continue;
            }
            if (tok == "advice") {
                e.advice = true;
                any = true;
                continue;
            }
            if (tok == "between") {
                int64_t a = 0, b = 0;
                if (i + 3 >= tokens.size() || tokens[i + 2] != "and" || !Time(tokens[i + 1], a, n) ||
                    !Time(tokens[i + 3], b, n)) {
                    Problem(n, "expected `between t=+A and t=+B` at the end");
                    return false;
                }
                if (i + 4 != tokens.size()) {
                    Problem(n, "`between t=+A and t=+B` must end the line");
                    return false;
                }
                e.between = std::make_pair(a, b);
                break;
            }
            const bool negated = tok.find("!=") != std::string::npos;
            const size_t eq = tok.find(negated ? "!=" : "=");
            if (eq == std::string::npos) {
                Problem(n, "unknown expectation `" + tok + "`");
                ok = false;
                continue;
            }
            const std::string key = tok.substr(0, eq);
            const std::string value = tok.substr(eq + (negated ? 2 : 1));
            any = true;
            if (key == "level" || key == "max_level") {
                auto l = ParseLevel(value);
                if (!l) {
                    Problem(n, "level must be normal, caution or danger");
                    ok = false;
                } else if (key == "max_level" && !negated) {
                    e.max_level = l;
                } else if (key == "level") {
                    (negated ? e.level_not : e.level) = l;
                } else {
                    Problem(n, "max_level!= is not supported");
                    ok = false;
                }
            } else if (key == "rule") {
                (negated ? e.rules_not : e.rules).push_back(value);
            } else if (key == "kind" && !negated) {
                e.kind = value;
            } else if (key == "cause" && !negated) {
                auto m = domain::MetricFromName(value);
                if (!m) {
                    Problem(n, "unknown metric `" + value + "` (use wire names, e.g. heart_rate)");
                    ok = false;
                } else {
                    e.causes.push_back(*m);
                }
            } else if (key == "advice" && !negated) {
                if (value != "yes" && value != "no") {
                    Problem(n, "advice= must be yes or no");
                    ok = false;
                }
                e.advice = value == "yes";
            } else if (key == "says" && !negated) {
                e.says.push_back(Lower(value));
            } else if (key == "count" && !negated) {
                auto c = ParseDouble(value);
                if (!c || *c < 0 || std::floor(*c) != *c) {
                    Problem(n, "count= must be a whole number");
                    ok = false;
                } else {
                    e.count = static_cast<int>(*c);
                }
            } else {
                Problem(n, "unknown expectation `" + tok + "`");
                ok = false;
            }
        }
        if (!any && ok) {
            Problem(n, "an expect line needs at least one condition");
            ok = false;
        }
        if (e.count && !e.between) {
            Problem(n, "count= needs `between t=+A and t=+B`");
            ok = false;
        }
        return ok;
    }

    std::string_view file_;
    Scenario scenario_;
    std::vector<FieldError> problems_;
    int64_t last_t_ms_ = 0;
    bool in_description_ = false;
};

// Deterministic jitter (SplitMix64), so that a scenario gives the same readings on every run.
class Jitter {
  public:
    explicit Jitter(uint64_t seed) : state_(seed) {}
    double Next(double amplitude) {
        if (amplitude == 0) return 0;
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        const double unit = static_cast<double>(z >> 11) / static_cast<double>(1ULL << 53);  // [0, 1)
        return (unit * 2 - 1) * amplitude;
    }

  private:
    uint64_t state_;
};

struct Record {
    int64_t t_ms;
    Detection detection;
};

std::string Describe(const Detection& d) {
    std::string out = std::string(domain::LevelName(d.level));
    if (d.advice_only) out += " (advice)";
    out += " [";
    for (size_t i = 0; i < d.fired.size(); ++i) {
        if (i) out += ", ";
        out += d.fired[i].rule + ":" + d.fired[i].kind;
    }
    out += "] \"" + d.explanation + "\"";
    return out;
}

bool Matches(const Detection& d, const Expectation& e) {
    if (e.no_alert && d.level != Level::kNormal) return false;
    if (e.level && d.level != *e.level) return false;
    if (e.level_not && d.level == *e.level_not) return false;
    if (e.max_level && d.level > *e.max_level) return false;
    if (e.advice && d.advice_only != *e.advice) return false;
    for (const std::string& rule : e.rules) {
        const bool found = std::any_of(d.fired.begin(), d.fired.end(), [&](const domain::FiredRule& f) {
            return f.rule == rule && (!e.kind || f.kind == *e.kind);
        });
        if (!found) return false;
    }
    if (e.kind && e.rules.empty()) {
        if (std::none_of(d.fired.begin(), d.fired.end(),
                         [&](const domain::FiredRule& f) { return f.kind == *e.kind; })) {
            return false;
        }
    }
    for (const std::string& rule : e.rules_not) {
        if (std::any_of(d.fired.begin(), d.fired.end(), [&](const domain::FiredRule& f) { return f.rule == rule; })) {
            return false;
        }
    }
    for (Metric m : e.causes) {
        if (std::find(d.causes.begin(), d.causes.end(), m) == d.causes.end()) return false;
    }
    const std::string explanation = Lower(d.explanation);
    for (const std::string& s : e.says) {
        if (explanation.find(s) == std::string::npos) return false;
    }
    return true;
}

}  // namespace

std::string FormatOffset(int64_t ms) {
    std::string out = "+";
    int64_t s = ms / 1000;
    if (s >= 3600) out += std::to_string(s / 3600) + "h";
    if (s % 3600 >= 60) out += std::to_string(s % 3600 / 60) + "m";
    if (s % 60 != 0 || s == 0) out += std::to_string(s % 60) + "s";
    if (ms % 1000 != 0) out += "(+" + std::to_string(ms % 1000) + "ms)";
    return out;
}

Result<Scenario> ParseScenario(std::string_view text, std::string_view file) { return Parser(file).Parse(text); }

std::vector<std::string> RunScenario(const Scenario& sc, const rules::ProfileRegistry& profiles) {
    std::vector<std::string> failures;
    auto profile = profiles.Find(sc.profile);
    if (!profile) return {sc.file + ": unknown profile `" + sc.profile + "`"};
    auto state = rules::NewWearerState(*profile);
    // VG_SCENARIO_TRACE=1 prints every verdict that is not plain normal, with its details.
    const char* trace_env = std::getenv("VG_SCENARIO_TRACE");
    const bool trace = trace_env && *trace_env && std::string_view(trace_env) != "0";
    Jitter jitter(sc.seed);
    std::vector<Record> records;
    std::optional<Detection> latest;  // nullopt after a check or silence that reported nothing
    bool have_latest = false;

    auto feed = [&](int64_t t_ms, const Step& step, double fraction) {
        domain::VitalsReading r;
        r.measured_at = FromUnixMillis(kStartMs + t_ms);
        for (int m = 0; m < domain::kMetricCount; ++m) {
            const auto& spec = step.values[static_cast<size_t>(m)];
            if (!spec) continue;
            const double v = spec->from + (spec->to - spec->from) * fraction + jitter.Next(spec->jitter);
            r.set(static_cast<Metric>(m), std::round(v * 100) / 100);
        }
        Detection d = rules::Evaluate(*profile, *state, r);
        if (trace && (d.level != Level::kNormal || !d.fired.empty())) {
            std::fprintf(stderr, "%s t=%s %s\n", sc.file.c_str(), FormatOffset(t_ms).c_str(), Describe(d).c_str());
            for (const auto& f : d.fired) std::fprintf(stderr, "    %s: %s\n", f.rule.c_str(), f.detail.c_str());
        }
        records.push_back({t_ms, d});
        latest = std::move(d);
        have_latest = true;
    };

    int64_t now_ms = 0;
    for (const Step& step : sc.steps) {
        switch (step.kind) {
            case Step::Kind::kReading:
                feed(step.t_ms, step, 0);
                now_ms = step.t_ms;
                break;
            case Step::Kind::kReadings: {
                const int64_t span = step.end_ms - step.t_ms;
                for (int64_t t = step.t_ms; t <= step.end_ms; t += step.every_ms) {
                    feed(t, step, span > 0 ? static_cast<double>(t - step.t_ms) / static_cast<double>(span) : 0);
                }
                now_ms = step.end_ms;
                break;
            }
            case Step::Kind::kCheck: {
                latest = rules::CheckSilence(*profile, *state, FromUnixMillis(kStartMs + step.t_ms));
                if (trace && latest) {
                    std::fprintf(stderr, "%s t=%s %s\n", sc.file.c_str(), FormatOffset(step.t_ms).c_str(),
                                 Describe(*latest).c_str());
                }
                if (latest) records.push_back({step.t_ms, *latest});
                have_latest = true;
                now_ms = step.t_ms;
                break;
            }
            case Step::Kind::kSilence: {
                latest.reset();
                for (int64_t t = now_ms + step.every_ms; t <= step.t_ms; t += step.every_ms) {
                    auto d = rules::CheckSilence(*profile, *state, FromUnixMillis(kStartMs + t));
                    if (d) {
                        if (trace) {
                            std::fprintf(stderr, "%s t=%s %s\n", sc.file.c_str(), FormatOffset(t).c_str(),
                                         Describe(*d).c_str());
                        }
                        records.push_back({t, *d});
                        latest = std::move(d);
                    }
                }
                have_latest = true;
                now_ms = step.t_ms;
                break;
            }
            case Step::Kind::kExpect: {
                const Expectation& e = step.expect;
                const std::string where = sc.file + ":" + std::to_string(step.line) + ": `" + e.text + "`";
                if (!e.between) {
                    if (!have_latest) {
                        failures.push_back(where + ": nothing to check yet (no reading, check or silence before it)");
                        break;
                    }
                    const Detection d = latest.value_or(Detection{});
                    if (!Matches(d, e)) {
                        failures.push_back(where + " failed at t=" + FormatOffset(now_ms) + ": got " +
                                           (latest ? Describe(d) : "no verdict"));
                    }
                    break;
                }
                const auto [from, to] = *e.between;
                int in_range = 0, matching = 0;
                std::string first_mismatch;
                for (const Record& r : records) {
                    if (r.t_ms < from || r.t_ms > to) continue;
                    ++in_range;
                    if (Matches(r.detection, e)) {
                        ++matching;
                    } else if (first_mismatch.empty()) {
                        first_mismatch = "at t=" + FormatOffset(r.t_ms) + ": " + Describe(r.detection);
                    }
                }
                if (e.count) {
                    if (matching != *e.count) {
                        failures.push_back(where + " failed: " + std::to_string(matching) + " of " +
                                           std::to_string(in_range) + " verdicts match, expected " +
                                           std::to_string(*e.count));
                    }
                } else if (in_range == 0) {
                    failures.push_back(where + ": no verdict in that range");
                } else if (matching != in_range) {
                    failures.push_back(where + " failed " + first_mismatch);
                }
                break;
            }
        }
    }
    return failures;
}

}  // namespace vg::scenarios
