#pragma once
// The libtorch side of the command line (`vitalguard-posture`): training, evaluation and weight
// conversion of the posture network. Only the vitalguard-posture program links this.
// Thread-safety: call from the main thread.

#include <memory>

#include "vg/cli/cli.hpp"

namespace vg::cli {

std::unique_ptr<PostureCommands> MakeTorchPostureCommands();

}  // namespace vg::cli
