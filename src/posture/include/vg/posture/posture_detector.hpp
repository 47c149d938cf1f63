#pragma once
// PostureDetector: the posture path's evaluation, CPU only — the bus's shard threads hand it the wearers' IMU
// windows (WindowJob) and ticks, and it classifies them, judges impacts and runs each wearer's FallMonitor in
// time order. It writes nothing and tells no one: every outcome (UserPosture rows, the wearer's stored fall
// state, posture events and fall transitions, the caller's answer) leaves as one PostureVerdict to a
// PostureVerdictSink — the verdict stage, which commits the rows with the status rows, then delivers the events
// (escalation, live) and answers (src/posture/README.md).
//
// Every wearer belongs to one shard (the bus's), which owns that wearer's state — the fall monitor, the last
// window, the last posture — without a lock. A request's windows are classified in one Classify() call
// together with the stitched window (last 64 samples of the previous window + first 64 of this) wherever a
// window starts where the wearer's previous one ended, so an impact on the boundary of two windows is not cut
// in half (without a fall judge; with one, the wearer's samples are one stream and every boundary is in it).
//
// Windows not after the wearer's latest window (late, out of order) are classified and answered but not fed
// to the monitor. Rows: RecordPolicy::kEveryCall, one per window (the seed's update_posture); kOnChange, a row
// when the posture changes. A suspected fall always gets a Fall (7) row at the suspicion's time. A window whose
// fall probability reaches the model's fall_threshold is reported as Fall, whatever posture ranks first.
//
// The wearer's fall state: while a fall is suspected, the verdict carries the monitor's state to save
// (save_suspicion) whenever it changed, and its end (clear_suspicion) once decided; the sink answers only after
// the commit, so a window whose answer says "suspected" is on disk. A commit that fails marks the wearer's
// `store_failed` flag; the detector then sends the state again with the wearer's next window or tick.
//
// Thread-safety: OnWindows/OnTick for one shard on one thread at a time (different shards concurrently);
// Restore only before the shard's first OnWindows/OnTick. Ownership: borrows the classifier, the account store
// (a wearer's last posture, read once), the sink, the metrics hook and the judge; all must outlive it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/posture/classifier.hpp"
#include "vg/posture/fall_event_judge.hpp"
#include "vg/posture/fall_monitor.hpp"
#include "vg/posture/window.hpp"
#include "vg/posture/window_job.hpp"
#include "vg/store/accounts.hpp"
#include "vg/store/fall_suspicions.hpp"
#include "vg/store/incidents.hpp"
#include "vg/store/statuses.hpp"

namespace vg::posture {

// A change of a wearer's posture and/or a fall transition.
struct PostureEvent {
    int64_t wearer = 0;
    Posture posture = Posture::kStanding;
    std::optional<Posture> previous;  // none when the wearer had no posture yet
    bool changed = false;
    FallState fall = FallState::kNone;  // the transition's state, else the monitor's (none or suspected)
    std::optional<FallEvent> transition;
    TimePoint at;  // the window's end, or the tick's time for the silence rule
};

class PostureListener {
  public:
    virtual ~PostureListener() = default;
    // Called by the sink after the verdict's commit, in order per wearer. Returns the incident that a confirmed
    // fall opened or escalated (nullopt otherwise, or when that failed: the listener logs it).
    virtual std::optional<int64_t> OnPostureEvent(const PostureEvent& event) = 0;
};

// Metrics hooks (the api turns them into Prometheus metrics). Called on bus and HTTP threads; must be cheap and
// thread-safe.
class PostureMetrics {
  public:
    virtual ~PostureMetrics() = default;
    virtual void OnClassified(size_t windows, double seconds) = 0;  // one Classify() call
    virtual void OnFallTransition(FallState state) = 0;             // suspected, confirmed, dismissed
    virtual void OnRejected(size_t windows) = 0;                    // the queue was full
    // The fall judge decided one impact (with a FallEventJudge only).
    virtual void OnImpactJudged(bool /*fall*/) {}
};

// Where the hooks are installed: shared by the detector and the intake (PostureService), which the api
// installs its hooks on. Thread-safe; Set waits for a hook call in progress.
class PostureMetricsHook {
  public:
    void Set(PostureMetrics* metrics) {
        std::unique_lock lock(mu_);
        metrics_ = metrics;
    }
    template <typename Fn>
    void With(Fn&& fn) {
        std::shared_lock lock(mu_);
        if (metrics_ != nullptr) fn(*metrics_);
    }

