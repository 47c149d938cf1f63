#pragma once
// PostureService: classifies the wearers' IMU windows on a bounded pool of worker threads and runs each
// wearer's FallMonitor over them in time order (src/posture/README.md).
//
// Every wearer belongs to one worker (its shard: wearer % workers), which owns that wearer's state —
// the fall monitor, the last window, the last posture — without a lock (the shape of detector/ and
// bus/inproc). A request's windows are classified in one Classify() call together with the stitched
// window (last 64 samples of the previous window + first 64 of this) wherever a window starts where the
// wearer's previous one ended, so an impact on the boundary of two windows is not cut in half.
//
// Windows not after the wearer's latest window (late, out of order) are classified and answered but
// not fed to the monitor. UserPosture rows (the store): RecordPolicy::kEveryCall stores one row per
// window (the seed's update_posture); kOnChange stores a row when the posture changes. A suspected fall
// always stores a Fall (7) row at the suspicion's time. A window whose fall probability reaches the
// model's fall_threshold is reported as Fall, whatever posture ranks first.
//
// The listener hears every posture change and every fall transition (the app turns them into live
// events and EscalationService::Fall) on the worker thread, after the row was stored.
//
// Back-pressure: at most `queue_capacity` windows wait, all workers together; beyond that Submit
// answers kUnavailable with Retry-After 1 at once, so a burst cannot stall the HTTP workers.
//
// Durability of a suspected fall: while a wearer's fall is suspected, the monitor's state is kept in the
// store (Store::SaveFallSuspicion), written after each request that changed it and before that request
// is answered — a window whose answer says "suspected" is on disk (if the write fails the request fails
// with kUnavailable + Retry-After 1, and the retry writes it). It is cleared once the fall is decided,
// after the listener heard the decision. RestoreFallSuspicions() puts the stored ones back at start-up,
// so a process that died (kill -9, power loss) while a fall was suspected does not lose it.
//
// Thread-safety: Submit, TickAll, SetMetrics and Stop may be called from any thread concurrently.
// Ownership: borrows the classifier, the store, the clock and the listener; all must outlive the
// service (or at least its Stop()).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/posture/classifier.hpp"
#include "vg/posture/fall_event_judge.hpp"
#include "vg/posture/fall_monitor.hpp"
#include "vg/posture/window.hpp"
#include "vg/store/store.hpp"

namespace vg::posture {

// One validated window (ToModelWindow) with its times (TimingOf).
struct TimedWindow {
    ModelWindow window;
    WindowTiming timing;
};

enum class RecordPolicy : uint8_t {
    kEveryCall,  // a UserPosture row for every window (update_posture, as the seed does)
    kOnChange,   // a row when the posture changes (the device batch)
};

struct WindowResult {
    PosturePrediction prediction;
    Posture posture = Posture::kStanding;  // Fall when fall_probability ≥ fall_threshold, else prediction.posture
    FallState fall = FallState::kNone;     // the transition at this window, else suspected or none
    std::optional<int64_t> incident_id;    // the incident a confirmed fall at this window opened or escalated
    bool late = false;                     // not after the wearer's latest window: not fed to the monitor
    TimePoint at;                          // the window's end
};

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
    // Called on a worker thread, in order per wearer. Returns the incident that a confirmed fall opened or
    // escalated (nullopt otherwise, or when that failed: the listener logs it).
    virtual std::optional<int64_t> OnPostureEvent(const PostureEvent& event) = 0;
};

// Metrics hooks (the api turns them into Prometheus metrics). Called on worker and HTTP threads; must be
// cheap and thread-safe.
class PostureMetrics {
  public:
    virtual ~PostureMetrics() = default;
    virtual void OnClassified(size_t windows, double seconds) = 0;  // one Classify() call
    virtual void OnFallTransition(FallState state) = 0;             // suspected, confirmed, dismissed
    virtual void OnRejected(size_t windows) = 0;                    // the queue was full
    // The fall judge decided one impact (with a FallEventJudge only).
    virtual void OnImpactJudged(bool /*fall*/) {}
};

struct PostureServiceOptions {
    int workers = 2;
    size_t queue_capacity = 256;  // windows waiting, all workers together
    FallMonitorOptions monitor;   // fall_threshold is replaced by the classifier's
    Milliseconds tick_every{1000};
    Milliseconds answer_timeout{10'000};             // Submit gives up waiting (kUnavailable); the work still happens
    Milliseconds forget_idle_after{10 * 60 * 1000};  // a wearer's state without windows this long is dropped
    // The fall decision on the event (borrowed; must outlive the service). With it, each wearer's windows are
    // joined into one 50 Hz stream while they are contiguous (a gap, or another placement, starts a new one)
    // and every impact in it is judged once its event is complete (3.5 s later). An impact judged a fall is
    // fall evidence; a window whose fall probability reaches the classifier's fall_threshold still raises a
    // suspicion at once (so a watch that goes quiet right after a fall is still confirmed by the silence
    // rule), which the judge dismisses when it finds none of that window's impacts a fall. Stitched boundary
    // windows are not made: the stream holds every boundary. Without a judge, the window threshold alone.
    const FallEventJudge* fall_judge = nullptr;
};

class PostureService {
  public:
    // REQUIRES: options.workers >= 1, options.queue_capacity >= 1. Starts the workers.
    PostureService(const PostureClassifier& classifier, store::Store& store, const Clock& clock,
                   PostureListener* listener, PostureServiceOptions options);
    ~PostureService();  // Stop()
    PostureService(const PostureService&) = delete;
    PostureService& operator=(const PostureService&) = delete;

