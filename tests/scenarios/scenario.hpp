#pragma once
// Detection scenarios: plain-text files (README.md) that feed readings on simulated time to the
// rules engine and state what the verdicts must be. ParseScenario reads one file; RunScenario plays
// it against a profile registry and returns the expectations that did not hold.
// Thread-safety: plain values and functions.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/rules/rules.hpp"

namespace vg::scenarios {

// One metric's values in a step: a constant, a linear ramp from..to over a series, plus optional
// deterministic jitter of ± jitter.
struct ValueSpec {
    double from = 0;
    double to = 0;
    double jitter = 0;
};

struct Expectation {
    std::string text;  // the line, for messages
    bool no_alert = false;
    std::optional<domain::Level> level;
    std::optional<domain::Level> level_not;
    std::optional<domain::Level> max_level;
    std::vector<std::string> rules;      // each must have fired (with `kind`, when given)
    std::vector<std::string> rules_not;  // none may have fired
    std::optional<std::string> kind;
    std::vector<domain::Metric> causes;
    std::optional<bool> advice;
    std::vector<std::string> says;                       // substrings of the explanation (case-insensitive)
    std::optional<int> count;                            // with `between`: how many verdicts in the range match
    std::optional<std::pair<int64_t, int64_t>> between;  // milliseconds after the scenario's start
};

struct Step {
    enum class Kind { kReading, kReadings, kCheck, kSilence, kExpect };
    Kind kind = Kind::kReading;
    int line = 0;
    int64_t t_ms = 0;      // reading, check, silence: the (end) time; readings: the first time
    int64_t end_ms = 0;    // readings: the last time
    int64_t every_ms = 0;  // readings, silence: the step
    std::array<std::optional<ValueSpec>, domain::kMetricCount> values;
    Expectation expect;
};

struct Scenario {
    std::string file;
    std::string name;
    std::string description;
    std::string profile;
    uint64_t seed = 1;
    std::vector<Step> steps;
};

// kValidationFailed with one FieldError per problem, field "file:line".
[[nodiscard]] Result<Scenario> ParseScenario(std::string_view text, std::string_view file);

// The failed expectations, one message each ("file:line: expect ... : got ..."); empty when all hold.
std::vector<std::string> RunScenario(const Scenario& scenario, const rules::ProfileRegistry& profiles);

// "+1h05m", "+90s"
std::string FormatOffset(int64_t ms);

}  // namespace vg::scenarios
