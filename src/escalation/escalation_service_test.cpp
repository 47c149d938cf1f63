// The escalation service on a real SQLite file and simulated time: transitions, their outbox
// messages, and resuming after a restart.
#include "vg/escalation/escalation_service.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "vg/escalation/phone_verification.hpp"
#include "vg/store/sqlite_store.hpp"

namespace vg::escalation {
namespace {

namespace fs = std::filesystem;
using domain::IncidentPhase;
using domain::Level;
using domain::Metric;
using std::chrono::minutes;
using std::chrono::seconds;

domain::Detection Verdict(Level level) {
    domain::Detection d;
    d.level = level;
    if (level != Level::kNormal) {
        d.causes = {Metric::kHeartRate};
        domain::FiredRule f;
        f.rule = level == Level::kDanger ? "heart_rate.high.danger" : "heart_rate.high.moderate";
        f.kind = "threshold";
        f.metric = Metric::kHeartRate;
        f.level = level;
        f.value = level == Level::kDanger ? 150 : 118;
        d.fired.push_back(f);
        d.explanation = level == Level::kDanger ? "Heart rate 150 bpm is at or above 131 bpm."
                                                : "Heart rate 118 bpm is at or above 111 bpm.";
    } else {
        d.explanation = "All vitals are normal.";
    }
    return d;
}

class EscalationServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("vg-escalation-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        fs::create_directories(dir_);
        Open();
        store::NewUser u;
        u.profile.id = "grandma_kim";
        u.profile.name = "김영희";
        u.profile.age = 82;
        u.profile.address = "서울특별시 종로구 세종대로 1";
        u.profile.detailed_address = "101동 202호";
        u.profile.phone_num = "010-1111-2222";
        u.profile.guard_name = "김철수";
        u.profile.guard_phone_num = "010-3333-4444";
        u.password_hash = "x";
        // An established account (SosLimits): two days old, the guardian's number verified, so that
        // its SOS goes out at once and the contact gets SMS.
        u.created_at = clock_.Now() - std::chrono::hours(48);
        auto created = store_->CreateUser(u);
        ASSERT_TRUE(created.ok()) << created.status().ToString();
        wearer_ = created->unique_num;
        Verify(wearer_, "01033334444");
    }
    // Marks (user, phone key) verified, as PhoneVerificationService does once the code was entered.
    void Verify(int64_t user, const std::string& phone_key) {
        store::PhoneCode code;
        code.user = user;
        code.phone = phone_key;
        code.code_hash = "x";
        code.sent_at = clock_.Now();
        code.expires_at = clock_.Now() + minutes(10);
        store::NewOutboxMessage sms;
        sms.channel = "sms-test-code";  // not counted as an alert by the tests below
        sms.recipient = phone_key;
        sms.idempotency_key = "code-" + std::to_string(user) + "-" + phone_key;
        sms.created_at = sms.next_attempt_at = clock_.Now();
        ASSERT_TRUE(store_->IssuePhoneCode(code, sms).ok());
        ASSERT_TRUE(store_->MarkPhoneVerified(user, phone_key, clock_.Now()).ok());
    }
    int64_t NewWearer(const std::string& id, const std::string& guard_phone) {
        store::NewUser u;
        u.profile.id = id;
        u.profile.name = "박민수";
        u.profile.age = 70;
        u.profile.address = "서울특별시 중구 1";
        u.profile.phone_num = "010-7777-8888";
        u.profile.guard_name = "박영희";
        u.profile.guard_phone_num = guard_phone;
        u.password_hash = "x";
        u.created_at = clock_.Now();
        auto created = store_->CreateUser(u);
        EXPECT_TRUE(created.ok()) << created.status().ToString();
        return created.ok() ? created->unique_num : 0;
    }
    std::vector<std::string> EventTypes(int64_t incident) {
        std::vector<std::string> types;
        const auto events = store_->IncidentEvents(incident);
        for (const auto& e : events.value()) types.push_back(e.type);
        return types;
    }
    static bool Contains(const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    }
    void TearDown() override {
        service_.reset();
        store_.reset();
        fs::remove_all(dir_);
    }
    void Open() {
        store::SqliteStoreOptions o;
        o.path = (dir_ / "vitalguard.db").string();
        o.clock = &clock_;
        auto s = store::SqliteStore::Open(o);
        ASSERT_TRUE(s.ok()) << s.status().ToString();
        store_ = std::move(s).value();
        EscalationServiceOptions options;
        options.base_url = "https://vg.example";
        options.emergency_recipient = "119";
        options.email_enabled = email_enabled_;
        service_ = std::make_unique<EscalationService>(
            *store_, clock_, options,
            [this](const domain::Incident& i, const std::vector<Notice>& notices) {
                changes_.push_back({i, notices});
            },
            [this] { ++outbox_wakeups_; });
    }
    // Simulates kill -9: the service and store go away without any goodbye, then come back.
    void Restart() {
        service_.reset();
        store_.reset();
        Open();
    }
    std::vector<store::OutboxMessage> Outbox(int64_t incident) {
        auto m = store_->IncidentOutbox(incident);
        EXPECT_TRUE(m.ok());
        return m.ok() ? m.value() : std::vector<store::OutboxMessage>{};
    }
    static int Count(const std::vector<store::OutboxMessage>& ms, const std::string& channel) {
        return static_cast<int>(
            std::count_if(ms.begin(), ms.end(), [&](const auto& m) { return m.channel == channel; }));
    }
    void Advance(Milliseconds d) {
        // Tick every second, as the ticker does.
        for (Milliseconds t{0}; t < d; t += seconds(1)) {
            clock_.Advance(seconds(1));
            service_->TickOnce(clock_.Now());
        }
    }

