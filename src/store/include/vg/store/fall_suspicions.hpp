#pragma once
// FallSuspicionStore: suspected falls that are not decided yet — one row per wearer, the posture
// service's fall monitor state, kept so that a restarted process still decides a fall it had
// suspected (posture/README.md, "Across a restart"). The store holds plain fields and knows nothing
// of posture.
//
// One port of vg::store::Store (store.hpp): durable on OK, nothing written on error, safe from any
// thread, kUnavailable once closed. A negative still_run is kInternal and stores nothing (a caller's bug).

#include <cstdint>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg::store {

// A suspected fall that is not decided yet (vg::posture::FallMonitor's state while suspected), kept so that
// a restarted process still decides it: one row per wearer, the latest state. Device times are the
// windows' own clock; server times are the server's (see posture/README.md, "Across a restart").
struct FallSuspicion {
    int64_t wearer = 0;
    TimePoint impact_at;      // device time: end of the window that raised the suspicion
    int still_run = 0;        // consecutive still windows seen since
    TimePoint last_end;       // device time: end of the latest window the monitor saw
    TimePoint last_received;  // server time: when that window was received
    TimePoint raised_at;      // server time: when the suspicion was raised
    TimePoint updated_at;     // server time: when this state was saved
};

class FallSuspicionStore {
  public:
    virtual ~FallSuspicionStore() = default;

    // Stores the wearer's suspicion, replacing the one stored before (one per wearer). kNotFound when the
    // wearer does not exist.
    virtual Status SaveFallSuspicion(const FallSuspicion& suspicion) = 0;
    // Removes the wearer's suspicion; OK when there is none, or no such wearer (idempotent).
    virtual Status ClearFallSuspicion(int64_t wearer) = 0;
    // Every stored suspicion, by wearer in increasing unique_num (for restoring them at start-up).
    virtual Result<std::vector<FallSuspicion>> ListFallSuspicions() = 0;
};

}  // namespace vg::store
