#pragma once
// `vitalguard dataset | train | eval` (docs/models.md). Private to the cli module.

#include <CLI/CLI.hpp>
#include <string>

#include "vg/cli/cli.hpp"

namespace vg::cli {

void DefineModelCommands(CLI::App& app, ModelCommandArgs& args);
int RunDatasetCommand(const ModelCommandArgs& args);
int RunTrainCommand(const ModelCommandArgs& args, const std::string& command_line);
int RunEvalCommand(const ModelCommandArgs& args);
// `train fall` / `eval fall` (fall_commands.cpp, docs/posture-model.md "Fall decision on the event").
int RunFallTrainCommand(const ModelCommandArgs& args, const std::string& command_line);
int RunFallEvalCommand(const ModelCommandArgs& args);

}  // namespace vg::cli
