#include "vg/common/time_text.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

namespace vg {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

Status Invalid(std::string message) { return Status::Error(ErrorCode::kValidationFailed, std::move(message)); }

}  // namespace

Result<TimePoint> ParseIso8601(std::string_view s) {
    auto form = [] { return Invalid(std::string(kIso8601FormHelp)); };
    int year, month, day, hour, minute, second;
    if (s.size() < 20 || !Digits(s, 0, 4, year) || s[4] != '-' || !Digits(s, 5, 2, month) || s[7] != '-' ||
        !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, hour) ||
        s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' || !Digits(s, 17, 2, second)) {
        return form();
    }
    size_t pos = 19;
    int64_t millis = 0;
    if (s[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 3) millis = millis * 10 + (s[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return form();
        for (int d = digits; d < 3; ++d) millis *= 10;
    }
    int offset_minutes = 0;
    std::string_view offset_text;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, om)) {
            return form();
        }
        offset_text = s.substr(pos, 6);
        offset_minutes = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
        if (om > 59 || oh * 60 + om > 14 * 60) {
            return Invalid("the offset " + std::string(offset_text) + " is outside -14:00 to +14:00");
        }
        pos += 6;
    } else {
        return form();  // a time without a zone is ambiguous
    }
    if (pos != s.size()) return form();

    const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                           std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok()) return Invalid(std::string(s.substr(0, 10)) + " is not a calendar date");
    if (hour > 23 || minute > 59 || second > 59) {
        std::string problem = std::string(s.substr(11, 8)) + " is not a time of day (00:00:00 to 23:59:59";
        if (second == 60 && hour <= 23 && minute <= 59) problem += "; leap seconds are not accepted";
        return Invalid(problem + ")");
    }
    const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
    const int64_t secs = days * 86'400 + hour * 3'600 + minute * 60 + second - int64_t{offset_minutes} * 60;
    return FromUnixMillis(secs * 1000 + millis);
}

Result<Milliseconds> ParseDuration(std::string_view text) {
    static constexpr const char* kHelp = "must be a duration such as 500ms, 90s, 30m, 12h or 2d";
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || value < 0 || end == text.data()) return Invalid(kHelp);
    const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    int64_t ms_per_unit = 0;
    if (unit.empty() || unit == "s") {
        ms_per_unit = 1000;
    } else if (unit == "ms") {
        ms_per_unit = 1;
    } else if (unit == "m") {
        ms_per_unit = 60'000;
    } else if (unit == "h") {
        ms_per_unit = 3'600'000;
    } else if (unit == "d") {
        ms_per_unit = 86'400'000;
    } else {
        return Invalid(kHelp);
    }
    // Room to add it to any time of this era without overflow.
    if (value > std::numeric_limits<int64_t>::max() / ms_per_unit / 1000) return Invalid("is too long");
    return Milliseconds(value * ms_per_unit);
}

}  // namespace vg
