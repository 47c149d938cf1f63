// The posture path as a server runs it — PostureService (the intake) → InProcBus (IMU windows sharded by wearer)
// → PostureDetector on the shard threads → a sink that commits each verdict with Store::RecordVerdicts and then
// delivers it (posture::DeliverPostureVerdict, as the verdict stage does) — on a real SQLite file, with a
// deterministic test classifier (the real network lives in posture/native): rows per policy, the fall path
// through the listener, the stitched boundary window, late windows, silence on ticks, the bounded intake,
// model failures, and concurrent submits.
#include "vg/posture/posture_service.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "vg/bus/inproc_bus.hpp"
#include "vg/posture/posture_detector.hpp"
#include "vg/store/sqlite_store.hpp"

namespace vg::posture {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = FromUnixMillis(1'800'000'000'000);
constexpr Milliseconds kSpan{2540};  // first to last sample of a 128-sample window at 50 Hz

// Deterministic stand-in for the network. The class is coded in gx of the first sample (class · 10 °/s,
// 0–8); a window is a Fall when |a| ≥ 3 g somewhere in its middle half (an impact away from its edges,
// as the training labels have it); code 9 is a borderline fall: Walking 0.55, Fall 0.45.
class CodedClassifier final : public PostureClassifier {
  public:
    CodedClassifier() { info_ = {"test-coded-1", 0.4F}; }
    Result<std::vector<PosturePrediction>> Classify(std::span<const ModelWindow> windows) const override {
        {
            std::unique_lock lock(mu_);
            ++calls_;
            inside_ = true;
            cv_.notify_all();
            cv_.wait(lock, [this] { return open_; });
            inside_ = false;
        }
        windows_ += windows.size();
        if (fail_next_.exchange(false)) return Status::Error(ErrorCode::kInternal, "the model broke");
        if (throw_next_.exchange(false)) throw std::runtime_error("c10::Error: out of memory");
        std::vector<PosturePrediction> out;
        for (const ModelWindow& w : windows) {
            std::array<float, kNumModelClasses> p{};
            bool impact = false;
            for (size_t t = 32; t < 96; ++t) {
                const float* v = &w.values[t * kChannels];
                impact = impact || std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) >= 3.0F;
            }
            const int code = static_cast<int>(std::lround(w.values[3] / 10.0F));
            if (impact) {
                p.fill(0.05F / 8);
                p[static_cast<size_t>(Posture::kFall)] = 0.95F;
            } else if (code == 9) {
                p[static_cast<size_t>(Posture::kWalking)] = 0.55F;
                p[static_cast<size_t>(Posture::kFall)] = 0.45F;
            } else {
                p.fill(0.1F / 8);
                p[static_cast<size_t>(std::clamp(code, 0, 8))] = 0.9F;
            }
            out.push_back(PredictionFromProbabilities(p));
        }
        return out;
    }
    const ClassifierInfo& info() const override { return info_; }

    // Holds every Classify() call until Open(); WaitInside() returns once one is held.
    void Close() {
        std::lock_guard lock(mu_);
        open_ = false;
    }
    void Open() {
        std::lock_guard lock(mu_);
        open_ = true;
        cv_.notify_all();
    }
    void WaitInside() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return inside_; });
    }
    int calls() const {
        std::lock_guard lock(mu_);
        return calls_;
    }
    size_t windows() const { return windows_.load(); }
    void FailNext() { fail_next_ = true; }
    void ThrowNext() { throw_next_ = true; }

  private:
    ClassifierInfo info_;
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    mutable int calls_ = 0;        // GUARDED_BY(mu_)
    mutable bool inside_ = false;  // GUARDED_BY(mu_)
    bool open_ = true;             // GUARDED_BY(mu_)
    mutable std::atomic<size_t> windows_{0};
    mutable std::atomic<bool> fail_next_{false};
    mutable std::atomic<bool> throw_next_{false};
};

enum class Motion { kStill, kWalking, kImpactInMiddle, kImpactAtEnd, kImpactAtStart };

// A 50 Hz window of class `code` ending at `end`.
TimedWindow Window(int code, TimePoint end, Motion motion = Motion::kStill) {
    TimedWindow w;
    w.timing = TimingOf(end, kWindowSamples, kModelRateHz);
    w.window.placement = Placement::kWrist;
    for (size_t t = 0; t < kWindowSamples; ++t) {
        float* v = &w.window.values[t * kChannels];
        double mag = 1.0;
        if (motion == Motion::kWalking) mag = 1.0 + 0.25 * std::sin(2 * M_PI * 2.0 * static_cast<double>(t) / 50.0);
        if (motion == Motion::kImpactInMiddle && t >= 60 && t < 64) mag = 4.0;
        if (motion == Motion::kImpactAtEnd && t >= 125) mag = 4.0;
        if (motion == Motion::kImpactAtStart && t < 3) mag = 4.0;
        v[2] = static_cast<float>(mag);
        v[3] = static_cast<float>(code * 10);
    }
    return w;
}

// Records every event; a confirmed fall "opens" incident 42.
class RecordingListener final : public PostureListener {
  public:
    std::optional<int64_t> OnPostureEvent(const PostureEvent& event) override {
        std::lock_guard lock(mu_);
        events_.push_back(event);
        if (event.transition && event.transition->state == FallState::kConfirmed) return 42;
        return std::nullopt;
    }
    std::vector<PostureEvent> events() const {
        std::lock_guard lock(mu_);
        return events_;
    }
    std::vector<PostureEvent> Transitions() const {
        std::vector<PostureEvent> out;
        for (const auto& e : events()) {
            if (e.transition) out.push_back(e);
        }
        return out;
    }