  private:
    std::shared_mutex mu_;
    PostureMetrics* metrics_ = nullptr;  // GUARDED_BY(mu_)
};

// Everything one request (or one wearer's tick) decided, for the sink to make durable, deliver and answer.
struct PostureVerdict {
    int64_t wearer = 0;
    std::vector<store::PostureRow> rows;                 // in time order
    std::optional<store::FallSuspicion> save_suspicion;  // the wearer's fall state to store
    bool clear_suspicion = false;                        // its end (never with save_suspicion)
    std::vector<PostureEvent> events;                    // in order
    // Per event: the result that takes the incident id its confirmed fall opened (none for other events).
    std::vector<std::optional<size_t>> incident_result;
    std::vector<WindowResult> results;                // a request's, one per window (empty for a tick)
    Status error;                                     // not OK: the request failed (the model) after what is above
    WindowAnswer answer;                              // the request's caller (empty for a tick)
    std::shared_ptr<std::atomic<bool>> store_failed;  // set by the sink when the commit failed
};

class PostureVerdictSink {
  public:
    virtual ~PostureVerdictSink() = default;
    // Takes the verdict; must not block for long (enqueue). Called on the detector's shard threads.
    virtual void OnPostureVerdict(PostureVerdict verdict) = 0;
};

// What every sink does after its commit (`committed`: its outcome for this verdict): on failure marks
// store_failed; hands the events, in order, to `listener` (may be null) — a confirmed fall reaches escalation
// even when the disk failed — putting the incidents into the results; then answers the caller: the verdict's
// error, or kUnavailable (Retry-After 1) when a suspected fall could not be stored, else the results.
void DeliverPostureVerdict(PostureVerdict& verdict, const Status& committed, PostureListener* listener);

struct PostureDetectorOptions {
    FallMonitorOptions monitor;                      // fall_threshold is replaced by the classifier's
    Milliseconds forget_idle_after{10 * 60 * 1000};  // a wearer's state without windows this long is dropped
    // The fall decision on the event (borrowed; must outlive the detector). With it, each wearer's windows are
    // joined into one 50 Hz stream while they are contiguous (a gap, or another placement, starts a new one)
    // and every impact in it is judged once its event is complete (3.5 s later). An impact judged a fall is
    // fall evidence; a window whose fall probability reaches the classifier's fall_threshold still raises a
    // suspicion at once (so a watch that goes quiet right after a fall is still confirmed by the silence
    // rule), which the judge dismisses when it finds none of that window's impacts a fall. Stitched boundary
    // windows are not made: the stream holds every boundary. Without a judge, the window threshold alone.
    const FallEventJudge* fall_judge = nullptr;
};

class PostureDetector {
  public:
    // REQUIRES: shards >= 1 (the bus's shard count).
    PostureDetector(const PostureClassifier& classifier, store::AccountStore& accounts, PostureVerdictSink& sink,
                    PostureMetricsHook& metrics, int shards, PostureDetectorOptions options);
    PostureDetector(const PostureDetector&) = delete;
    PostureDetector& operator=(const PostureDetector&) = delete;

    // The jobs of wearers of `shard`, in order per wearer. Each job's answer is called exactly once: through the
    // sink, or at once when nothing needs recording (a model failure before any window was taken).
    void OnWindows(int shard, std::span<WindowJob> jobs);
    // The silence rule at `now` for the wearers of `shard`; retries fall states whose commit failed; forgets
    // idle wearers.
    void OnTick(int shard, TimePoint now);

