#pragma once
// EventJudge: the fall decision on the event for the server — posture::FallEventJudge over the impact candidates
// (impact_candidates.hpp), the event features (event_features.hpp) and the fall event model
// (fall_event_model.hpp). posture::PostureDetector calls it with each wearer's stream as windows arrive.
//
// Thread-safety: Judge() may be called concurrently (the model and the classifier are read-only).
// Ownership: borrows the model and the classifier; both must outlive the judge.

#include "vg/fall/fall_event_model.hpp"
#include "vg/posture/fall_event_judge.hpp"

namespace vg::fall {

class EventJudge final : public posture::FallEventJudge {
  public:
    // REQUIRES: model.CheckPostureModel(classifier.info()).ok() (the features hold this network's outputs).
    EventJudge(const FallEventModel& model, const posture::PostureClassifier& classifier)
        : model_(model), classifier_(classifier) {}

    Result<posture::Judgement> Judge(std::span<const posture::StreamSample> samples, int64_t first_index,
                                     int64_t from_index, posture::Placement placement,
                                     bool gravity_removed) const override;
    size_t context_before() const override;
    Milliseconds decision_delay() const override;

  private:
    const FallEventModel& model_;
    const posture::PostureClassifier& classifier_;
};

}  // namespace vg::fall
