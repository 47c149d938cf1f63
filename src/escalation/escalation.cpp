#include "vg/escalation/escalation.hpp"

#include <algorithm>

namespace vg::escalation {

using domain::CloseReason;
using domain::Incident;
using domain::IncidentKind;
using domain::IncidentPhase;
using domain::Level;

namespace {

constexpr Milliseconds kSecond{1000};
constexpr Milliseconds kMinute{60 * 1000};
constexpr Milliseconds kHour{60 * 60 * 1000};

std::string Seconds(Milliseconds d) { return std::to_string(d.count() / 1000) + " s"; }

class Builder {
  public:
    Builder(const Incident& before, TimePoint now) : now_(now) { t_.incident = before; }

    Incident& incident() { return t_.incident; }
    void Event(std::string type, std::string actor, std::string detail) {
        domain::IncidentEvent e;
        e.incident_id = t_.incident.id;
        e.at = now_;
        e.type = std::move(type);
        e.actor = std::move(actor);
        e.detail = std::move(detail);
        t_.events.push_back(std::move(e));
    }
    void Notify(Notice n) {
        if (std::find(t_.notices.begin(), t_.notices.end(), n) == t_.notices.end()) t_.notices.push_back(n);
    }
    void MarkOpened() { t_.opened = true; }
    bool changed() const { return !t_.events.empty(); }
    Transition Finish() {
        if (changed()) t_.incident.updated_at = now_;
        return std::move(t_);
    }