    ManualClock clock_{FromUnixMillis(1'800'000'000'000)};
    fs::path dir_;
    std::unique_ptr<store::SqliteStore> store_;
    std::unique_ptr<EscalationService> service_;
    std::vector<std::pair<domain::Incident, std::vector<Notice>>> changes_;
    int outbox_wakeups_ = 0;
    int64_t wearer_ = 0;
    bool email_enabled_ = false;  // the service's EscalationServiceOptions::email_enabled (at Open)
};

TEST_F(EscalationServiceTest, NormalVerdictsWithoutAnIncidentStoreNothing) {
    service_->OnVerdict(wearer_, Verdict(Level::kNormal), false);
    service_->OnVerdict(wearer_, Verdict(Level::kNormal), false);
    EXPECT_TRUE(store_->ListIncidents(wearer_, 10)->empty());
    EXPECT_TRUE(changes_.empty());
}

// The scale-out roles: a detector's service shares the store with other processes that open and close the
// same wearers' incidents (an api server's SOS, a person's "I'm OK"), so it keeps no lasting memory of what is
// open. "Nothing open" is believed for nothing_open_memory only, and never for a caution or danger.
TEST_F(EscalationServiceTest, WithoutTheOpenIncidentCacheNothingOpenIsBelievedOnlyBriefly) {
    EscalationServiceOptions options;
    options.cache_open_incidents = false;
    options.nothing_open_memory = seconds(1);
    EscalationService detector(*store_, clock_, options, nullptr, nullptr);
    detector.OnVerdict(wearer_, Verdict(Level::kNormal), false);  // learns: nothing open

    // Another process opens an incident, and the wearer says "I'm OK": a normal verdict now closes it.
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    const int64_t id = store_->FindOpenIncident(wearer_).value()->id;
    ASSERT_TRUE(service_->WearerOk(id).ok());
    // Within the memory the detector's normal verdict is not applied …
    clock_.Advance(std::chrono::milliseconds(500));
    detector.OnVerdict(wearer_, Verdict(Level::kNormal), false);
    EXPECT_TRUE(store_->FindIncident(id)->open()) << "believed nothing open for 1 s";
    // … after it, it is (the recovery closes the incident).
    clock_.Advance(std::chrono::milliseconds(600));
    detector.OnVerdict(wearer_, Verdict(Level::kNormal), false);
    EXPECT_EQ(store_->FindIncident(id)->phase, IncidentPhase::kClosed);

    // A danger always reads the store, however recently nothing was open: it joins the incident another
    // process opened instead of opening a second one.
    detector.OnVerdict(wearer_, Verdict(Level::kNormal), false);  // learns: nothing open
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    const int64_t second = store_->FindOpenIncident(wearer_).value()->id;
    detector.OnVerdict(wearer_, Verdict(Level::kDanger), false);
    EXPECT_EQ(store_->ListIncidents(wearer_, 10)->size(), 2u);
    EXPECT_EQ(store_->FindOpenIncident(wearer_).value()->id, second);

    // 0: every verdict reads the store.
    ASSERT_TRUE(service_->WearerOk(second).ok());
    service_->OnVerdict(wearer_, Verdict(Level::kNormal), false);
    ASSERT_EQ(store_->FindIncident(second)->phase, IncidentPhase::kClosed);
    options.nothing_open_memory = Milliseconds(0);
    EscalationService uncached(*store_, clock_, options, nullptr, nullptr);
    uncached.OnVerdict(wearer_, Verdict(Level::kNormal), false);  // nothing open
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    const int64_t third = store_->FindOpenIncident(wearer_).value()->id;
    ASSERT_TRUE(service_->WearerOk(third).ok());
    uncached.OnVerdict(wearer_, Verdict(Level::kNormal), false);
    EXPECT_EQ(store_->FindIncident(third)->phase, IncidentPhase::kClosed);
}

// The verdict stage's half: PrepareVerdict decides without writing; the caller commits the transition with
// its own writes (here RecordVerdicts with the status row), and Committed announces the stored incident.
TEST_F(EscalationServiceTest, APreparedVerdictIsStoredByTheCallerAndAnnouncedOnce) {
    auto nothing = service_->PrepareVerdict(wearer_, Verdict(Level::kNormal), false);
    ASSERT_TRUE(nothing.ok());
    EXPECT_FALSE(nothing->has_value());
    auto prepared = service_->PrepareVerdict(wearer_, Verdict(Level::kDanger), false);
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    ASSERT_TRUE(prepared->has_value());
    EXPECT_TRUE((*prepared)->opened);
    EXPECT_EQ((*prepared)->write.incident.id, 0);
    EXPECT_EQ((*prepared)->write.outbox.size(), 1u);  // the guardian's SMS
    EXPECT_TRUE(store_->ListIncidents(wearer_, 10)->empty()) << "nothing is written by PrepareVerdict";
    EXPECT_TRUE(changes_.empty());

    store::VerdictRecord record;
    record.user_unique_num = wearer_;
    record.row = store::StatusRow{wearer_, 2, clock_.Now(), "heart_rate", "fast", clock_.Now()};
    record.incident = (*prepared)->write;
    auto written = store_->RecordVerdicts(std::span<const store::VerdictRecord>(&record, 1));
    ASSERT_TRUE(written.ok() && (*written)[0].ok());
    auto announced = service_->Committed(**prepared);
    ASSERT_TRUE(announced.ok()) << announced.status().ToString();
    EXPECT_GT(announced->id, 0);
    EXPECT_EQ(announced->phase, IncidentPhase::kCountdown);
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_EQ(changes_[0].first.id, announced->id);
    EXPECT_EQ(outbox_wakeups_, 1);
    EXPECT_EQ(Count(Outbox(announced->id), "sms"), 1);
    // The same danger again: nothing to store, as OnVerdict would find.
    auto again = service_->PrepareVerdict(wearer_, Verdict(Level::kDanger), false);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->has_value());
}

