#pragma once
// Clock: the only source of time for VitalGuard's logic.
//
// Rules, deadlines, session expiry and rate limits read time through a Clock
// passed in by the composition root, so tests run them on simulated time with
// ManualClock. TimePoint is wall-clock time in milliseconds since the Unix
// epoch (UTC), the unit stored in the database.
// Thread-safety: implementations are safe to call from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace vg {

using Milliseconds = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Milliseconds>;

inline int64_t ToUnixMillis(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint FromUnixMillis(int64_t ms) { return TimePoint(Milliseconds(ms)); }

// "2026-11-23T16:30:00.000Z"
std::string FormatIso8601(TimePoint t);

class Clock {
  public:
    virtual ~Clock() = default;
    virtual TimePoint Now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
  public:
    TimePoint Now() const override;
    // A process-wide instance; lives for the whole program.
    static SystemClock& Instance();
};

// A clock that moves only when told to. Starts at `start`.
class ManualClock final : public Clock {
  public:
    explicit ManualClock(TimePoint start = FromUnixMillis(1'700'000'000'000)) : now_ms_(ToUnixMillis(start)) {}
    TimePoint Now() const override { return FromUnixMillis(now_ms_.load(std::memory_order_acquire)); }
    void Advance(Milliseconds d) { now_ms_.fetch_add(d.count(), std::memory_order_acq_rel); }
    void Set(TimePoint t) { now_ms_.store(ToUnixMillis(t), std::memory_order_release); }

  private:
    std::atomic<int64_t> now_ms_;
};

}  // namespace vg
