#pragma once
// FallMonitor: one wearer's fall state machine, on the windows' own times (src/posture/README.md
// states the rules and the calibration behind the thresholds).
//
//   none ──(a window with fall probability ≥ threshold)──▶ suspected
//   suspected ──(still_windows consecutive still windows, no locomotion)──▶ confirmed
//   suspected ──(a window of walking, once the fall has settled: locomotion posture with high
//                probability while moving, or a periodic gait signal with gravity)──▶ dismissed
//                (recorded, never escalated)
//   suspected ──(a window ending confirm_after past the impact with neither)──▶ confirmed (struggling)
//   suspected ──(Tick: no window received for silence_after)──▶ confirmed (the watch went quiet)
// Confirmed and dismissed are reported once; the monitor then watches for the next fall. For
// `quiet_after_confirm` after a confirmation (the incident is open and counting down) a new
// suspicion is not raised unless the wearer was seen walking in between.
//
// Boundary windows (the halves of two contiguous windows, see PostureDetector) only count as fall
// evidence: they overlap the windows around them, so their stillness or gait would be counted twice.
//
// Snapshot()/Restore() copy the whole state out and back in (PostureDetector has it stored while a fall is
// suspected, so a restarted process decides that fall as this one would have).
//
// Thread-safety: none; one owner (the wearer's posture shard) calls it. Pure: time comes in with the
// windows and the ticks, so every path is tested on simulated time.

#include <cstdint>
#include <optional>
#include <string_view>

#include "vg/common/clock.hpp"
#include "vg/posture/classifier.hpp"
#include "vg/posture/window.hpp"

namespace vg::posture {

enum class FallState : uint8_t { kNone, kSuspected, kConfirmed, kDismissed };
std::string_view FallStateName(FallState state);  // "none", "suspected", "confirmed", "dismissed"

// Why a suspected fall was decided.
enum class FallReason : uint8_t { kImpact, kStill, kDeadline, kSilence, kLocomotion, kGait, kEvent };
// "impact", "still", "deadline", "silence", "locomotion", "gait", "event" (the fall event model judged the
// impact not a fall)
std::string_view FallReasonName(FallReason reason);

// Locomotion postures: Downstairs, Upstairs, Running, Walking.
bool IsLocomotion(Posture posture);

struct FallMonitorOptions {
    float fall_threshold = 0.5F;  // the classifier's (ClassifierInfo::fall_threshold)
    // A post-fall window is still when std |a| ≤ this. Calibrated on the train split (README): above
    // 99 % of lying-after-a-fall windows, below 99 % of walking windows on every data set.
    double still_std_g = 0.03;
    int still_windows = 2;  // consecutive still windows (2 × 2.56 s) confirm
    // Gait: std |a| ≥ this and periodicity ≥ gait_min_periodicity, on windows with gravity only
    // (README: on the train split 0.0–0.2 % of the early post-fall windows pass, 21–75 % of walking
    // windows; without gravity |a| is not periodic enough while walking to tell, so only the model can).
    double gait_min_std_g = 0.10;
    double gait_min_periodicity = 0.8;
    // The model's locomotion posture dismisses when its probability is at least this and the window is
    // not still (a still wearer is not walking, whatever the model says).
    float locomotion_min_probability = 0.7F;
    // Walking evidence counts only in windows ending at least this long after the suspicion: the fall's
    // own aftermath (rolling, bouncing) can look like gait for one window (6 of 1097 SisFall train falls
    // did, in the window right after the impact's). 4 s skips exactly that first window.
    Milliseconds settle_after_impact{4'000};
    Milliseconds confirm_after{15'000};        // after the end of the window that raised the suspicion
    Milliseconds silence_after{30'000};        // since the last window was received (server time)
    Milliseconds quiet_after_confirm{30'000};  // see above
};

// What the monitor needs of one classified window.
struct MonitorWindow {
    TimePoint end;       // the window's last sample (the device's time: ordering and deadlines)
    TimePoint received;  // when the server received it (its own clock: silence)
    float fall_probability = 0;
    Posture posture = Posture::kStanding;  // the model's most probable posture (never Fall for Other)
    float posture_probability = 0;         // its probability
    WindowMotion motion;
    bool gravity_removed = false;  // the gait rule needs gravity
    bool boundary = false;         // a stitched window across two contiguous windows: fall evidence only
    // A FallEventJudge judged an impact a fall with this window (fall_event_judge.hpp): fall evidence whatever
    // the window's own fall probability.
    bool judged_fall = false;
};

// A transition of the monitor.
struct FallEvent {
    FallState state = FallState::kNone;  // the state entered: suspected, confirmed or dismissed
    FallReason reason = FallReason::kImpact;
    TimePoint impact_at;  // end of the window that raised the suspicion
    TimePoint at;         // end of the deciding window, or the Tick's time
};

// The whole state of a FallMonitor, a plain value: a monitor restored from it decides every later window
// and tick exactly as the monitor it was taken from (fall_monitor_test.cpp checks each path).
struct FallMonitorSnapshot {
    std::optional<TimePoint> impact_at;    // set while suspected: the end of the window that raised it
    int still_run = 0;                     // consecutive still windows since then
    TimePoint last_end{};                  // the latest window's end (device time)
    TimePoint last_received{};             // when the latest window was received (server time: silence)
    std::optional<TimePoint> quiet_until;  // after a confirmation: no new suspicion before (device time)

    bool operator==(const FallMonitorSnapshot&) const = default;
};

class FallMonitor {
  public:
    explicit FallMonitor(const FallMonitorOptions& options) : options_(options) {}

    // REQUIRES: windows in strictly increasing `end` (the service answers late ones without this).
    std::optional<FallEvent> Observe(const MonitorWindow& window);
    // Server time moved to `now`: the silence rule.
    std::optional<FallEvent> Tick(TimePoint now);
    // The fall event model judged the impact that raised the current suspicion not a fall: dismissed (reason
    // kEvent) at `at`, the window's time. Nothing when nothing is suspected.
    std::optional<FallEvent> DismissByEvent(TimePoint at);

    bool suspected() const { return impact_at_.has_value(); }
    std::optional<TimePoint> impact_at() const { return impact_at_; }

    FallMonitorSnapshot Snapshot() const;
    // Replaces the whole state (the options stay). REQUIRES: later windows end after snapshot.last_end.
    void Restore(const FallMonitorSnapshot& snapshot);

  private:
    // `window_time`: the device time the quiet period counts from (the deciding window's end, or for
    // the silence rule the last window's: the quiet period is on the windows' clock, never the server's).
    FallEvent Decide(FallState state, FallReason reason, TimePoint at, TimePoint window_time);
    bool WalkingEvidence(const MonitorWindow& w, FallReason& reason) const;

    FallMonitorOptions options_;
    std::optional<TimePoint> impact_at_;  // set while suspected
    int still_run_ = 0;
    TimePoint last_received_{};
    TimePoint last_end_{};                  // the latest window's end
    std::optional<TimePoint> quiet_until_;  // after a confirmation
};

}  // namespace vg::posture
