#pragma once
// `vitalguard user list|lock|unlock|reset-password` (docs/operations.md, "Accounts"): the operator's
// hand on accounts. Private to the cli module.
//
// Works on a data directory whether or not `serve` runs on it: it opens the same SQLite database
// (WAL: readers and one writer at a time, each write a short transaction) and does NOT take the
// data-directory lock that `serve` holds. What it ends reaches the running server through the
// database: a deleted session is refused on its next request, and its open live streams close
// within the server's stream re-check interval (5 s; src/api, SweepStreams).
// It never creates a database: a data directory without one is an error. With --store postgresql://… it
// works on that PostgreSQL schema instead (beside a running server too: it does not take the schema's
// server lock).

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

namespace vg::cli {

struct UserCommandArgs {
    std::string data_dir = "data";            // as `serve --data-dir` (env VG_DATA_DIR)
    std::string store_url;                    // as `serve --store` (env VG_STORE): "" or sqlite, or a PostgreSQL URI
    std::string store_schema = "vitalguard";  // as `serve --store-schema`
    bool json = false;                        // list: JSON instead of a table
    std::string id;                           // lock, unlock, reset-password: the login id
    std::string reason;                       // lock: the operator's note
    bool password_stdin = false;              // reset-password: read the new password from stdin
};

// Adds the `user` command and its subcommands to `app`.
void DefineUserCommands(CLI::App& app, UserCommandArgs& args);
// Runs the `user` subcommand that was parsed. 0 on success; 1 with a message on `err` otherwise
// (unknown id, bad password, no database, store errors).
int RunUserCommand(const CLI::App& app, const UserCommandArgs& args, std::istream& in, std::ostream& out,
                   std::ostream& err);

}  // namespace vg::cli
