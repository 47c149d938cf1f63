#pragma once
// `vitalguard backup` and `vitalguard restore` (docs/operations.md). Private to the cli module.

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

namespace vg::cli {

struct DataCommandArgs {
    std::string data_dir = "data";  // as `serve --data-dir` (env VG_DATA_DIR)
    std::string out_dir;            // backup: the folder the backup goes to
    std::string file;               // restore: the backup file
    bool replace = false;           // restore: move an existing database aside
};

void DefineDataCommands(CLI::App& app, DataCommandArgs& args);
int RunBackupCommand(const DataCommandArgs& args, std::ostream& out, std::ostream& err);
int RunRestoreCommand(const DataCommandArgs& args, std::ostream& out, std::ostream& err);

}  // namespace vg::cli