// A person's transition between the preparation and the commit: the prepared one is refused whole (the
// row still stands), and OnVerdict re-applies the verdict to the incident as it now is.
TEST_F(EscalationServiceTest, APreparedTransitionThatLostARaceIsRefusedAndReappliedThroughOnVerdict) {
    service_->OnVerdict(wearer_, Verdict(Level::kCaution), false);
    auto open = store_->FindOpenIncident(wearer_);
    ASSERT_TRUE(open.ok() && open->has_value());
    const int64_t id = (*open)->id;
    auto prepared = service_->PrepareVerdict(wearer_, Verdict(Level::kDanger), false);  // caution → danger
    ASSERT_TRUE(prepared.ok() && prepared->has_value());
    ASSERT_TRUE(service_->GuardianAck(id, "daughter").ok());  // came first
    store::VerdictRecord record;
    record.user_unique_num = wearer_;
    record.row = store::StatusRow{wearer_, 2, clock_.Now(), "heart_rate", "fast", clock_.Now()};
    record.incident = (*prepared)->write;
    auto written = store_->RecordVerdicts(std::span<const store::VerdictRecord>(&record, 1));
    ASSERT_TRUE(written.ok());
    EXPECT_EQ((*written)[0].code(), ErrorCode::kConflict);
    EXPECT_EQ(store_->RecentStatuses(wearer_, 10)->size(), 1u);
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    auto now_open = store_->FindOpenIncident(wearer_);
    ASSERT_TRUE(now_open.ok() && now_open->has_value());
    EXPECT_EQ((*now_open)->id, id) << "still the one incident";
    EXPECT_EQ((*now_open)->level, Level::kDanger);
    EXPECT_TRUE(Contains(EventTypes(id), "acknowledged")) << "the guardian's acknowledgement is kept";
    EXPECT_EQ(store_->ListIncidents(wearer_, 10)->size(), 1u);
}

