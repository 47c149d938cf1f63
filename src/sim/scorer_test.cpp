#include "vg/sim/scorer.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace vg::sim {
namespace {

using domain::Metric;
namespace json = boost::json;
constexpr Milliseconds kMinute{60'000};
const TimePoint kT0 = FromUnixMillis(1'795'392'000'000);

TimePoint At(int minutes) { return kT0 + kMinute * minutes; }

LabelledEvent Event(int wearer, EventType type, int onset_min, int end_min, std::optional<int> knowable_min,
                    Metric metric = Metric::kHeartRate) {
    LabelledEvent e;
    e.wearer = wearer;
    e.type = type;
    e.metric = metric;
    e.onset = At(onset_min);
    e.end = At(end_min);
    if (knowable_min) e.knowable_at = At(*knowable_min);
    e.group = "g";
    return e;
}

// A reading-driven detection of the reading at `minute`, pushed `push_ms` after the server received it.
ObservedDetection Detection(int wearer, int minute, int status, std::initializer_list<Metric> metrics = {},
                            bool advice = false, int push_ms = 5) {
    ObservedDetection d;
    d.wearer = wearer;
    d.status = status;
    d.advice_only = advice;
    for (Metric m : metrics) d.metrics |= MetricBit(m);
    d.reading_at = At(minute);
    d.received_at = At(minute) + Milliseconds(100);
    d.detected_at = *d.received_at + Milliseconds(1);
    d.client_received_at = *d.received_at + Milliseconds(push_ms);
    return d;
}

ObservedDetection SignalLoss(int wearer, int minute, int status = 1) {
    ObservedDetection d;
    d.wearer = wearer;
    d.status = status;
    d.signal_loss = true;
    d.detected_at = At(minute);
    d.client_received_at = At(minute) + Milliseconds(2);
    return d;
}

ScoreOptions Options(int wearers = 2, int duration_min = 24 * 60) {
    ScoreOptions o;
    o.wearers = wearers;
    o.duration = kMinute * duration_min;
    o.grace = 10 * kMinute;
    return o;
}

const EventTypeScore* TypeScore(const Score& s, EventType t) {
    for (const EventTypeScore& e : s.emergencies) {
        if (e.type == t) return &e;
    }
    return nullptr;
}

TEST(ScorerTest, PercentilesAreNearestRank) {
    std::vector<double> v;
    for (int i = 1; i <= 100; ++i) v.push_back(101 - i);
    const LatencyStats s = ComputeLatencyStats(v);
    EXPECT_EQ(s.count, 100u);
    EXPECT_EQ(s.p50, 50);
    EXPECT_EQ(s.p95, 95);
    EXPECT_EQ(s.p99, 99);
    EXPECT_EQ(s.max, 100);
    EXPECT_EQ(ComputeLatencyStats({7}).p99, 7);
    EXPECT_EQ(ComputeLatencyStats({}).count, 0u);
}

TEST(ScorerTest, AlertsAreRisesInLevelAndTheStartOfAdvice) {
    const std::vector<ObservedDetection> d = {
        Detection(0, 1, 0),
        Detection(0, 2, 1, {Metric::kHeartRate}),  // normal → caution: alert
        Detection(0, 3, 1, {Metric::kHeartRate}),  // still caution
        Detection(0, 4, 2, {Metric::kHeartRate}),  // caution → danger: alert
        Detection(0, 5, 1, {Metric::kHeartRate}),  // a fall is not an alert
        Detection(0, 6, 0),
        Detection(0, 7, 1, {Metric::kHeartRate}, /*advice=*/true),  // advice starts: alert
        Detection(0, 8, 1, {Metric::kHeartRate}, true),             // same advice run
        Detection(0, 9, 1, {Metric::kHeartRate}),  // beyond advice: a rise from the last real level (0)
        SignalLoss(0, 30),
        Detection(1, 2, 2, {Metric::kSpo2}),  // another wearer's own levels
    };
    const auto alerts = ExtractAlerts(d, /*include_signal_loss=*/true);
    ASSERT_EQ(alerts.size(), 6u);
    EXPECT_EQ(alerts[0].at, At(2));
    EXPECT_EQ(alerts[1].at, At(4));
    EXPECT_EQ(alerts[1].status, 2);
    EXPECT_EQ(alerts[2].at, At(7));
    EXPECT_TRUE(alerts[2].advice_only);
    EXPECT_EQ(alerts[3].at, At(9));
    EXPECT_FALSE(alerts[3].advice_only);
    EXPECT_TRUE(alerts[4].signal_loss);
    EXPECT_EQ(alerts[4].at, At(30));
    EXPECT_EQ(alerts[5].wearer, 1);
    EXPECT_EQ(ExtractAlerts(d, false).size(), 5u);
}

TEST(ScorerTest, SignalLossInBetweenDoesNotHideARise) {
    // At max speed the server may report silence (raising its level) just before a real episode; the
    // episode is still an alert because levels are tracked from readings.
    const std::vector<ObservedDetection> d = {Detection(0, 1, 0), SignalLoss(0, 2, 1),
                                              Detection(0, 3, 1, {Metric::kHeartRate})};
    const auto alerts = ExtractAlerts(d, false);
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].at, At(3));
}

