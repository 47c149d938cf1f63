#pragma once
// The fall decision on the event, as PostureDetector sees it (docs/posture-model.md, "Fall decision on the
// event"). The implementation is fall::EventJudge (src/fall: impact candidates, event features, the fall event
// model), which the app wires in; this interface keeps `posture` free of it. Without a judge the service
// decides on one window's fall probability (the classifier's fall_threshold).
//
// Thread-safety: Judge() may be called concurrently (one call per bus shard at a time).

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/posture/classifier.hpp"

namespace vg::posture {

// One 50 Hz sample in ModelWindow's channel layout: ax, ay, az (g), gx, gy, gz (°/s).
using StreamSample = std::array<float, kChannels>;

struct JudgedImpact {
    int64_t sample = 0;  // the impact's index in the wearer's stream
    float probability = 0;
    bool fall = false;  // probability reached the model's threshold for the stream's placement
};

struct Judgement {
    std::vector<JudgedImpact> impacts;  // in stream order
    int64_t next_from = 0;              // where the next call must start: everything before it is judged
};

class FallEventJudge {
  public:
    virtual ~FallEventJudge() = default;
    // `samples` are a wearer's latest contiguous samples at 50 Hz, oldest first; samples[k] is the stream's
    // sample first_index + k. Judges every impact candidate at stream index ≥ from_index whose whole event
    // lies in `samples`, each exactly once across calls that pass the returned next_from. REQUIRES:
    // from_index >= first_index + context_before() or first_index == from_index (a fresh stream).
    // An error only when the classifier fails.
    virtual Result<Judgement> Judge(std::span<const StreamSample> samples, int64_t first_index, int64_t from_index,
                                    Placement placement, bool gravity_removed) const = 0;
    // How many samples before from_index a caller must keep (the event's past and the candidate rule's).
    virtual size_t context_before() const = 0;
    // How long after an impact its decision can come at the earliest (its event must be complete).
    virtual Milliseconds decision_delay() const = 0;
};

}  // namespace vg::posture
