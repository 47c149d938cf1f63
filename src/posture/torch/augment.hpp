#pragma once
// Training-time augmentation of the posture network's input (private to posture/torch).

#include <torch/torch.h>

#include <random>

#include "vg/posture/torch/training.hpp"

namespace vg::posture {

// Applies `a` (training.hpp's Augmentation) to a batch of network inputs (B, 8, 128) in net::InputTensor's
// layout, one random draw per window from `rng`. Returns a new tensor; the input is not changed.
torch::Tensor AugmentBatch(const torch::Tensor& input, const Augmentation& a, std::mt19937_64& rng);

}  // namespace vg::posture