  private:
    mutable std::mutex mu_;
    std::vector<PostureEvent> events_;  // GUARDED_BY(mu_)
};

class CountingMetrics final : public PostureMetrics {
  public:
    void OnClassified(size_t windows, double took) override {
        classified += windows;
        calls += 1;
        EXPECT_GE(took, 0.0);
    }
    void OnFallTransition(FallState state) override { ++transitions[static_cast<size_t>(state)]; }
    void OnRejected(size_t windows) override { rejected += windows; }
    void OnImpactJudged(bool fall) override { ++(fall ? judged_falls : judged_not_falls); }
    std::atomic<size_t> classified{0}, calls{0}, rejected{0}, judged_falls{0}, judged_not_falls{0};
    std::array<std::atomic<int>, 4> transitions{};
};

// What the fixture starts: the intake's, the detector's and the bus's options together.
struct Options {
    int workers = 2;  // bus shards
    size_t queue_capacity = 256;
    Milliseconds answer_timeout{10'000};
    Milliseconds forget_idle_after{10 * 60 * 1000};
    FallMonitorOptions monitor;
    const FallEventJudge* fall_judge = nullptr;
};

// The verdict stage's part, synchronously on the shard thread: one commit per verdict, then the delivery.
class StoreSink final : public PostureVerdictSink {
  public:
    StoreSink(std::unique_ptr<store::SqliteStore>& store, PostureListener& listener)
        : store_(store), listener_(listener) {}
    void OnPostureVerdict(PostureVerdict verdict) override {
        Status committed = Status::Ok();
        if (!verdict.rows.empty() || verdict.save_suspicion || verdict.clear_suspicion) {
            store::VerdictRecord record;
            record.user_unique_num = verdict.wearer;
            record.postures = verdict.rows;
            record.save_suspicion = verdict.save_suspicion;
            record.clear_suspicion = verdict.clear_suspicion;
            auto written = store_->RecordVerdicts(std::span<const store::VerdictRecord>(&record, 1));
            committed = written.ok() ? written->front() : written.status();
        }
        DeliverPostureVerdict(verdict, committed, &listener_);
    }

  private:
    std::unique_ptr<store::SqliteStore>& store_;
    PostureListener& listener_;
};

// The bus's consumer: windows and ticks to the detector.
class WindowConsumer final : public bus::ReadingConsumer {
  public:
    explicit WindowConsumer(PostureDetector& detector) : detector_(detector) {}
    void OnReadings(int, std::span<bus::ReadingEnvelope>) override {}
    void OnWindows(int shard, std::span<WindowJob> jobs) override { detector_.OnWindows(shard, jobs); }
    void OnTick(int shard, TimePoint now) override { detector_.OnTick(shard, now); }

