#include "vg/posture/fall_monitor.hpp"

namespace vg::posture {

std::string_view FallStateName(FallState state) {
    switch (state) {
        case FallState::kNone:
            return "none";
        case FallState::kSuspected:
            return "suspected";
        case FallState::kConfirmed:
            return "confirmed";
        case FallState::kDismissed:
            return "dismissed";
    }
    return "none";
}

std::string_view FallReasonName(FallReason reason) {
    switch (reason) {
        case FallReason::kImpact:
            return "impact";
        case FallReason::kStill:
            return "still";
        case FallReason::kDeadline:
            return "deadline";
        case FallReason::kSilence:
            return "silence";
        case FallReason::kLocomotion:
            return "locomotion";
        case FallReason::kEvent:
            return "event";
        case FallReason::kGait:
            return "gait";
    }
    return "impact";
}

bool IsLocomotion(Posture posture) {
    return posture == Posture::kWalking || posture == Posture::kRunning || posture == Posture::kUpstairs ||
           posture == Posture::kDownstairs;
}

bool FallMonitor::WalkingEvidence(const MonitorWindow& w, FallReason& reason) const {
    const bool moving = w.motion.accel_std_g > options_.still_std_g;
    if (moving && IsLocomotion(w.posture) && w.posture_probability >= options_.locomotion_min_probability) {
        reason = FallReason::kLocomotion;
        return true;
    }
    if (!w.gravity_removed && w.motion.accel_std_g >= options_.gait_min_std_g &&
        w.motion.periodicity >= options_.gait_min_periodicity) {
        reason = FallReason::kGait;
        return true;
    }
    return false;
}

FallEvent FallMonitor::Decide(FallState state, FallReason reason, TimePoint at, TimePoint window_time) {
    FallEvent e{state, reason, *impact_at_, at};
    impact_at_.reset();
    still_run_ = 0;
    if (state == FallState::kConfirmed) quiet_until_ = window_time + options_.quiet_after_confirm;
    return e;
}

std::optional<FallEvent> FallMonitor::Observe(const MonitorWindow& w) {
    const bool fall_evidence = w.judged_fall || w.fall_probability >= options_.fall_threshold;
    last_end_ = w.end;
    if (!impact_at_) {
        if (!w.boundary && quiet_until_) {
            FallReason ignored{};
            if (w.end >= *quiet_until_ || WalkingEvidence(w, ignored)) quiet_until_.reset();
        }
        if (!fall_evidence || (quiet_until_ && w.end < *quiet_until_)) return std::nullopt;
        impact_at_ = w.end;
        still_run_ = 0;
        last_received_ = w.received;
        quiet_until_.reset();
        return FallEvent{FallState::kSuspected, FallReason::kImpact, w.end, w.end};
    }

    last_received_ = w.received;
    if (fall_evidence) {
        still_run_ = 0;  // still falling (or a second impact): stillness starts over, the deadline does not
    } else if (!w.boundary) {
        FallReason reason{};
        const bool settled = w.end >= *impact_at_ + options_.settle_after_impact;
        if (settled && WalkingEvidence(w, reason)) return Decide(FallState::kDismissed, reason, w.end, w.end);
        if (w.motion.accel_std_g <= options_.still_std_g && !IsLocomotion(w.posture)) {
            if (++still_run_ >= options_.still_windows)
                return Decide(FallState::kConfirmed, FallReason::kStill, w.end, w.end);
        } else {
            still_run_ = 0;  // moving, but not walking: sitting up, struggling, a model that says walking while still
        }
    }
    if (w.end >= *impact_at_ + options_.confirm_after)
        return Decide(FallState::kConfirmed, FallReason::kDeadline, w.end, w.end);
    return std::nullopt;
}

std::optional<FallEvent> FallMonitor::DismissByEvent(TimePoint at) {
    if (!impact_at_) return std::nullopt;
    return Decide(FallState::kDismissed, FallReason::kEvent, at, at);
}

FallMonitorSnapshot FallMonitor::Snapshot() const {
    return FallMonitorSnapshot{impact_at_, still_run_, last_end_, last_received_, quiet_until_};
}

void FallMonitor::Restore(const FallMonitorSnapshot& snapshot) {
    impact_at_ = snapshot.impact_at;
    still_run_ = snapshot.still_run;
    last_end_ = snapshot.last_end;
    last_received_ = snapshot.last_received;
    quiet_until_ = snapshot.quiet_until;
}

std::optional<FallEvent> FallMonitor::Tick(TimePoint now) {
    if (!impact_at_ || now < last_received_ + options_.silence_after) return std::nullopt;
    return Decide(FallState::kConfirmed, FallReason::kSilence, now, last_end_);
}

}  // namespace vg::posture