TEST(ScorerTest, DetectionRateAndLatencyPerEventType) {
    const std::vector<LabelledEvent> events = {
        Event(0, EventType::kTachycardia, 100, 140, 103),
        Event(1, EventType::kTachycardia, 200, 240, 202),
        Event(0, EventType::kHypoxaemia, 300, 340, 305, Metric::kSpo2),
    };
    const std::vector<ObservedDetection> d = {
        Detection(0, 104, 1, {Metric::kHeartRate}, false, 7),  // 1 min after knowable
        Detection(0, 106, 2, {Metric::kHeartRate}),
        Detection(0, 150, 0),
        Detection(1, 205, 2, {Metric::kHeartRate}, false, 11),  // 3 min after knowable
        Detection(0, 310, 1, {Metric::kHeartRate}),             // wrong metric: not a detection of hypoxaemia
        Detection(0, 360, 0),
    };
    const Score s = ScoreRun(events, d, Options());
    const EventTypeScore* tachy = TypeScore(s, EventType::kTachycardia);
    ASSERT_NE(tachy, nullptr);
    EXPECT_EQ(tachy->events, 2);
    EXPECT_EQ(tachy->knowable, 2);
    EXPECT_EQ(tachy->detected, 2);
    EXPECT_DOUBLE_EQ(tachy->detection_rate, 1.0);
    EXPECT_EQ(tachy->data_latency_s.p50, 60);
    EXPECT_EQ(tachy->data_latency_s.max, 180);
    EXPECT_EQ(tachy->push_latency_ms.p50, 7);
    EXPECT_EQ(tachy->push_latency_ms.max, 11);
    const EventTypeScore* hypox = TypeScore(s, EventType::kHypoxaemia);
    ASSERT_NE(hypox, nullptr);
    EXPECT_EQ(hypox->detected, 0);
    EXPECT_DOUBLE_EQ(hypox->detection_rate, 0.0);
    // The heart-rate alert during the hypoxaemia is not false: the wearer was in trouble.
    EXPECT_EQ(s.false_alerts.total, 0);
    EXPECT_EQ(s.outcomes.size(), 3u);
    EXPECT_TRUE(s.outcomes[0].alert_at.has_value());
    EXPECT_FALSE(s.outcomes[2].alert_at.has_value());
}

TEST(ScorerTest, AlertsInTheGraceAfterTheEndCountAndLaterOnesAreFalse) {
    const std::vector<LabelledEvent> events = {Event(0, EventType::kBradycardia, 100, 140, 101)};
    ScoreOptions o = Options();
    Score s = ScoreRun(events, {Detection(0, 149, 1, {Metric::kHeartRate})}, o);
    EXPECT_EQ(TypeScore(s, EventType::kBradycardia)->detected, 1);
    EXPECT_EQ(TypeScore(s, EventType::kBradycardia)->data_latency_s.p50, 48 * 60);
    EXPECT_EQ(s.false_alerts.total, 0);
    s = ScoreRun(events, {Detection(0, 151, 1, {Metric::kHeartRate})}, o);
    EXPECT_EQ(TypeScore(s, EventType::kBradycardia)->detected, 0);
    EXPECT_EQ(s.false_alerts.total, 1);
    EXPECT_EQ(s.false_alerts.unlabelled, 1);
    EXPECT_EQ(s.false_alerts.caution, 1);
}

