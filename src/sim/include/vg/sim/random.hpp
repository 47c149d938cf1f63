#pragma once
// Rng: the simulator's only source of randomness.
//
// A small, fully specified generator (xoshiro256** seeded through splitmix64)
// with its own uniform and normal draws, so that a seed produces the same
// fleet, readings and events whatever the standard library
// (std::normal_distribution differs between implementations; this does not).
// Thread-safety: an Rng is used by one thread at a time. Cheap to copy.

#include <cstdint>

namespace vg::sim {

class Rng {
  public:
    explicit Rng(uint64_t seed);

    uint64_t NextU64();
    // Uniform in [0, 1).
    double Uniform();
    // Uniform in [lo, hi).
    double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
    // Uniform integer in [lo, hi]. REQUIRES: lo <= hi.
    int64_t UniformInt(int64_t lo, int64_t hi);
    // Normal (Box–Muller), mean 0 and standard deviation 1.
    double Normal();
    double Normal(double mean, double sd) { return mean + sd * Normal(); }
    // True with probability p.
    bool Bernoulli(double p) { return Uniform() < p; }

    // An independent generator for a sub-stream (e.g. one wearer): the same (seed, stream) always gives
    // the same generator, whatever was drawn from this one.
    static Rng ForStream(uint64_t seed, uint64_t stream);

  private:
    uint64_t s_[4];
    double spare_normal_ = 0;
    bool has_spare_ = false;
};

}  // namespace vg::sim
