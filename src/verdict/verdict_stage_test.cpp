// The verdict stage on both scales of store (a real SQLite file, and the in-memory store) and simulated time: rows
// committed together and only then answered, refused rows answered with the error, late readings, causal order of live
// events, draining on Stop.
#include "vg/verdict/verdict_stage.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>

#include "vg/events/events.hpp"
#include "vg/store/memory_store.hpp"
#include "vg/store/sqlite_store.hpp"

namespace vg::verdict {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using domain::Level;

domain::Detection Verdict(Level level) {
    domain::Detection d;
    d.level = level;
    if (level != Level::kNormal) {
        d.causes = {domain::Metric::kHeartRate};
        domain::FiredRule f;
        f.rule = level == Level::kDanger ? "heart_rate.high.danger" : "heart_rate.high.moderate";
        f.kind = "threshold";
        f.metric = domain::Metric::kHeartRate;
        f.level = level;
        f.value = level == Level::kDanger ? 150 : 118;
        d.fired.push_back(f);
        d.explanation = "Heart rate is high.";
    } else {
        d.explanation = "All vitals are normal.";
    }
    return d;
}

// Collects the live messages of one wearer, in order.
class Collector : public live::LiveSubscriber {
  public:
    bool Deliver(const std::string& message) override {
        std::lock_guard lock(mu);
        messages.push_back(message);
        return true;
    }
    std::vector<std::string> Types() {
        std::lock_guard lock(mu);
        std::vector<std::string> types;
        for (const auto& m : messages) types.emplace_back(json::parse(m).at("type").as_string());
        return types;
    }
    std::mutex mu;
    std::vector<std::string> messages;
};

class VerdictStageTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("vg-verdict-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        fs::create_directories(dir_);
        if (GetParam() == "memory") {
            store_ = std::make_unique<store::MemoryStore>();
        } else {
            store::SqliteStoreOptions o;
            o.path = (dir_ / "vitalguard.db").string();
            o.clock = &clock_;
            auto s = store::SqliteStore::Open(o);
            ASSERT_TRUE(s.ok()) << s.status().ToString();
            store_ = std::move(s).value();
        }
        wearer_ = CreateUser("grandma_kim");
        ids_.emplace(*store_);
    }
    void TearDown() override {
        ids_.reset();
        store_.reset();
        fs::remove_all(dir_);
    }
    int64_t CreateUser(const std::string& id) {
        store::NewUser u;
        u.profile.id = id;
        u.profile.name = "김영희";
        u.profile.age = 82;
        u.profile.address = "서울특별시 종로구 세종대로 1";
        u.profile.phone_num = "010-1111-2222";
        u.password_hash = "x";
        u.created_at = clock_.Now();
        auto created = store_->CreateUser(u);
        EXPECT_TRUE(created.ok()) << created.status().ToString();
        return created.ok() ? created->unique_num : 0;
    }
    // An update_status reading whose answer lands in `answer`.
    bus::ReadingEnvelope Reading(int64_t wearer, int minute, std::promise<Result<domain::Detection>>* answer) {
        bus::ReadingEnvelope e;
        e.wearer = wearer;
        e.reading.measured_at = clock_.Now() + std::chrono::minutes(minute);
        e.received_at = clock_.Now();
        e.record_status = answer != nullptr;
        if (answer) e.on_detected = [answer](const Result<domain::Detection>& d) { answer->set_value(d); };
        return e;
    }
    size_t Rows(int64_t wearer) {
        auto rows = store_->RecentStatuses(wearer, 10'000);
        EXPECT_TRUE(rows.ok());
        return rows.ok() ? rows->size() : 0;
    }

    ManualClock clock_{FromUnixMillis(1'800'000'000'000)};
    fs::path dir_;
    std::unique_ptr<store::Store> store_;
    std::optional<WearerIds> ids_;
    live::LiveHub hub_;
    int64_t wearer_ = 0;
};

TEST_P(VerdictStageTest, CommitsAQueuedBatchTogetherAndAnswersAfterIt) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {1, 1024, 65536, {}});
    constexpr int kReadings = 200;
    std::vector<std::promise<Result<domain::Detection>>> answers(kReadings);
    // Queued before Start: the stage takes them as one batch, as it does whatever piled up during a commit.
    for (int i = 0; i < kReadings; ++i) {
        auto e = Reading(wearer_, i, &answers[static_cast<size_t>(i)]);
        stage.OnDetection(wearer_, &e, Verdict(i % 50 == 49 ? Level::kCaution : Level::kNormal), Level::kNormal);
        EXPECT_FALSE(e.on_detected) << "the stage took the caller's answer";
    }
    EXPECT_EQ(Rows(wearer_), 0u) << "nothing is written on the detector's thread";
    stage.Start();
    for (auto& a : answers) {
        auto f = a.get_future();
        ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
        ASSERT_TRUE(f.get().ok());
    }
    // Every answered reading has its row on disk.
    EXPECT_EQ(Rows(wearer_), static_cast<size_t>(kReadings));
    EXPECT_EQ(store_->FindUserByUniqueNum(wearer_)->danger_degree, 1);  // the last caution was at 199
    stage.Stop();
    const VerdictStageStats stats = stage.stats();
    EXPECT_EQ(stats.verdicts, static_cast<uint64_t>(kReadings));
    EXPECT_EQ(stats.status_rows, static_cast<uint64_t>(kReadings));
    EXPECT_EQ(stats.commits, 1u);
    EXPECT_EQ(stats.largest_batch, static_cast<uint64_t>(kReadings));
}