TEST_F(EscalationServiceTest, DangerNotifiesTheContactThenDispatchesOnceWhenNobodyAnswers) {
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    auto open = store_->FindOpenIncident(wearer_);
    ASSERT_TRUE(open.ok() && open->has_value());
    const int64_t id = (*open)->id;
    EXPECT_EQ((*open)->phase, IncidentPhase::kCountdown);
    auto messages = Outbox(id);
    ASSERT_EQ(Count(messages, "sms"), 1);
    EXPECT_EQ(messages[0].recipient, "010-3333-4444");
    EXPECT_NE(messages[0].body.find("김영희님"), std::string::npos) << messages[0].body;
    EXPECT_NE(messages[0].body.find("119"), std::string::npos) << messages[0].body;
    EXPECT_EQ(outbox_wakeups_, 1);
    ASSERT_FALSE(changes_.empty());
    EXPECT_NE(std::find(changes_.back().second.begin(), changes_.back().second.end(), Notice::kWearerCountdown),
              changes_.back().second.end());
    // The same danger again: nothing new.
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    EXPECT_EQ(Outbox(id).size(), 1u);

    Advance(seconds(59));
    EXPECT_EQ(Count(Outbox(id), "emergency"), 0);
    Advance(seconds(1));
    messages = Outbox(id);
    ASSERT_EQ(Count(messages, "emergency"), 1);
    const auto dispatch =
        *std::find_if(messages.begin(), messages.end(), [](auto& m) { return m.channel == "emergency"; });
    EXPECT_NE(dispatch.body.find("김영희"), std::string::npos) << dispatch.body;
    EXPECT_NE(dispatch.body.find("세종대로"), std::string::npos) << dispatch.body;
    EXPECT_FALSE(dispatch.payload_json.empty());
    EXPECT_EQ(store_->FindIncident(id)->phase, IncidentPhase::kDispatched);
    Advance(minutes(2));
    EXPECT_EQ(Count(Outbox(id), "emergency"), 1) << "never a second call";
    // Events record every step.
    auto events = store_->IncidentEvents(id);
    ASSERT_TRUE(events.ok());
    std::vector<std::string> types;
    for (const auto& e : *events) types.push_back(e.type);
    EXPECT_NE(std::find(types.begin(), types.end(), "dispatched"), types.end());
}

// A watch back after hours offline sends its backlog: an episode of then is recorded (by the caller) but
// neither opens nor clears an incident now; what is recent still escalates as always.
TEST_F(EscalationServiceTest, ABacklogsVerdictsAndFallsOpenAndClearNothing) {
    const TimePoint now = clock_.Now();
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false, now - std::chrono::hours(3));
    auto prepared = service_->PrepareVerdict(wearer_, Verdict(Level::kDanger), false, now - minutes(11));
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    EXPECT_FALSE(prepared->has_value());
    EXPECT_TRUE(store_->ListIncidents(wearer_, 10)->empty());
    EXPECT_TRUE(changes_.empty());
    EXPECT_EQ(service_->past_verdicts(), 2);
    EXPECT_TRUE(service_->Past(now - minutes(11)));
    EXPECT_FALSE(service_->Past(now - minutes(9)));

    auto fall = service_->Fall(wearer_, now - std::chrono::hours(1));
    ASSERT_TRUE(fall.ok()) << fall.status().ToString();
    EXPECT_FALSE(fall->has_value());
    EXPECT_EQ(service_->past_falls(), 1);
    EXPECT_TRUE(store_->ListIncidents(wearer_, 10)->empty());

    // Nine minutes old is recent: the countdown starts.
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false, now - minutes(9));
    auto open = store_->FindOpenIncident(wearer_);
    ASSERT_TRUE(open.ok() && open->has_value());
    const int64_t id = (*open)->id;
    EXPECT_EQ((*open)->phase, IncidentPhase::kCountdown);
    ASSERT_TRUE(service_->WearerOk(id).ok());
    // A normal reading of two hours ago says nothing about now; a normal reading of now closes it.
    service_->OnVerdict(wearer_, Verdict(Level::kNormal), false, now - std::chrono::hours(2));
    EXPECT_TRUE(store_->FindIncident(id)->open());
    service_->OnVerdict(wearer_, Verdict(Level::kNormal), false, clock_.Now());
    EXPECT_FALSE(store_->FindIncident(id)->open());
    // A recent fall opens its incident.
    auto recent = service_->Fall(wearer_, clock_.Now() - seconds(20));
    ASSERT_TRUE(recent.ok() && recent->has_value()) << recent.status().ToString();
    EXPECT_EQ((*recent)->kind, domain::IncidentKind::kFall);
}

