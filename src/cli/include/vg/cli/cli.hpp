#pragma once
// The `vitalguard` command line: subcommands, their options, and where each
// setting comes from. Precedence, highest first: command-line flag, environment
// variable (VG_*), config file (--config / VG_CONFIG, TOML `key = value` with
// the flag's name), built-in default.
// Thread-safety: call from the main thread.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "vg/app/serve.hpp"
#include "vg/common/status.hpp"

namespace vg::cli {

// Runs the command line; returns the process exit code.
int RunCli(int argc, const char* const* argv);

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

// "90s", "30m", "12h", "2d", "500ms" or a plain number of seconds.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace vg::cli