// AfterHandled (what a bus waits for before it acknowledges deliveries): called once every verdict handed
// to the stage before it, on every stage shard, is committed — never before — and at once on a stopped stage.
TEST_P(VerdictStageTest, AfterHandledWaitsForEveryEarlierVerdictOnEveryShard) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {4, 1024, 65536, {}});
    std::vector<int64_t> wearers{wearer_};
    for (int i = 1; i < 8; ++i) wearers.push_back(CreateUser("wearer_" + std::to_string(i)));
    constexpr int kEach = 25;
    // Queued before Start, so that nothing is committed yet when the marker is placed.
    for (int i = 0; i < kEach; ++i) {
        for (int64_t w : wearers) {
            auto e = Reading(w, i, nullptr);
            e.record_status = true;
            stage.OnDetection(w, &e, Verdict(Level::kNormal), Level::kNormal);
        }
    }
    std::promise<size_t> rows_when_handled;
    stage.AfterHandled([&] {
        size_t rows = 0;
        for (int64_t w : wearers) rows += Rows(w);
        rows_when_handled.set_value(rows);
    });
    auto handled = rows_when_handled.get_future();
    EXPECT_EQ(handled.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
        << "called before the stage started";
    stage.Start();
    ASSERT_EQ(handled.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(handled.get(), wearers.size() * kEach) << "every earlier verdict's row was on disk";
    EXPECT_EQ(stage.stats().verdicts, static_cast<uint64_t>(wearers.size() * kEach)) << "markers are not verdicts";
    stage.Stop();
    bool called = false;
    stage.AfterHandled([&] { called = true; });
    EXPECT_TRUE(called) << "a stopped stage has nothing left to wait for";
}

// The seed's update_status: the reading arrives unstored and is stored with its row in the same commit,
// before the caller hears; a late one is stored too, without a row.
TEST_P(VerdictStageTest, AnUnstoredReadingIsStoredWithItsRowBeforeTheAnswer) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {1, 1024, 65536, {}});
    std::promise<Result<domain::Detection>> fresh, late;
    auto e = Reading(wearer_, 2, &fresh);
    e.store_with_verdict = true;
    auto old = Reading(wearer_, 1, &late);
    old.store_with_verdict = true;
    stage.OnDetection(wearer_, &e, Verdict(Level::kNormal), Level::kNormal);
    stage.OnLateReading(wearer_, old, Verdict(Level::kNormal));
    EXPECT_TRUE(store_->RecentReadings(wearer_, 10)->empty()) << "nothing is written before the stage runs";
    stage.Start();
    ASSERT_TRUE(fresh.get_future().get().ok());
    ASSERT_TRUE(late.get_future().get().ok());
    auto readings = store_->RecentReadings(wearer_, 10);
    ASSERT_TRUE(readings.ok());
    ASSERT_EQ(readings->size(), 2u);
    EXPECT_EQ((*readings)[0].reading.measured_at, e.reading.measured_at);
    EXPECT_EQ(Rows(wearer_), 1u);  // the late reading has no row
    stage.Stop();
    EXPECT_EQ(stage.stats().readings, 2u);
    EXPECT_EQ(stage.stats().commits, 1u);
}

