#include "vg/escalation/escalation_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <span>
#include <utility>

#include "vg/escalation/phone_verification.hpp"
#include "vg/messages/verdict_text.hpp"
#include "vg/notify/emergency.hpp"
#include "vg/tz/tz.hpp"

namespace vg::escalation {

using domain::Incident;
using domain::Level;
using domain::Metric;

namespace {

constexpr int kMaxConflictRetries = 5;

bool Korean(const EscalationServiceOptions& o) { return o.language != "en"; }

messages::Language LanguageOf(bool ko) { return ko ? messages::Language::kKorean : messages::Language::kEnglish; }

std::string LevelWord(Level l, bool ko) { return std::string(messages::LevelWord(l, LanguageOf(ko))); }

// What the values say, for people: Korean from the message catalogue (the rules' own explanation is
// English); English keeps the rules' explanation, which has the numbers.
std::string WhatWasFound(const Incident& i, bool ko, std::span<const std::pair<Metric, double>> values) {
    if (!ko) return i.explanation;
    return messages::VerdictSummary(i.causes, i.rules, messages::Language::kKorean, values);
}

// The values that decided a verdict, one per metric (a trend's value is its % change, a silence's its
// seconds: neither is a measurement).
std::vector<std::pair<Metric, double>> ValuesOf(const domain::Detection& d) {
    std::vector<std::pair<Metric, double>> out;
    for (const domain::FiredRule& f : d.fired) {
        if (f.level != d.level || f.kind == "trend" || f.kind == "signal_loss") continue;
        const bool seen = std::any_of(out.begin(), out.end(), [&](const auto& v) { return v.first == f.metric; });
        if (!seen) out.emplace_back(f.metric, f.value);
    }
    return out;
}

std::string Link(const EscalationServiceOptions& o, const Incident& i) {
    if (o.base_url.empty()) return {};
    return o.base_url + "/incidents/" + std::to_string(i.id);
}

// `with_alert`: the same transition alerts the guardians too (an SOS dispatched at once says so in its alert).
std::string GuardianText(Notice n, const Incident& i, const std::string& name, const std::string& link, bool ko,
                         bool with_alert, std::span<const std::pair<Metric, double>> values) {
    const std::string who = ko ? name + "님" : name;
    std::string text = "[VitalGuard] ";
    switch (n) {
        case Notice::kGuardiansAlert:
            if (i.kind == domain::IncidentKind::kSos && i.dispatched_at) {
                text +=
                    ko ? who + "이(가) SOS를 눌렀습니다. 119에 신고되었습니다." : who + " pressed SOS; 119 was called.";
            } else if (i.kind == domain::IncidentKind::kSos) {
                text += ko ? who + "이(가) SOS를 눌렀습니다." : who + " pressed SOS.";
            } else if (i.kind == domain::IncidentKind::kFall) {
                text += ko ? who + "의 낙상이 감지되었습니다." : "A fall of " + who + " was detected.";
            } else {
                text += ko ? who + " 상태 " + LevelWord(i.level, ko) + ": " + WhatWasFound(i, ko, values)
                           : who + " is at " + LevelWord(i.level, ko) + ": " + WhatWasFound(i, ko, values);
            }
            if (i.deadline) {
                text += ko ? " 응답이 없으면 곧 119에 신고합니다. 확인하시면 '확인'을 눌러 주세요."
                           : " Unless someone answers, 119 is called shortly. Please acknowledge.";
            }
            break;
        case Notice::kGuardiansReminder:
            text += ko ? "아직 확인되지 않았습니다: " + who + " 상태 " + LevelWord(i.level, ko) + ". " +
                             WhatWasFound(i, ko, values)
                       : "Still not acknowledged: " + who + " is at " + LevelWord(i.level, ko) + ". " +
                             WhatWasFound(i, ko, values);
            break;
        case Notice::kGuardiansDispatched:
            text += ko ? who + "에게 응답이 없어 119에 신고했습니다." : "No answer from " + who + "; 119 was called.";
            if (i.kind == domain::IncidentKind::kSos && with_alert) return {};  // the alert said so already
            break;
        case Notice::kGuardiansWearerOk:
            text += ko ? who + "이(가) '괜찮아요'라고 응답했습니다." : who + " answered \"I'm OK\".";
            break;
        case Notice::kGuardiansAllClear:
            text += ko ? who + "의 상태가 정상으로 돌아왔습니다." : who + " is back to normal.";
            break;
        default:
            return {};
    }
    if (!link.empty()) text += " " + link;
    return text;
}

// "2026-11-23 16:30 (UTC+09:00)": the wearer's local time in their IANA zone, as the emergency report
// writes it.
std::string LocalTimeText(TimePoint t, const std::string& time_zone) {
    const tz::LocalTime local = tz::ToLocal(t, time_zone);
    return local.date + " " + local.time + " (" + local.offset + ")";
}

// The e-mail of a guardian notice: the SMS text (`text`, which says who and what, with the link), and
// when it began in the wearer's local time and where the wearer lives. Subject and body are plain text;
// the channel encodes them (RFC 2047 / base64), and the name is stripped of invisible characters.
struct GuardianEmail {
    std::string subject;
    std::string body;
};
GuardianEmail GuardianEmailFor(Notice n, const Incident& i, const std::string& name, const std::string& address,
                               const std::string& text, const std::string& link, bool ko, TimePoint now,
                               const std::string& time_zone) {
    const std::string who = ko ? name + "님" : name;
    std::string what;
    switch (n) {
        case Notice::kGuardiansAlert:
            if (i.kind == domain::IncidentKind::kSos) {
                what = "SOS";
            } else if (i.kind == domain::IncidentKind::kFall) {
                what = ko ? "낙상 감지" : "fall detected";
            } else {
                what = ko ? LevelWord(i.level, ko) + " 알림" : LevelWord(i.level, ko);
            }
            break;
        case Notice::kGuardiansReminder:
            what = ko ? "아직 확인되지 않음" : "still not acknowledged";
            break;
        case Notice::kGuardiansDispatched:
            what = ko ? "119 신고됨" : "119 was called";
            break;
        case Notice::kGuardiansWearerOk:
            what = ko ? "'괜찮아요' 응답" : "answered I'm OK";
            break;
        case Notice::kGuardiansAllClear:
            what = ko ? "정상으로 돌아옴" : "back to normal";
            break;
        default:
            what = ko ? "알림" : "notice";
    }
    GuardianEmail mail;
    mail.subject = "[VitalGuard] " + who + ": " + what;
    std::string body = text.rfind("[VitalGuard] ", 0) == 0 ? text.substr(13) : text;
    if (!link.empty() && body.size() >= link.size() + 1 &&
        body.compare(body.size() - link.size(), link.size(), link) == 0) {
        body.resize(body.size() - link.size() - 1);  // the link gets a line of its own below
    }
    body += "\n\n";
    body += (ko ? "발생 시각: " : "Began at: ") + LocalTimeText(i.opened_at, time_zone) + "\n";
    if (now != i.opened_at) body += (ko ? "이 알림 시각: " : "This notice at: ") + LocalTimeText(now, time_zone) + "\n";
    if (!address.empty()) body += (ko ? "주소: " : "Address: ") + address + "\n";
    if (!link.empty()) body += (ko ? "대시보드: " : "Dashboard: ") + link + "\n";
    body += ko ? "\n이 메일은 VitalGuard 보호자 알림입니다. 이 주소는 인증번호로 확인되었습니다.\n"
               : "\nThis is a VitalGuard guardian alert; this address was confirmed with a code.\n";
    mail.body = std::move(body);
    return mail;
}

std::vector<notify::EmergencyCause> EmergencyCauses(const Incident& i) {
    std::vector<notify::EmergencyCause> out;
    if (i.kind == domain::IncidentKind::kSos) out.push_back(notify::EmergencyCause::kManualSos);
    if (i.kind == domain::IncidentKind::kFall) out.push_back(notify::EmergencyCause::kFall);
    for (const std::string& rule : i.rules) {
        const bool high = rule.find(".high") != std::string::npos || rule.find(".rise") != std::string::npos;
        const bool low = rule.find(".low") != std::string::npos || rule.find(".fall") != std::string::npos;
        auto add = [&](notify::EmergencyCause c) {
            if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
        };
        if (rule.rfind("heart_rate", 0) == 0 && high) add(notify::EmergencyCause::kHeartRateHigh);
        if (rule.rfind("heart_rate", 0) == 0 && low) add(notify::EmergencyCause::kHeartRateLow);
        if (rule.rfind("spo2", 0) == 0) add(notify::EmergencyCause::kSpo2Low);
        if (rule.rfind("respiration_rate", 0) == 0 && high) add(notify::EmergencyCause::kRespiratoryRateHigh);
        if (rule.rfind("respiration_rate", 0) == 0 && low) add(notify::EmergencyCause::kRespiratoryRateLow);
        if (rule.rfind("skin_temp", 0) == 0 && high) add(notify::EmergencyCause::kTemperatureHigh);
        if (rule.rfind("skin_temp", 0) == 0 && low) add(notify::EmergencyCause::kTemperatureLow);
        if (rule.rfind("glucose", 0) == 0 && high) add(notify::EmergencyCause::kGlucoseHigh);
        if (rule.rfind("glucose", 0) == 0 && low) add(notify::EmergencyCause::kGlucoseLow);
        if (rule.find("signal_loss") != std::string::npos) add(notify::EmergencyCause::kSignalLoss);
    }
    if (i.kind == domain::IncidentKind::kVitals || i.kind == domain::IncidentKind::kFall) {
        out.push_back(notify::EmergencyCause::kNoResponse);
    }
    return out;
}

// "010-****-5432": enough for the wearer to recognise the number, not to read it.
std::string MaskedPhone(const std::string& phone) {
    std::string out = phone;
    int total = 0;
    for (char c : out) total += std::isdigit(static_cast<unsigned char>(c)) ? 1 : 0;
    int seen = 0;
    for (char& c : out) {
        if (!std::isdigit(static_cast<unsigned char>(c))) continue;
        ++seen;
        if (seen > 3 && seen <= total - 4) c = '*';
    }
    return out;
}

constexpr Milliseconds kHour{60 * 60 * 1000};

// Whole seconds, at least 1, until `t`.
int SecondsUntil(TimePoint t, TimePoint now) {
    const auto ms = std::chrono::duration_cast<Milliseconds>(t - now).count();
    return static_cast<int>(std::max<int64_t>(1, (ms + 999) / 1000));
}

}  // namespace

EscalationService::EscalationService(store::Store& store, const Clock& clock, EscalationServiceOptions options,
                                     IncidentListener on_change, std::function<void()> on_outbox)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      on_outbox_(std::move(on_outbox)) {}

EscalationService::~EscalationService() { Stop(); }

void EscalationService::Start() {
    std::lock_guard lock(run_mu_);
    if (ticker_.joinable()) return;
    stopping_ = false;
    ticker_ = std::thread([this] { Run(); });
}

void EscalationService::Stop() {
    {
        std::lock_guard lock(run_mu_);
        stopping_ = true;
    }
    run_cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
}

void EscalationService::Run() {
    std::unique_lock lock(run_mu_);
    while (!stopping_) {
        lock.unlock();
        TickOnce(clock_.Now());
        lock.lock();
        run_cv_.wait_for(lock, options_.tick, [this] { return stopping_; });
    }
}

size_t EscalationService::TickOnce(TimePoint now) {
    auto due = store_.DueIncidents(now, 1000);
    if (!due.ok()) {
        spdlog::error("escalation: reading due incidents failed: {}", due.status().ToString());
        return 0;
    }
    size_t applied = 0;
    for (const Incident& i : due.value()) {
        auto r = ApplyToIncident(i.id, [&](const std::optional<Incident>& open) -> std::optional<Result<Transition>> {
            if (!open) return std::nullopt;
            auto t = OnTick(options_.policy, *open, now);
            if (!t) return std::nullopt;
            return Result<Transition>(std::move(*t));
        });
        if (r.ok()) {
            ++applied;
        } else if (r.status().code() != ErrorCode::kNotFound) {
            spdlog::error("escalation: tick of incident {} failed: {}", i.id, r.status().ToString());
        }
    }
    return applied;
}

namespace {

VerdictInput ToVerdictInput(const domain::Detection& d, bool signal_loss) {
    VerdictInput v;
    v.level = d.level;
    v.advice_only = d.advice_only;
    v.signal_loss = signal_loss;
    v.causes = d.causes;
    for (const auto& f : d.fired) {
        if (f.level == d.level && f.kind != "hysteresis") v.rules.push_back(f.rule);
    }
    if (v.rules.empty()) {
        for (const auto& f : d.fired) v.rules.push_back(f.rule);
    }
    v.explanation = d.explanation;
    return v;
}

// A silence verdict carries the levels its last reading held (a danger stays until it has been out of
// range for a while). When that reading is older than escalate_within — the last of a watch's backlog,
// hours old — those levels speak of the past: with no incident open, the verdict opens only what the
// silence itself is (the signal-loss rule's level, "check the watch"), never a countdown for an old
// danger. An open incident is left to the verdict as it is (a silence never closes or lowers it).
VerdictInput ForEscalation(const domain::Detection& d, bool signal_loss, bool incident_open,
                           Milliseconds escalate_within) {
    VerdictInput v = ToVerdictInput(d, signal_loss);
    if (!signal_loss || incident_open || escalate_within == Milliseconds{0}) return v;
    const auto silence = std::find_if(d.fired.begin(), d.fired.end(),
                                      [](const domain::FiredRule& f) { return f.kind == "signal_loss"; });
    if (silence == d.fired.end() || silence->value * 1000 <= static_cast<double>(escalate_within.count()) ||
        silence->level >= d.level) {
        return v;
    }
    v.level = silence->level;
    v.causes.clear();
    v.rules = {silence->rule};
    // Its own sentence of the explanation ("No readings for 2 h 50 min: check that the watch is ...").
    const size_t from = d.explanation.find("No readings for");
    if (from != std::string::npos) {
        const size_t end = d.explanation.find(". ", from);
        v.explanation = d.explanation.substr(from, end == std::string::npos ? std::string::npos : end + 1 - from);
    }
    return v;
}

}  // namespace

bool EscalationService::KnownNothingOpen(int64_t wearer) {
    std::lock_guard lock(open_mu_);
    auto it = has_open_.find(wearer);
    if (it == has_open_.end() || it->second.open) return false;
    if (options_.cache_open_incidents) return true;
    return options_.nothing_open_memory.count() > 0 &&
           clock_.Now() - it->second.learnt_at < options_.nothing_open_memory;
}

void EscalationService::Learn(int64_t wearer, bool open) {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(open_mu_);
    has_open_[wearer] = OpenKnowledge{open, now};
}

bool EscalationService::Past(TimePoint measured_at) const {
    const Milliseconds limit = options_.policy.escalate_within;
    return limit != Milliseconds{0} && clock_.Now() - measured_at > limit;
}

void EscalationService::OnVerdict(int64_t wearer, const domain::Detection& d, bool signal_loss,
                                  std::optional<TimePoint> measured_at) {
    if ((d.level == Level::kNormal || d.advice_only) && KnownNothingOpen(wearer)) {
        return;  // the common case: nothing open, all normal
    }
    if (measured_at && Past(*measured_at)) {
        past_verdicts_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const TimePoint now = clock_.Now();
    auto r = Apply(wearer, std::nullopt, [&](const std::optional<Incident>& open) -> std::optional<Result<Transition>> {
        const VerdictInput v = ForEscalation(d, signal_loss, open && open->open(), options_.policy.escalate_within);
        auto t = escalation::OnVerdict(options_.policy, open, wearer, v, now);
        if (!t) return std::nullopt;
        t->values = ValuesOf(d);
        return Result<Transition>(std::move(*t));
    });
    if (!r.ok()) spdlog::error("escalation: verdict for wearer {} failed: {}", wearer, r.status().ToString());
}

Result<std::optional<PreparedTransition>> EscalationService::PrepareVerdict(int64_t wearer, const domain::Detection& d,
                                                                            bool signal_loss,
                                                                            std::optional<TimePoint> measured_at) {
    if ((d.level == Level::kNormal || d.advice_only) && KnownNothingOpen(wearer)) {
        return std::optional<PreparedTransition>();  // nothing open, all normal
    }
    if (measured_at && Past(*measured_at)) {
        past_verdicts_.fetch_add(1, std::memory_order_relaxed);
        return std::optional<PreparedTransition>();  // a backlog's verdict: recorded, not escalated
    }
    std::lock_guard stripe(StripeFor(wearer));
    auto open = store_.FindOpenIncident(wearer);
    if (!open.ok()) return open.status();
    const std::optional<Incident>& current = *open;
    const VerdictInput v = ForEscalation(d, signal_loss, current && current->open(), options_.policy.escalate_within);
    const TimePoint now = clock_.Now();
    std::optional<Transition> stepped = escalation::OnVerdict(options_.policy, current, wearer, v, now);
    if (!stepped) {
        Learn(wearer, current && current->open());
        return std::optional<PreparedTransition>();
    }
    Transition& t = *stepped;
    t.values = ValuesOf(d);
    if (t.events.empty() && !t.opened && t.incident.escalate_at == (current ? current->escalate_at : std::nullopt) &&
        t.incident.next_reraise_at == (current ? current->next_reraise_at : std::nullopt)) {
        return std::optional<PreparedTransition>();  // idempotent repeat: nothing to store
    }
    WithholdDispatchOverLimit(t, now);
    PreparedTransition prepared;
    prepared.wearer = wearer;
    prepared.write.outbox = Messages(t.incident, t, std::nullopt, now);
    prepared.write.incident = t.incident;
    prepared.write.events = t.events;
    prepared.notices = t.notices;
    prepared.opened = t.opened;
    return std::optional<PreparedTransition>(std::move(prepared));
}

Result<Incident> EscalationService::Committed(const PreparedTransition& prepared) {
    Incident saved = prepared.write.incident;
    if (saved.id != 0) {
        saved.version += 1;  // as SaveIncident stored it
    } else {
        // A new incident: its id is the store's; it is the wearer's open one (a transition of someone else
        // that closed it since would have needed this id).
        auto open = store_.FindOpenIncident(prepared.wearer);
        if (!open.ok()) return open.status();
        if (!open->has_value()) {
            return Status::Error(ErrorCode::kNotFound,
                                 "the incident opened for wearer " + std::to_string(prepared.wearer) + " is not open");
        }
        saved = std::move(**open);
    }
    Transition t;
    t.incident = saved;
    t.events = prepared.write.events;
    t.notices = prepared.notices;
    t.opened = prepared.opened;
    Announce(saved, t, !prepared.write.outbox.empty());
    return saved;
}

void EscalationService::Announce(const Incident& saved, const Transition& t, bool has_messages) {
    Learn(saved.wearer, saved.open());
    if (has_messages && on_outbox_) on_outbox_();
    if (on_change_) on_change_(saved, t.notices);
    if (t.opened || std::find(t.notices.begin(), t.notices.end(), Notice::kEmergencyDispatch) != t.notices.end()) {
        spdlog::warn("incident {} of wearer {}: {} ({})", saved.id, saved.wearer,
                     domain::IncidentPhaseName(saved.phase), saved.explanation);
    }
}

Result<Incident> EscalationService::ApplyToIncident(int64_t incident_id, const Step& step) {
    auto found = store_.FindIncident(incident_id);
    if (!found.ok()) return found.status();
    auto r = Apply(found->wearer, incident_id, step);
    if (!r.ok()) return r.status();
    if (r->has_value()) return std::move(**r);
    auto reread = store_.FindIncident(incident_id);
    return reread;
}

Result<Incident> EscalationService::WearerOk(int64_t incident_id) {
    const TimePoint now = clock_.Now();
    return ApplyToIncident(incident_id, [&](const std::optional<Incident>& i) -> std::optional<Result<Transition>> {
        if (!i) return Result<Transition>(Status::Error(ErrorCode::kNotFound, "incident not found"));
        return escalation::WearerOk(options_.policy, *i, now);
    });
}

Result<Incident> EscalationService::GuardianAck(int64_t incident_id, const std::string& guardian) {
    const TimePoint now = clock_.Now();
    return ApplyToIncident(incident_id, [&](const std::optional<Incident>& i) -> std::optional<Result<Transition>> {
        if (!i) return Result<Transition>(Status::Error(ErrorCode::kNotFound, "incident not found"));
        return escalation::GuardianAck(options_.policy, *i, guardian, now);
    });
}

Result<Incident> EscalationService::Snooze(int64_t incident_id, const std::string& guardian, Milliseconds length) {
    const TimePoint now = clock_.Now();
    return ApplyToIncident(incident_id, [&](const std::optional<Incident>& i) -> std::optional<Result<Transition>> {
        if (!i) return Result<Transition>(Status::Error(ErrorCode::kNotFound, "incident not found"));
        return escalation::Snooze(options_.policy, *i, guardian, length, now);
    });
}

Result<Incident> EscalationService::Resolve(int64_t incident_id, const std::string& actor) {
    const TimePoint now = clock_.Now();
    return ApplyToIncident(incident_id, [&](const std::optional<Incident>& i) -> std::optional<Result<Transition>> {
        if (!i) return Result<Transition>(Status::Error(ErrorCode::kNotFound, "incident not found"));
        return escalation::Resolve(options_.policy, *i, actor, now);
    });
}

Result<bool> EscalationService::Established(const domain::User& user, TimePoint now) {
    if (now - user.created_at < options_.limits.new_account_age) return false;
    for (const std::string* phone : {&user.profile.guard_phone_num, &user.profile.phone_num}) {
        if (phone->empty()) continue;
        auto verified = store_.IsPhoneVerified(user.unique_num, domain::PhoneKey(*phone));
        if (!verified.ok()) return verified.status();
        if (*verified) return true;
    }
    return false;
}

Status EscalationService::CheckSosLimits(int64_t wearer, TimePoint now) {
    auto recent = store_.ListIncidents(wearer, 200);
    if (!recent.ok()) return recent.status();
    const TimePoint hour_ago = now - kHour;
    std::vector<TimePoint> sos, calls;
    for (const Incident& i : *recent) {
        if (i.kind == domain::IncidentKind::kSos && i.opened_at > hour_ago) sos.push_back(i.opened_at);
        if (i.dispatched_at && *i.dispatched_at > hour_ago) calls.push_back(*i.dispatched_at);
    }
    auto refuse = [&](std::vector<TimePoint>& times, int limit, const std::string& what) {
        std::sort(times.begin(), times.end());
        // The hour frees a place when the oldest of the last `limit` leaves it.
        const TimePoint frees = times[times.size() - static_cast<size_t>(limit)] + kHour;
        spdlog::warn("escalation: SOS of wearer {} refused: {} ({} in the last hour)", wearer, what, times.size());
        return Status::Error(ErrorCode::kRateLimited,
                             "At most " + what +
                                 " per account; this account reached it. If this is an emergency, "
                                 "call 119 directly.")
            .WithRetryAfter(SecondsUntil(frees, now));
    };
    const SosLimits& l = options_.limits;
    if (static_cast<int>(sos.size()) >= l.max_sos_per_hour) {
        return refuse(sos, l.max_sos_per_hour, std::to_string(l.max_sos_per_hour) + " SOS an hour");
    }
    if (static_cast<int>(calls.size()) >= l.max_dispatches_per_hour) {
        return refuse(calls, l.max_dispatches_per_hour,
                      std::to_string(l.max_dispatches_per_hour) + " emergency calls (119) an hour");
    }
    return Status::Ok();
}

void EscalationService::WithholdDispatchOverLimit(Transition& t, TimePoint now) {
    if (std::find(t.notices.begin(), t.notices.end(), Notice::kEmergencyDispatch) == t.notices.end()) return;
    auto recent = store_.ListIncidents(t.incident.wearer, 200);
    if (!recent.ok()) return;  // cannot tell: a life may depend on the call, so it goes out
    int calls = 0;
    for (const Incident& i : *recent) {
        if (i.id != t.incident.id && i.dispatched_at && *i.dispatched_at > now - kHour) ++calls;
    }
    const int limit = options_.limits.max_dispatches_per_hour;
    if (calls < limit) return;
    std::erase_if(t.notices,
                  [](Notice n) { return n == Notice::kEmergencyDispatch || n == Notice::kGuardiansDispatched; });
    std::erase_if(t.events, [](const domain::IncidentEvent& e) { return e.type == "dispatched"; });
    t.incident.phase = domain::IncidentPhase::kGuardians;
    t.incident.dispatched_at.reset();
    t.incident.deadline.reset();
    domain::IncidentEvent e;
    e.incident_id = t.incident.id;
    e.at = now;
    e.type = "dispatch_refused";
    e.actor = "system";
    e.detail = "The emergency call was not made: at most " + std::to_string(limit) +
               " emergency calls (119) an hour per account, and this account made " + std::to_string(calls) +
               " in the last hour. The guardians were told.";
    t.events.push_back(std::move(e));
    dispatches_refused_.fetch_add(1);
    spdlog::error("escalation: emergency call of incident {} (wearer {}) refused: {} calls in the last hour (limit {})",
                  t.incident.id, t.incident.wearer, calls, limit);
}

Result<Incident> EscalationService::Sos(int64_t wearer, std::optional<Location> location) {
    const TimePoint now = clock_.Now();
    auto user = store_.FindUserByUniqueNum(wearer);
    if (!user.ok()) return user.status();
    auto established = Established(*user, now);
    if (!established.ok()) return established.status();
    auto r = Apply(
        wearer, std::nullopt,
        [&](const std::optional<Incident>& open) -> std::optional<Result<Transition>> {
            // Pressing again while an incident is open joins it: never refused, never a second call.
            if (!open || !open->open()) {
                if (Status s = CheckSosLimits(wearer, now); !s.ok()) return Result<Transition>(s);
            }
            Transition t = OnSos(options_.policy, open, wearer, now, *established);
            if (location) {
                // Kept with the incident: a call made when the countdown runs out sends it too.
                domain::IncidentEvent e;
                e.incident_id = t.incident.id;
                e.at = now;
                e.type = "location";
                e.actor = "wearer";
                char text[96];
                std::snprintf(text, sizeof text, "%.6f,%.6f,%.1f", location->latitude, location->longitude,
                              location->accuracy_m.value_or(-1));
                e.detail = text;
                t.events.push_back(std::move(e));
            }
            return Result<Transition>(std::move(t));
        },
        location);
    if (!r.ok()) return r.status();
    if (!r->has_value()) return Status::Error(ErrorCode::kInternal, "SOS changed nothing");
    return std::move(**r);
}

Result<std::optional<Incident>> EscalationService::Fall(int64_t wearer, std::optional<TimePoint> impact_at) {
    if (impact_at && Past(*impact_at)) {
        past_falls_.fetch_add(1, std::memory_order_relaxed);
        return std::optional<Incident>();
    }
    auto opened = Fall(wearer);
    if (!opened.ok()) return opened.status();
    return std::optional<Incident>(std::move(opened).value());
}

Result<Incident> EscalationService::Fall(int64_t wearer) {
    const TimePoint now = clock_.Now();
    auto r = Apply(wearer, std::nullopt, [&](const std::optional<Incident>& open) -> std::optional<Result<Transition>> {
        return Result<Transition>(OnFall(options_.policy, open, wearer, now));
    });
    if (!r.ok()) return r.status();
    if (!r->has_value()) return Status::Error(ErrorCode::kInternal, "the fall changed nothing");
    return std::move(**r);
}

Result<std::optional<Incident>> EscalationService::Apply(int64_t wearer, std::optional<int64_t> incident_id,
                                                         const Step& step, const std::optional<Location>& location) {
    std::lock_guard stripe(StripeFor(wearer));
    for (int attempt = 0;; ++attempt) {
        std::optional<Incident> current;
        if (incident_id) {
            auto found = store_.FindIncident(*incident_id);
            if (!found.ok()) return found.status();
            current = std::move(found).value();
        } else {
            auto open = store_.FindOpenIncident(wearer);
            if (!open.ok()) return open.status();
            current = std::move(open).value();
        }
        std::optional<Result<Transition>> stepped = step(current);
        if (!stepped) {
            // What a step on a given incident found says nothing about whether another is open.
            if (!incident_id) Learn(wearer, current && current->open());
            return std::optional<Incident>();
        }
        if (!stepped->ok()) return stepped->status();
        Transition t = std::move(*stepped).value();
        if (t.events.empty() && !t.opened &&
            t.incident.escalate_at == (current ? current->escalate_at : std::nullopt) &&
            t.incident.next_reraise_at == (current ? current->next_reraise_at : std::nullopt)) {
            return std::optional<Incident>(t.incident);  // idempotent repeat: nothing to store
        }
        const TimePoint now = clock_.Now();
        WithholdDispatchOverLimit(t, now);
        std::vector<store::NewOutboxMessage> messages = Messages(t.incident, t, location, now);
        auto saved = store_.SaveIncident(t.incident, t.events, messages);
        if (!saved.ok()) {
            if (saved.status().code() == ErrorCode::kConflict && attempt < kMaxConflictRetries) continue;
            return saved.status();
        }
        Announce(*saved, t, !messages.empty());
        return std::optional<Incident>(std::move(saved).value());
    }
}

std::vector<store::NewOutboxMessage> EscalationService::Messages(const Incident& i, Transition& t,
                                                                 const std::optional<Location>& location,
                                                                 TimePoint now) {
    std::vector<store::NewOutboxMessage> out;
    bool needs_people = false;
    for (Notice n : t.notices) {
        needs_people = needs_people || (n != Notice::kWearerGuidance && n != Notice::kWearerCountdown &&
                                        n != Notice::kWearerGuardianAcked);
    }
    if (!needs_people) return out;
    auto user = store_.FindUserByUniqueNum(i.wearer);
    if (!user.ok()) {
        spdlog::error("escalation: wearer {} not found for messages: {}", i.wearer, user.status().ToString());
        return out;
    }
    const bool ko = Korean(options_);
    const std::string link = i.id != 0 ? Link(options_, i) : std::string();
    // Text stored before sign-up refused invisible characters must not disguise a message either.
    const std::string name = domain::WithoutInvisibleCharacters(user->profile.name);
    // Stable per transition: a retried save of the same transition writes nothing twice.
    const std::string key_base = "inc-" + std::to_string(i.wearer) + "-" + std::to_string(ToUnixMillis(i.opened_at)) +
                                 "-v" + std::to_string(i.version);
    auto add = [&](std::string channel, std::string recipient, std::string subject, std::string body,
                   std::string payload, std::string key) {
        store::NewOutboxMessage m;
        m.channel = std::move(channel);
        m.recipient = std::move(recipient);
        m.subject = std::move(subject);
        m.body = std::move(body);
        m.payload_json = std::move(payload);
        m.idempotency_key = std::move(key);
        m.created_at = now;
        m.next_attempt_at = now;
        out.push_back(std::move(m));
    };
    std::vector<store::GuardianLink> guardians;
    if (auto g = store_.ActiveGuardians(i.wearer); g.ok()) {
        guardians = std::move(g).value();
    } else {
        spdlog::error("escalation: guardians of wearer {} unreadable: {}", i.wearer, g.status().ToString());
    }
    // SMS only to numbers their owners verified (a code sent to the number, entered by its owner): nobody
    // can point VitalGuard's messages at a stranger's phone. The others are reached on the channels that
    // need no verification (dashboard, live stream, operator webhook).
    std::vector<std::pair<std::string, int64_t>> sms_to;  // (number, guardian account or 0 for the contact)
    std::vector<std::string> skipped;
    auto verified = [&](int64_t owner, const std::string& phone) {
        auto v = store_.IsPhoneVerified(owner, domain::PhoneKey(phone));
        if (!v.ok()) spdlog::error("escalation: verification of a number unreadable: {}", v.status().ToString());
        return v.ok() && *v;
    };
    if (!user->profile.guard_phone_num.empty()) {
        if (verified(i.wearer, user->profile.guard_phone_num)) {
            sms_to.emplace_back(user->profile.guard_phone_num, 0);
        } else {
            skipped.push_back(user->profile.guard_phone_num);
        }
    }
    for (const store::GuardianLink& g : guardians) {
        // The registered contact may also have an account: one SMS per number.
        if (g.guardian_phone.empty() ||
            domain::PhoneKey(g.guardian_phone) == domain::PhoneKey(user->profile.guard_phone_num)) {
            continue;
        }
        if (verified(g.guardian, g.guardian_phone)) {
            sms_to.emplace_back(g.guardian_phone, g.guardian);
        } else {
            skipped.push_back(g.guardian_phone);
        }
    }
    // E-mail likewise only to a guard_email its owner verified, and only with an e-mail channel.
    std::string email_to;
    if (options_.email_enabled && !user->profile.guard_email.empty()) {
        auto v = store_.IsPhoneVerified(i.wearer, EmailKey(user->profile.guard_email));
        if (!v.ok()) spdlog::error("escalation: verification of an e-mail unreadable: {}", v.status().ToString());
        if (v.ok() && *v) email_to = user->profile.guard_email;
    }
    const bool with_alert = std::find(t.notices.begin(), t.notices.end(), Notice::kGuardiansAlert) != t.notices.end();
    if (with_alert && options_.email_enabled && !user->profile.guard_email.empty() && email_to.empty()) {
        const std::string& a = user->profile.guard_email;
        domain::IncidentEvent e;
        e.incident_id = i.id;
        e.at = now;
        e.type = "email_skipped";
        e.actor = "system";
        e.detail = "No e-mail to " + a.substr(0, 1) + "***" + a.substr(a.rfind('@')) +
                   ": the address is not verified (its owner has not entered the code sent to it).";
        t.events.push_back(std::move(e));
    }
    if (with_alert) {
        for (const std::string& phone : skipped) {
            domain::IncidentEvent e;
            e.incident_id = i.id;
            e.at = now;
            e.type = "sms_skipped";
            e.actor = "system";
            e.detail = "No SMS to " + MaskedPhone(phone) +
                       ": the number is not verified (its owner has not entered the code sent to it). Guardians "
                       "are told on the dashboard and the live stream.";
            t.events.push_back(std::move(e));
        }
    }
    for (Notice n : t.notices) {
        if (n == Notice::kEmergencyDispatch) {
            notify::EmergencyReport report;
            report.incident_id = std::to_string(i.wearer) + "-" + std::to_string(ToUnixMillis(i.opened_at));
            report.wearer_name = name;
            report.age = user->profile.age;
            report.address = domain::WithoutInvisibleCharacters(user->profile.address);
            if (!user->profile.detailed_address.empty()) {
                report.address += " " + domain::WithoutInvisibleCharacters(user->profile.detailed_address);
            }
            report.phone = user->profile.phone_num;
            report.time_zone = user->profile.time_zone;
            if (location) {
                notify::GeoLocation g;
                g.latitude = location->latitude;
                g.longitude = location->longitude;
                g.accuracy_m = location->accuracy_m;
                g.at = now;
                report.location = g;
            } else if (i.id != 0) {
                // The countdown ran out: the location the SOS sent, as stored with the incident.
                if (auto events = store_.IncidentEvents(i.id); events.ok()) {
                    for (auto it = events->rbegin(); it != events->rend(); ++it) {
                        if (it->type != "location") continue;
                        notify::GeoLocation g;
                        double accuracy = -1;
                        if (std::sscanf(it->detail.c_str(), "%lf,%lf,%lf", &g.latitude, &g.longitude, &accuracy) >= 2) {
                            if (accuracy >= 0) g.accuracy_m = accuracy;
                            g.at = it->at;
                            report.location = g;
                        }
                        break;
                    }
                }
            }
            auto last = store_.RecentReadings(i.wearer, 1);
            if (last.ok() && !last->empty()) {
                const domain::VitalsReading& r = last->front().reading;
                report.vitals.heart_rate_bpm = r.get(Metric::kHeartRate);
                report.vitals.spo2_percent = r.get(Metric::kSpo2);
                report.vitals.respiratory_rate_per_min = r.get(Metric::kRespirationRate);
                report.vitals.skin_temperature_c = r.get(Metric::kSkinTemp);
                report.vitals.glucose_mg_dl = r.get(Metric::kGlucose);
            }
            report.causes = EmergencyCauses(i);
            report.detail = WhatWasFound(i, ko, t.values);
            report.detected_at = i.opened_at;
            report.link = link;
            const auto lang = ko ? notify::ReportLanguage::kKorean : notify::ReportLanguage::kEnglish;
            // One emergency call per incident, whatever happens: the key does not depend on the version.
            add("emergency", options_.emergency_recipient, ko ? "119 신고" : "Emergency report",
                notify::RenderEmergencyReport(report, lang), notify::EmergencyReportJson(report, lang),
                "inc-" + std::to_string(i.wearer) + "-" + std::to_string(ToUnixMillis(i.opened_at)) + "-dispatch");
            continue;
        }
        const std::string text = GuardianText(n, i, name, link, ko, with_alert, t.values);
        if (text.empty()) continue;
        const std::string purpose(NoticeName(n));
        for (const auto& [phone, guardian] : sms_to) {
            add("sms", phone, "VitalGuard", text, "",
                key_base + "-" + purpose +
                    (guardian == 0 ? std::string("-contact") : "-guardian-" + std::to_string(guardian)));
        }
        if (!email_to.empty()) {
            std::string address = domain::WithoutInvisibleCharacters(user->profile.address);
            if (!user->profile.detailed_address.empty()) {
                address += " " + domain::WithoutInvisibleCharacters(user->profile.detailed_address);
            }
            GuardianEmail mail = GuardianEmailFor(n, i, name, address, text, link, ko, now, user->profile.time_zone);
            // The SMS's key scheme with "-email": one e-mail per notice, however often the save is retried.
            add("email", email_to, std::move(mail.subject), std::move(mail.body), "",
                key_base + "-" + purpose + "-contact-email");
        }
        if (!options_.guardian_webhook_url.empty()) {
            boost::json::object payload{{"event", purpose},
                                        {"wearer", user->profile.id},
                                        {"incident_opened_at", FormatIso8601(i.opened_at)},
                                        {"phase", domain::IncidentPhaseName(i.phase)},
                                        {"status", static_cast<int>(i.level)},
                                        {"explanation", i.explanation},
                                        {"text", text}};
            add("webhook", options_.guardian_webhook_url, "VitalGuard " + purpose, text,
                boost::json::serialize(payload), key_base + "-" + purpose + "-webhook");
        }
    }
    return out;
}

}  // namespace vg::escalation
