// Online backup and restore of the SQLite database; see sqlite_backup.hpp.
#include "vg/store/sqlite_backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string_view>

#include "vg/store/sqlite_store.hpp"

namespace vg::store {
namespace {

namespace fs = std::filesystem;

struct CloseDb {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

Status Failure(ErrorCode code, const std::string& what, sqlite3* db) {
    return Status::Error(code, what + (db ? std::string(": ") + sqlite3_errmsg(db) : std::string()));
}

Result<Db> OpenDb(const std::string& path, int flags) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) return Failure(ErrorCode::kUnavailable, "cannot open " + path, db.get());
    // A live server may hold the write lock for one group commit; wait for it rather than fail.
    sqlite3_busy_timeout(db.get(), 10'000);
    return db;
}

// The first column of the first row of `sql`, as an integer.
Result<int64_t> QueryInt(sqlite3* db, std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK) {
        return Failure(ErrorCode::kValidationFailed, std::string(sql), db);
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
    if (sqlite3_step(st.get()) != SQLITE_ROW) return Failure(ErrorCode::kInternal, std::string(sql), db);
    return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
}

Result<SqliteBackupSummary> Summarise(sqlite3* db, const std::string& file) {
    SqliteBackupSummary s;
    {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &raw, nullptr) != SQLITE_OK) {
            return Failure(ErrorCode::kValidationFailed, file + " is not a SQLite database", db);
        }
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
        const int rc = sqlite3_step(st.get());
        if (rc != SQLITE_ROW) return Failure(ErrorCode::kValidationFailed, file + " is not a SQLite database", db);
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
        if (text == nullptr || std::string_view(text) != "ok") {
            return Status::Error(ErrorCode::kValidationFailed,
                                 file + " is damaged: " + (text ? std::string(text) : std::string("no answer")));
        }
    }
    auto version = QueryInt(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!version.ok()) {
        return Status::Error(ErrorCode::kValidationFailed,
                             file + " is not a VitalGuard database (no schema_migrations)");
    }
    s.schema_version = *version;
    if (s.schema_version > SqliteSchemaVersion()) {
        return Status::Error(ErrorCode::kValidationFailed,
                             file + " has schema version " + std::to_string(s.schema_version) +
                                 ", newer than this program knows (" + std::to_string(SqliteSchemaVersion()) +
                                 "): restore it with the VitalGuard that made it, or a newer one");
    }
    struct Count {
        const char* sql;
        int64_t* into;
    };
    for (const Count& c :
         {Count{"SELECT COUNT(*) FROM users", &s.users}, Count{"SELECT COUNT(*) FROM vitals", &s.readings},
          Count{"SELECT COUNT(*) FROM user_status", &s.statuses},
          Count{"SELECT COUNT(*) FROM incidents", &s.incidents}}) {
        auto n = QueryInt(db, c.sql);
        if (!n.ok()) return Status::Error(ErrorCode::kValidationFailed, file + ": " + n.status().message());
        *c.into = *n;
    }
    std::error_code ec;
    s.bytes = static_cast<int64_t>(fs::file_size(file, ec));
    return s;
}

// Makes `path`'s contents (or a folder's entries) durable.
Status Sync(const fs::path& path, bool directory) {
    const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return Status::Error(ErrorCode::kUnavailable, "cannot open " + path.string() + " to sync it");
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return Status::Error(ErrorCode::kUnavailable, "cannot sync " + path.string());
    return Status::Ok();
}