TEST_P(VerdictStageTest, WritesARowOnlyWhenTheLevelChangesOrTheCallerAsks) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {2, 1024, 65536, {}});
    stage.Start();
    auto quiet = Reading(wearer_, 0, nullptr);  // a watch's batch reading: no row while nothing changes
    stage.OnDetection(wearer_, &quiet, Verdict(Level::kNormal), Level::kNormal);
    auto up = Reading(wearer_, 1, nullptr);
    stage.OnDetection(wearer_, &up, Verdict(Level::kDanger), Level::kNormal);
    stage.OnDetection(wearer_, nullptr, Verdict(Level::kDanger), Level::kDanger);  // signal loss, unchanged
    stage.Stop();
    auto rows = store_->RecentStatuses(wearer_, 10);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].status, 2);
    EXPECT_EQ((*rows)[0].causes, "heart_rate");
    EXPECT_EQ((*rows)[0].explanation, "Heart rate is high.");
    EXPECT_EQ((*rows)[0].reading_at, up.reading.measured_at);
}

TEST_P(VerdictStageTest, ARowTheStoreRefusesIsAnsweredWithAnErrorAndOthersStillCommit) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {1, 1024, 65536, {}});
    const int64_t ghost = wearer_ + 1000;  // no such user
    std::promise<Result<domain::Detection>> mine, theirs;
    auto a = Reading(wearer_, 0, &mine);
    auto b = Reading(ghost, 0, &theirs);
    stage.OnDetection(wearer_, &a, Verdict(Level::kNormal), Level::kNormal);
    stage.OnDetection(ghost, &b, Verdict(Level::kNormal), Level::kNormal);
    stage.Start();
    auto ok = mine.get_future().get();
    auto refused = theirs.get_future().get();
    EXPECT_TRUE(ok.ok());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(Rows(wearer_), 1u);
    stage.Stop();
    EXPECT_EQ(stage.stats().failed_rows, 1u);
}

TEST_P(VerdictStageTest, LateReadingsAreAnsweredWithoutARow) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {1, 1024, 65536, {}});
    stage.Start();
    std::promise<Result<domain::Detection>> answer;
    auto late = Reading(wearer_, -5, &answer);
    domain::Detection current = Verdict(Level::kCaution);
    current.explanation = "older";
    stage.OnLateReading(wearer_, late, current);
    auto got = answer.get_future().get();
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->level, Level::kCaution);
    EXPECT_EQ(got->explanation, "older");
    stage.Stop();
    EXPECT_EQ(Rows(wearer_), 0u);
}