  private:
    PostureDetector& detector_;
};

class PostureServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("vg-posture-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        fs::create_directories(dir_);
        OpenStore();
        ASSERT_TRUE(store_ != nullptr);
        wearer_ = AddWearer("grandma_kim");
    }
    void OpenStore() {
        store::SqliteStoreOptions o;
        o.path = (dir_ / "vitalguard.db").string();
        o.clock = &clock_;
        o.synchronous_full = false;
        auto s = store::SqliteStore::Open(o);
        ASSERT_TRUE(s.ok()) << s.status().ToString();
        store_ = std::move(s).value();
    }
    // The process dies and a new one starts after `down`: the service's memory is gone, the store is read
    // back from its file, and a new service restores the stored suspicions.
    void Restart(Milliseconds down = seconds(0), Options options = {}) {
        StopAll();
        store_.reset();
        clock_.Advance(down);
        OpenStore();
        Start(options);
    }
    // The process's posture path ends: the bus finishes what it has, then everything goes.
    void StopAll() {
        service_.reset();
        bus_.reset();
        consumer_.reset();
        detector_.reset();
    }
    std::vector<store::FallSuspicion> Suspicions() {
        auto listed = store_->ListFallSuspicions();
        EXPECT_TRUE(listed.ok()) << listed.status().ToString();
        return listed.ok() ? listed.value() : std::vector<store::FallSuspicion>{};
    }
    // How many confirmed falls the listener heard for `wearer`.
    size_t Confirmed(int64_t wearer = 0) const {
        size_t n = 0;
        for (const auto& e : listener_.Transitions()) {
            n += e.wearer == (wearer == 0 ? wearer_ : wearer) && e.fall == FallState::kConfirmed ? 1 : 0;
        }
        return n;
    }
    void TearDown() override {
        StopAll();
        store_.reset();
        fs::remove_all(dir_);
    }
    int64_t AddWearer(const std::string& id) {
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
    // Starts the posture path; the suspicions in the store are restored first, as the server does.
    void Start(Options o = {}) {
        PostureDetectorOptions detector_options;
        detector_options.monitor = o.monitor;
        detector_options.forget_idle_after = o.forget_idle_after;
        detector_options.fall_judge = o.fall_judge;
        detector_ =
            std::make_unique<PostureDetector>(classifier_, *store_, sink_, metrics_hook_, o.workers, detector_options);
        consumer_ = std::make_unique<WindowConsumer>(*detector_);
        // Ticks only when the test says so (TickAll).
        bus_ = std::make_unique<bus::InProcBus>(clock_,
                                                bus::InProcBusOptions{o.workers, 1'000'000, std::chrono::hours(1)});
        bus::InProcBus* b = bus_.get();
        service_ = std::make_unique<PostureService>(
            classifier_.info(), [b](WindowJob job) { return b->PublishWindows(std::move(job)); }, clock_, metrics_hook_,
            PostureServiceOptions{o.queue_capacity, o.answer_timeout});
        service_->SetMetrics(&metrics_);
        auto restore = SuspicionsToRestore(*store_, *store_);
        ASSERT_TRUE(restore.ok()) << restore.status().ToString();
        for (const store::FallSuspicion& f : *restore) detector_->Restore(bus_->ShardOf(f.wearer), f, clock_.Now());
        bus_->Start(*consumer_);
    }
    void TickAll() { bus_->TickAll(); }
    std::vector<WindowResult> Submit(std::vector<TimedWindow> windows, RecordPolicy policy = RecordPolicy::kOnChange,
                                     int64_t wearer = 0) {
        auto r = service_->Submit(wearer == 0 ? wearer_ : wearer, std::move(windows), policy);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        return r.ok() ? r.value() : std::vector<WindowResult>{};
    }
    // Rows oldest first, as (posture, ms after kT0).
    std::vector<std::pair<int, int64_t>> Rows(int64_t wearer = 0) {
        auto rows = store_->RecentPostures(wearer == 0 ? wearer_ : wearer, 1000);
        EXPECT_TRUE(rows.ok());
        std::vector<std::pair<int, int64_t>> out;
        if (!rows.ok()) return out;
        for (auto it = rows->rbegin(); it != rows->rend(); ++it) {
            out.emplace_back(it->posture, (it->updated_at - kT0).count());
        }
        return out;
    }
    static TimePoint End(int i) { return kT0 + milliseconds(2560) * i; }  // contiguous windows

    fs::path dir_;
    ManualClock clock_{kT0 + seconds(5)};
    std::unique_ptr<store::SqliteStore> store_;
    CodedClassifier classifier_;
    RecordingListener listener_;
    CountingMetrics metrics_;
    StoreSink sink_{store_, listener_};
    PostureMetricsHook metrics_hook_;
    std::unique_ptr<PostureDetector> detector_;
    std::unique_ptr<WindowConsumer> consumer_;
    std::unique_ptr<bus::InProcBus> bus_;
    std::unique_ptr<PostureService> service_;
    int64_t wearer_ = 0;
};

TEST_F(PostureServiceTest, EveryCallStoresARowAsTheSeedDid) {
    Start();
    auto a = Submit({Window(3, End(0))}, RecordPolicy::kEveryCall);
    auto b = Submit({Window(3, End(1))}, RecordPolicy::kEveryCall);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0].posture, Posture::kSitting);
    EXPECT_EQ(a[0].fall, FallState::kNone);
    EXPECT_FALSE(a[0].late);
    EXPECT_EQ(a[0].at, End(0));
    EXPECT_NEAR(a[0].prediction.probabilities[3], 0.9F, 1e-6);
    EXPECT_EQ(Rows(), (std::vector<std::pair<int, int64_t>>{{3, 0}, {3, 2560}}));
    auto user = store_->FindUserByUniqueNum(wearer_);
    ASSERT_TRUE(user.ok());
    EXPECT_EQ(user->user_posture, 3);
    // One event: the first posture; the repeat changes nothing.
    auto events = listener_.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_TRUE(events[0].changed);
    EXPECT_FALSE(events[0].previous.has_value());
    EXPECT_EQ(events[0].posture, Posture::kSitting);
}

TEST_F(PostureServiceTest, TheBatchStoresARowWhenThePostureChanges) {
    Start();
    auto r = Submit({Window(3, End(0)), Window(3, End(1)), Window(5, End(2), Motion::kWalking),
                     Window(5, End(3), Motion::kWalking)});
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[2].posture, Posture::kWalking);
    EXPECT_EQ(Rows(), (std::vector<std::pair<int, int64_t>>{{3, 0}, {5, 5120}}));
    auto events = listener_.events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].previous, Posture::kSitting);
    EXPECT_EQ(events[1].posture, Posture::kWalking);
    EXPECT_EQ(events[1].fall, FallState::kNone);
    // The last posture survives a restart of the service (read back from the store).
    StopAll();
    Start();
    Submit({Window(5, End(4), Motion::kWalking)});
    EXPECT_EQ(Rows().size(), 2u);
    EXPECT_EQ(listener_.events().size(), 2u);
}

TEST_F(PostureServiceTest, AConfirmedFallReachesTheListenerAndAnswersItsIncident) {
    Start();
    auto r = Submit({Window(5, End(0), Motion::kWalking), Window(4, End(1), Motion::kImpactInMiddle), Window(6, End(2)),
                     Window(6, End(3))});
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].fall, FallState::kNone);
    EXPECT_EQ(r[1].posture, Posture::kFall);
    EXPECT_EQ(r[1].fall, FallState::kSuspected);
    EXPECT_EQ(r[2].posture, Posture::kLying);
    EXPECT_EQ(r[2].fall, FallState::kSuspected);
    EXPECT_EQ(r[3].fall, FallState::kConfirmed);
    EXPECT_EQ(r[3].incident_id, 42);
    EXPECT_FALSE(r[2].incident_id.has_value());
    EXPECT_EQ(Rows(), (std::vector<std::pair<int, int64_t>>{{5, 0}, {7, 2560}, {6, 5120}}));
    auto t = listener_.Transitions();
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0].fall, FallState::kSuspected);
    EXPECT_EQ(t[0].posture, Posture::kFall);
    EXPECT_EQ(t[0].previous, Posture::kWalking);
    EXPECT_EQ(t[1].fall, FallState::kConfirmed);
    EXPECT_EQ(t[1].transition->reason, FallReason::kStill);
    EXPECT_EQ(t[1].transition->impact_at, End(1));
    EXPECT_EQ(metrics_.transitions[static_cast<size_t>(FallState::kSuspected)], 1);
    EXPECT_EQ(metrics_.transitions[static_cast<size_t>(FallState::kConfirmed)], 1);
}