  private:
    TimePoint now_;
    Transition t_;
};

void NotifyGuardians(Builder& b, const EscalationPolicy& policy, TimePoint now, const std::string& why) {
    Incident& i = b.incident();
    if (i.guardians_notified_at) return;
    i.guardians_notified_at = now;
    i.next_reraise_at = now + policy.reraise_every;
    if (i.phase == IncidentPhase::kGuidance) i.phase = IncidentPhase::kGuardians;
    i.escalate_at.reset();
    b.Notify(Notice::kGuardiansAlert);
    b.Event("guardians_notified", "system", why);
}

void StartCountdown(Builder& b, const EscalationPolicy& policy, TimePoint now) {
    Incident& i = b.incident();
    i.phase = IncidentPhase::kCountdown;
    i.deadline = now + policy.countdown;
    b.Notify(Notice::kWearerCountdown);
    b.Event("countdown_started", "system",
            "The emergency call goes out in " + Seconds(policy.countdown) +
                " unless the wearer answers \"I'm OK\" or a guardian acknowledges.");
}

void Dispatch(Builder& b, TimePoint now, const std::string& why) {
    Incident& i = b.incident();
    i.phase = IncidentPhase::kDispatched;
    i.dispatched_at = now;
    i.deadline.reset();
    b.Notify(Notice::kEmergencyDispatch);
    b.Notify(Notice::kGuardiansDispatched);
    b.Event("dispatched", "system", why);
}

// Danger (or a fall) in an open incident, or a new one: guardians now, and a countdown unless the
// emergency call already went out, a guardian is on it, or the wearer's "I'm OK" still holds.
void EscalateToDanger(Builder& b, const EscalationPolicy& policy, TimePoint now, const std::string& why) {
    Incident& i = b.incident();
    NotifyGuardians(b, policy, now, why);
    const bool ok_holds = i.wearer_ok_until && now < *i.wearer_ok_until;
    if (i.phase != IncidentPhase::kDispatched && i.phase != IncidentPhase::kCountdown && !i.acknowledged_at &&
        !ok_holds) {
        StartCountdown(b, policy, now);
    }
}

Incident NewIncident(int64_t wearer, IncidentKind kind, Level level, TimePoint now) {
    Incident i;
    i.wearer = wearer;
    i.kind = kind;
    i.level = level;
    i.max_level = level;
    i.opened_at = now;
    i.updated_at = now;
    return i;
}

void Close(Builder& b, CloseReason reason, const std::string& actor, const std::string& detail, TimePoint now) {
    Incident& i = b.incident();
    if (i.guardians_notified_at) b.Notify(Notice::kGuardiansAllClear);
    i.phase = IncidentPhase::kClosed;
    i.close_reason = reason;
    i.closed_at = now;
    i.deadline.reset();
    i.escalate_at.reset();
    i.next_reraise_at.reset();
    b.Event(reason == CloseReason::kAllClear ? "all_clear" : "resolved", actor, detail);
}

Status Closed(const Incident& i) {
    return Status::Error(ErrorCode::kConflict, "Incident " + std::to_string(i.id) + " is already closed.");
}

}  // namespace

std::string_view NoticeName(Notice n) {
    switch (n) {
        case Notice::kWearerGuidance:
            return "wearer_guidance";
        case Notice::kWearerCountdown:
            return "wearer_countdown";
        case Notice::kGuardiansAlert:
            return "guardians_alert";
        case Notice::kGuardiansReminder:
            return "guardians_reminder";
        case Notice::kGuardiansDispatched:
            return "guardians_dispatched";
        case Notice::kGuardiansWearerOk:
            return "guardians_wearer_ok";
        case Notice::kGuardiansAllClear:
            return "guardians_all_clear";
        case Notice::kWearerGuardianAcked:
            return "wearer_guardian_acked";
        case Notice::kEmergencyDispatch:
            return "emergency_dispatch";
    }
    return "unknown";
}

std::vector<FieldError> ValidatePolicy(const EscalationPolicy& p) {
    std::vector<FieldError> problems;
    auto check = [&](const char* field, Milliseconds v, Milliseconds lo, Milliseconds hi, const char* range) {
        if (v < lo || v > hi) problems.push_back({field, std::string("must be between ") + range});
    };
    check("caution-to-guardians", p.caution_to_guardians, kMinute, 24 * kHour, "1 min and 24 h");
    check("countdown", p.countdown, 5 * kSecond, 10 * kMinute, "5 s and 10 min");
    check("reraise-every", p.reraise_every, kMinute, 24 * kHour, "1 min and 24 h");
    check("wearer-ok-grace", p.wearer_ok_grace, kMinute, 24 * kHour, "1 min and 24 h");
    check("max-snooze", p.max_snooze, kMinute, 24 * kHour, "1 min and 24 h");
    if (p.escalate_within != Milliseconds{0}) {  // 0: every reading, however old (replays, evaluations)
        check("escalate-within", p.escalate_within, kMinute, 24 * kHour, "1 min and 24 h, or 0 for no limit");
    }
    return problems;
}

std::optional<Transition> OnVerdict(const EscalationPolicy& policy, const std::optional<Incident>& open, int64_t wearer,
                                    const VerdictInput& v, TimePoint now) {
    if (v.advice_only) return std::nullopt;
    if (v.level == Level::kNormal) {
        // Recovery closes what the values opened; a fall or an SOS needs a person to close it.
        if (!open || !open->open() || v.signal_loss || open->kind != IncidentKind::kVitals) return std::nullopt;
        Builder b(*open, now);
        Close(b, CloseReason::kAllClear, "system", "The values are back to normal.", now);
        return b.Finish();
    }

    if (!open || !open->open()) {
        Builder b(NewIncident(wearer, IncidentKind::kVitals, v.level, now), now);
        b.MarkOpened();
        Incident& i = b.incident();
        i.causes = v.causes;
        i.rules = v.rules;
        i.explanation = v.explanation;
        b.Event("opened", "system", v.explanation);
        b.Notify(Notice::kWearerGuidance);
        if (v.level == Level::kDanger) {
            EscalateToDanger(b, policy, now, "Danger: " + v.explanation);
        } else {
            i.phase = IncidentPhase::kGuidance;
            i.escalate_at = now + policy.caution_to_guardians;
        }
        return b.Finish();
    }

    Builder b(*open, now);
    Incident& i = b.incident();
    const bool rises = v.level > i.level;
    const bool new_causes = v.causes != i.causes;
    if (!rises && !new_causes && v.level == i.level) return std::nullopt;
    i.level = v.level;
    if (v.level > i.max_level) i.max_level = v.level;
    i.causes = v.causes;
    i.rules = v.rules;
    i.explanation = v.explanation;
    if (rises && v.level == Level::kDanger) {
        b.Event("escalated", "system", "Now danger: " + v.explanation);
        b.Notify(Notice::kWearerGuidance);
        // A danger needs its own answer: an acknowledgement or a snooze of the caution does not cover it.
        i.acknowledged_at.reset();
        i.acknowledged_by.clear();
        i.snoozed_until.reset();
        if (i.guardians_notified_at) {
            i.next_reraise_at = now + policy.reraise_every;
            b.Notify(Notice::kGuardiansAlert);
            b.Event("guardians_notified", "system", "Now danger: " + v.explanation);
        }
        EscalateToDanger(b, policy, now, "Danger: " + v.explanation);
    } else if (new_causes || v.level != open->level) {
        b.Event("updated", "system", v.explanation);
        if (new_causes) b.Notify(Notice::kWearerGuidance);
    }
    return b.Finish();
}

std::optional<Transition> OnTick(const EscalationPolicy& policy, const Incident& incident, TimePoint now) {
    if (!incident.open()) return std::nullopt;
    Builder b(incident, now);
    Incident& i = b.incident();

    if (i.phase == IncidentPhase::kGuidance && i.escalate_at && now >= *i.escalate_at) {
        const std::optional<TimePoint> hold = std::max(i.wearer_ok_until, i.snoozed_until);
        if (hold && now < *hold) {
            i.escalate_at = *hold;  // the wearer said OK, or a guardian snoozed: wait that out first
        } else {
            NotifyGuardians(b, policy, now,
                            "Still abnormal after " + std::to_string(policy.caution_to_guardians.count() / 60000) +
                                " min: " + i.explanation);
        }
    }
    if (i.phase == IncidentPhase::kCountdown && i.deadline && now >= *i.deadline) {
        Dispatch(b, now, "Nobody answered within the countdown; the emergency call went out.");
    }
    if (i.phase == IncidentPhase::kGuardians && i.level == Level::kDanger && !i.acknowledged_at && !i.dispatched_at &&
        i.wearer_ok_until && now >= *i.wearer_ok_until) {
        i.wearer_ok_until.reset();
        b.Event("ok_expired", "system", "Still danger after the wearer's \"I'm OK\".");
        StartCountdown(b, policy, now);
    }
    if (i.guardians_notified_at && !i.acknowledged_at && i.next_reraise_at && now >= *i.next_reraise_at) {
        const bool snoozed = i.level != Level::kDanger && i.snoozed_until && now < *i.snoozed_until;
        if (snoozed) {
            i.next_reraise_at = *i.snoozed_until;
        } else {
            ++i.reraise_count;
            i.next_reraise_at = now + policy.reraise_every;
            b.Notify(Notice::kGuardiansReminder);
            b.Event("guardians_reminded", "system",
                    "Reminder " + std::to_string(i.reraise_count) + ": no guardian has acknowledged yet.");
        }
    }
    if (!b.changed()) {
        // Times may have moved (a snooze or "I'm OK" pushed them) without an event: store that too.
        if (i.escalate_at != incident.escalate_at || i.next_reraise_at != incident.next_reraise_at) return b.Finish();
        return std::nullopt;
    }
    return b.Finish();
}

Transition OnFall(const EscalationPolicy& policy, const std::optional<Incident>& open, int64_t wearer, TimePoint now) {
    const bool fresh = !open || !open->open();
    Builder b(fresh ? NewIncident(wearer, IncidentKind::kFall, Level::kDanger, now) : *open, now);
    Incident& i = b.incident();
    if (fresh) {
        b.MarkOpened();
        i.explanation = "A fall was detected.";
        b.Event("opened", "system", "A fall was detected.");
    } else {
        if (i.kind == IncidentKind::kVitals) i.kind = IncidentKind::kFall;
        b.Event("fall", "system", "A fall was detected.");
    }
    i.level = Level::kDanger;
    i.max_level = Level::kDanger;
    i.wearer_ok_until.reset();  // a new fall is a new question
    b.Notify(Notice::kWearerGuidance);
    EscalateToDanger(b, policy, now, "A fall was detected.");
    return b.Finish();
}

Transition OnSos(const EscalationPolicy& policy, const std::optional<Incident>& open, int64_t wearer, TimePoint now,
                 bool dispatch_at_once) {
    const bool fresh = !open || !open->open();
    Builder b(fresh ? NewIncident(wearer, IncidentKind::kSos, Level::kDanger, now) : *open, now);
    Incident& i = b.incident();
    if (fresh) {
        b.MarkOpened();
        i.explanation = "The wearer pressed SOS.";
        b.Event("opened", "wearer", "The wearer pressed SOS.");
    } else {
        b.Event("sos", "wearer", "The wearer pressed SOS.");
    }
    i.kind = IncidentKind::kSos;
    i.level = Level::kDanger;
    i.max_level = Level::kDanger;
    if (!dispatch_at_once && !i.dispatched_at) {
        // A countdown already running keeps its deadline: pressing again does not restart it.
        if (i.phase != IncidentPhase::kCountdown) {
            i.acknowledged_at.reset();  // an SOS needs its own answer
            i.acknowledged_by.clear();
            i.wearer_ok_until.reset();
            StartCountdown(b, policy, now);
        }
        NotifyGuardians(b, policy, now, "The wearer pressed SOS.");
        return b.Finish();
    }
    NotifyGuardians(b, policy, now, "The wearer pressed SOS.");
    if (!i.dispatched_at) {
        Dispatch(b, now, "The wearer pressed SOS; the emergency call went out at once.");
    } else {
        b.Event("sos_repeated", "wearer", "SOS pressed again; the emergency call had already gone out.");
    }
    return b.Finish();
}

Result<Transition> WearerOk(const EscalationPolicy& policy, const Incident& incident, TimePoint now) {
    if (!incident.open()) return Closed(incident);
    Builder b(incident, now);
    Incident& i = b.incident();
    if (i.wearer_ok_until && now < *i.wearer_ok_until && i.phase != IncidentPhase::kCountdown) return b.Finish();
    i.wearer_ok_at = now;
    i.wearer_ok_until = now + policy.wearer_ok_grace;
    switch (i.phase) {
        case IncidentPhase::kCountdown:
            i.phase = IncidentPhase::kGuardians;
            i.deadline.reset();
            b.Event("wearer_ok", "wearer", "The wearer answered \"I'm OK\"; the emergency call was cancelled.");
            break;
        case IncidentPhase::kDispatched:
            b.Event("wearer_ok", "wearer", "The wearer answered \"I'm OK\" after the emergency call went out.");
            break;
        case IncidentPhase::kGuidance:
            if (i.escalate_at && *i.escalate_at < *i.wearer_ok_until) i.escalate_at = *i.wearer_ok_until;
            b.Event("wearer_ok", "wearer", "The wearer answered \"I'm OK\".");
            break;
        default:
            b.Event("wearer_ok", "wearer", "The wearer answered \"I'm OK\".");
            break;
    }
    if (i.guardians_notified_at) b.Notify(Notice::kGuardiansWearerOk);
    return b.Finish();
}

Result<Transition> GuardianAck(const EscalationPolicy&, const Incident& incident, const std::string& guardian,
                               TimePoint now) {
    if (!incident.open()) return Closed(incident);
    Builder b(incident, now);
    Incident& i = b.incident();
    if (i.acknowledged_at) return b.Finish();
    i.acknowledged_at = now;
    i.acknowledged_by = guardian;
    i.next_reraise_at.reset();
    if (i.phase == IncidentPhase::kCountdown) {
        i.phase = IncidentPhase::kGuardians;
        i.deadline.reset();
        b.Event("acknowledged", guardian, guardian + " acknowledged; the emergency call was cancelled.");
    } else {
        if (i.phase == IncidentPhase::kGuidance) {
            i.phase = IncidentPhase::kGuardians;
            i.escalate_at.reset();
            if (!i.guardians_notified_at) i.guardians_notified_at = now;
        }
        b.Event("acknowledged", guardian, guardian + " acknowledged.");
    }
    b.Notify(Notice::kWearerGuardianAcked);
    return b.Finish();
}

Result<Transition> Snooze(const EscalationPolicy& policy, const Incident& incident, const std::string& guardian,
                          Milliseconds length, TimePoint now) {
    if (!incident.open()) return Closed(incident);
    if (incident.level == Level::kDanger || incident.max_level == Level::kDanger) {
        return Status::Error(ErrorCode::kConflict,
                             "A danger-level incident cannot be snoozed; acknowledge it instead.");
    }
    if (length < kMinute || length > policy.max_snooze) {
        return Status::Error(
            ErrorCode::kValidationFailed, "The snooze length is out of range.",
            {{"minutes", "must be between 1 and " + std::to_string(policy.max_snooze.count() / 60000)}});
    }
    Builder b(incident, now);
    Incident& i = b.incident();
    i.snoozed_until = now + length;
    if (i.next_reraise_at && *i.next_reraise_at < *i.snoozed_until) i.next_reraise_at = *i.snoozed_until;
    if (i.escalate_at && *i.escalate_at < *i.snoozed_until) i.escalate_at = *i.snoozed_until;
    b.Event("snoozed", guardian,
            guardian + " snoozed reminders for " + std::to_string(length.count() / 60000) +
                " min (a rise to danger ends the snooze).");
    return b.Finish();
}

Result<Transition> Resolve(const EscalationPolicy&, const Incident& incident, const std::string& actor, TimePoint now) {
    if (!incident.open()) return Closed(incident);
    Builder b(incident, now);
    Close(b, CloseReason::kResolved, actor, "Closed by " + actor + ".", now);
    return b.Finish();
}

}  // namespace vg::escalation