// Each reading's verdict reports its latency from the server's receipt to its recording, once; a late
// reading (answered with the current verdict) is not a new verdict and is not measured.
TEST_P(VerdictStageTest, ReportsEachRecordedVerdictsLatencyFromReceipt) {
    std::mutex mu;
    std::vector<std::chrono::microseconds> latencies;
    VerdictStageOptions options{1, 1024, 65536, {}};
    options.on_verdict_latency = [&](std::chrono::microseconds us) {
        std::lock_guard lock(mu);
        latencies.push_back(us);
    };
    VerdictStage stage(*store_, *ids_, hub_, clock_, options);
    std::promise<Result<domain::Detection>> first, second, late;
    auto a = Reading(wearer_, 1, &first);
    stage.OnDetection(wearer_, &a, Verdict(Level::kNormal), Level::kNormal);
    clock_.Advance(std::chrono::milliseconds(250));  // the first waited 250 ms, the second none
    auto b = Reading(wearer_, 2, &second);
    stage.OnDetection(wearer_, &b, Verdict(Level::kNormal), Level::kNormal);
    auto old = Reading(wearer_, -5, &late);
    stage.OnLateReading(wearer_, old, Verdict(Level::kNormal));
    stage.Start();
    ASSERT_TRUE(first.get_future().get().ok());
    ASSERT_TRUE(second.get_future().get().ok());
    ASSERT_TRUE(late.get_future().get().ok());
    stage.Stop();
    std::lock_guard lock(mu);
    ASSERT_EQ(latencies.size(), 2u);
    EXPECT_EQ(latencies[0], std::chrono::milliseconds(250));
    EXPECT_EQ(latencies[1], std::chrono::microseconds(0));
}

TEST_P(VerdictStageTest, TheDetectionEventGoesOutBeforeTheIncidentItOpens) {
    auto watcher = std::make_shared<Collector>();
    hub_.Subscribe(wearer_, watcher);
    escalation::EscalationService escalation(
        *store_, clock_, {}, [&](const domain::Incident& incident, const std::vector<escalation::Notice>&) {
            hub_.Publish(incident.wearer, events::IncidentEvent(incident, ids_->Of(incident.wearer), {}, clock_.Now()));
        });
    VerdictStage stage(*store_, *ids_, hub_, clock_, {1, 1024, 65536, {}});
    stage.set_escalation(&escalation);
    stage.Start();
    std::promise<Result<domain::Detection>> answer;
    auto e = Reading(wearer_, 0, &answer);
    stage.OnDetection(wearer_, &e, Verdict(Level::kDanger), Level::kNormal);
    ASSERT_TRUE(answer.get_future().get().ok());
    stage.Stop();
    const auto types = watcher->Types();
    ASSERT_GE(types.size(), 2u);
    EXPECT_EQ(types[0], "detection");
    EXPECT_EQ(types[1], "incident");
    const json::value first = json::parse(watcher->messages[0]);
    EXPECT_EQ(first.at("wearer"), "grandma_kim");
    EXPECT_EQ(first.at("status"), 2);
    auto open = store_->FindOpenIncident(wearer_);
    ASSERT_TRUE(open.ok());
    EXPECT_TRUE(open->has_value());
}

// The incident a danger verdict opens is in the same commit as its status row (one store call), and a later
// verdict of the same wearer in the batch escalates after it, on the incident the first one opened.
TEST_P(VerdictStageTest, TheIncidentAVerdictOpensIsCommittedWithItsRow) {
    int changes = 0;
    escalation::EscalationService escalation(
        *store_, clock_, {}, [&](const domain::Incident&, const std::vector<escalation::Notice>&) { ++changes; });
    VerdictStage stage(*store_, *ids_, hub_, clock_, {1, 1024, 65536, {}});
    stage.set_escalation(&escalation);
    const int64_t other = CreateUser("grandpa_lee");
    std::vector<std::promise<Result<domain::Detection>>> answers(3);
    auto a = Reading(wearer_, 0, &answers[0]);
    stage.OnDetection(wearer_, &a, Verdict(Level::kDanger), Level::kNormal);
    auto b = Reading(wearer_, 1, &answers[1]);  // the same wearer again: after the commit
    stage.OnDetection(wearer_, &b, Verdict(Level::kDanger), Level::kDanger);
    auto c = Reading(other, 0, &answers[2]);
    stage.OnDetection(other, &c, Verdict(Level::kCaution), Level::kNormal);
    stage.Start();  // all three in one batch
    for (auto& answer : answers) ASSERT_TRUE(answer.get_future().get().ok());
    stage.Stop();
    const VerdictStageStats stats = stage.stats();
    EXPECT_EQ(stats.commits, 1u) << "the rows and both incidents in one store call";
    EXPECT_EQ(stats.incidents_in_commit, 2u);
    EXPECT_EQ(stats.incident_conflicts, 0u);
    for (int64_t w : {wearer_, other}) {
        auto incidents = store_->ListIncidents(w, 10);
        ASSERT_TRUE(incidents.ok());
        EXPECT_EQ(incidents->size(), 1u) << "one incident per wearer, not two";
        EXPECT_TRUE(store_->FindOpenIncident(w)->has_value());
    }
    EXPECT_EQ(changes, 2) << "each opening announced once; the repeated danger changed nothing";
}

