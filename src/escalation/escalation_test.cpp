// Every path of the escalation state machine, on simulated time.
#include "vg/escalation/escalation.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace vg::escalation {
namespace {

using domain::Incident;
using domain::IncidentKind;
using domain::IncidentPhase;
using domain::Level;
using domain::Metric;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kT0 = FromUnixMillis(1'800'000'000'000);

VerdictInput Verdict(Level level, Metric cause = Metric::kHeartRate) {
    VerdictInput v;
    v.level = level;
    if (level != Level::kNormal) {
        v.causes = {cause};
        v.rules = {level == Level::kDanger ? "heart_rate.high.danger" : "heart_rate.high.moderate"};
        v.explanation = level == Level::kDanger ? "Heart rate 150 bpm is at or above 131 bpm."
                                                : "Heart rate 118 bpm is at or above 111 bpm.";
    }
    return v;
}

bool Has(const Transition& t, Notice n) { return std::find(t.notices.begin(), t.notices.end(), n) != t.notices.end(); }
bool HasEvent(const Transition& t, const std::string& type) {
    return std::any_of(t.events.begin(), t.events.end(), [&](const auto& e) { return e.type == type; });
}

class EscalationTest : public ::testing::Test {
  protected:
    // Feeds the clock forward second by second (as the service's ticker does) until `until`,
    // applying every transition; returns them.
    std::vector<Transition> TickUntil(Incident& i, TimePoint from, TimePoint until) {
        std::vector<Transition> out;
        for (TimePoint t = from; t <= until; t += seconds(1)) {
            if (auto tr = OnTick(policy_, i, t)) {
                i = tr->incident;
                out.push_back(std::move(*tr));
            }
        }
        return out;
    }
    static bool AnyHas(const std::vector<Transition>& ts, Notice n) {
        return std::any_of(ts.begin(), ts.end(), [&](const Transition& t) { return Has(t, n); });
    }
    static int CountNotice(const std::vector<Transition>& ts, Notice n) {
        return static_cast<int>(std::count_if(ts.begin(), ts.end(), [&](const Transition& t) { return Has(t, n); }));
    }
    Incident OpenDanger() {
        auto t = OnVerdict(policy_, std::nullopt, 7, Verdict(Level::kDanger), kT0);
        EXPECT_TRUE(t.has_value());
        return t->incident;
    }

    EscalationPolicy policy_;  // defaults: caution → guardians 10 min, countdown 60 s, re-raise 5 min
};

TEST_F(EscalationTest, PolicyDefaultsAreValidAndBadValuesNameTheField) {
    EXPECT_TRUE(ValidatePolicy(policy_).empty());
    EscalationPolicy bad;
    bad.countdown = seconds(1);
    const auto problems = ValidatePolicy(bad);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].field, "countdown");
}

TEST_F(EscalationTest, NormalVerdictsAndAdviceOpenNothing) {
    EXPECT_FALSE(OnVerdict(policy_, std::nullopt, 7, Verdict(Level::kNormal), kT0));
    VerdictInput advice = Verdict(Level::kCaution);
    advice.advice_only = true;
    EXPECT_FALSE(OnVerdict(policy_, std::nullopt, 7, advice, kT0));
}

TEST_F(EscalationTest, CautionGivesGuidanceThenGuardiansIfStillOpen) {
    auto t = OnVerdict(policy_, std::nullopt, 7, Verdict(Level::kCaution), kT0);
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->opened);
    EXPECT_EQ(t->incident.phase, IncidentPhase::kGuidance);
    EXPECT_TRUE(Has(*t, Notice::kWearerGuidance));
    EXPECT_FALSE(Has(*t, Notice::kGuardiansAlert));
    EXPECT_EQ(t->incident.NextDue(), kT0 + minutes(10));
    Incident i = t->incident;
    // The same caution again changes nothing.
    EXPECT_FALSE(OnVerdict(policy_, i, 7, Verdict(Level::kCaution), kT0 + minutes(1)));
    auto ticks = TickUntil(i, kT0, kT0 + minutes(10) - seconds(1));
    EXPECT_TRUE(ticks.empty());
    ticks = TickUntil(i, kT0 + minutes(10), kT0 + minutes(10));
    ASSERT_EQ(ticks.size(), 1u);
    EXPECT_TRUE(Has(ticks[0], Notice::kGuardiansAlert));
    EXPECT_EQ(i.phase, IncidentPhase::kGuardians);
    EXPECT_FALSE(i.deadline) << "caution never counts down to an emergency call";
}

