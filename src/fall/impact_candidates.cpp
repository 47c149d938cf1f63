#include "vg/fall/impact_candidates.hpp"

#include <cmath>

namespace vg::fall {

float AccelerationMagnitude(const ImuSample& s) { return std::sqrt(s[0] * s[0] + s[1] * s[1] + s[2] * s[2]); }

std::vector<size_t> FindImpactCandidates(const SampleStream& stream, const CandidateParams& params) {
    const size_t n = stream.samples.size();
    const size_t r = params.suppression_radius;
    std::vector<size_t> out;
    if (n < 2 * r + 1) return out;
    const float threshold =
        static_cast<float>(stream.gravity_removed ? params.min_peak_gravity_removed_g : params.min_peak_with_gravity_g);
    std::vector<float> magnitude(n);
    for (size_t k = 0; k < n; ++k) magnitude[k] = AccelerationMagnitude(stream.samples[k]);
    for (size_t i = r; i + r < n; ++i) {
        const float peak = magnitude[i];
        if (peak < threshold) continue;
        bool largest = true;
        for (size_t k = i - r; k < i && largest; ++k) largest = magnitude[k] < peak;
        for (size_t k = i + 1; k <= i + r && largest; ++k) largest = magnitude[k] <= peak;
        if (largest) {
            out.push_back(i);
            i += r;  // the next r samples are smaller than or equal to this one: none is a candidate
        }
    }
    return out;
}

}  // namespace vg::fall
