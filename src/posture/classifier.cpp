#include "vg/posture/classifier.hpp"

#include <algorithm>
#include <iterator>

namespace vg::posture {

std::string_view PostureName(Posture posture) {
    switch (posture) {
        case Posture::kDownstairs:
            return "Downstairs";
        case Posture::kUpstairs:
            return "Upstairs";
        case Posture::kRunning:
            return "Running";
        case Posture::kSitting:
            return "Sitting";
        case Posture::kStanding:
            return "Standing";
        case Posture::kWalking:
            return "Walking";
        case Posture::kLying:
            return "Lying";
        case Posture::kFall:
            return "Fall";
    }
    return "Unknown";
}

std::string_view WireName(Posture posture) {
    // One table, in the seed's order (0 … 7).
    static constexpr std::array<std::string_view, kNumPostures> kSeedNames = {
        "Downstair", "Upstair", "Running", "Sitdown", "StandUp", "Walking", "Lying", "Fall"};
    const auto i = static_cast<size_t>(posture);
    return i < kSeedNames.size() ? kSeedNames[i] : std::string_view("Unknown");
}

std::string_view PlacementName(Placement placement) { return placement == Placement::kWaist ? "waist" : "wrist"; }

PosturePrediction PredictionFromProbabilities(const std::array<float, kNumModelClasses>& probabilities) {
    PosturePrediction p;
    p.probabilities = probabilities;
    p.model_class = static_cast<size_t>(
        std::distance(probabilities.begin(), std::max_element(probabilities.begin(), probabilities.end())));
    p.other = p.model_class == kOtherClass;
    if (!p.other) {
        p.posture = static_cast<Posture>(p.model_class);
    } else {
        // Other is never a fall: the nearest of the non-fall postures 0..6.
        const auto last_non_fall = probabilities.begin() + static_cast<std::ptrdiff_t>(Posture::kFall);
        p.posture = static_cast<Posture>(
            std::distance(probabilities.begin(), std::max_element(probabilities.begin(), last_non_fall)));
    }
    return p;
}

}  // namespace vg::posture