TEST_F(EscalationTest, CautionThatRecoversClosesWithoutTellingGuardians) {
    auto t = OnVerdict(policy_, std::nullopt, 7, Verdict(Level::kCaution), kT0);
    auto closed = OnVerdict(policy_, t->incident, 7, Verdict(Level::kNormal), kT0 + minutes(5));
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->incident.phase, IncidentPhase::kClosed);
    EXPECT_EQ(closed->incident.close_reason, domain::CloseReason::kAllClear);
    EXPECT_FALSE(Has(*closed, Notice::kGuardiansAllClear)) << "they were never told, so no all-clear either";
}

TEST_F(EscalationTest, DangerNotifiesGuardiansAndCountsDownToDispatchWhenNobodyAnswers) {
    Incident i = OpenDanger();
    EXPECT_EQ(i.phase, IncidentPhase::kCountdown);
    EXPECT_EQ(i.deadline, kT0 + seconds(60));
    auto ticks = TickUntil(i, kT0, kT0 + seconds(59));
    EXPECT_TRUE(ticks.empty());
    ticks = TickUntil(i, kT0 + seconds(60), kT0 + seconds(61));
    ASSERT_EQ(ticks.size(), 1u);
    EXPECT_TRUE(Has(ticks[0], Notice::kEmergencyDispatch));
    EXPECT_TRUE(Has(ticks[0], Notice::kGuardiansDispatched));
    EXPECT_EQ(i.phase, IncidentPhase::kDispatched);
    EXPECT_EQ(i.dispatched_at, kT0 + seconds(60));
    // Dispatch happens once: later ticks only remind the guardians.
    ticks = TickUntil(i, kT0 + seconds(62), kT0 + minutes(11));
    EXPECT_EQ(CountNotice(ticks, Notice::kEmergencyDispatch), 0);
    EXPECT_EQ(CountNotice(ticks, Notice::kGuardiansReminder), 2);  // at 5 and 10 min
}

TEST_F(EscalationTest, ImOkWithinTheCountdownCancelsTheCall) {
    Incident i = OpenDanger();
    auto ok = WearerOk(policy_, i, kT0 + seconds(30));
    ASSERT_TRUE(ok.ok());
    i = ok->incident;
    EXPECT_EQ(i.phase, IncidentPhase::kGuardians);
    EXPECT_FALSE(i.deadline);
    EXPECT_TRUE(Has(*ok, Notice::kGuardiansWearerOk));
    auto ticks = TickUntil(i, kT0 + seconds(31), kT0 + minutes(2));
    EXPECT_FALSE(AnyHas(ticks, Notice::kEmergencyDispatch));
}

TEST_F(EscalationTest, DangerStillThereAfterTheOkGraceStartsANewCountdown) {
    Incident i = OpenDanger();
    i = WearerOk(policy_, i, kT0 + seconds(30))->incident;
    auto ticks = TickUntil(i, kT0 + seconds(31), kT0 + seconds(30) + minutes(10));
    ASSERT_FALSE(ticks.empty());
    EXPECT_TRUE(AnyHas(ticks, Notice::kWearerCountdown));
    EXPECT_EQ(i.phase, IncidentPhase::kCountdown);
    ticks = TickUntil(i, kT0 + seconds(31) + minutes(10), kT0 + seconds(31) + minutes(11));
    EXPECT_TRUE(AnyHas(ticks, Notice::kEmergencyDispatch));
}

TEST_F(EscalationTest, GuardianAckCancelsTheCallAndStopsReminders) {
    Incident i = OpenDanger();
    auto ack = GuardianAck(policy_, i, "daughter_kim", kT0 + seconds(20));
    ASSERT_TRUE(ack.ok());
    i = ack->incident;
    EXPECT_EQ(i.phase, IncidentPhase::kGuardians);
    EXPECT_EQ(i.acknowledged_by, "daughter_kim");
    EXPECT_TRUE(Has(*ack, Notice::kWearerGuardianAcked));
    auto ticks = TickUntil(i, kT0 + seconds(21), kT0 + minutes(30));
    EXPECT_TRUE(ticks.empty()) << "no dispatch, no reminder after an acknowledgement";
    // Acknowledging again is accepted and changes nothing.
    auto again = GuardianAck(policy_, i, "son_lee", kT0 + minutes(31));
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->events.empty());
    EXPECT_EQ(again->incident.acknowledged_by, "daughter_kim");
}

TEST_F(EscalationTest, GuardiansAreRemindedUntilOneAcknowledges) {
    auto t = OnVerdict(policy_, std::nullopt, 7, Verdict(Level::kCaution), kT0);
    Incident i = t->incident;
    auto ticks = TickUntil(i, kT0, kT0 + minutes(25));
    EXPECT_EQ(CountNotice(ticks, Notice::kGuardiansAlert), 1);     // at 10 min
    EXPECT_EQ(CountNotice(ticks, Notice::kGuardiansReminder), 3);  // at 15, 20, 25 min
    EXPECT_EQ(i.reraise_count, 3);
    i = GuardianAck(policy_, i, "daughter_kim", kT0 + minutes(26))->incident;
    EXPECT_TRUE(TickUntil(i, kT0 + minutes(26), kT0 + minutes(60)).empty());
}

