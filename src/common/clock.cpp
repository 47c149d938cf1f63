#include "vg/common/clock.hpp"

#include <ctime>

namespace vg {

TimePoint SystemClock::Now() const {
    return std::chrono::time_point_cast<Milliseconds>(std::chrono::system_clock::now());
}

SystemClock& SystemClock::Instance() {
    static SystemClock clock;
    return clock;
}

std::string FormatIso8601(TimePoint t) {
    const int64_t ms = ToUnixMillis(t);
    int64_t secs = ms / 1000;
    int64_t rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs -= 1;
    }
    const std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    // The year always has four digits (strftime's %Y gives "226" for 226, which no ISO 8601 reader takes:
    // found by fuzzing, fuzz/crashes/time_text).
    char out[48];
    std::snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(rem));
    return out;
}

}  // namespace vg
