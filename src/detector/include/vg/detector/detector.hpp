#pragma once
// Detector: the consumer of the reading bus. Keeps each wearer's rule state on
// the wearer's shard (one thread per shard, so the state needs no lock), runs
// the wearer's rule profile on every reading in order, checks for signal loss
// on every tick, and hands each verdict to a DetectionListener.
//
// Late readings (measured before the wearer's last evaluated reading, e.g. a
// watch flushing its backlog after a lost connection) are stored by ingest but
// not fed to the rules, whose windows assume time moves forward; the verdict
// returned for them is the wearer's current one, marked late.
//
// Restart: Warm feeds a wearer's stored readings through the rules without
// telling the listener, so that confirmation counters, trends, sustained runs,
// baselines and held levels survive a restart (serve replays a recent window).
//
// Thread-safety: OnReadings/OnTick are called by the bus, one thread per shard.
// Warm and DropShard before the bus starts delivering (start-up, single thread) or on the shard's own thread
// (the bus's OnShardAssigned / OnShardRevoked, when a distributed bus moves the shard).
// ResetWearer, wearer_count and stats may be called from any thread.
// Ownership: borrows the registry and the listener; both must outlive it.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "vg/bus/bus.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/models/features.hpp"
#include "vg/models/fusion.hpp"
#include "vg/models/status_model.hpp"
#include "vg/rules/rules.hpp"

namespace vg::detector {

class DetectionListener {
  public:
    virtual ~DetectionListener() = default;
    // Called on the shard thread for every evaluated reading and every signal-loss verdict, in the
    // wearer's order. `envelope` is null for signal loss. `previous` is the wearer's level before this
    // verdict. The listener answers a waiting caller (`envelope->on_detected`) when its verdict is
    // recorded (the detector does not: acknowledging is the recorder's business). Must not block on I/O:
    // the shard's other wearers wait behind it.
    virtual void OnDetection(int64_t wearer, bus::ReadingEnvelope* envelope, const domain::Detection& detection,
                             domain::Level previous) = 0;
    // A late reading (measured before the wearer's last evaluated one): not evaluated; `current` is the
    // wearer's level with an explanation. The listener answers `envelope.on_detected`, if set, in order
    // with the wearer's verdicts.
    virtual void OnLateReading(int64_t wearer, bus::ReadingEnvelope& envelope, const domain::Detection& current) = 0;
};

// The profile name a wearer uses; called on the shard thread when a wearer is first seen (or reset).
using ProfileResolver = std::function<std::string(int64_t wearer)>;

// The status and cause models the detector runs beside the rules (docs/models.md), fused with the
// rules' verdict by models::Fuse (vg/models/fusion.hpp): the model may raise a verdict (a level it
// rates with at least `fusion.raise_at` probability on `fusion.confirm` consecutive readings, never
// during exercise advice), but never lowers what the rules decided.
struct ModelSet {
    std::shared_ptr<const models::StatusModel> status;  // required
    std::shared_ptr<const models::StatusModel> cause;   // optional: names the metrics at fault
    models::FusionOptions fusion;
};

struct DetectorStats {
    uint64_t evaluated = 0;
    uint64_t late = 0;
    uint64_t silence_alerts = 0;
};

class Detector final : public bus::ReadingConsumer {
  public:
    Detector(int shards, const rules::ProfileRegistry& profiles, std::string default_profile, ProfileResolver resolver,
             DetectionListener& listener);
    ~Detector() override;

    void OnReadings(int shard, std::span<bus::ReadingEnvelope> batch) override;
    void OnTick(int shard, TimePoint now) override;

    // Runs the models beside the rules from now on. REQUIRES: before the bus starts delivering.
    void SetModels(ModelSet models) { models_ = std::move(models); }

    // Rebuilds the wearer's rule state from its stored readings (oldest first), silently: no verdict
    // reaches the listener. The wearer's level becomes the verdict of the last reading. Signal loss is
    // then counted from `now` (the restart), not from the last reading: a wearer already silent before
    // the restart is reported once more after a full silence time, and the restart itself is not
    // mistaken for a silence. Returns the number of readings evaluated.
    // REQUIRES: the bus has not started delivering, or on the shard's thread; `shard` is the bus's ShardOf(wearer).
    size_t Warm(int shard, int64_t wearer, std::span<const domain::VitalsReading> readings, TimePoint now);

    // Forgets the wearer's state (e.g. its profile changed); takes effect before the wearer's next reading.
    void ResetWearer(int shard, int64_t wearer);
    // Forgets the state of every wearer of `shard` (the shard moved to another node, or comes back from one).
    // REQUIRES: as Warm.
    void DropShard(int shard);
    size_t wearer_count() const;
    DetectorStats stats() const;

  private:
    struct WearerSlot {
        std::shared_ptr<const rules::RuleProfile> profile;
        std::unique_ptr<rules::WearerState> state;
        domain::Level level = domain::Level::kNormal;
        TimePoint last_measured;
        TimePoint silence_not_before;  // Warm: no signal-loss check before this time
        bool has_reading = false;
        models::FeatureTracker features;   // used only with models
        models::ModelStreak model_streak;  // consecutive readings the model rated above the rules
    };
    // A batch's reading on its way through the models (OnReadingsWithModels).
    struct Pending {
        WearerSlot* slot = nullptr;
        bool late = false;
    };
    struct Shard {
        std::unordered_map<int64_t, WearerSlot> wearers;  // touched only by the shard thread
        // Scratch of OnReadingsWithModels, kept between batches (touched only by the shard thread).
        std::vector<Pending> pending;
        std::vector<float> features;       // the evaluated readings' feature rows, in order
        std::vector<float> probabilities;  // the status model's, 3 per row
        std::mutex resets_mu;
        std::vector<int64_t> resets;  // GUARDED_BY(resets_mu)
        std::atomic<bool> has_resets{false};
        std::atomic<size_t> size{0};
    };
    WearerSlot& SlotFor(Shard& shard, int64_t wearer);
    // Runs the models on `reading` and fuses their outputs with the rules' verdict `d` (models::Fuse).
    void ApplyModels(WearerSlot& slot, const domain::VitalsReading& reading, domain::Detection& d);
    // OnReadings with models: the batch's features first (in order, per wearer), the status model on all
    // of them in one call, then rules and fusion reading by reading, in order; the same verdicts as
    // ApplyModels reading by reading.
    void OnReadingsWithModels(Shard& shard, std::span<bus::ReadingEnvelope> batch);
    void ApplyResets(Shard& shard);

    const rules::ProfileRegistry& profiles_;
    const std::string default_profile_;
    ProfileResolver resolver_;
    DetectionListener& listener_;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::atomic<uint64_t> evaluated_{0};
    std::atomic<uint64_t> late_{0};
    std::atomic<uint64_t> silence_alerts_{0};
    std::optional<ModelSet> models_;
};

}  // namespace vg::detector