TEST_F(PostureServiceTest, AFallProbabilityAtTheThresholdIsAFallEvenWhenAnotherPostureRanksFirst) {
    Start();
    auto r = Submit({Window(9, End(0), Motion::kWalking)}, RecordPolicy::kEveryCall);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].prediction.posture, Posture::kWalking);
    EXPECT_EQ(r[0].posture, Posture::kFall);  // 0.45 ≥ the model's 0.4
    EXPECT_EQ(r[0].fall, FallState::kSuspected);
    EXPECT_EQ(Rows(), (std::vector<std::pair<int, int64_t>>{{7, 0}}));
}

TEST_F(PostureServiceTest, AnImpactOnTheBoundaryIsFoundByTheStitchedWindow) {
    Start();
    auto r = Submit({Window(4, End(0), Motion::kImpactAtEnd), Window(4, End(1), Motion::kImpactAtStart)});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(classifier_.windows(), 3u);  // both windows and the one across their boundary
    EXPECT_EQ(metrics_.classified.load(), 3u);
    EXPECT_EQ(r[0].posture, Posture::kStanding);  // neither window alone holds the impact well inside it
    EXPECT_EQ(r[1].posture, Posture::kStanding);
    EXPECT_EQ(r[0].fall, FallState::kNone);
    EXPECT_EQ(r[1].fall, FallState::kSuspected);
    // A Fall row at the stitched window's end (1.28 s before the second window's), then Standing again.
    EXPECT_EQ(Rows(), (std::vector<std::pair<int, int64_t>>{{4, 0}, {7, 2560 - 1280}, {4, 2560}}));
    auto t = listener_.Transitions();
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].posture, Posture::kFall);
    EXPECT_EQ(t[0].at, End(1) - milliseconds(1280));
}

// A stand-in for fall::EventJudge: an impact is the first sample of a run with |a| ≥ 3 g; it is judged once
// kAfter samples follow it (kBefore must precede it), with `verdict`. Records every impact it judged.
class PeakJudge final : public FallEventJudge {
  public:
    static constexpr int64_t kBefore = 50;
    static constexpr int64_t kAfter = 100;
    Result<Judgement> Judge(std::span<const StreamSample> samples, int64_t first_index, int64_t from_index, Placement,
                            bool) const override {
        auto magnitude = [](const StreamSample& v) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); };
        Judgement j;
        const auto n = static_cast<int64_t>(samples.size());
        j.next_from = std::max(from_index, first_index + n - kAfter);
        for (int64_t k = std::max<int64_t>(kBefore, from_index - first_index); first_index + k < j.next_from; ++k) {
            const auto i = static_cast<size_t>(k);
            if (magnitude(samples[i]) >= 3.0F && magnitude(samples[i - 1]) < 3.0F) {
                j.impacts.push_back({first_index + k, verdict ? 0.9F : 0.1F, verdict});
                judged.push_back(first_index + k);
            }
        }
        return j;
    }
    size_t context_before() const override { return kBefore; }
    Milliseconds decision_delay() const override { return Milliseconds(kAfter * 20); }
    bool verdict = true;
    mutable std::vector<int64_t> judged;  // read by the test after Submit returned (the answer synchronises)
};

TEST_F(PostureServiceTest, WithAFallJudgeAnImpactOnTheBoundaryIsJudgedOnceWhenItsEventIsComplete) {
    PeakJudge judge;
    Options options;
    options.fall_judge = &judge;
    Start(options);
    // The impact starts at the first window's sample 125: its event is complete once 100 samples follow, in
    // the second window. No stitched window is classified: the stream holds the boundary.
    auto r = Submit({Window(4, End(0), Motion::kImpactAtEnd), Window(4, End(1), Motion::kImpactAtStart)});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(classifier_.windows(), 2u);
    EXPECT_EQ(judge.judged, (std::vector<int64_t>{125}));
    EXPECT_EQ(metrics_.judged_falls.load(), 1u);
    EXPECT_EQ(r[0].fall, FallState::kNone);
    EXPECT_EQ(r[1].posture, Posture::kFall);
    EXPECT_EQ(r[1].fall, FallState::kSuspected);
    // Still windows after it: judged never again, and the fall is confirmed as before.
    auto s = Submit({Window(6, End(2)), Window(6, End(3))});
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(judge.judged.size(), 1u);
    EXPECT_EQ(s[1].fall, FallState::kConfirmed);
    EXPECT_EQ(Confirmed(), 1u);
}