    // Classifies `windows` of `wearer` (REQUIRES: strictly increasing timing.end, at least one) and waits
    // for the results, one per window in order. kUnavailable (Retry-After 1) when the queue is full, the
    // service is stopped, or the answer takes longer than answer_timeout; kInternal when the model fails.
    Result<std::vector<WindowResult>> Submit(int64_t wearer, std::vector<TimedWindow> windows, RecordPolicy policy);

    // Runs the silence rule on every worker at clock.Now() and waits (the workers also tick on their own
    // every tick_every). For tests on simulated time.
    void TickAll();

    // Loads every stored suspicion (Store::ListFallSuspicions) into its wearer's shard and waits until
    // they are in place. A restored suspicion is decided as usual: by the windows that come next (the
    // watch resending what the dead process never answered; windows not after the stored last one are
    // late), at the deadline, or by the silence rule, which counts silence_after from the restart, not
    // from the last window received before it (the process's own absence is not the watch's silence;
    // src/posture/README.md, "Across a restart"). A stored suspicion whose fall an incident already records
    // (an event at or after the suspicion was raised: EscalationService::Fall's `opened` on a fall
    // incident, or `fall` on an open one) was confirmed before the process died and only its clearing was
    // lost: it is cleared, not restored, so the fall is not reported twice.
    // REQUIRES: called once, before the first Submit. Errors: the store's (nothing is restored then, or
    // only some shards' suspicions); kUnavailable once stopped.
    Status RestoreFallSuspicions();

    // Installs (or, with nullptr, removes) the metrics hooks; waits for a hook call in progress.
    void SetMetrics(PostureMetrics* metrics);

    // Finishes the queued work, then refuses new work. Idempotent.
    void Stop();

    // Windows waiting for a worker now (a gauge for metrics; tests wait on it).
    size_t queued() const { return queued_.load(); }

    const ClassifierInfo& info() const { return classifier_.info(); }
    const PostureServiceOptions& options() const { return options_; }

  private:
    struct Job {
        int64_t wearer = 0;
        std::vector<TimedWindow> windows;
        RecordPolicy policy = RecordPolicy::kOnChange;
        TimePoint received;
        std::promise<Result<std::vector<WindowResult>>> done;
        std::shared_ptr<std::promise<void>> tick;          // set: a tick request instead of windows
        std::shared_ptr<std::promise<void>> restore_done;  // set: restore `restore` instead of windows
        std::vector<store::FallSuspicion> restore;
    };
    struct WearerState {
        explicit WearerState(const FallMonitorOptions& o) : monitor(o) {}
        FallMonitor monitor;
        bool loaded = false;              // posture read from the store
        std::optional<Posture> posture;   // the last reported posture
        std::optional<TimedWindow> last;  // the latest monitored window
        TimePoint last_seen;              // server time of the latest window
        // The monitor's state as the store holds it (none: no row); differs from the monitor's after a
        // change not yet written (or whose write failed: retried on the next request or tick).
        std::optional<FallMonitorSnapshot> stored;
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
    struct Shard {
        std::mutex mu;
        std::condition_variable cv;
        std::deque<Job> jobs;                              // GUARDED_BY(mu)
        bool stopping = false;                             // GUARDED_BY(mu)
        std::unordered_map<int64_t, WearerState> wearers;  // owned by the shard's thread
        std::thread thread;
    };

    void Run(Shard& shard);
    Result<std::vector<WindowResult>> Process(Shard& shard, Job& job);
    // Adds `w` to the wearer's stream (a new stream unless it continues `previous`) and judges the impacts
    // whose events are now complete. The judged impacts, or the judge's error.
    Result<JudgedWindow> JudgeWindow(WearerState& st, const TimedWindow* previous, const TimedWindow& w);
    void Tick(Shard& shard, TimePoint now);
    void Restore(Shard& shard, const std::vector<store::FallSuspicion>& suspicions, TimePoint now);
    // Brings the stored suspicion in line with the monitor: saved while suspected (when it changed),
    // cleared once decided. On error `stored` is left as it was, so the next call tries again.
    Status Persist(int64_t wearer, WearerState& st, TimePoint now);
    WearerState& StateOf(Shard& shard, int64_t wearer);
    void Record(int64_t wearer, Posture posture, TimePoint at);
    std::optional<int64_t> Emit(const PostureEvent& event);
    template <typename Fn>
    void WithMetrics(Fn&& fn);

    const PostureClassifier& classifier_;
    store::Store& store_;
    const Clock& clock_;
    PostureListener* listener_;
    PostureServiceOptions options_;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::atomic<size_t> queued_{0};  // windows waiting in all shards
    std::atomic<bool> stopped_{false};
    std::mutex stop_mu_;  // serialises Stop()
    std::shared_mutex metrics_mu_;
    PostureMetrics* metrics_ = nullptr;  // GUARDED_BY(metrics_mu_)
};

}  // namespace vg::posture
