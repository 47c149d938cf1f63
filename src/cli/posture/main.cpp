// vitalguard-posture: the `vitalguard` command line with the posture commands that need libtorch.
#include "vg/cli/posture_commands.hpp"

int main(int argc, char** argv) {
    auto posture = vg::cli::MakeTorchPostureCommands();
    return vg::cli::RunCli(argc, argv, posture.get());
}
