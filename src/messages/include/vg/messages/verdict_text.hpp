#pragma once
// The message catalogue of verdicts: the words a person reads about what the rules found, in Korean
// (the default: the seed's users) or English. The guardian SMS and e-mail, the 119 report and the API's
// `summary` fields take them from here, so one reader never gets a Korean sentence around an English one.
//
// The rules' own `explanation` (English, with every number and threshold) stays what operators and the
// evidence show; this is the plain version a worried family reads, built from what an incident keeps:
// its level, the metrics at fault and the ids of the rules that decided it.
//
// Pure functions, thread-safe.

#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "vg/domain/vitals.hpp"

namespace vg::messages {

enum class Language { kKorean, kEnglish };

// "en" (or "en-…") is English; anything else Korean, the default.
Language LanguageFromCode(std::string_view code);

// "심박수" / "heart rate", "산소포화도" / "SpO2", ...
std::string_view MetricLabel(domain::Metric metric, Language language);

// "위험" / "danger", "주의" / "caution", "정상" / "normal".
std::string_view LevelWord(domain::Level level, Language language);

// One sentence per metric at fault, saying what its rule found, then one for a silence:
//   causes {heart_rate, spo2}, rules {"heart_rate.high.danger", "spo2.trend.fall"} →
//   "심박수가 너무 높습니다. 산소포화도가 빠르게 떨어지고 있습니다." /
//   "Heart rate is too high. SpO2 is falling fast."
// A rule id is read by the profile's convention, <metric>.<high|low|trend.rise|trend.fall|
// sustained.high|sustained.low|baseline.high|baseline.low|exercise>.<...>, and "signal_loss" or
// "<metric>.signal_loss" for a silence; a cause with no rule of its own (the status model's) is "out of
// its usual range". `values`: the measured value of a cause, when known, said after its sentence
// ("심박수가 너무 높습니다(분당 150회)." / "Heart rate is too high (150 bpm)."). Empty when there is nothing
// to say (no causes, no silence).
std::string VerdictSummary(std::span<const domain::Metric> causes, std::span<const std::string> rules,
                           Language language, std::span<const std::pair<domain::Metric, double>> values = {});

// A value with its unit as people say it: "분당 150회", "86%", "37.5°C" / "150 bpm", "86%", "37.5 °C".
std::string ValueText(domain::Metric metric, double value, Language language);

}  // namespace vg::messages