// After a backlog the watch falls silent: the silence verdict still carries the danger its last reading
// (hours old) held. With nothing open it opens only what the silence is — "check the watch", a caution —
// never a countdown for that old danger; a silence of minutes keeps today's behaviour.
TEST_F(EscalationServiceTest, ASilenceAfterAnOldDangerOpensOnlyTheSignalLoss) {
    auto silent_for = [](double silent_s) {
        domain::Detection d = Verdict(Level::kDanger);
        d.fired[0].kind = "hysteresis";
        domain::FiredRule silence;
        silence.rule = "signal_loss";
        silence.kind = "signal_loss";
        silence.level = Level::kCaution;
        silence.value = silent_s;
        d.fired.push_back(silence);
        d.explanation =
            "Heart rate was 150 bpm at its last reading; the danger alert stays until it has been out of the danger "
            "range for 5 min. No readings for 2 h 50 min: check that the watch is worn, charged and connected.";
        return d;
    };
    service_->OnVerdict(wearer_, silent_for(3 * 3600 - 600), /*signal_loss=*/true);
    auto open = store_->FindOpenIncident(wearer_);
    ASSERT_TRUE(open.ok() && open->has_value());
    EXPECT_EQ((*open)->level, Level::kCaution);
    EXPECT_EQ((*open)->phase, IncidentPhase::kGuidance);
    EXPECT_TRUE((*open)->causes.empty());
    EXPECT_EQ((*open)->explanation, "No readings for 2 h 50 min: check that the watch is worn, charged and connected.");
    EXPECT_EQ(Count(Outbox((*open)->id), "sms"), 0) << "nobody is alarmed at once";
    ASSERT_TRUE(service_->Resolve((*open)->id, "wearer").ok());

    service_->OnVerdict(wearer_, silent_for(300), /*signal_loss=*/true);
    open = store_->FindOpenIncident(wearer_);
    ASSERT_TRUE(open.ok() && open->has_value());
    EXPECT_EQ((*open)->level, Level::kDanger);
    EXPECT_EQ((*open)->phase, IncidentPhase::kCountdown);
}

TEST_F(EscalationServiceTest, CrashMidCountdownStillDispatchesExactlyOnce) {
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    const int64_t id = store_->FindOpenIncident(wearer_).value()->id;
    Advance(seconds(30));
    Restart();  // the process dies 30 s into the countdown and comes back 2 min later
    clock_.Advance(minutes(2));
    EXPECT_EQ(service_->TickOnce(clock_.Now()), 1u);
    EXPECT_EQ(Count(Outbox(id), "emergency"), 1);
    Restart();
    service_->TickOnce(clock_.Now() + seconds(1));
    EXPECT_EQ(Count(Outbox(id), "emergency"), 1);
}

TEST_F(EscalationServiceTest, ImOkCancelsAndRecoveryClosesWithAnAllClear) {
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    const int64_t id = store_->FindOpenIncident(wearer_).value()->id;
    clock_.Advance(seconds(20));
    auto ok = service_->WearerOk(id);
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_EQ(ok->phase, IncidentPhase::kGuardians);
    Advance(minutes(2));
    EXPECT_EQ(Count(Outbox(id), "emergency"), 0);
    service_->OnVerdict(wearer_, Verdict(Level::kNormal), false);
    auto closed = store_->FindIncident(id);
    EXPECT_EQ(closed->phase, IncidentPhase::kClosed);
    const auto messages = Outbox(id);
    EXPECT_TRUE(std::any_of(messages.begin(), messages.end(),
                            [](auto& m) { return m.body.find("정상으로 돌아왔습니다") != std::string::npos; }));
    // Closed: "I'm OK" again is a conflict; the next danger opens a new incident.
    EXPECT_EQ(service_->WearerOk(id).status().code(), ErrorCode::kConflict);
    service_->OnVerdict(wearer_, Verdict(Level::kCaution), false);
    EXPECT_NE(store_->FindOpenIncident(wearer_).value()->id, id);
}

TEST_F(EscalationServiceTest, GuardianAckAndSnoozeRules) {
    service_->OnVerdict(wearer_, Verdict(Level::kCaution), false);
    const int64_t id = store_->FindOpenIncident(wearer_).value()->id;
    EXPECT_TRUE(Outbox(id).empty()) << "caution: the wearer first, guardians only if it lasts";
    auto snoozed = service_->Snooze(id, "son_lee", minutes(30));
    ASSERT_TRUE(snoozed.ok()) << snoozed.status().ToString();
    Advance(minutes(11));
    EXPECT_TRUE(Outbox(id).empty()) << "the snooze defers the escalation too";
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    EXPECT_EQ(Count(Outbox(id), "sms"), 1) << "danger ends the snooze";
    EXPECT_EQ(service_->Snooze(id, "son_lee", minutes(5)).status().code(), ErrorCode::kConflict);
    auto acked = service_->GuardianAck(id, "son_lee");
    ASSERT_TRUE(acked.ok());
    EXPECT_EQ(acked->acknowledged_by, "son_lee");
    Advance(minutes(3));
    EXPECT_EQ(Count(Outbox(id), "emergency"), 0);
}

