// `vitalguard backup DIR` and `vitalguard restore FILE`: the operator's copy of everything the server
// knows, taken while it runs, and the way back. A backup is two files in DIR:
//   vitalguard-<UTC time>.db    one SQLite file, a consistent snapshot (store/sqlite_backup.hpp)
//   vitalguard-<UTC time>.json  what it holds (schema version, counts) and its SHA-256
// restore checks the file (integrity, schema, and the SHA-256 when the .json is beside it) before it
// touches the data directory, refuses while a server uses that directory, and never deletes the
// database it replaces.
#include "data_commands.hpp"

#include <sodium.h>

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "vg/app/data_dir_lock.hpp"
#include "vg/store/sqlite_backup.hpp"

namespace vg::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Now in UTC, for a file name ("20261206T112233Z") or as ISO 8601 ("2026-12-06T11:22:33Z").
std::string UtcStamp(bool for_file_name) {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[40];
    if (for_file_name) {
        std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    } else {
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    return buf;
}

// Hex SHA-256 of a file; empty when it cannot be read.
std::string Sha256OfFile(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in || sodium_init() < 0) return {};
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    char buf[1 << 16];
    while (in) {
        in.read(buf, sizeof buf);
        const std::streamsize n = in.gcount();
        if (n > 0)
            crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buf), static_cast<size_t>(n));
    }
    if (in.bad()) return {};
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state, digest);
    char hex[sizeof digest * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

json::object SummaryJson(const store::SqliteBackupSummary& s) {
    return json::object{
        {"schema_version", s.schema_version}, {"users", s.users}, {"readings", s.readings}, {"statuses", s.statuses},
        {"incidents", s.incidents},           {"bytes", s.bytes}};
}

void PrintSummary(std::ostream& out, const store::SqliteBackupSummary& s) {
    out << "  " << s.users << " accounts, " << s.readings << " readings, " << s.statuses << " status rows, "
        << s.incidents << " incidents; schema " << s.schema_version << ", " << s.bytes << " bytes\n";
}

}  // namespace

void DefineDataCommands(CLI::App& app, DataCommandArgs& args) {
    CLI::App* backup = app.add_subcommand(
        "backup", "Copy the database of a data directory into DIR while the server runs (online, consistent)");
    backup->add_option("dir", args.out_dir, "Folder for the backup (created if missing)")->required();
    backup->add_option("--data-dir", args.data_dir, "The server's data directory")
        ->envname("VG_DATA_DIR")
        ->capture_default_str();

    CLI::App* restore =
        app.add_subcommand("restore", "Install a backup as the database of a data directory (with the server stopped)");
    restore->add_option("file", args.file, "The backup's .db file (its .json beside it is checked too)")->required();
    restore->add_option("--data-dir", args.data_dir, "The data directory to restore into")
        ->envname("VG_DATA_DIR")
        ->capture_default_str();
    restore->add_flag("--replace", args.replace,
                      "Replace a database already there (it is moved aside as vitalguard.db.before-restore-<time>)");
}

int RunBackupCommand(const DataCommandArgs& args, std::ostream& out, std::ostream& err) {
    std::error_code ec;
    fs::create_directories(args.out_dir, ec);
    if (ec) {
        err << "vitalguard backup: cannot create " << args.out_dir << ": " << ec.message() << "\n";
        return 1;
    }
    const std::string stem = "vitalguard-" + UtcStamp(true);
    const fs::path db = fs::path(args.out_dir) / (stem + ".db");
    const fs::path manifest = fs::path(args.out_dir) / (stem + ".json");
    const std::string source = (fs::path(args.data_dir) / "vitalguard.db").string();
    auto summary = store::BackupSqliteDatabase(source, db.string());
    if (!summary.ok()) {
        err << "vitalguard backup: " << summary.status().message() << "\n";
        return 1;
    }
    const std::string sha256 = Sha256OfFile(db);
    if (sha256.empty()) {
        err << "vitalguard backup: cannot read back " << db.string() << "\n";
        return 1;
    }
    json::object m{{"format", "vitalguard-backup"},
                   {"created_at", UtcStamp(false)},
                   {"source", fs::absolute(source).string()},
                   {"file", db.filename().string()},
                   {"sha256", sha256},
                   {"contents", SummaryJson(*summary)}};
    {
        std::ofstream f(manifest);
        f << json::serialize(m) << "\n";
        if (!f) {
            err << "vitalguard backup: cannot write " << manifest.string() << "\n";
            return 1;
        }
    }
    fs::permissions(manifest, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
    out << "backup written: " << db.string() << "\n";
    PrintSummary(out, *summary);
    out << "  sha256 " << sha256 << " (in " << manifest.filename().string() << ")\n";
    return 0;
}

int RunRestoreCommand(const DataCommandArgs& args, std::ostream& out, std::ostream& err) {
    const fs::path file(args.file);
    // The manifest's checksum, when there is one: a backup damaged in storage is refused before it
    // replaces anything.
    fs::path manifest = file;
    manifest.replace_extension(".json");
    std::error_code ec;
    if (fs::is_regular_file(manifest, ec)) {
        std::ifstream in(manifest);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        boost::system::error_code jec;
        json::value m = json::parse(text, jec);
        const json::string* expected =
            !jec && m.is_object() && m.as_object().contains("sha256") && m.at("sha256").is_string()
                ? &m.at("sha256").as_string()
                : nullptr;
        if (expected == nullptr) {
            err << "vitalguard restore: " << manifest.string() << " is not a backup manifest (no sha256)\n";
            return 1;
        }
        if (Sha256OfFile(file) != std::string_view(*expected)) {
            err << "vitalguard restore: " << file.string() << " does not match the SHA-256 in " << manifest.string()
                << " (damaged or altered); nothing was changed\n";
            return 1;
        }
    } else {
        out << "no " << manifest.filename().string() << " beside the backup: its checksum is not checked\n";
    }
    fs::create_directories(args.data_dir, ec);
    auto lock = app::DataDirLock::Acquire(args.data_dir);
    if (!lock.ok()) {
        err << "vitalguard restore: " << lock.status().message() << "\n";
        return 1;
    }
    const std::string database = (fs::path(args.data_dir) / "vitalguard.db").string();
    auto summary = store::RestoreSqliteDatabase(file.string(), database, args.replace);
    if (!summary.ok()) {
        err << "vitalguard restore: " << summary.status().message() << "\n";
        return 1;
    }
    out << "restored " << file.string() << " into " << database << "\n";
    PrintSummary(out, *summary);
    return 0;
}

}  // namespace vg::cli