TEST(ScorerTest, AnAlertBeforeTheKnowableMomentIsEarlyWithZeroLatency) {
    const std::vector<LabelledEvent> events = {Event(0, EventType::kTachycardia, 100, 140, 110)};
    const Score s = ScoreRun(events, {Detection(0, 104, 1, {Metric::kHeartRate})}, Options());
    const EventTypeScore* t = TypeScore(s, EventType::kTachycardia);
    EXPECT_EQ(t->detected, 1);
    EXPECT_EQ(t->early, 1);
    EXPECT_EQ(t->data_latency_s.max, 0);
}

TEST(ScorerTest, AnEpisodeAlreadyUnderWayForTheMetricDetectsTheEvent) {
    // A meal pushed glucose into caution just before a hyperglycaemia began, and the caution held on.
    const std::vector<LabelledEvent> events = {
        Event(0, EventType::kGlucoseHigh, 100, 400, 220, Metric::kGlucose),
        Event(1, EventType::kGlucoseHigh, 100, 400, 220, Metric::kGlucose),
    };
    ObservedDetection before = Detection(0, 95, 1, {Metric::kGlucose});
    before.rules = {"glucose.trend.rise"};
    const std::vector<ObservedDetection> d = {
        before,
        Detection(0, 101, 1, {Metric::kGlucose}),   // held, but the data have not crossed yet
        Detection(0, 221, 1, {Metric::kGlucose}),   // held, and now glucose is high: detected
        Detection(1, 95, 1, {Metric::kHeartRate}),  // another metric's episode does not count
        Detection(1, 230, 1, {Metric::kHeartRate}),
    };
    const Score s = ScoreRun(events, d, Options());
    const EventTypeScore* t = TypeScore(s, EventType::kGlucoseHigh);
    EXPECT_EQ(t->detected, 1);
    EXPECT_EQ(t->ongoing, 1);
    EXPECT_EQ(t->early, 0);
    EXPECT_EQ(t->data_latency_s.max, 60);
    // The alerts that began before the events are false alerts, named by their rules.
    EXPECT_EQ(s.false_alerts.total, 2);
    ASSERT_FALSE(s.false_alerts.by_rule.empty());
    EXPECT_EQ(s.false_alerts.by_rule[0], (std::pair<std::string, int>{"glucose.trend.rise", 1}));
    EXPECT_NE(FormatScoreTable(s).find("by rule: glucose.trend.rise 1"), std::string::npos) << FormatScoreTable(s);
}

TEST(ScorerTest, AdviceDoesNotDetectAnEmergency) {
    const std::vector<LabelledEvent> events = {Event(0, EventType::kTachycardia, 100, 140, 102)};
    const Score s = ScoreRun(events, {Detection(0, 103, 1, {Metric::kHeartRate}, /*advice=*/true)}, Options());
    EXPECT_EQ(TypeScore(s, EventType::kTachycardia)->detected, 0);
    EXPECT_EQ(s.false_alerts.total, 0);  // inside the emergency's window, so not false either
}

TEST(ScorerTest, NeverKnowableEventsAreOutOfTheRate) {
    const std::vector<LabelledEvent> events = {
        Event(0, EventType::kFeverTrend, 100, 400, std::nullopt, Metric::kSkinTemp),
        Event(1, EventType::kFeverTrend, 100, 400, 200, Metric::kSkinTemp)};
    const Score s = ScoreRun(events, {Detection(1, 230, 1, {Metric::kSkinTemp})}, Options());
    const EventTypeScore* f = TypeScore(s, EventType::kFeverTrend);
    EXPECT_EQ(f->events, 2);
    EXPECT_EQ(f->never_knowable, 1);
    EXPECT_EQ(f->knowable, 1);
    EXPECT_DOUBLE_EQ(f->detection_rate, 1.0);
}