TEST_F(PostureServiceTest, WithAFallJudgeAWindowsOwnSuspicionEndsWhenTheJudgeFindsNoFall) {
    PeakJudge judge;
    judge.verdict = false;  // e.g. clapping: a hard blow the event model knows is not a fall
    Options options;
    options.fall_judge = &judge;
    Start(options);
    // The stand-in network calls the first window a Fall (0.95 ≥ 0.4): suspected at once, as without a
    // judge. Its impact's event is complete in the second window, where the judge says no: dismissed.
    auto r = Submit({Window(4, End(0), Motion::kImpactInMiddle), Window(4, End(1)), Window(4, End(2))});
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(judge.judged, (std::vector<int64_t>{60}));
    EXPECT_EQ(metrics_.judged_not_falls.load(), 1u);
    EXPECT_EQ(r[0].fall, FallState::kSuspected);
    EXPECT_EQ(r[1].fall, FallState::kDismissed);
    EXPECT_EQ(r[2].fall, FallState::kNone);
    auto t = listener_.Transitions();
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[1].transition->reason, FallReason::kEvent);
    EXPECT_EQ(Confirmed(), 0u);
    EXPECT_TRUE(Suspicions().empty());
}

// The watch goes quiet right after the impact, before its event is complete: the judge never speaks, and the
// suspicion the window raised is confirmed by the silence rule as without a judge.
TEST_F(PostureServiceTest, WithAFallJudgeAQuietWatchAfterAnImpactIsStillConfirmed) {
    PeakJudge judge;
    judge.verdict = false;
    Options options;
    options.fall_judge = &judge;
    Start(options);
    auto r = Submit({Window(4, End(0), Motion::kImpactInMiddle)});
    ASSERT_EQ(r[0].fall, FallState::kSuspected);
    EXPECT_TRUE(judge.judged.empty());
    clock_.Advance(seconds(30));
    TickAll();
    EXPECT_EQ(Confirmed(), 1u);
    EXPECT_EQ(listener_.Transitions().back().transition->reason, FallReason::kSilence);
}

TEST_F(PostureServiceTest, WithAFallJudgeAGapStartsANewStream) {
    PeakJudge judge;
    Options options;
    options.fall_judge = &judge;
    Start(options);
    // 0.5 s missing between the windows: the second starts a new stream, so the first window's impact never
    // gets its 100 samples after, and the second's has no 50 before it. Neither is judged (docs: an impact in
    // the first kSamplesBefore after a gap, or whose event a gap cuts, is not judged).
    Submit({Window(4, End(0), Motion::kImpactAtEnd)});
    Submit({Window(4, End(1) + milliseconds(500), Motion::kImpactAtStart)});
    Submit({Window(4, End(2) + milliseconds(500))});
    EXPECT_TRUE(judge.judged.empty());
    // The new stream goes on: an impact in the middle of its third window is judged.
    auto r =
        Submit({Window(4, End(3) + milliseconds(500), Motion::kImpactInMiddle), Window(4, End(4) + milliseconds(500))});
    ASSERT_EQ(judge.judged.size(), 1u);
    EXPECT_EQ(judge.judged[0], 128 + 2 * 128 + 60);  // the new stream went on from 128: indices never repeat
    EXPECT_EQ(r[1].fall, FallState::kSuspected);
}

TEST_F(PostureServiceTest, StitchingNeedsContiguousWindowsAlsoAcrossRequests) {
    Start();
    // The same halves, but 0.5 s apart: no stitched window, so no fall.
    Submit({Window(4, End(0), Motion::kImpactAtEnd)});
    auto r = Submit({Window(4, End(1) + milliseconds(500), Motion::kImpactAtStart)});
    EXPECT_EQ(classifier_.windows(), 2u);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].fall, FallState::kNone);
    // Contiguous across two requests (the previous window is remembered): stitched.
    Submit({Window(4, End(2) + milliseconds(1500), Motion::kImpactAtEnd)});
    auto s = Submit({Window(4, End(3) + milliseconds(1500), Motion::kImpactAtStart)});
    EXPECT_EQ(classifier_.windows(), 5u);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].fall, FallState::kSuspected);
}

TEST_F(PostureServiceTest, LateWindowsAreAnsweredAndRecordedButNotMonitored) {
    Start();
    Submit({Window(5, End(10), Motion::kWalking)});
    auto r = Submit({Window(4, End(3), Motion::kImpactInMiddle), Window(4, End(10))});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_TRUE(r[0].late);
    EXPECT_TRUE(r[1].late);  // the same end as the latest: a retry, not new
    EXPECT_EQ(r[0].posture, Posture::kFall);
    EXPECT_EQ(r[0].fall, FallState::kNone);
    EXPECT_TRUE(listener_.Transitions().empty());
    // A late Fall is stored all the same (always for a fall); the late Standing is not a change.
    EXPECT_EQ(Rows(), (std::vector<std::pair<int, int64_t>>{{7, 7680}, {5, 25600}}));
    // The monitor still follows the wearer's own time.
    auto next = Submit({Window(4, End(11), Motion::kImpactInMiddle)});
    EXPECT_EQ(next[0].fall, FallState::kSuspected);
    EXPECT_FALSE(next[0].late);
}

TEST_F(PostureServiceTest, SilenceAfterASuspicionConfirmsOnTheTick) {
    Start();
    auto r = Submit({Window(4, End(0), Motion::kImpactInMiddle)});
    ASSERT_EQ(r[0].fall, FallState::kSuspected);
    clock_.Advance(seconds(29));
    TickAll();
    EXPECT_EQ(listener_.Transitions().size(), 1u);
    clock_.Advance(seconds(1));
    TickAll();
    auto t = listener_.Transitions();
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[1].fall, FallState::kConfirmed);
    EXPECT_EQ(t[1].transition->reason, FallReason::kSilence);
    EXPECT_EQ(t[1].at, clock_.Now());
    EXPECT_EQ(t[1].posture, Posture::kFall);
}