TEST_P(VerdictStageTest, StopHandlesWhatIsQueuedAndRefusesWhatComesAfter) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {2, 1024, 65536, {}});
    stage.Start();
    std::vector<std::promise<Result<domain::Detection>>> answers(50);
    for (int i = 0; i < 50; ++i) {
        auto e = Reading(wearer_, i, &answers[static_cast<size_t>(i)]);
        stage.OnDetection(wearer_, &e, Verdict(Level::kNormal), Level::kNormal);
    }
    stage.Stop();
    for (auto& a : answers) EXPECT_TRUE(a.get_future().get().ok());
    EXPECT_EQ(Rows(wearer_), 50u);
    std::promise<Result<domain::Detection>> after;
    auto e = Reading(wearer_, 60, &after);
    stage.OnDetection(wearer_, &e, Verdict(Level::kNormal), Level::kNormal);
    auto refused = after.get_future().get();
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(Rows(wearer_), 50u);
}

TEST_P(VerdictStageTest, AFullQueueMakesTheDetectorWaitInsteadOfDroppingVerdicts) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {1, 64, 8, {}});  // room for 8
    std::atomic<int> enqueued{0};
    std::thread detector([&] {
        for (int i = 0; i < 100; ++i) {
            auto e = Reading(wearer_, i, nullptr);
            e.record_status = true;
            stage.OnDetection(wearer_, &e, Verdict(Level::kNormal), Level::kNormal);
            enqueued.fetch_add(1);
        }
    });
    // Not started: the detector blocks on the ninth verdict.
    for (int i = 0; i < 200 && enqueued.load() < 8; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(enqueued.load(), 8);
    stage.Start();
    detector.join();
    stage.Stop();
    EXPECT_EQ(Rows(wearer_), 100u);
}

// Hears posture events; checks that the verdict's rows were committed before it hears them; a confirmed fall
// "opens" incident 77.
class PostureEvents final : public posture::PostureListener {
  public:
    explicit PostureEvents(store::Store& store) : store_(store) {}
    std::optional<int64_t> OnPostureEvent(const posture::PostureEvent& event) override {
        std::lock_guard lock(mu);
        auto rows = store_.RecentPostures(event.wearer, 10);
        rows_seen.push_back(rows.ok() ? rows->size() : 0);
        events.push_back(event);
        return event.fall == posture::FallState::kConfirmed ? std::optional<int64_t>(77) : std::nullopt;
    }
    std::mutex mu;
    std::vector<posture::PostureEvent> events;  // GUARDED_BY(mu)
    std::vector<size_t> rows_seen;              // GUARDED_BY(mu)

  private:
    store::Store& store_;
};