TEST_F(EscalationServiceTest, SosDispatchesAtOnceWithTheLocation) {
    Location here;
    here.latitude = 37.5725;
    here.longitude = 126.9769;
    auto sos = service_->Sos(wearer_, here);
    ASSERT_TRUE(sos.ok()) << sos.status().ToString();
    EXPECT_EQ(sos->phase, IncidentPhase::kDispatched);
    const auto messages = Outbox(sos->id);
    ASSERT_EQ(Count(messages, "emergency"), 1);
    const auto dispatch =
        *std::find_if(messages.begin(), messages.end(), [](auto& m) { return m.channel == "emergency"; });
    EXPECT_NE(dispatch.body.find("37.57"), std::string::npos) << dispatch.body;
    EXPECT_EQ(Count(messages, "sms"), 1);
    EXPECT_NE(messages[0].body.find("SOS"), std::string::npos);
    // Normal vitals do not close an SOS; a person does.
    service_->OnVerdict(wearer_, Verdict(Level::kNormal), false);
    EXPECT_TRUE(store_->FindOpenIncident(wearer_).value().has_value());
    ASSERT_TRUE(service_->Resolve(sos->id, "grandma_kim").ok());
    EXPECT_FALSE(store_->FindOpenIncident(wearer_).value().has_value());
}

TEST_F(EscalationServiceTest, AnUnverifiedNumberGetsNoSmsAndTheTimelineSaysWhy) {
    const int64_t stranger_target = NewWearer("new_park", "010-5555-6666");
    service_->OnVerdict(stranger_target, Verdict(Level::kDanger), false);
    const int64_t id = store_->FindOpenIncident(stranger_target).value()->id;
    EXPECT_EQ(Count(Outbox(id), "sms"), 0) << "010-5555-6666 never entered a code";
    const auto events = store_->IncidentEvents(id).value();
    auto skipped = std::find_if(events.begin(), events.end(), [](auto& e) { return e.type == "sms_skipped"; });
    ASSERT_NE(skipped, events.end());
    EXPECT_NE(skipped->detail.find("010-****-6666"), std::string::npos) << skipped->detail;
    EXPECT_NE(skipped->detail.find("not verified"), std::string::npos) << skipped->detail;
    // Verified since: the next alert (a reminder) reaches it.
    Verify(stranger_target, "01055556666");
    Advance(minutes(5));
    EXPECT_GE(Count(Outbox(id), "sms"), 1);
}

// Issue 19: every time a person reads is in the wearer's own IANA zone, daylight saving included — the
// 119 report of a wearer living in Berlin says 09:00 (UTC+01:00) in January, not Korea's 17:00.
TEST_F(EscalationServiceTest, TheEmergencyReportIsWrittenInTheWearersTimeZone) {
    store::NewUser u;
    u.profile.id = "oma_berlin";
    u.profile.name = "Erika Muster";
    u.profile.age = 84;
    u.profile.address = "Unter den Linden 1, Berlin";
    u.profile.phone_num = "+49 30 1234567";
    u.profile.time_zone = "Europe/Berlin";
    u.password_hash = "x";
    u.created_at = clock_.Now() - std::chrono::hours(48);
    auto created = store_->CreateUser(u);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_EQ(store_->FindUserByUniqueNum(created->unique_num)->profile.time_zone, "Europe/Berlin");
    service_->OnVerdict(created->unique_num, Verdict(Level::kDanger), false);
    const int64_t id = store_->FindOpenIncident(created->unique_num).value()->id;
    Advance(seconds(60));
    auto messages = Outbox(id);
    ASSERT_EQ(Count(messages, "emergency"), 1);
    const auto dispatch =
        *std::find_if(messages.begin(), messages.end(), [](auto& m) { return m.channel == "emergency"; });
    // Opened at 1'800'000'000'000 ms, 2027-01-15 08:00 UTC.
    EXPECT_NE(dispatch.body.find("2027-01-15 09:00 (UTC+01:00)"), std::string::npos) << dispatch.body;
    EXPECT_NE(dispatch.payload_json.find(R"("time_zone":"Europe/Berlin")"), std::string::npos) << dispatch.payload_json;
    EXPECT_NE(dispatch.payload_json.find(R"("utc_offset_minutes":60)"), std::string::npos) << dispatch.payload_json;
}