// Regression: a suspected fall lived only in memory, so a process that died while it was suspected lost
// it: nothing confirmed the fall after the restart, and a person lying still never got the incident.
TEST_F(PostureServiceTest, ASuspicionSurvivesAKilledProcessAndSilenceConfirmsItOnceAfterTheRestart) {
    Start();
    auto r = Submit({Window(4, End(0), Motion::kImpactInMiddle)});
    ASSERT_EQ(r[0].fall, FallState::kSuspected);
    // Answered means stored.
    auto stored = Suspicions();
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].wearer, wearer_);
    EXPECT_EQ(stored[0].impact_at, End(0));
    EXPECT_EQ(stored[0].last_end, End(0));
    EXPECT_EQ(stored[0].still_run, 0);
    EXPECT_EQ(stored[0].raised_at, clock_.Now());
    EXPECT_EQ(stored[0].last_received, clock_.Now());

    // Down for 10 minutes. The silence counts from the restart, not from the last window: the restart is
    // not itself the watch's silence.
    Restart(std::chrono::minutes(10));
    TickAll();
    EXPECT_EQ(Confirmed(), 0u);
    clock_.Advance(seconds(29));
    TickAll();
    EXPECT_EQ(Confirmed(), 0u);
    clock_.Advance(seconds(1));
    TickAll();
    auto t = listener_.Transitions();
    ASSERT_EQ(t.size(), 2u);  // suspected (before), confirmed (after the restart)
    EXPECT_EQ(t[1].wearer, wearer_);
    EXPECT_EQ(t[1].fall, FallState::kConfirmed);
    EXPECT_EQ(t[1].transition->reason, FallReason::kSilence);
    EXPECT_EQ(t[1].transition->impact_at, End(0));
    EXPECT_EQ(t[1].at, clock_.Now());
    EXPECT_EQ(t[1].posture, Posture::kFall);  // the last posture stored: the suspicion's Fall row
    EXPECT_TRUE(Suspicions().empty());        // decided: cleared

    clock_.Advance(seconds(60));
    TickAll();
    Restart();
    clock_.Advance(seconds(60));
    TickAll();
    EXPECT_EQ(Confirmed(), 1u) << "the listener is told once";
}

TEST_F(PostureServiceTest, ARestoredSuspicionIsDecidedByTheWindowsThatComeNext) {
    Start();
    const int64_t walker = AddWearer("grandpa_lee");
    // Impact, then one still window: one more confirms.
    Submit({Window(4, End(0), Motion::kImpactInMiddle)});
    Submit({Window(6, End(1))});
    ASSERT_EQ(Suspicions().size(), 1u);
    EXPECT_EQ(Suspicions()[0].still_run, 1);
    EXPECT_EQ(Suspicions()[0].last_end, End(1));
    // The other wearer falls and will get up.
    Submit({Window(4, End(0), Motion::kImpactInMiddle)}, RecordPolicy::kOnChange, walker);
    ASSERT_EQ(Suspicions().size(), 2u);

    Restart(seconds(20));
    // The watch resends the window the dead process had answered: late, not counted twice.
    auto resent = Submit({Window(6, End(1))});
    ASSERT_EQ(resent.size(), 1u);
    EXPECT_TRUE(resent[0].late);
    EXPECT_EQ(resent[0].fall, FallState::kSuspected);
    EXPECT_EQ(Confirmed(), 0u);
    // The next still window is the second one in a row: confirmed as the first process would have.
    auto next = Submit({Window(6, End(2))});
    EXPECT_EQ(next[0].fall, FallState::kConfirmed);
    EXPECT_EQ(next[0].incident_id, 42);
    auto t = listener_.Transitions();
    ASSERT_FALSE(t.empty());
    EXPECT_EQ(t.back().transition->reason, FallReason::kStill);
    EXPECT_EQ(t.back().transition->impact_at, End(0));

    // The other wearer walks once the fall has settled: dismissed, never confirmed.
    auto walked = Submit({Window(5, End(1), Motion::kWalking), Window(5, End(2), Motion::kWalking)},
                         RecordPolicy::kOnChange, walker);
    ASSERT_EQ(walked.size(), 2u);
    EXPECT_EQ(walked[1].fall, FallState::kDismissed);
    EXPECT_TRUE(Suspicions().empty());
    clock_.Advance(seconds(60));
    TickAll();
    EXPECT_EQ(Confirmed(walker), 0u);
    EXPECT_EQ(Confirmed(), 1u);
}

TEST_F(PostureServiceTest, ARestoredSuspicionIsConfirmedAtTheDeadlineOnTheWindowsClock) {
    Start();
    Submit({Window(4, End(0), Motion::kImpactInMiddle)});
    Restart(seconds(5));
    // The watch comes back with windows that neither confirm nor dismiss (the model says Walking while the
    // wearer is still); the one ending ≥ 15 s after the impact confirms, as without the restart.
    for (int i = 1; i <= 5; ++i) EXPECT_EQ(Submit({Window(5, End(i))})[0].fall, FallState::kSuspected) << i;
    EXPECT_EQ(Suspicions().size(), 1u);
    auto last = Submit({Window(5, End(6))});
    EXPECT_EQ(last[0].fall, FallState::kConfirmed);
    EXPECT_EQ(listener_.Transitions().back().transition->reason, FallReason::kDeadline);
    EXPECT_TRUE(Suspicions().empty());
}