    // Puts a stored suspicion (see SuspicionsToRestore) back into its wearer's state, to be decided as usual: by
    // the windows that come next (windows not after the stored last one are late), at the deadline, or by the
    // silence rule, which counts silence_after from `now` (the restart), not from the last window received
    // before it. REQUIRES: before the shard's first OnWindows/OnTick, or on the shard's thread (a distributed
    // bus's OnShardAssigned); `shard` is the wearer's.
    void Restore(int shard, const store::FallSuspicion& suspicion, TimePoint now);
    // Forgets every wearer of `shard` (the shard moved to another node, or comes back from one). REQUIRES: on the
    // shard's thread, or before the bus starts.
    void DropShard(int shard) { shards_[static_cast<size_t>(shard)].clear(); }

    const ClassifierInfo& info() const { return classifier_.info(); }
    const PostureDetectorOptions& options() const { return options_; }

  private:
    struct WearerState {
        explicit WearerState(const FallMonitorOptions& o) : monitor(o) {}
        FallMonitor monitor;
        bool loaded = false;              // posture read from the store
        std::optional<Posture> posture;   // the last reported posture
        std::optional<TimedWindow> last;  // the latest monitored window
        TimePoint last_seen;              // server time of the latest window
        // The monitor's state as last sent to the sink (none: cleared); `stored_unknown` after a failed commit,
        // when the store may hold either.
        std::optional<FallMonitorSnapshot> stored;
        bool stored_unknown = false;
        std::shared_ptr<std::atomic<bool>> store_failed = std::make_shared<std::atomic<bool>>(false);
        TimePoint raised_at;  // server time the current suspicion was raised
        // Restored after a restart, before any window of this process: the end of the latest window the
        // monitor saw (windows not after it are late). Raw windows are not stored, so `last` is empty.
        std::optional<TimePoint> restored_end;
        // With a fall judge: the wearer's latest contiguous samples (stream index stream_first onwards), and
        // where the next judgement starts.
        std::vector<StreamSample> stream;
        int64_t stream_first = 0;
        int64_t judge_from = 0;
        // The stream indices [first, end) of the windows whose own fall probability raised (or renewed) the
        // current suspicion before the judge had spoken about their impacts. Once the judge has judged past
        // `end` with none of them a fall, the suspicion is dismissed (reason event).
        std::optional<std::pair<int64_t, int64_t>> provisional;
    };
    struct JudgedWindow {
        std::vector<JudgedImpact> impacts;
        int64_t first = 0;  // the window's first sample in the wearer's stream
        bool new_stream = false;
    };
    using Wearers = std::unordered_map<int64_t, WearerState>;

    // Evaluates one job into `verdict` (rows, events, results); an error stops it where it happened.
    Status Process(Wearers& wearers, WindowJob& job, PostureVerdict& verdict);
    // Adds `w` to the wearer's stream (a new stream unless it continues `previous`) and judges the impacts
    // whose events are now complete. The judged impacts, or the judge's error.
    Result<JudgedWindow> JudgeWindow(WearerState& st, const TimedWindow* previous, const TimedWindow& w);
    // Puts the monitor's state into `verdict` when it differs from what was last sent (or after a failure).
    void Persist(int64_t wearer, WearerState& st, TimePoint now, PostureVerdict& verdict);
    WearerState& StateOf(Wearers& wearers, int64_t wearer);
    void AddEvent(PostureVerdict& verdict, PostureEvent event, std::optional<size_t> incident_result);

    const PostureClassifier& classifier_;
    store::AccountStore& accounts_;
    PostureVerdictSink& sink_;
    PostureMetricsHook& metrics_;
    PostureDetectorOptions options_;
    std::vector<Wearers> shards_;
};

// The stored suspicions to put back at start-up (Store::ListFallSuspicions), in wearer order. A stored
// suspicion whose fall an incident already records (an event at or after the suspicion was raised:
// EscalationService::Fall's `opened` on a fall incident, or `fall` on an open one) was confirmed before the
// process died and only its clearing was lost: it is cleared here, not returned, so the fall is not reported
// twice. Errors: the store's.
Result<std::vector<store::FallSuspicion>> SuspicionsToRestore(store::FallSuspicionStore& suspicions,
                                                              store::IncidentStore& incidents);

}  // namespace vg::posture
