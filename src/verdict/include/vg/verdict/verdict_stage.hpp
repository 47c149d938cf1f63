#pragma once
// VerdictStage: where the detector's verdicts become durable, then visible, then escalated.
//
// The detector's shard threads only evaluate (CPU, no I/O) and hand every verdict here
// (detector::DetectionListener): OnDetection and OnLateReading only enqueue. Each stage shard
// (a thread; a wearer belongs to one, bus::ShardFor) takes everything queued and:
//   1. writes the batch's UserStatus rows in ONE store call (Store::RecordVerdicts: one group
//      commit for all of them) — a row when the wearer's level changed, and for every
//      update_status reading (the seed stores one per call); users.danger_degree follows. An
//      update_status reading travels unstored (ReadingEnvelope::store_with_verdict) and is written in
//      the same call, with its row: one commit per update_status instead of two;
//      The incident transition a wearer's first verdict of the batch causes is in that commit too
//      (EscalationService::PrepareVerdict; store::VerdictRecord::incident): the status row and the
//      incident it opens are durable together. One that conflicts (a person's transition came first) is
//      re-applied through EscalationService::OnVerdict after the commit, as are later verdicts of the
//      same wearer in the batch;
//   2. per verdict, in each wearer's order: publishes the `detection` live event, announces its committed
//      transition or hands the verdict to escalation (whose `incident` events therefore follow the
//      detection that caused them), and only
//      then answers the caller waiting for it (`on_detected`, the seed's synchronous update_status): an
//      acknowledged update_status has its reading AND its status row on disk, and the incident its
//      verdict opened exists; a row the store refused is answered with the error.
// The posture path's verdicts (posture::PostureVerdict, from the PostureDetector on the bus's shard threads)
// take the same road: their UserPosture rows and the wearer's stored fall state join the batch's one commit;
// then, in the wearer's order with its vital-sign verdicts, their events go to the posture listener (a
// confirmed fall to escalation, then the `posture` live event) and the request is answered
// (posture::DeliverPostureVerdict).
//
// While a shard waits for its commit, the detector keeps evaluating and the next batch grows:
// one fsync is shared by everything that arrived meanwhile instead of one per verdict.
//
// A crash loses only verdicts not yet committed, never readings (they were stored before the
// bus); their callers were not answered. Start-up replay rebuilds the rule state.
//
// Thread-safety: OnDetection/OnLateReading from the detector's shard threads (any thread);
// stats from any thread; Start/Stop from one controlling thread. A full shard queue
// makes OnDetection wait (backpressure onto the bus) rather than drop a verdict.
// Ownership: borrows the store, ids, hub, clock and escalation service; they must outlive Stop().

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/detector/detector.hpp"
#include "vg/escalation/escalation_service.hpp"
#include "vg/live/live_hub.hpp"
#include "vg/posture/posture_detector.hpp"
#include "vg/store/store.hpp"
#include "vg/verdict/wearer_ids.hpp"

namespace vg::verdict {

struct VerdictStageOptions {
    int shards = 2;                 // threads; use the bus's shard count so a wearer stays on one
    size_t max_batch = 1024;        // verdicts taken per commit
    size_t queue_capacity = 65536;  // verdicts waiting per shard before OnDetection waits
    // Called for every verdict of a reading (not signal loss, not late readings) once it is recorded,
    // with the time from the server's receipt of the reading; on a stage thread, so it must be cheap and
    // thread-safe (a metrics histogram). Empty: not measured.
    std::function<void(std::chrono::microseconds)> on_verdict_latency;
};

struct VerdictStageStats {
    uint64_t verdicts = 0;             // every verdict handled (late readings included)
    uint64_t status_rows = 0;          // rows committed
    uint64_t readings = 0;             // readings stored with their verdicts (update_status)
    uint64_t commits = 0;              // store calls (one group commit each)
    uint64_t failed_rows = 0;          // records the store refused (their callers got the error)
    uint64_t split_commits = 0;        // group commits that failed whole and were recorded one by one
    uint64_t largest_batch = 0;        // most verdicts handled in one go
    uint64_t posture_rows = 0;         // UserPosture rows committed
    uint64_t incidents_in_commit = 0;  // incident transitions committed with their verdict's row
    uint64_t incident_conflicts = 0;   // prepared transitions refused (re-applied through OnVerdict)
};

// Records `records` with one `record` call (a group commit: Store::RecordVerdicts). When that call fails as a
// whole — e.g. PostgreSQL's serialization failures outlasting the store's retries while two detectors commit
// at once — records them again one call each, in order, so that one conflicting record does not cost the
// others. One Status per record; `*split` is set to whether it fell back.
using RecordFn = std::function<Result<std::vector<Status>>(std::span<const store::VerdictRecord>)>;
std::vector<Status> RecordAllOrEach(const RecordFn& record, std::span<const store::VerdictRecord> records, bool* split);

class VerdictStage final : public detector::DetectionListener, public posture::PostureVerdictSink {
  public:
    VerdictStage(store::Store& store, WearerIds& ids, live::LiveHub& hub, const Clock& clock,
                 VerdictStageOptions options);
    ~VerdictStage() override;  // Stops.
    VerdictStage(const VerdictStage&) = delete;
    VerdictStage& operator=(const VerdictStage&) = delete;