// Copies the whole of `from` into the new database file `to` in one backup step (one read transaction
// on `from`: a consistent snapshot), as a single file with owner-only permissions.
Status CopyDatabase(sqlite3* from, const std::string& to) {
    // The file is created owner-only before SQLite opens it, so health data is never readable by others.
    const int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Status::Error(ErrorCode::kConflict, to + " already exists or cannot be created");
    ::close(fd);
    auto dest = OpenDb(to, SQLITE_OPEN_READWRITE);
    if (!dest.ok()) return dest.status();
    sqlite3_backup* backup = sqlite3_backup_init(dest->get(), "main", from, "main");
    if (backup == nullptr) return Failure(ErrorCode::kUnavailable, "cannot start the backup", dest->get());
    int rc = SQLITE_OK;
    do {
        rc = sqlite3_backup_step(backup, -1);  // -1: every page in one step, one snapshot
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) return Failure(ErrorCode::kUnavailable, "the backup failed", dest->get());
    // One self-contained file: no -wal to carry along.
    if (sqlite3_exec(dest->get(), "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        return Failure(ErrorCode::kUnavailable, "cannot finish " + to, dest->get());
    }
    dest->reset();
    return Sync(to, false);
}

std::string UtcStamp() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

}  // namespace

Result<SqliteBackupSummary> BackupSqliteDatabase(const std::string& database, const std::string& destination) {
    std::error_code ec;
    if (!fs::is_regular_file(database, ec)) {
        return Status::Error(ErrorCode::kNotFound, "no database at " + database + " (is --data-dir right?)");
    }
    auto source = OpenDb(database, SQLITE_OPEN_READONLY);
    if (!source.ok()) return source.status();
    if (Status s = CopyDatabase(source->get(), destination); !s.ok()) {
        if (s.code() != ErrorCode::kConflict) fs::remove(destination, ec);
        return s;
    }
    auto copy = OpenDb(destination, SQLITE_OPEN_READONLY);
    if (!copy.ok()) return copy.status();
    auto summary = Summarise(copy->get(), destination);
    if (!summary.ok()) {
        copy->reset();
        fs::remove(destination, ec);
    }
    return summary;
}

Result<SqliteBackupSummary> InspectSqliteBackup(const std::string& file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) return Status::Error(ErrorCode::kNotFound, "no backup file at " + file);
    auto db = OpenDb(file, SQLITE_OPEN_READONLY);
    if (!db.ok()) return db.status();
    return Summarise(db->get(), file);
}

Result<SqliteBackupSummary> RestoreSqliteDatabase(const std::string& file, const std::string& database, bool replace) {
    auto summary = InspectSqliteBackup(file);
    if (!summary.ok()) return summary;
    std::error_code ec;
    const fs::path target(database);
    if (fs::exists(target, ec) && !replace) {
        return Status::Error(ErrorCode::kConflict, database +
                                                       " already exists; --replace moves it aside (as "
                                                       "<file>.before-restore-<time>) and restores over it");
    }
    const std::string incoming = database + ".restoring";
    fs::remove(incoming, ec);
    auto source = OpenDb(file, SQLITE_OPEN_READONLY);
    if (!source.ok()) return source.status();
    if (Status s = CopyDatabase(source->get(), incoming); !s.ok()) {
        fs::remove(incoming, ec);
        return s;
    }
    if (fs::exists(target, ec)) {
        const std::string aside = database + ".before-restore-" + UtcStamp();
        for (const char* suffix : {"", "-wal", "-shm"}) {
            const fs::path from = database + suffix;
            if (!fs::exists(from, ec)) continue;
            fs::rename(from, aside + suffix, ec);
            if (ec) {
                fs::remove(incoming, ec);
                return Status::Error(ErrorCode::kUnavailable,
                                     "cannot move " + from.string() + " aside: " + ec.message());
            }
        }
    } else {
        // Stale -wal/-shm of a database that is gone would be applied to the restored one.
        for (const char* suffix : {"-wal", "-shm"}) fs::remove(database + suffix, ec);
    }
    fs::rename(incoming, target, ec);
    if (ec) return Status::Error(ErrorCode::kUnavailable, "cannot put the restored database in place: " + ec.message());
    VG_RETURN_IF_ERROR(Sync(target.parent_path().empty() ? fs::path(".") : target.parent_path(), true));
    return summary;
}

}  // namespace vg::store