// A request's posture verdict: a suspicion raised at the first window and confirmed at the second.
posture::PostureVerdict FallVerdict(int64_t wearer, TimePoint at,
                                    std::promise<Result<std::vector<posture::WindowResult>>>* answer) {
    posture::PostureVerdict v;
    v.wearer = wearer;
    for (int i = 0; i < 2; ++i) {
        store::PostureRow row;
        row.user_unique_num = wearer;
        row.posture = i == 0 ? 7 : 6;
        row.updated_at = at + std::chrono::seconds(i);
        v.rows.push_back(row);
        posture::WindowResult r;
        r.at = row.updated_at;
        r.fall = i == 0 ? posture::FallState::kSuspected : posture::FallState::kConfirmed;
        v.results.push_back(r);
        posture::PostureEvent e;
        e.wearer = wearer;
        e.fall = r.fall;
        e.at = r.at;
        v.events.push_back(e);
        v.incident_result.push_back(i == 1 ? std::optional<size_t>(1) : std::nullopt);
    }
    store::FallSuspicion f;
    f.wearer = wearer;
    f.impact_at = at;
    f.last_end = at;
    f.last_received = at;
    f.raised_at = at;
    f.updated_at = at;
    v.save_suspicion = f;
    v.store_failed = std::make_shared<std::atomic<bool>>(false);
    if (answer) v.answer = [answer](Result<std::vector<posture::WindowResult>> r) { answer->set_value(std::move(r)); };
    return v;
}

// Posture through the stage: its rows and fall state join the status rows' commit; then its events reach the
// listener (after the commit) in order, the confirmed fall's incident goes into the answer, and only then is
// the request answered.
TEST_P(VerdictStageTest, APostureVerdictCommitsWithTheStatusRowsThenDeliversAndAnswers) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {1, 1024, 65536, {}});
    PostureEvents listener(*store_);
    stage.set_posture_listener(&listener);
    std::promise<Result<domain::Detection>> status_answer;
    auto e = Reading(wearer_, 0, &status_answer);
    stage.OnDetection(wearer_, &e, Verdict(Level::kNormal), Level::kNormal);
    std::promise<Result<std::vector<posture::WindowResult>>> answer;
    stage.OnPostureVerdict(FallVerdict(wearer_, clock_.Now(), &answer));
    stage.Start();
    auto answered = answer.get_future().get();
    ASSERT_TRUE(answered.ok()) << answered.status().ToString();
    ASSERT_EQ(answered->size(), 2u);
    EXPECT_FALSE((*answered)[0].incident_id.has_value());
    EXPECT_EQ((*answered)[1].incident_id, 77);
    ASSERT_TRUE(status_answer.get_future().get().ok());
    {
        std::lock_guard lock(listener.mu);
        ASSERT_EQ(listener.events.size(), 2u);
        EXPECT_EQ(listener.events[0].fall, posture::FallState::kSuspected);
        EXPECT_EQ(listener.events[1].fall, posture::FallState::kConfirmed);
        EXPECT_EQ(listener.rows_seen, (std::vector<size_t>{2, 2})) << "the rows are durable before the events";
    }
    EXPECT_EQ(store_->FindUserByUniqueNum(wearer_)->user_posture, 6);
    auto suspicions = store_->ListFallSuspicions();
    ASSERT_TRUE(suspicions.ok());
    ASSERT_EQ(suspicions->size(), 1u);
    EXPECT_EQ((*suspicions)[0].wearer, wearer_);
    stage.Stop();
    EXPECT_EQ(stage.stats().commits, 1u) << "one commit for the status row and the posture verdict";
    EXPECT_EQ(stage.stats().posture_rows, 2u);
    EXPECT_EQ(stage.stats().status_rows, 1u);
}