TEST_F(EscalationServiceTest, AVerifiedGuardEmailGetsTheAlertsByEmailAndAnUnverifiedOneNone) {
    // Without an e-mail channel nothing goes by e-mail, verified or not.
    ASSERT_TRUE(store_->SetGuardEmail(wearer_, "guardian@example.org", "").ok());
    Verify(wearer_, EmailKey("guardian@example.org"));
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    int64_t id = store_->FindOpenIncident(wearer_).value()->id;
    EXPECT_EQ(Count(Outbox(id), "email"), 0);
    ASSERT_TRUE(service_->Resolve(id, "test").ok());

    email_enabled_ = true;
    Restart();
    clock_.Advance(minutes(1));
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    id = store_->FindOpenIncident(wearer_).value()->id;
    auto messages = Outbox(id);
    ASSERT_EQ(Count(messages, "email"), 1);
    ASSERT_EQ(Count(messages, "sms"), 1);
    const auto mail = *std::find_if(messages.begin(), messages.end(), [](auto& m) { return m.channel == "email"; });
    const auto sms = *std::find_if(messages.begin(), messages.end(), [](auto& m) { return m.channel == "sms"; });
    EXPECT_EQ(mail.recipient, "guardian@example.org");
    EXPECT_NE(mail.subject.find("김영희님"), std::string::npos) << mail.subject;
    EXPECT_NE(mail.subject.find("위험"), std::string::npos) << mail.subject;
    // What, in the reader's language (the message catalogue's words, not the rules' English).
    EXPECT_NE(mail.body.find("심박수가 너무 높습니다(분당 150회)."), std::string::npos) << mail.body;
    EXPECT_EQ(mail.body.find("Heart rate"), std::string::npos) << mail.body;
    EXPECT_NE(sms.body.find("김영희님 상태 위험: 심박수가 너무 높습니다(분당 150회)."), std::string::npos) << sms.body;
    EXPECT_NE(mail.body.find("세종대로 1 101동 202호"), std::string::npos) << mail.body;
    // When, in KST: 1'800'000'060'000 ms is 2027-01-15 08:01 UTC, 17:01 in Seoul.
    EXPECT_NE(mail.body.find("2027-01-15 17:01 (UTC+09:00)"), std::string::npos) << mail.body;
    // The SMS's key with "-email".
    EXPECT_EQ(mail.idempotency_key, sms.idempotency_key + "-email");

    // Reminders follow the SMS; resolution sends the all-clear to both.
    ASSERT_TRUE(service_->WearerOk(id).ok());
    messages = Outbox(id);
    EXPECT_EQ(Count(messages, "email"), Count(messages, "sms"));
    EXPECT_GE(Count(messages, "email"), 2);
    // Later notices carry the dashboard link (the first alert has none, as its SMS: the incident had no id yet).
    const auto later = *std::find_if(messages.rbegin(), messages.rend(), [](auto& m) { return m.channel == "email"; });
    EXPECT_NE(later.body.find("https://vg.example/incidents/" + std::to_string(id)), std::string::npos) << later.body;

    // A changed address is unverified: the next alert skips it and says so on the timeline.
    ASSERT_TRUE(service_->Resolve(id, "test").ok());
    ASSERT_TRUE(store_->SetGuardEmail(wearer_, "new@example.org", EmailKey("guardian@example.org")).ok());
    clock_.Advance(minutes(1));
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    id = store_->FindOpenIncident(wearer_).value()->id;
    EXPECT_EQ(Count(Outbox(id), "email"), 0);
    const auto events = store_->IncidentEvents(id).value();
    auto skipped = std::find_if(events.begin(), events.end(), [](auto& e) { return e.type == "email_skipped"; });
    ASSERT_NE(skipped, events.end());
    EXPECT_NE(skipped->detail.find("n***@example.org"), std::string::npos) << skipped->detail;
}

TEST_F(EscalationServiceTest, ANewAccountsSosCountsDownAndImOkCancelsIt) {
    const int64_t wearer = NewWearer("new_choi", "010-5555-6666");
    auto sos = service_->Sos(wearer, std::nullopt);
    ASSERT_TRUE(sos.ok()) << sos.status().ToString();
    EXPECT_EQ(sos->phase, IncidentPhase::kCountdown);
    EXPECT_EQ(Count(Outbox(sos->id), "emergency"), 0);
    clock_.Advance(seconds(10));
    ASSERT_TRUE(service_->WearerOk(sos->id).ok());
    Advance(minutes(2));
    EXPECT_EQ(Count(Outbox(sos->id), "emergency"), 0) << "the mistake was cancelled";
    ASSERT_TRUE(service_->Resolve(sos->id, "wearer").ok());
    // Unanswered, it reaches 119 when the countdown runs out, with the location the SOS sent.
    Location here;
    here.latitude = 37.5725;
    here.longitude = 126.9769;
    here.accuracy_m = 15;
    auto real = service_->Sos(wearer, here);
    ASSERT_TRUE(real.ok()) << real.status().ToString();
    Advance(seconds(59));
    EXPECT_EQ(Count(Outbox(real->id), "emergency"), 0);
    Advance(seconds(1));
    const auto messages = Outbox(real->id);
    ASSERT_EQ(Count(messages, "emergency"), 1);
    const auto call = *std::find_if(messages.begin(), messages.end(), [](auto& m) { return m.channel == "emergency"; });
    EXPECT_NE(call.body.find("37.57250,126.97690"), std::string::npos) << call.body;
    // Old enough but no number verified: still new.
    auto user = store_->FindUserByUniqueNum(wearer).value();
    clock_.Advance(std::chrono::hours(48));
    EXPECT_FALSE(service_->Established(user, clock_.Now()).value());
    Verify(wearer, "01077778888");  // its own number will do
    EXPECT_TRUE(service_->Established(user, clock_.Now()).value());
}

