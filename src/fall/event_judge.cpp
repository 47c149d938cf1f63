#include "vg/fall/event_judge.hpp"

#include <algorithm>

namespace vg::fall {

Result<posture::Judgement> EventJudge::Judge(std::span<const posture::StreamSample> samples, int64_t first_index,
                                             int64_t from_index, posture::Placement placement,
                                             bool gravity_removed) const {
    const SampleStream stream{samples, placement, gravity_removed};
    const auto n = static_cast<int64_t>(samples.size());
    // An impact at stream index i is final once its event is complete (kSamplesAfter samples after it; the
    // candidate rule needs fewer): everything before n − kSamplesAfter is decided by this call.
    posture::Judgement judgement;
    judgement.next_from = std::max(from_index, first_index + n - static_cast<int64_t>(kSamplesAfter));
    std::vector<size_t> ready;
    for (size_t i : FindImpactCandidates(stream, model_.candidates())) {
        const int64_t index = first_index + static_cast<int64_t>(i);
        if (index < from_index) continue;
        if (index >= judgement.next_from) break;
        // A candidate too close to the start of a stream (after a gap) has no past: it cannot be judged.
        if (HasEventContext(samples.size(), i)) ready.push_back(i);
    }
    if (ready.empty()) return judgement;
    auto features = ComputeEventFeatures(stream, ready, classifier_);
    if (!features.ok()) return features.status();
    for (size_t k = 0; k < ready.size(); ++k) {
        posture::JudgedImpact impact;
        impact.sample = first_index + static_cast<int64_t>(ready[k]);
        impact.probability = model_.Probability((*features)[k]);
        impact.fall = impact.probability >= model_.Threshold(placement);
        judgement.impacts.push_back(impact);
    }
    return judgement;
}

size_t EventJudge::context_before() const { return kSamplesBefore + model_.candidates().suppression_radius; }

Milliseconds EventJudge::decision_delay() const {
    return Milliseconds(static_cast<int64_t>(static_cast<double>(kSamplesAfter) * 1000.0 / kRateHz));
}

}  // namespace vg::fall