TEST_F(EscalationTest, SnoozeDefersCautionRemindersButNeverSilencesDanger) {
    auto t = OnVerdict(policy_, std::nullopt, 7, Verdict(Level::kCaution), kT0);
    Incident i = t->incident;
    TickUntil(i, kT0, kT0 + minutes(10));  // guardians told
    auto snoozed = Snooze(policy_, i, "daughter_kim", minutes(30), kT0 + minutes(11));
    ASSERT_TRUE(snoozed.ok()) << snoozed.status().ToString();
    i = snoozed->incident;
    auto ticks = TickUntil(i, kT0 + minutes(11), kT0 + minutes(40));
    EXPECT_EQ(CountNotice(ticks, Notice::kGuardiansReminder), 0);
    ticks = TickUntil(i, kT0 + minutes(41), kT0 + minutes(41));
    EXPECT_EQ(CountNotice(ticks, Notice::kGuardiansReminder), 1) << "reminders resume when the snooze ends";

    // Out-of-range lengths name the field.
    auto too_long = Snooze(policy_, i, "daughter_kim", std::chrono::hours(5), kT0 + minutes(42));
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.status().code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(too_long.status().fields().at(0).field, "minutes");

    // A rise to danger during a snooze ends it: alert now, countdown, and snoozing is refused.
    i = Snooze(policy_, i, "daughter_kim", minutes(60), kT0 + minutes(43))->incident;
    auto danger = OnVerdict(policy_, i, 7, Verdict(Level::kDanger), kT0 + minutes(44));
    ASSERT_TRUE(danger);
    EXPECT_TRUE(Has(*danger, Notice::kGuardiansAlert));
    EXPECT_EQ(danger->incident.phase, IncidentPhase::kCountdown);
    EXPECT_FALSE(danger->incident.snoozed_until);
    auto refused = Snooze(policy_, danger->incident, "daughter_kim", minutes(10), kT0 + minutes(45));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kConflict);
}

TEST_F(EscalationTest, CautionAcknowledgedThenDangerNeedsItsOwnAnswer) {
    auto t = OnVerdict(policy_, std::nullopt, 7, Verdict(Level::kCaution), kT0);
    Incident i = GuardianAck(policy_, t->incident, "daughter_kim", kT0 + minutes(1))->incident;
    auto danger = OnVerdict(policy_, i, 7, Verdict(Level::kDanger), kT0 + minutes(2));
    ASSERT_TRUE(danger);
    EXPECT_FALSE(danger->incident.acknowledged_at);
    EXPECT_EQ(danger->incident.phase, IncidentPhase::kCountdown);
    EXPECT_TRUE(Has(*danger, Notice::kGuardiansAlert));
}

TEST_F(EscalationTest, AllClearClosesAndTellsGuardiansWhoWereTold) {
    Incident i = OpenDanger();
    i = GuardianAck(policy_, i, "daughter_kim", kT0 + seconds(10))->incident;
    auto clear = OnVerdict(policy_, i, 7, Verdict(Level::kNormal), kT0 + minutes(8));
    ASSERT_TRUE(clear);
    EXPECT_EQ(clear->incident.phase, IncidentPhase::kClosed);
    EXPECT_TRUE(Has(*clear, Notice::kGuardiansAllClear));
    EXPECT_TRUE(HasEvent(*clear, "all_clear"));
    // Closed is closed: people's actions are refused, a new verdict opens a new incident.
    EXPECT_EQ(WearerOk(policy_, clear->incident, kT0 + minutes(9)).status().code(), ErrorCode::kConflict);
    auto next = OnVerdict(policy_, clear->incident, 7, Verdict(Level::kCaution), kT0 + minutes(30));
    ASSERT_TRUE(next);
    EXPECT_TRUE(next->opened);
}

TEST_F(EscalationTest, SignalLossNeverResolvesAndNormalVitalsDoNotCloseAFallOrSos) {
    auto t = OnVerdict(policy_, std::nullopt, 7, Verdict(Level::kCaution), kT0);
    VerdictInput silence = Verdict(Level::kNormal);
    silence.signal_loss = true;
    EXPECT_FALSE(OnVerdict(policy_, t->incident, 7, silence, kT0 + minutes(1)));
    Transition fall = OnFall(policy_, std::nullopt, 7, kT0);
    EXPECT_EQ(fall.incident.kind, IncidentKind::kFall);
    EXPECT_FALSE(OnVerdict(policy_, fall.incident, 7, Verdict(Level::kNormal), kT0 + minutes(1)));
    auto resolved = Resolve(policy_, fall.incident, "daughter_kim", kT0 + minutes(2));
    ASSERT_TRUE(resolved.ok());
    EXPECT_EQ(resolved->incident.close_reason, domain::CloseReason::kResolved);
}

