#include "vg/imu/series.hpp"

#include <cassert>

namespace vg::imu {

Result<Series> Resample(const Trial& trial, double rate_hz) {
    assert(rate_hz > 0);
    const auto& in = trial.samples;
    const std::string name = trial.info.path.string();
    if (in.size() < 2) return Status::Error(ErrorCode::kValidationFailed, name + ": fewer than 2 samples");
    for (size_t i = 1; i < in.size(); ++i)
        if (in[i].t_s < in[i - 1].t_s)
            return Status::Error(ErrorCode::kValidationFailed,
                                 name + ": time goes backwards at sample " + std::to_string(i + 1));
    Series out;
    out.rate_hz = rate_hz;
    out.gravity_removed = trial.info.gravity_removed;
    const double t0 = in.front().t_s;
    const double span = in.back().t_s - t0;
    if (span <= 0) return Status::Error(ErrorCode::kValidationFailed, name + ": all samples at one time");
    const size_t n = static_cast<size_t>(span * rate_hz + 1e-6) + 1;
    out.samples.resize(n);
    size_t j = 0;  // in[j].t ≤ t < in[j+1].t, skipping repeated timestamps (the last one wins)
    for (size_t k = 0; k < n; ++k) {
        const double t = t0 + static_cast<double>(k) / rate_hz;
        while (j + 1 < in.size() && in[j + 1].t_s <= t) ++j;
        if (j + 1 >= in.size()) {
            out.samples[k] = in.back().v;
            continue;
        }
        size_t next = j + 1;  // the last of the samples that share in[j+1]'s time
        while (next + 1 < in.size() && in[next + 1].t_s == in[next].t_s) ++next;
        const double w = (t - in[j].t_s) / (in[next].t_s - in[j].t_s);
        for (size_t c = 0; c < kChannels; ++c)
            out.samples[k][c] = static_cast<float>(in[j].v[c] + w * (in[next].v[c] - in[j].v[c]));
    }
    return out;
}

std::vector<size_t> WindowStarts(size_t n, const WindowSpec& spec) {
    assert(spec.length > 0 && spec.stride > 0);
    std::vector<size_t> out;
    for (size_t s = 0; s + spec.length <= n; s += spec.stride) out.push_back(s);
    return out;
}

std::vector<float> WindowValues(const Series& series, size_t start, const WindowSpec& spec) {
    assert(start + spec.length <= series.samples.size());
    std::vector<float> out;
    out.reserve(spec.length * kChannels);
    for (size_t t = start; t < start + spec.length; ++t)
        out.insert(out.end(), series.samples[t].begin(), series.samples[t].end());
    return out;
}

}  // namespace vg::imu
