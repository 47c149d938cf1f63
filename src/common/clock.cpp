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
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    char out[40];
    std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(rem));
    return out;
}

}  // namespace vg