TEST_F(PostureServiceTest, ASuspicionWhoseFallAnIncidentAlreadyRecordsIsNotRestored) {
    // The process confirmed the fall, the listener opened the incident, and the process died before the
    // suspicion was cleared: after the restart the fall must not be reported a second time. Incidents as
    // EscalationService::Fall stores them: a new fall incident ("opened"), or a "fall" event on an open one.
    Start();
    const int64_t lee = AddWearer("grandpa_lee");
    const int64_t park = AddWearer("grandma_park");
    auto save_incident = [&](int64_t wearer, domain::IncidentKind kind, const std::string& type) {
        domain::Incident i;
        i.wearer = wearer;
        i.kind = kind;
        i.phase = domain::IncidentPhase::kCountdown;
        i.level = domain::Level::kDanger;
        i.max_level = domain::Level::kDanger;
        i.opened_at = clock_.Now();
        i.updated_at = clock_.Now();
        i.deadline = clock_.Now() + seconds(60);
        domain::IncidentEvent e;
        e.at = clock_.Now();
        e.type = type;
        e.actor = "system";
        e.detail = "A fall was detected.";
        auto saved = store_->SaveIncident(i, std::vector<domain::IncidentEvent>{e}, {});
        ASSERT_TRUE(saved.ok()) << saved.status().ToString();
    };
    // Park had an incident (vitals) opened before her fall: it says nothing about the fall.
    save_incident(park, domain::IncidentKind::kVitals, "opened");
    clock_.Advance(seconds(1));
    for (int64_t w : {wearer_, lee, park})
        Submit({Window(4, End(0), Motion::kImpactInMiddle)}, RecordPolicy::kOnChange, w);
    const std::vector<store::FallSuspicion> before = Suspicions();
    ASSERT_EQ(before.size(), 3u);
    clock_.Advance(seconds(3));
    for (int64_t w : {wearer_, lee}) {
        auto r = Submit({Window(6, End(1)), Window(6, End(2))}, RecordPolicy::kOnChange, w);
        ASSERT_EQ(r[1].fall, FallState::kConfirmed);
    }
    save_incident(wearer_, domain::IncidentKind::kFall, "opened");  // what the listener would have stored
    // Lee's open SOS incident (opened before the fall) got the fall as an event.
    {
        domain::Incident sos;
        sos.wearer = lee;
        sos.kind = domain::IncidentKind::kSos;
        sos.phase = domain::IncidentPhase::kDispatched;
        sos.level = domain::Level::kDanger;
        sos.max_level = domain::Level::kDanger;
        sos.opened_at = clock_.Now() - seconds(10);
        sos.updated_at = clock_.Now();
        domain::IncidentEvent e;
        e.at = clock_.Now();
        e.type = "fall";
        e.actor = "system";
        e.detail = "A fall was detected.";
        ASSERT_TRUE(store_->SaveIncident(sos, std::vector<domain::IncidentEvent>{e}, {}).ok());
    }
    EXPECT_EQ(Suspicions().size(), 1u);  // Park's, still suspected
    // The crash lost the clearing of the two confirmed ones.
    for (const auto& f : before) ASSERT_TRUE(store_->SaveFallSuspicion(f).ok());

    Restart(seconds(5));
    auto left = Suspicions();
    ASSERT_EQ(left.size(), 1u) << "the two already reported are cleared";
    EXPECT_EQ(left[0].wearer, park);
    clock_.Advance(seconds(30));
    TickAll();
    EXPECT_EQ(Confirmed(wearer_), 1u);
    EXPECT_EQ(Confirmed(lee), 1u);
    EXPECT_EQ(Confirmed(park), 1u) << "Park's restored suspicion is confirmed by silence";
    EXPECT_TRUE(Suspicions().empty());
}

TEST_F(PostureServiceTest, ASuspicionThatCannotBeStoredIsNotAcknowledged) {
    Start();
    EXPECT_EQ(Submit({Window(4, End(0))})[0].fall, FallState::kNone);
    store_->Close();  // every write fails from here on
    auto r = service_->Submit(wearer_, {Window(4, End(1), Motion::kImpactInMiddle)}, RecordPolicy::kOnChange);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(r.status().retry_after_seconds(), 1);
    // The retry (late now) tries the write again; while it cannot be stored, nothing is acknowledged.
    auto retry = service_->Submit(wearer_, {Window(4, End(1), Motion::kImpactInMiddle)}, RecordPolicy::kOnChange);
    ASSERT_FALSE(retry.ok());
    EXPECT_EQ(retry.status().code(), ErrorCode::kUnavailable);
}

TEST_F(PostureServiceTest, IdleWearersAreForgottenButNotWhileAFallIsSuspected) {
    Options o;
    o.forget_idle_after = seconds(60);
    o.monitor.silence_after = std::chrono::hours(2);  // keep the suspicion open across the idle time
    Start(o);
    const int64_t other = AddWearer("grandpa_lee");
    Submit({Window(4, End(0), Motion::kImpactAtEnd)}, RecordPolicy::kOnChange, other);
    Submit({Window(4, End(0), Motion::kImpactInMiddle)});
    clock_.Advance(seconds(61));
    TickAll();
    // `other` was forgotten: its next window is not stitched to the old one (nothing contiguous is kept).
    Submit({Window(4, End(1), Motion::kImpactAtStart)}, RecordPolicy::kOnChange, other);
    EXPECT_EQ(classifier_.windows(), 3u);
    // The suspected wearer was kept: its fall is still open.
    auto r = Submit({Window(6, End(1))});
    EXPECT_EQ(r[0].fall, FallState::kSuspected);
}

