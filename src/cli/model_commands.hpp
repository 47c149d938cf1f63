#pragma once
// `vitalguard dataset | train | eval` (docs/models.md). Private to the cli module.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace vg::cli {

struct ModelCommandArgs {
    std::string scenario;
    std::string out;
    std::optional<uint64_t> seed;
    std::string kind = "status";
    std::string data;
    std::string model_dir = "models";
    int max_rounds = 400;
    std::string describe;
    bool drop_outliers = false;
    std::string split = "test";
    std::string report;
    // posture (libtorch) only
    int width = 16;
    int transformer_dim = 64;
    int heads = 4;
    int layers = 2;
    int epochs = 25;
    int patience = 8;
    int per_class = 800;
    int threads = 1;
    std::string version;
};

void DefineModelCommands(CLI::App& app, ModelCommandArgs& args);
int RunDatasetCommand(const ModelCommandArgs& args);
int RunTrainCommand(const ModelCommandArgs& args, const std::string& command_line);
int RunEvalCommand(const ModelCommandArgs& args);
// `train posture` / `eval posture` (posture_commands.cpp, docs/posture-model.md).
int RunPostureTrainCommand(const ModelCommandArgs& args, const std::string& command_line);
int RunPostureEvalCommand(const ModelCommandArgs& args);

}  // namespace vg::cli