// A fall state the store refuses is not acknowledged (the watch sends again) and the detector is told to write
// it again; the events still reach the listener: a fall must not wait on a disk.
TEST_P(VerdictStageTest, APostureVerdictWhoseFallStateCannotBeStoredIsDeliveredButNotAcknowledged) {
    VerdictStage stage(*store_, *ids_, hub_, clock_, {1, 1024, 65536, {}});
    PostureEvents listener(*store_);
    stage.set_posture_listener(&listener);
    std::promise<Result<std::vector<posture::WindowResult>>> answer;
    posture::PostureVerdict v = FallVerdict(wearer_ + 1000, clock_.Now(), &answer);  // no such user
    std::shared_ptr<std::atomic<bool>> failed = v.store_failed;
    stage.OnPostureVerdict(std::move(v));
    stage.Start();
    auto answered = answer.get_future().get();
    ASSERT_FALSE(answered.ok());
    EXPECT_EQ(answered.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(answered.status().retry_after_seconds(), 1);
    EXPECT_TRUE(failed->load());
    stage.Stop();
    std::lock_guard lock(listener.mu);
    EXPECT_EQ(listener.events.size(), 2u);
}

TEST_P(VerdictStageTest, APostureVerdictQueuedWhenTheStageNeverStartedIsAnsweredUnavailable) {
    auto stage = std::make_unique<VerdictStage>(*store_, *ids_, hub_, clock_, VerdictStageOptions{1, 1024, 65536, {}});
    std::promise<Result<std::vector<posture::WindowResult>>> answer;
    stage->OnPostureVerdict(FallVerdict(wearer_, clock_.Now(), &answer));
    stage.reset();
    auto answered = answer.get_future().get();
    ASSERT_FALSE(answered.ok());
    EXPECT_EQ(answered.status().code(), ErrorCode::kUnavailable);
    EXPECT_TRUE(store_->RecentPostures(wearer_, 10)->empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, VerdictStageTest, ::testing::Values("sqlite", "memory"),
                         [](const auto& store_kind) { return store_kind.param; });

}  // namespace
}  // namespace vg::verdict

namespace vg::verdict {
namespace {

// A group commit that fails whole (PostgreSQL's serialization failures outlasting its retries, with two
// detectors committing at once) is recorded again one record per call, in order; what one record's own call
// refuses stays refused, the others are kept.
TEST(RecordAllOrEach, AWholeBatchThatFailsIsRecordedOneByOne) {
    std::vector<store::VerdictRecord> records(4);
    for (size_t i = 0; i < records.size(); ++i) records[i].user_unique_num = static_cast<int64_t>(i + 1);
    std::vector<std::vector<int64_t>> calls;
    auto store = [&](std::span<const store::VerdictRecord> some) -> Result<std::vector<Status>> {
        std::vector<int64_t> wearers;
        for (const auto& r : some) wearers.push_back(r.user_unique_num);
        calls.push_back(wearers);
        if (some.size() > 1) {
            return Status::Error(ErrorCode::kUnavailable, "gave up after 20 attempts: could not serialize access");
        }
        if (some[0].user_unique_num == 3) return std::vector<Status>{Status::Error(ErrorCode::kNotFound, "no user")};
        return std::vector<Status>{Status::Ok()};
    };
    bool split = false;
    const std::vector<Status> results = RecordAllOrEach(store, records, &split);
    EXPECT_TRUE(split);
    ASSERT_EQ(results.size(), 4u);
    EXPECT_TRUE(results[0].ok());
    EXPECT_TRUE(results[1].ok());
    EXPECT_EQ(results[2].code(), ErrorCode::kNotFound);
    EXPECT_TRUE(results[3].ok());
    const std::vector<std::vector<int64_t>> expected{{1, 2, 3, 4}, {1}, {2}, {3}, {4}};
    EXPECT_EQ(calls, expected) << "one group call, then one call per record in order";

    // A batch that commits is one call; a single record that fails is not tried again.
    calls.clear();
    auto fine = [&](std::span<const store::VerdictRecord> some) -> Result<std::vector<Status>> {
        calls.push_back({static_cast<int64_t>(some.size())});
        return std::vector<Status>(some.size(), Status::Ok());
    };
    EXPECT_EQ(RecordAllOrEach(fine, records, &split).size(), 4u);
    EXPECT_FALSE(split);
    EXPECT_EQ(calls.size(), 1u);
    calls.clear();
    auto down = [&](std::span<const store::VerdictRecord>) -> Result<std::vector<Status>> {
        calls.push_back({});
        return Status::Error(ErrorCode::kUnavailable, "the database is down");
    };
    const auto one = RecordAllOrEach(down, std::span(records).first(1), &split);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].code(), ErrorCode::kUnavailable);
    EXPECT_FALSE(split);
    EXPECT_EQ(calls.size(), 1u);
}

}  // namespace
}  // namespace vg::verdict