TEST_F(PostureServiceTest, AFullQueueAnswersUnavailableAtOnceWithRetryAfter) {
    Options o;
    o.workers = 1;
    o.queue_capacity = 5;  // windows in flight: accepted and not yet answered
    Start(o);
    classifier_.Close();
    std::thread first([&] { Submit({Window(4, End(0))}); });  // taken by the shard, held in the model
    classifier_.WaitInside();
    std::thread second([&] { Submit({Window(4, End(1)), Window(4, End(2)), Window(4, End(3))}); });
    while (service_->queued() != 4) std::this_thread::sleep_for(milliseconds(1));
    auto refused = service_->Submit(wearer_, {Window(4, End(4)), Window(4, End(5))}, RecordPolicy::kOnChange);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(refused.status().retry_after_seconds(), 1);
    EXPECT_EQ(metrics_.rejected.load(), 2u);
    auto fits = std::thread([&] { Submit({Window(4, End(4))}); });  // 4 + 1 still fits
    while (service_->queued() != 5) std::this_thread::sleep_for(milliseconds(1));
    classifier_.Open();
    first.join();
    second.join();
    fits.join();
    EXPECT_EQ(service_->queued(), 0u);
    EXPECT_EQ(Submit({Window(4, End(6))}).size(), 1u);
}

TEST_F(PostureServiceTest, AStoppedBusAnswersUnavailableAndFreesTheWindows) {
    Start();
    bus_->Stop();
    auto r = service_->Submit(wearer_, {Window(3, End(0))}, RecordPolicy::kEveryCall);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(service_->queued(), 0u);
}

TEST_F(PostureServiceTest, AnAnswerThatTakesTooLongIsUnavailableButTheWorkStillHappens) {
    Options o;
    o.answer_timeout = milliseconds(50);
    Start(o);
    classifier_.Close();
    auto r = service_->Submit(wearer_, {Window(3, End(0))}, RecordPolicy::kEveryCall);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(r.status().retry_after_seconds(), 1);
    classifier_.Open();
    bus_->Stop();  // finishes the queued work
    EXPECT_EQ(Rows().size(), 1u);
}

TEST_F(PostureServiceTest, AModelFailureFailsThatRequestOnly) {
    Start();
    classifier_.FailNext();
    auto failed = service_->Submit(wearer_, {Window(3, End(0))}, RecordPolicy::kEveryCall);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), ErrorCode::kInternal);
    classifier_.ThrowNext();
    auto thrown = service_->Submit(wearer_, {Window(3, End(0))}, RecordPolicy::kEveryCall);
    ASSERT_FALSE(thrown.ok());
    EXPECT_EQ(thrown.status().code(), ErrorCode::kInternal);
    EXPECT_TRUE(Rows().empty());  // nothing recorded for a window nobody classified
    // The window was not taken as seen: the retry is classified and monitored normally.
    auto retry = Submit({Window(3, End(0))}, RecordPolicy::kEveryCall);
    ASSERT_EQ(retry.size(), 1u);
    EXPECT_FALSE(retry[0].late);
    EXPECT_EQ(Rows().size(), 1u);
}

TEST_F(PostureServiceTest, AStoppedServiceRefusesWork) {
    Start();
    service_->Stop();
    service_->Stop();  // idempotent
    auto r = service_->Submit(wearer_, {Window(3, End(0))}, RecordPolicy::kEveryCall);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
    TickAll();  // returns at once
}

TEST_F(PostureServiceTest, ConcurrentSubmitsFromManyThreadsKeepEachWearersOrder) {
    Options o;
    o.workers = 3;
    o.queue_capacity = 10'000;
    Start(o);
    constexpr int kThreads = 8, kWindows = 30;
    std::vector<int64_t> wearers;
    for (int i = 0; i < kThreads; ++i) wearers.push_back(AddWearer("wearer_" + std::to_string(i)));
    const int64_t shared = AddWearer("shared_one");
    std::atomic<int> late_shared{0}, ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            for (int k = 0; k < kWindows; ++k) {
                // Own wearer: a posture change every 5 windows, in order.
                const int code = (k / 5) % 2 == 0 ? 3 : 4;
                auto r =
                    service_->Submit(wearers[static_cast<size_t>(i)], {Window(code, End(k))}, RecordPolicy::kOnChange);
                if (r.ok() && r->size() == 1 && !(*r)[0].late) ++ok;
                // A wearer every thread writes to, each with its own times: late ones are answered too.
                auto s = service_->Submit(shared, {Window(4, End(k * kThreads + i))}, RecordPolicy::kEveryCall);
                if (s.ok() && s->size() == 1 && (*s)[0].late) ++late_shared;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), kThreads * kWindows);
    for (int64_t w : wearers) EXPECT_EQ(Rows(w).size(), 6u) << w;              // 3,4,3,4,3,4
    EXPECT_EQ(Rows(shared).size(), static_cast<size_t>(kThreads * kWindows));  // one per call, late or not
    EXPECT_LT(late_shared.load(), kThreads * kWindows);
}

}  // namespace
}  // namespace vg::posture