TEST(ScorerTest, ExerciseAdviceIsRightAndAnythingMoreIsFalse) {
    const std::vector<LabelledEvent> events = {Event(0, EventType::kExercise, 100, 130, std::nullopt),
                                               Event(1, EventType::kExercise, 100, 130, std::nullopt)};
    const std::vector<ObservedDetection> d = {
        Detection(0, 103, 1, {Metric::kHeartRate}, /*advice=*/true),
        Detection(0, 110, 1, {Metric::kHeartRate}, true),
        Detection(0, 131, 0),
        Detection(1, 103, 1, {Metric::kHeartRate}, true),
        Detection(1, 127, 2, {Metric::kHeartRate}),  // escalated during the recovery: false
    };
    const Score s = ScoreRun(events, d, Options());
    EXPECT_EQ(s.exercise.events, 2);
    EXPECT_EQ(s.exercise.advice, 2);
    EXPECT_EQ(s.exercise.alerted, 1);
    EXPECT_EQ(s.exercise.false_alerts, 1);
    EXPECT_EQ(s.false_alerts.total, 1);
    EXPECT_EQ(s.false_alerts.during_exercise, 1);
    EXPECT_EQ(s.false_alerts.danger, 1);
    EXPECT_TRUE(s.emergencies.empty());
}

TEST(ScorerTest, OneSpikeMustStaySilent) {
    const std::vector<LabelledEvent> events = {Event(0, EventType::kSensorSpike, 100, 101, std::nullopt),
                                               Event(1, EventType::kSensorSpike, 100, 101, std::nullopt)};
    const std::vector<ObservedDetection> d = {Detection(0, 100, 0), Detection(0, 101, 0), Detection(1, 100, 0),
                                              Detection(1, 101, 2, {Metric::kHeartRate})};
    const Score s = ScoreRun(events, d, Options());
    EXPECT_EQ(s.spikes.events, 2);
    EXPECT_EQ(s.spikes.alerted, 1);
    EXPECT_EQ(s.false_alerts.after_spike, 1);
    EXPECT_EQ(s.false_alerts.total, 1);
}

TEST(ScorerTest, SignalLossIsScoredInRealtimeAndIgnoredAtMaxSpeed) {
    const std::vector<LabelledEvent> events = {Event(0, EventType::kSignalLoss, 100, 145, 110)};
    const std::vector<ObservedDetection> d = {Detection(0, 99, 0), SignalLoss(0, 111), SignalLoss(1, 50)};
    ScoreOptions realtime = Options();
    Score s = ScoreRun(events, d, realtime);
    const EventTypeScore* loss = TypeScore(s, EventType::kSignalLoss);
    ASSERT_NE(loss, nullptr);
    EXPECT_EQ(loss->detected, 1);
    EXPECT_EQ(loss->data_latency_s.p50, 60);
    EXPECT_EQ(s.false_alerts.signal_loss, 1);  // wearer 1 was not silent

    ScoreOptions max_speed = Options();
    max_speed.score_signal_loss = false;
    s = ScoreRun(events, d, max_speed);
    loss = TypeScore(s, EventType::kSignalLoss);
    EXPECT_EQ(loss->not_scored, 1);
    EXPECT_EQ(loss->knowable, 0);
    EXPECT_EQ(s.false_alerts.total, 0);
    EXPECT_EQ(s.signal_loss_ignored, 2);
}

TEST(ScorerTest, FalseAlertsArePerWearerDay) {
    const std::vector<ObservedDetection> d = {Detection(0, 10, 1, {Metric::kSpo2}), Detection(0, 20, 0),
                                              Detection(0, 30, 2, {Metric::kSpo2}),
                                              Detection(1, 40, 1, {Metric::kRespirationRate}, true)};
    const Score s = ScoreRun({}, d, Options(/*wearers=*/4, /*duration_min=*/12 * 60));
    EXPECT_EQ(s.false_alerts.total, 3);
    EXPECT_DOUBLE_EQ(s.false_alerts.wearer_days, 2.0);
    EXPECT_DOUBLE_EQ(s.false_alerts.per_wearer_day, 1.5);
    EXPECT_EQ(s.false_alerts.caution, 1);
    EXPECT_EQ(s.false_alerts.danger, 1);
    EXPECT_EQ(s.false_alerts.advice, 1);
    EXPECT_EQ(s.alerts, 3);
    EXPECT_EQ(s.detections, 4);
    EXPECT_EQ(s.push_latency_all_ms.count, 4u);
}

