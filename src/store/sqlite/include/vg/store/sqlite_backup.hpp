// Online backup and restore of VitalGuard's SQLite database (`vitalguard backup` / `vitalguard restore`).
//
// A backup is one self-contained SQLite file (no -wal beside it), a consistent snapshot of the live
// database taken with SQLite's online backup API inside one read transaction: a server may keep writing
// while it runs, and what it wrote before the snapshot is in the file, what it wrote after is not.
//
// Thread-safety: free functions; each opens its own connections. They touch only the files named.
#pragma once

#include <cstdint>
#include <string>

#include "vg/common/status.hpp"

namespace vg::store {

// What a backup file holds, read from the file itself.
struct SqliteBackupSummary {
    int64_t schema_version = 0;  // the highest migration applied
    int64_t users = 0;
    int64_t readings = 0;  // vitals rows
    int64_t statuses = 0;  // user_status rows
    int64_t incidents = 0;
    int64_t bytes = 0;  // size of the file
};

// Writes a consistent copy of the database `database` to `destination`, which must not exist (the
// parent folder must), with owner-only permissions; then checks the copy (integrity_check) and
// summarises it. A failure leaves no file at `destination`.
Result<SqliteBackupSummary> BackupSqliteDatabase(const std::string& database, const std::string& destination);

// Opens `file` read-only and checks it is a VitalGuard database that passes integrity_check and whose
// schema this binary can run (version <= the latest migration it knows). Errors name the problem.
Result<SqliteBackupSummary> InspectSqliteBackup(const std::string& file);

// Installs the backup `file` as the database `database` (normally <data-dir>/vitalguard.db): checks it
// (InspectSqliteBackup), copies it beside the target, makes the copy durable and renames it into place.
// An existing database is refused unless `replace`; then it and its -wal/-shm files are moved aside as
// <database>.before-restore-<UTC time> (nothing is deleted). The caller must make sure no server uses
// the database (app::DataDirLock).
Result<SqliteBackupSummary> RestoreSqliteDatabase(const std::string& file, const std::string& database, bool replace);

}  // namespace vg::store