TEST_F(EscalationServiceTest, AnSosResolveLoopIsRefusedPastTheHourlyLimitsButPressingAgainJoins) {
    // Established: each SOS dispatches at once; the fourth in the hour would be a fourth call.
    for (int round = 0; round < 3; ++round) {
        auto sos = service_->Sos(wearer_, std::nullopt);
        ASSERT_TRUE(sos.ok()) << round << ": " << sos.status().ToString();
        EXPECT_EQ(sos->phase, IncidentPhase::kDispatched);
        auto again = service_->Sos(wearer_, std::nullopt);  // pressing again joins
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(again->id, sos->id);
        clock_.Advance(minutes(1));
        ASSERT_TRUE(service_->Resolve(sos->id, "wearer").ok());
    }
    clock_.Advance(minutes(1));
    auto refused = service_->Sos(wearer_, std::nullopt);
    ASSERT_EQ(refused.status().code(), ErrorCode::kRateLimited);
    EXPECT_NE(refused.status().message().find("3 emergency calls"), std::string::npos) << refused.status().message();
    // The first call was 4 min ago: its place frees 56 min from now.
    EXPECT_EQ(refused.status().retry_after_seconds(), 56 * 60);
    EXPECT_FALSE(store_->FindOpenIncident(wearer_).value().has_value()) << "nothing opened";
    clock_.Advance(minutes(56));
    EXPECT_TRUE(service_->Sos(wearer_, std::nullopt).ok()) << "an hour after the first, again";

    // A new account cancels each countdown: 5 SOS, then the SOS limit.
    const int64_t loop = NewWearer("loop_kang", "010-5555-6666");
    for (int round = 0; round < 5; ++round) {
        auto sos = service_->Sos(loop, std::nullopt);
        ASSERT_TRUE(sos.ok()) << round << ": " << sos.status().ToString();
        ASSERT_TRUE(service_->Resolve(sos->id, "wearer").ok());
    }
    auto sixth = service_->Sos(loop, std::nullopt);
    ASSERT_EQ(sixth.status().code(), ErrorCode::kRateLimited);
    EXPECT_NE(sixth.status().message().find("5 SOS an hour"), std::string::npos);
}

TEST_F(EscalationServiceTest, ACountdownPastTheHourlyDispatchLimitIsRecordedNotCalled) {
    for (int round = 0; round < 3; ++round) {
        auto sos = service_->Sos(wearer_, std::nullopt);
        ASSERT_TRUE(sos.ok()) << sos.status().ToString();
        ASSERT_TRUE(service_->Resolve(sos->id, "wearer").ok());
        clock_.Advance(minutes(1));  // message keys hold the opening time: incidents a minute apart
    }
    service_->OnVerdict(wearer_, Verdict(Level::kDanger), false);
    const int64_t id = store_->FindOpenIncident(wearer_).value()->id;
    Advance(seconds(61));
    EXPECT_EQ(Count(Outbox(id), "emergency"), 0);
    EXPECT_TRUE(Contains(EventTypes(id), "dispatch_refused"));
    EXPECT_FALSE(Contains(EventTypes(id), "dispatched"));
    EXPECT_EQ(store_->FindIncident(id)->phase, IncidentPhase::kGuardians);
    EXPECT_EQ(service_->dispatches_refused(), 1);
    EXPECT_GE(Count(Outbox(id), "sms"), 1) << "the guardians are still told";
}

TEST_F(EscalationServiceTest, InvisibleCharactersStoredBeforeTheChecksDoNotReachMessages) {
    store::NewUser u;
    u.profile.id = "old_bidi";
    u.profile.name = "\u202e\uc774\uc601\uc218";  // RIGHT-TO-LEFT OVERRIDE + 이영수, stored before sign-up refused it
    u.profile.age = 80;
    u.profile.address = "\u200b서울 1";
    u.profile.phone_num = "010-1212-3434";
    u.profile.guard_name = "이";
    u.profile.guard_phone_num = "010-5656-7878";
    u.password_hash = "x";
    u.created_at = clock_.Now() - std::chrono::hours(48);
    auto created = store_->CreateUser(u);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Verify(created->unique_num, "01056567878");
    auto sos = service_->Sos(created->unique_num, std::nullopt);
    ASSERT_TRUE(sos.ok()) << sos.status().ToString();
    const auto messages = Outbox(sos->id);
    ASSERT_EQ(Count(messages, "emergency"), 1);
    ASSERT_EQ(Count(messages, "sms"), 1);
    for (const auto& m : messages) {
        EXPECT_EQ(m.body.find("\u202e"), std::string::npos) << m.channel;
        EXPECT_EQ(m.body.find("\u200b"), std::string::npos) << m.channel;
        EXPECT_NE(m.body.find("\uc774\uc601\uc218"), std::string::npos) << m.body;
    }
}

}  // namespace
}  // namespace vg::escalation