TEST(ScorerTest, JsonAndTableCarryTheNumbers) {
    const std::vector<LabelledEvent> events = {Event(0, EventType::kTachycardia, 100, 140, 103),
                                               Event(1, EventType::kExercise, 100, 130, std::nullopt)};
    const Score s = ScoreRun(events, {Detection(0, 104, 1, {Metric::kHeartRate})}, Options());
    const boost::json::object j = ScoreToJson(s, events, {"kim", "lee"});
    const auto& types = j.at("emergencies").as_array();
    ASSERT_EQ(types.size(), 1u);
    EXPECT_EQ(types[0].at("type").as_string(), "tachycardia");
    EXPECT_EQ(types[0].at("detected").as_int64(), 1);
    EXPECT_EQ(types[0].at("data_latency_s").at("p50").as_double(), 60.0);
    EXPECT_EQ(j.at("event_outcomes").as_array()[0].at("wearer").as_string(), "kim");
    EXPECT_EQ(j.at("exercise").at("events").as_int64(), 1);
    EXPECT_EQ(j.at("false_alerts").at("total").as_int64(), 0);
    const std::string table = FormatScoreTable(s);
    EXPECT_NE(table.find("tachycardia"), std::string::npos);
    EXPECT_NE(table.find("100.0%"), std::string::npos);
    EXPECT_NE(table.find("exercise bouts: 1"), std::string::npos);
    EXPECT_NE(table.find("per wearer-day"), std::string::npos);
}

// ---- falls -----------------------------------------------------------------------------------------