TEST_F(EscalationTest, FallCountsDownLikeDanger) {
    Transition t = OnFall(policy_, std::nullopt, 7, kT0);
    EXPECT_TRUE(t.opened);
    EXPECT_EQ(t.incident.phase, IncidentPhase::kCountdown);
    EXPECT_TRUE(Has(t, Notice::kGuardiansAlert));
    EXPECT_TRUE(Has(t, Notice::kWearerCountdown));
    Incident i = t.incident;
    auto ticks = TickUntil(i, kT0, kT0 + seconds(60));
    EXPECT_TRUE(AnyHas(ticks, Notice::kEmergencyDispatch));
}

TEST_F(EscalationTest, SosDispatchesAtOnceAndOnlyOnce) {
    Transition t = OnSos(policy_, std::nullopt, 7, kT0);
    EXPECT_TRUE(t.opened);
    EXPECT_EQ(t.incident.kind, IncidentKind::kSos);
    EXPECT_EQ(t.incident.phase, IncidentPhase::kDispatched);
    EXPECT_TRUE(Has(t, Notice::kEmergencyDispatch));
    EXPECT_TRUE(Has(t, Notice::kGuardiansAlert));
    Transition again = OnSos(policy_, t.incident, 7, kT0 + seconds(5));
    EXPECT_FALSE(Has(again, Notice::kEmergencyDispatch));
    // SOS during a caution incident: that incident is dispatched now.
    auto caution = OnVerdict(policy_, std::nullopt, 7, Verdict(Level::kCaution), kT0);
    Transition sos = OnSos(policy_, caution->incident, 7, kT0 + minutes(1));
    EXPECT_FALSE(sos.opened);
    EXPECT_EQ(sos.incident.phase, IncidentPhase::kDispatched);
    EXPECT_TRUE(Has(sos, Notice::kEmergencyDispatch));
}

TEST_F(EscalationTest, SosOfANewAccountCountsDownAndImOkCancelsIt) {
    Transition t = OnSos(policy_, std::nullopt, 7, kT0, /*dispatch_at_once=*/false);
    EXPECT_TRUE(t.opened);
    EXPECT_EQ(t.incident.kind, IncidentKind::kSos);
    EXPECT_EQ(t.incident.phase, IncidentPhase::kCountdown);
    EXPECT_EQ(t.incident.deadline, kT0 + policy_.countdown);
    EXPECT_FALSE(Has(t, Notice::kEmergencyDispatch));
    EXPECT_TRUE(Has(t, Notice::kGuardiansAlert));
    EXPECT_TRUE(Has(t, Notice::kWearerCountdown));
    // Pressing again during the countdown keeps its deadline.
    Transition again = OnSos(policy_, t.incident, 7, kT0 + seconds(5), false);
    EXPECT_EQ(again.incident.deadline, kT0 + policy_.countdown);
    EXPECT_FALSE(Has(again, Notice::kEmergencyDispatch));
    // "I'm OK" in time: no call, ever.
    auto ok = WearerOk(policy_, again.incident, kT0 + seconds(10));
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->incident.phase, IncidentPhase::kGuardians);
    EXPECT_FALSE(AnyHas(TickUntil(ok->incident, kT0 + seconds(10), kT0 + minutes(3)), Notice::kEmergencyDispatch));
    // Nobody answers: the call goes out when the countdown runs out.
    Transition unanswered = OnSos(policy_, std::nullopt, 8, kT0, false);
    auto ticks = TickUntil(unanswered.incident, kT0, kT0 + policy_.countdown);
    EXPECT_TRUE(AnyHas(ticks, Notice::kEmergencyDispatch));
}

TEST_F(EscalationTest, ARestartedServerResumesFromTheStoredIncident) {
    // The incident as stored before a crash, 40 s into the countdown; the new process ticks at 65 s.
    Incident stored = OpenDanger();
    auto t = OnTick(policy_, stored, kT0 + seconds(65));
    ASSERT_TRUE(t);
    EXPECT_TRUE(Has(*t, Notice::kEmergencyDispatch));
    EXPECT_EQ(t->incident.dispatched_at, kT0 + seconds(65));
}

}  // namespace
}  // namespace vg::escalation
