#pragma once
// Times and durations written as text: the one reader of each, used by the API, the simulator and the
// command line (FormatIso8601, the writer, is in clock.hpp).
//
// ParseIso8601 reads a date-time with a zone:
//   YYYY-MM-DD('T'|'t'|' ')hh:mm:ss[.fraction]('Z'|'z'|±hh:mm)
// The date must be on the proleptic Gregorian calendar (std::chrono::year_month_day::ok(): no
// November 31st, no February 29th outside leap years), the time of day 00:00:00 to 23:59:59, the
// offset within -14:00 to +14:00 (the widest in use). The fraction may have any number of digits;
// milliseconds are kept, the rest truncated. Leap seconds (second 60) are refused: TimePoint is Unix
// time, which has no place for them, and a clock that shows one is better refused than silently
// moved to another second. Nothing may follow the zone.
// ParseDuration reads a whole number with a unit: 500ms, 90s (or 90), 30m, 12h, 2d.
// Errors are kValidationFailed with a message that completes a sentence after a field name
// ("timestamp: 2026-11-31 is not a calendar date"); callers put the name in front.
// Thread-safety: pure functions.

#include <string_view>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg {

// The message for text that is not in the form above at all (callers may offer other forms too).
inline constexpr std::string_view kIso8601FormHelp =
    "must be an ISO 8601 time with a zone, like \"2026-11-23T16:30:00Z\" or \"2026-11-24T01:30:00+09:00\"";

Result<TimePoint> ParseIso8601(std::string_view text);

Result<Milliseconds> ParseDuration(std::string_view text);

}  // namespace vg