    // Verdicts also go to escalation once set. REQUIRES: before Start.
    void set_escalation(escalation::EscalationService* escalation) { escalation_ = escalation; }
    // Posture events go to `listener` once set (the app's relay: escalation for a fall, then the live event).
    // REQUIRES: before Start.
    void set_posture_listener(posture::PostureListener* listener) { posture_listener_ = listener; }
    // Starts the shard threads. Verdicts enqueued before Start wait for it.
    void Start();
    // Handles everything already enqueued, then ends the threads. Idempotent. Verdicts enqueued
    // afterwards are answered with kUnavailable (their readings are stored).
    void Stop();

    void OnDetection(int64_t wearer, bus::ReadingEnvelope* envelope, const domain::Detection& detection,
                     domain::Level previous) override;
    void OnLateReading(int64_t wearer, bus::ReadingEnvelope& envelope, const domain::Detection& current) override;
    void OnPostureVerdict(posture::PostureVerdict verdict) override;

    // Calls `done` once every verdict enqueued before this call has been handled: committed (or its commit
    // failed) and delivered. On a stage thread; here at once when the stage is stopping or stopped. For a
    // bus that acknowledges deliveries only once their verdicts are durable (bus::ReadingConsumer::Settle).
    // Thread-safety: any thread. `done` must not block on the stage.
    void AfterHandled(std::function<void()> done);

    VerdictStageStats stats() const;

  private:
    struct Item {
        std::function<void()> barrier;  // set: an AfterHandled marker, nothing else applies
        int64_t wearer = 0;
        domain::Detection detection;
        domain::Level previous = domain::Level::kNormal;
        std::optional<TimePoint> reading_at;  // none: signal loss
        std::optional<TimePoint> received_at;
        bool record = false;  // write a status row
        bool late = false;    // a late reading: no row (but its reading is stored when it came unstored)
        std::optional<store::IncomingReading> unstored;  // store_with_verdict: the reading, to store now
        std::optional<int64_t> device_id;
        std::function<void(const Result<domain::Detection>&)> reply;
        std::optional<posture::PostureVerdict> posture;  // set: a posture verdict (nothing above applies)
        // The wearer's first verdict of a batch has its incident transition prepared and committed with the
        // rows (EscalationService::PrepareVerdict); a later one of the same batch escalates after the commit.
        std::optional<escalation::PreparedTransition> prepared;
        bool escalated_in_commit = false;  // prepared (a transition or nothing to do): no OnVerdict after
    };
    struct Shard {
        std::mutex mu;
        std::condition_variable has_work;
        std::condition_variable has_room;
        std::vector<Item> queue;  // GUARDED_BY(mu)
        bool stopping = false;    // GUARDED_BY(mu)
        std::thread thread;
    };
    void Enqueue(Item item);
    void EnqueueOn(Shard& shard, Item item);
    static void AnswerShuttingDown(Item& item);
    void Run(Shard& shard);
    void Handle(std::vector<Item>& batch);

    store::Store& store_;
    WearerIds& ids_;
    live::LiveHub& hub_;
    const Clock& clock_;
    const VerdictStageOptions options_;
    escalation::EscalationService* escalation_ = nullptr;
    posture::PostureListener* posture_listener_ = nullptr;
    std::vector<std::unique_ptr<Shard>> shards_;
    bool started_ = false;  // controlling thread only
    bool stopped_ = false;  // controlling thread only

    std::atomic<uint64_t> verdicts_{0}, status_rows_{0}, readings_{0}, commits_{0}, failed_rows_{0}, split_commits_{0},
        largest_batch_{0}, posture_rows_{0}, incidents_in_commit_{0}, incident_conflicts_{0};
};

}  // namespace vg::verdict