constexpr Milliseconds kSecond{1'000};

ImuLabel Imu(int wearer, ImuKind kind, int onset_s, int end_s, std::optional<int> impact_s,
             ImuDataset dataset = ImuDataset::kSisFall, ImuPlacement placement = ImuPlacement::kWaist) {
    ImuLabel e;
    e.wearer = wearer;
    e.kind = kind;
    e.dataset = dataset;
    e.placement = placement;
    e.onset = kT0 + kSecond * onset_s;
    e.end = kT0 + kSecond * end_s;
    if (impact_s) e.impact_at = kT0 + kSecond * *impact_s;
    return e;
}

// A posture event of the window ending at `at_s`, arriving `arrive_s` (wall clock) later than kT0.
ObservedPosture Posture(int wearer, FallPhase fall, double at_s, double arrive_s) {
    ObservedPosture p;
    p.wearer = wearer;
    p.posture = fall == FallPhase::kSuspected ? 7 : 6;
    p.fall = fall;
    p.at = kT0 + Milliseconds(static_cast<int64_t>(at_s * 1000));
    p.client_received_at = kT0 + Milliseconds(static_cast<int64_t>(arrive_s * 1000));
    return p;
}

ObservedIncident Incident(int wearer, int64_t id, const char* kind, double arrive_s) {
    ObservedIncident i;
    i.wearer = wearer;
    i.id = id;
    i.kind = kind;
    i.phase = "countdown";
    i.client_received_at = kT0 + Milliseconds(static_cast<int64_t>(arrive_s * 1000));
    return i;
}

FallScoreOptions FallOptions() {
    FallScoreOptions o;
    o.wearers = 2;
    o.duration = Milliseconds(12 * 3'600'000);  // 1 wearer-day
    return o;
}

TEST(ScorerTest, AFallIsDetectedByAConfirmationWithItsIncidentWithinTheWindow) {
    // Wearer 0 falls at 105 s (trial 100–120 s); suspected at 106.5, confirmed by stillness at 111.6.
    const std::vector<ImuLabel> events = {Imu(0, ImuKind::kFall, 100, 130, 105)};
    const std::vector<ObservedPosture> postures = {Posture(0, FallPhase::kSuspected, 106.5, 1.0),
                                                   Posture(0, FallPhase::kConfirmed, 111.6, 1.2)};
    const FallScore s = ScoreFalls(events, postures, {Incident(0, 7, "fall", 1.19)}, FallOptions());
    ASSERT_EQ(s.rows.size(), 2u);  // sisfall waist, all
    EXPECT_EQ(s.rows[0].dataset, "sisfall");
    EXPECT_EQ(s.rows[0].placement, "waist");
    const FallBreakdown& all = s.rows.back();
    EXPECT_EQ(all.dataset, "all");
    EXPECT_EQ(all.falls, 1);
    EXPECT_EQ(all.detected, 1);
    EXPECT_DOUBLE_EQ(all.sensitivity, 1.0);
    EXPECT_NEAR(all.latency_s.p50, 6.6, 1e-9);
    EXPECT_EQ(s.confirmations, 1);
    EXPECT_EQ(s.with_incident, 1);
    EXPECT_EQ(s.fall_incidents, 1);
    EXPECT_EQ(s.false_total, 0);
    ASSERT_EQ(s.outcomes.size(), 1u);
    EXPECT_TRUE(s.outcomes[0].detected);
}

TEST(ScorerTest, AConfirmationWithoutAFallIncidentOrTooLateDoesNotDetect) {
    const std::vector<ImuLabel> events = {
        Imu(0, ImuKind::kFall, 100, 130, 105),
        Imu(1, ImuKind::kFall, 100, 130, 105, ImuDataset::kHifd, ImuPlacement::kWrist)};
    // Wearer 0: confirmed, but no incident arrived with it (only a vitals one, and a fall one much later).
    // Wearer 1: confirmed 40 s after the impact (beyond the 30 s window): late.
    const std::vector<ObservedPosture> postures = {
        Posture(0, FallPhase::kSuspected, 106, 1.0), Posture(0, FallPhase::kConfirmed, 111, 1.1),
        Posture(1, FallPhase::kSuspected, 106, 1.0), Posture(1, FallPhase::kConfirmed, 145, 40.0)};
    const std::vector<ObservedIncident> incidents = {Incident(0, 3, "vitals", 1.1), Incident(0, 4, "fall", 30.0),
                                                     Incident(1, 5, "fall", 40.1)};
    const FallScore s = ScoreFalls(events, postures, incidents, FallOptions());
    const FallBreakdown& all = s.rows.back();
    EXPECT_EQ(all.falls, 2);
    EXPECT_EQ(all.detected, 0);
    EXPECT_EQ(all.late, 1);
    EXPECT_EQ(s.confirmations, 2);
    EXPECT_EQ(s.with_incident, 1);
    EXPECT_EQ(s.rows.size(), 3u);  // sisfall waist, hifd wrist, all
}

TEST(ScorerTest, FallIncidentsOnAdlEventsAndOutsideEventsAreFalseFalls) {
    const std::vector<ImuLabel> events = {
        Imu(0, ImuKind::kAdl, 100, 120, std::nullopt),  // confirmed (e.g. by silence, server time): false
        Imu(0, ImuKind::kAdl, 300, 320, std::nullopt),  // suspected, then dismissed: a near miss only
        Imu(1, ImuKind::kAdl, 100, 120, std::nullopt),  // nothing
        Imu(1, ImuKind::kFall, 400, 420, 405),          // dismissed: missed
    };
    const std::vector<ObservedPosture> postures = {
        Posture(0, FallPhase::kSuspected, 110, 1.0),
        Posture(0, FallPhase::kConfirmed, 1e6, 31.0),  // the silence rule's time is the server's clock
        Posture(0, FallPhase::kSuspected, 305, 40.0),
        Posture(0, FallPhase::kDismissed, 312, 40.1),
        Posture(1, FallPhase::kSuspected, 406, 50.0),
        Posture(1, FallPhase::kDismissed, 412, 50.1),
        Posture(1, FallPhase::kConfirmed, 2000, 60.0),  // no IMU event then: unlabelled
    };
    const std::vector<ObservedIncident> incidents = {Incident(0, 1, "fall", 31.0), Incident(1, 2, "fall", 60.0)};
    const FallScore s = ScoreFalls(events, postures, incidents, FallOptions());
    const FallBreakdown& all = s.rows.back();
    EXPECT_EQ(all.adl, 3);
    EXPECT_EQ(all.adl_suspected, 2);
    EXPECT_EQ(all.false_falls, 1);
    EXPECT_NEAR(all.false_per_adl, 1.0 / 3, 1e-9);
    EXPECT_EQ(all.falls, 1);
    EXPECT_EQ(all.detected, 0);
    EXPECT_EQ(all.dismissed, 1);
    EXPECT_EQ(s.unlabelled_false, 1);
    EXPECT_EQ(s.false_total, 2);
    EXPECT_DOUBLE_EQ(s.wearer_days, 1.0);
    EXPECT_DOUBLE_EQ(s.false_per_wearer_day, 2.0);

    const json::object j = FallScoreToJson(s, events, {"a", "b"});
    EXPECT_TRUE(j.at("available").as_bool());
    EXPECT_EQ(j.at("false_total").as_int64(), 2);
    EXPECT_EQ(j.at("event_outcomes").as_array().size(), 4u);
    EXPECT_EQ(j.at("event_outcomes").as_array()[0].at("wearer").as_string(), "a");
    const std::string table = FormatFallTable(s);
    EXPECT_NE(table.find("False falls: 2"), std::string::npos) << table;
}

TEST(ScorerTest, TheWristDataSetsGetTheirOwnRows) {
    const std::vector<ImuLabel> events = {
        Imu(0, ImuKind::kFall, 100, 130, 105),                                               // sisfall waist, detected
        Imu(0, ImuKind::kFall, 300, 330, 305, ImuDataset::kWedaFall, ImuPlacement::kWrist),  // detected
        Imu(1, ImuKind::kAdl, 100, 112, std::nullopt, ImuDataset::kWedaFall, ImuPlacement::kWrist),  // false fall
        Imu(1, ImuKind::kFall, 300, 320, 310, ImuDataset::kFallAllD, ImuPlacement::kWrist),          // dismissed
    };
    const std::vector<ObservedPosture> postures = {
        Posture(0, FallPhase::kSuspected, 106, 1.0),  Posture(0, FallPhase::kConfirmed, 111, 1.1),
        Posture(0, FallPhase::kSuspected, 306, 10.0), Posture(0, FallPhase::kConfirmed, 312, 10.1),
        Posture(1, FallPhase::kSuspected, 104, 20.0), Posture(1, FallPhase::kConfirmed, 109, 20.1),
        Posture(1, FallPhase::kSuspected, 311, 30.0), Posture(1, FallPhase::kDismissed, 316, 30.1)};
    const std::vector<ObservedIncident> incidents = {Incident(0, 1, "fall", 1.1), Incident(0, 2, "fall", 10.1),
                                                     Incident(1, 3, "fall", 20.1)};
    const FallScore s = ScoreFalls(events, postures, incidents, FallOptions());
    ASSERT_EQ(s.rows.size(), 4u);  // in data-set order, then all
    EXPECT_EQ(s.rows[0].dataset, "sisfall");
    EXPECT_EQ(s.rows[1].dataset, "wedafall");
    EXPECT_EQ(s.rows[1].placement, "wrist");
    EXPECT_EQ(s.rows[1].falls, 1);
    EXPECT_EQ(s.rows[1].detected, 1);
    EXPECT_EQ(s.rows[1].adl, 1);
    EXPECT_EQ(s.rows[1].false_falls, 1);
    EXPECT_EQ(s.rows[2].dataset, "fallalld");
    EXPECT_EQ(s.rows[2].placement, "wrist");
    EXPECT_EQ(s.rows[2].falls, 1);
    EXPECT_EQ(s.rows[2].dismissed, 1);
    EXPECT_EQ(s.rows[3].dataset, "all");
    EXPECT_EQ(s.rows[3].falls, 3);
    EXPECT_EQ(s.rows[3].detected, 2);

    const json::object j = FallScoreToJson(s, events, {"a", "b"});
    EXPECT_EQ(j.at("rows").as_array()[2].at("dataset").as_string(), "fallalld");
    EXPECT_EQ(j.at("event_outcomes").as_array()[1].at("dataset").as_string(), "wedafall");
    const std::string table = FormatFallTable(s);
    EXPECT_NE(table.find("\nwedafall wrist "), std::string::npos) << table;
    EXPECT_NE(table.find("\nfallalld wrist "), std::string::npos) << table;
}

TEST(ScorerTest, PostureNotAvailableIsReportedNotScored) {
    FallScore s;
    s.available = false;
    s.unavailable_reason = "no posture model is loaded";
    EXPECT_EQ(FormatFallTable(s), "Falls: posture not available (no posture model is loaded)\n");
    EXPECT_FALSE(FallScoreToJson(s, {}).at("available").as_bool());
}

}  // namespace
}  // namespace vg::sim
