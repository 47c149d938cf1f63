#pragma once
// The `vitalguard` command line: subcommands, their options, and where each
// setting comes from. Precedence, highest first: command-line flag, environment
// variable (VG_*), config file (--config / VG_CONFIG, TOML `key = value` with
// the flag's name), built-in default.
// Thread-safety: call from the main thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/app/serve.hpp"
#include "vg/common/status.hpp"

namespace vg::cli {

// The options of `vitalguard dataset | train | eval | convert`.
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
    std::string engine = "native";  // posture eval: the serving engine, or torch
    bool skip_unreadable = false;   // posture eval: count unreadable trial files instead of failing
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

// The posture network's training, evaluation and weight conversion need libtorch, which the server must
// not carry (memory, start-up). They live in the separate program `vitalguard-posture` (src/cli/posture),
// built beside `vitalguard`; `vitalguard train|eval|convert posture …` runs it with the same arguments.
class PostureCommands {
  public:
    virtual ~PostureCommands() = default;
    virtual int Train(const ModelCommandArgs& args, const std::string& command_line) = 0;
    virtual int Eval(const ModelCommandArgs& args) = 0;
    virtual int Convert(const ModelCommandArgs& args) = 0;
};

// Runs the command line; returns the process exit code. Without `posture` (the `vitalguard` program) the
// posture commands run `vitalguard-posture` from the same folder, replacing this process.
int RunCli(int argc, const char* const* argv, PostureCommands* posture = nullptr);

// The parsed `serve` command: a ServeConfig plus logging settings.
struct ServeCommand {
    app::ServeConfig config;
    std::string log_level = "info";
    std::string log_format = "json";
};

// Parses `vitalguard serve ...` (argv[0] is the program, argv[1] "serve") with the environment taken
// from `getenv`. kValidationFailed naming the option on bad input; kBadRequest for --help (message is
// the help text).
Result<ServeCommand> ParseServeCommand(const std::vector<std::string>& args);

}  // namespace vg::cli
