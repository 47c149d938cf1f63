#include "vg/store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

namespace vg::store {
namespace {

// ---------------------------------------------------------------------------
// Errors

Status Unavailable(std::string message) {
    Status status = Status::Error(ErrorCode::kUnavailable, std::move(message));
    status.WithRetryAfter(1);
    return status;
}

Status Closed() { return Unavailable("the store is closed"); }

Status Internal(std::string message) { return Status::Error(ErrorCode::kInternal, std::move(message)); }

Status NotFound(std::string message) { return Status::Error(ErrorCode::kNotFound, std::move(message)); }

// The generic mapping of an SQLite result code that no caller-specific rule claimed:
// lock contention (another process, or a checkpoint) and unopenable files are "cannot
// be reached now"; everything else is unexpected.
Status FromSqlite(int rc, std::string_view what, std::string_view detail) {
    std::string message = std::string(what) + ": " + std::string(detail);
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_CANTOPEN:
            return Unavailable(std::move(message));
        default:
            return Internal(std::move(message));
    }
}

// ---------------------------------------------------------------------------
// Statement: one use of a cached prepared statement.

// Borrows a prepared statement from its Connection's cache for one execution and
// resets it (clearing the bindings) when destroyed, which also ends the implicit read
// transaction; a statement left un-reset would pin an old WAL snapshot.
// Text is bound without copying (SQLITE_STATIC): bound strings must outlive the Statement.
// A failed prepare or bind is remembered and reported by the next Step().
class Statement {
  public:
    Statement(sqlite3* db, sqlite3_stmt* stmt, int rc, std::string error)
        : db_(db), stmt_(stmt), rc_(rc), error_(std::move(error)) {}
    Statement(Statement&& other) noexcept
        : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), rc_(other.rc_), error_(std::move(other.error_)) {}
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() {
        if (stmt_ != nullptr) {
            sqlite3_reset(stmt_);
            sqlite3_clear_bindings(stmt_);
        }
    }

    void BindInt64(int index, int64_t value) {
        if (stmt_ != nullptr) Check(sqlite3_bind_int64(stmt_, index, value));
    }
    void BindTime(int index, TimePoint value) { BindInt64(index, ToUnixMillis(value)); }
    void BindNull(int index) {
        if (stmt_ != nullptr) Check(sqlite3_bind_null(stmt_, index));
    }
    void BindDouble(int index, double value) {
        if (stmt_ != nullptr) Check(sqlite3_bind_double(stmt_, index, value));
    }
    template <typename T>
    void BindOptional(int index, const std::optional<T>& value) {
        if (!value) {
            BindNull(index);
        } else if constexpr (std::is_same_v<T, double>) {
            BindDouble(index, *value);
        } else if constexpr (std::is_same_v<T, TimePoint>) {
            BindTime(index, *value);
        } else {
            BindInt64(index, *value);
        }
    }
    void BindText(int index, std::string_view value) {
        // An empty string_view may have a null data(), which SQLite would bind as NULL.
        const char* data = value.data() != nullptr ? value.data() : "";
        if (stmt_ != nullptr) Check(sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_STATIC, SQLITE_UTF8));
    }

    // SQLITE_ROW, SQLITE_DONE, or an extended error code (then ErrorStatus() explains).
    int Step() {
        if (stmt_ == nullptr || rc_ != SQLITE_OK) return rc_;
        int rc = sqlite3_step(stmt_);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            rc_ = rc;
            error_ = sqlite3_errmsg(db_);
        }
        return rc;
    }
    // Steps once and expects no row (INSERT, UPDATE, DELETE, transaction control).
    Status Run(std::string_view what) {
        int rc = Step();
        return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::Ok() : ErrorStatus(what);
    }
    int error_code() const { return rc_; }
    Status ErrorStatus(std::string_view what) const { return FromSqlite(rc_, what, error_); }

    bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    int64_t Int64(int col) const { return static_cast<int64_t>(sqlite3_column_int64(stmt_, col)); }
    int Int(int col) const { return sqlite3_column_int(stmt_, col); }
    TimePoint Time(int col) const { return FromUnixMillis(Int64(col)); }
    std::optional<int> OptionalInt(int col) const { return IsNull(col) ? std::nullopt : std::optional<int>(Int(col)); }
    std::optional<int64_t> OptionalInt64(int col) const {
        return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int64(col));
    }
    std::optional<double> OptionalDouble(int col) const {
        return IsNull(col) ? std::nullopt : std::optional<double>(sqlite3_column_double(stmt_, col));
    }
    std::optional<TimePoint> OptionalTime(int col) const {
        return IsNull(col) ? std::nullopt : std::optional<TimePoint>(Time(col));
    }
    std::string Text(int col) const {
        const unsigned char* text = sqlite3_column_text(stmt_, col);
        if (text == nullptr) return {};
        return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
    }

  private:
    void Check(int rc) {
        if (rc != SQLITE_OK && rc_ == SQLITE_OK) {
            rc_ = rc;
            error_ = sqlite3_errmsg(db_);
        }
    }

    sqlite3* db_;
    sqlite3_stmt* stmt_;
    int rc_;
    std::string error_;
};

// ---------------------------------------------------------------------------
// Connection: one sqlite3 handle and its prepared statements.

// Used by one thread at a time (opened SQLITE_OPEN_NOMUTEX): the leader of the batch
// being committed has the write connection, and a read connection belongs to whoever leased it from the pool.
class Connection {
  public:
    static Result<std::unique_ptr<Connection>> Open(const std::string& path, int flags, Milliseconds busy_timeout) {
        sqlite3* db = nullptr;
        int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
            sqlite3_close(db);
            return Unavailable("cannot open SQLite database '" + path + "': " + detail);
        }
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_timeout(db, static_cast<int>(std::clamp<int64_t>(busy_timeout.count(), 0, INT32_MAX)));
        return std::unique_ptr<Connection>(new Connection(db));
    }

    ~Connection() {
        for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
        sqlite3_close(db_);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sqlite3* db() const { return db_; }

    // The cached prepared statement for `sql` (one SQL statement), prepared on first use.
    Statement Prepare(std::string_view sql) {
        auto it = cache_.find(sql);
        if (it == cache_.end()) {
            sqlite3_stmt* stmt = nullptr;
            int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                        nullptr);
            if (rc != SQLITE_OK) {
                sqlite3_finalize(stmt);
                return Statement(db_, nullptr, rc, sqlite3_errmsg(db_));
            }
            if (stmt == nullptr) return Statement(db_, nullptr, SQLITE_MISUSE, "empty SQL statement");
            it = cache_.emplace(std::string(sql), stmt).first;
        }
        return Statement(db_, it->second, SQLITE_OK, {});
    }

    // Runs SQL that carries no values (pragmas, migrations' DDL); may hold several statements.
    Status Exec(const char* sql, std::string_view what) {
        char* error = nullptr;
        int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
        if (rc == SQLITE_OK) return Status::Ok();
        std::string detail = error != nullptr ? error : sqlite3_errmsg(db_);
        sqlite3_free(error);
        return FromSqlite(rc, what, detail);
    }

    // Whether no transaction is open; SQLite rolls a transaction back by itself on
    // some errors (I/O, disk full, out of memory), which this reveals.
    bool InAutocommit() const { return sqlite3_get_autocommit(db_) != 0; }
    int64_t Changes() const { return static_cast<int64_t>(sqlite3_changes64(db_)); }
    int64_t LastInsertRowid() const { return static_cast<int64_t>(sqlite3_last_insert_rowid(db_)); }

  private:
    explicit Connection(sqlite3* db) : db_(db) {}

    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    sqlite3* db_;
    std::unordered_map<std::string, sqlite3_stmt*, Hash, std::equal_to<>> cache_;
};

// ---------------------------------------------------------------------------
// SQL. Every value is bound (?N); nothing is ever spliced into these strings.

constexpr std::string_view kBegin = "BEGIN IMMEDIATE";
constexpr std::string_view kCommit = "COMMIT";
constexpr std::string_view kRollback = "ROLLBACK";
constexpr std::string_view kSavepoint = "SAVEPOINT op";
constexpr std::string_view kRelease = "RELEASE op";
constexpr std::string_view kRollbackTo = "ROLLBACK TO op";

constexpr std::string_view kInsertUser =
    "INSERT INTO users (id, password_hash, name, age, address, detailed_address, phone_num, guard_name, "
    "guard_phone_num, created_at, guard_email, time_zone) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
constexpr std::string_view kSelectUserById =
    "SELECT unique_num, id, password_hash, name, age, address, detailed_address, phone_num, guard_name, "
    "guard_phone_num, danger_degree, user_posture, created_at, rule_profile, guard_email, locked_at, locked_reason, "
    "address_confirmed_at, time_zone FROM users WHERE id = ?1";
constexpr std::string_view kSelectUserByUniqueNum =
    "SELECT unique_num, id, password_hash, name, age, address, detailed_address, phone_num, guard_name, "
    "guard_phone_num, danger_degree, user_posture, created_at, rule_profile, guard_email, locked_at, locked_reason, "
    "address_confirmed_at, time_zone FROM users WHERE unique_num = ?1";
constexpr std::string_view kUserIdExists = "SELECT 1 FROM users WHERE id = ?1";

constexpr std::string_view kInsertSession =
    "INSERT INTO sessions (token_hash, user_unique_num, csrf_token, created_at, last_seen_at, expires_at, "
    "client_address, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr std::string_view kSelectSession =
    "SELECT token_hash, user_unique_num, csrf_token, created_at, last_seen_at, expires_at, client_address, "
    "user_agent FROM sessions WHERE token_hash = ?1";
constexpr std::string_view kTouchSession = "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1";
constexpr std::string_view kDeleteSession = "DELETE FROM sessions WHERE token_hash = ?1";
constexpr std::string_view kDeleteExpiredSessions = "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at < ?2";

constexpr std::string_view kInsertDevice =
    "INSERT INTO devices (user_unique_num, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)";
constexpr std::string_view kSelectDeviceByTokenHash =
    "SELECT device_id, user_unique_num, name, token_hash, created_at, revoked_at, last_seen_at FROM devices "
    "WHERE token_hash = ?1";
constexpr std::string_view kSelectDevicesByUser =
    "SELECT device_id, user_unique_num, name, token_hash, created_at, revoked_at, last_seen_at FROM devices "
    "WHERE user_unique_num = ?1 ORDER BY created_at DESC, device_id DESC";
constexpr std::string_view kRevokeDevice =
    "UPDATE devices SET revoked_at = ?3 WHERE device_id = ?2 AND user_unique_num = ?1 AND revoked_at IS NULL";
constexpr std::string_view kTouchDevice = "UPDATE devices SET last_seen_at = ?2 WHERE device_id = ?1";

// Only when it changes: an unchanged user's page stays clean, so a group commit over many wearers writes
// (and fsyncs) far fewer pages.
constexpr std::string_view kSetDangerDegree =
    "UPDATE users SET danger_degree = ?2 WHERE unique_num = ?1 AND danger_degree IS NOT ?2";
constexpr std::string_view kInsertStatus =
    "INSERT INTO user_status (user_unique_num, status, updated_at, causes, explanation, reading_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr std::string_view kSelectRecentStatuses =
    "SELECT user_unique_num, status, updated_at, causes, explanation, reading_at FROM user_status "
    "WHERE user_unique_num = ?1 ORDER BY updated_at DESC, id DESC LIMIT ?2";
// Self-service and the operator (issues 15, 16). The summary's first 19 columns are ReadUser's.
constexpr std::string_view kUpdateProfile =
    "UPDATE users SET name = ?2, age = ?3, address = ?4, detailed_address = ?5, phone_num = ?6, guard_name = ?7, "
    "guard_phone_num = ?8, address_confirmed_at = COALESCE(?9, address_confirmed_at), time_zone = ?10 "
    "WHERE unique_num = ?1";
constexpr std::string_view kForgetPhoneCode = "DELETE FROM phone_codes WHERE user_unique_num = ?1 AND phone = ?2";
constexpr std::string_view kSetAddressConfirmed = "UPDATE users SET address_confirmed_at = ?2 WHERE unique_num = ?1";
constexpr std::string_view kSelectSessionsByUser =
    "SELECT token_hash, user_unique_num, csrf_token, created_at, last_seen_at, expires_at, client_address, "
    "user_agent FROM sessions WHERE user_unique_num = ?1 ORDER BY created_at DESC, token_hash ASC LIMIT ?2";
constexpr std::string_view kDeleteSessionsExcept =
    "DELETE FROM sessions WHERE user_unique_num = ?1 AND token_hash <> ?2 RETURNING token_hash";
constexpr std::string_view kSetPasswordHash = "UPDATE users SET password_hash = ?2 WHERE unique_num = ?1";
constexpr std::string_view kSetUserLock = "UPDATE users SET locked_at = ?2, locked_reason = ?3 WHERE unique_num = ?1";
constexpr std::string_view kSelectUserSummaries =
    "SELECT u.unique_num, u.id, u.password_hash, u.name, u.age, u.address, u.detailed_address, u.phone_num, "
    "u.guard_name, u.guard_phone_num, u.danger_degree, u.user_posture, u.created_at, u.rule_profile, u.guard_email, "
    "u.locked_at, u.locked_reason, u.address_confirmed_at, u.time_zone, "
    "(SELECT COUNT(*) FROM sessions s WHERE s.user_unique_num = u.unique_num), "
    "(SELECT COUNT(*) FROM devices d WHERE d.user_unique_num = u.unique_num AND d.revoked_at IS NULL), "
    "(SELECT MAX(created_at) FROM sessions s WHERE s.user_unique_num = u.unique_num), "
    "(SELECT MAX(last_seen_at) FROM sessions s WHERE s.user_unique_num = u.unique_num), "
    "(SELECT MAX(last_seen_at) FROM devices d WHERE d.user_unique_num = u.unique_num) "
    "FROM users u WHERE u.unique_num > ?1 ORDER BY u.unique_num LIMIT ?2";
constexpr std::string_view kSetRuleProfile = "UPDATE users SET rule_profile = ?2 WHERE unique_num = ?1";
constexpr std::string_view kSetGuardEmail = "UPDATE users SET guard_email = ?2 WHERE unique_num = ?1";
constexpr std::string_view kDeletePhoneCode = "DELETE FROM phone_codes WHERE user_unique_num = ?1 AND phone = ?2";
constexpr std::string_view kUserExists = "SELECT 1 FROM users WHERE unique_num = ?1";
constexpr std::string_view kInsertReading =
    "INSERT INTO vitals (user_unique_num, device_id, device_seq, measured_at, received_at, heart_rate, "
    "respiration_rate, spo2, skin_temp, glucose, steps, calories) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
    "?11, ?12) ON CONFLICT DO NOTHING";
constexpr std::string_view kSelectRecentReadings =
    "SELECT id, device_id, device_seq, measured_at, received_at, heart_rate, respiration_rate, spo2, skin_temp, "
    "glucose, steps, calories FROM vitals WHERE user_unique_num = ?1 ORDER BY measured_at DESC, id DESC LIMIT ?2";
// Per bucket: its index, the readings, then per metric (in Metric order) COUNT, MIN, MAX, AVG.
constexpr std::string_view kSummarizeReadings =
    "SELECT (measured_at - ?2) / ?4 AS bucket, COUNT(*), COUNT(heart_rate), MIN(heart_rate), "
    "MAX(heart_rate), AVG(heart_rate), COUNT(respiration_rate), MIN(respiration_rate), "
    "MAX(respiration_rate), AVG(respiration_rate), COUNT(spo2), MIN(spo2), MAX(spo2), AVG(spo2), "
    "COUNT(skin_temp), MIN(skin_temp), MAX(skin_temp), AVG(skin_temp), COUNT(glucose), MIN(glucose), "
    "MAX(glucose), AVG(glucose), COUNT(steps), MIN(steps), MAX(steps), AVG(steps), COUNT(calories), "
    "MIN(calories), MAX(calories), AVG(calories) FROM vitals WHERE user_unique_num = ?1 AND measured_at "
    ">= ?2 AND measured_at < ?3 GROUP BY bucket ORDER BY bucket";
constexpr std::string_view kSelectUserNums = "SELECT unique_num FROM users ORDER BY unique_num";
constexpr std::string_view kSelectReadingsSince =
    "SELECT measured_at, heart_rate, respiration_rate, spo2, skin_temp, glucose, steps, calories FROM vitals "
    "WHERE user_unique_num = ?1 AND measured_at >= ?2 ORDER BY measured_at ASC, id ASC";
constexpr std::string_view kSetUserPosture = "UPDATE users SET user_posture = ?2 WHERE unique_num = ?1";
constexpr std::string_view kInsertPosture =
    "INSERT INTO user_posture (user_unique_num, posture, updated_at) VALUES (?1, ?2, ?3)";
constexpr std::string_view kSelectRecentPostures =
    "SELECT user_unique_num, posture, updated_at FROM user_posture WHERE user_unique_num = ?1 "
    "ORDER BY updated_at DESC, id DESC LIMIT ?2";

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "applied_at INTEGER NOT NULL)";
constexpr std::string_view kSelectSchemaVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kSelectMigration = "SELECT name FROM schema_migrations WHERE version = ?1";
constexpr std::string_view kInsertMigration =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";

domain::User ReadUser(const Statement& st) {
    domain::User user;
    user.unique_num = st.Int64(0);
    user.profile.id = st.Text(1);
    user.password_hash = st.Text(2);
    user.profile.name = st.Text(3);
    user.profile.age = st.Int(4);
    user.profile.address = st.Text(5);
    user.profile.detailed_address = st.Text(6);
    user.profile.phone_num = st.Text(7);
    user.profile.guard_name = st.Text(8);
    user.profile.guard_phone_num = st.Text(9);
    user.danger_degree = st.Int(10);
    user.user_posture = st.OptionalInt(11);
    user.created_at = st.Time(12);
    user.rule_profile = st.Text(13);
    user.profile.guard_email = st.Text(14);
    user.locked_at = st.OptionalTime(15);
    user.locked_reason = st.Text(16);
    user.address_confirmed_at = st.OptionalTime(17);
    user.profile.time_zone = st.Text(18);
    return user;
}

domain::Session ReadSession(const Statement& st) {
    domain::Session session;
    session.token_hash = st.Text(0);
    session.user_unique_num = st.Int64(1);
    session.csrf_token = st.Text(2);
    session.created_at = st.Time(3);
    session.last_seen_at = st.Time(4);
    session.expires_at = st.Time(5);
    session.client_address = st.Text(6);
    session.user_agent = st.Text(7);
    return session;
}

domain::Device ReadDevice(const Statement& st) {
    domain::Device device;
    device.device_id = st.Int64(0);
    device.user_unique_num = st.Int64(1);
    device.name = st.Text(2);
    device.token_hash = st.Text(3);
    device.created_at = st.Time(4);
    device.revoked_at = st.OptionalTime(5);
    device.last_seen_at = st.OptionalTime(6);
    return device;
}

Result<domain::User> FindOneUser(Connection& conn, std::string_view sql, const std::function<void(Statement&)>& bind) {
    Statement st = conn.Prepare(sql);
    bind(st);
    switch (st.Step()) {
        case SQLITE_ROW:
            return ReadUser(st);
        case SQLITE_DONE:
            return NotFound("user not found");
        default:
            return st.ErrorStatus("find user");
    }
}

// A row of the seed's history tables: StatusRow or PostureRow.
template <typename Row>
Result<std::vector<Row>> ReadRecent(Connection& conn, std::string_view sql, int64_t user_unique_num, int limit) {
    Statement st = conn.Prepare(sql);
    st.BindInt64(1, user_unique_num);
    st.BindInt64(2, std::clamp(limit, 1, kMaxRecentRows));
    std::vector<Row> rows;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
        Row row;
        row.user_unique_num = st.Int64(0);
        if constexpr (std::is_same_v<Row, StatusRow>) {
            row.status = st.Int(1);
            row.causes = st.Text(3);
            row.explanation = st.Text(4);
            row.reading_at = st.OptionalTime(5);
        } else {
            row.posture = st.Int(1);
        }
        row.updated_at = st.Time(2);
        rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return st.ErrorStatus("read recent rows");
    return rows;
}

// Sets the user's current value and appends the history row: the UPDATE comes first so
// a missing user is a plain kNotFound rather than a foreign-key failure.
Status AppendHistory(Connection& conn, std::string_view set_sql, std::string_view insert_sql, int64_t user_unique_num,
                     int value, TimePoint at) {
    {
        Statement st = conn.Prepare(set_sql);
        st.BindInt64(1, user_unique_num);
        st.BindInt64(2, value);
        VG_RETURN_IF_ERROR(st.Run("update user"));
        if (conn.Changes() == 0) return NotFound("user not found");
    }
    Statement st = conn.Prepare(insert_sql);
    st.BindInt64(1, user_unique_num);
    st.BindInt64(2, value);
    st.BindTime(3, at);
    return st.Run("append history row");
}

// ---------------------------------------------------------------------------
// Migrations

Status Migrate(Connection& conn, const Clock& clock) {
    {
        Statement st = conn.Prepare(kCreateMigrationsTable);
        VG_RETURN_IF_ERROR(st.Run("create schema_migrations"));
    }
    const int latest = SqliteSchemaVersion();
    int64_t current = 0;
    {
        Statement st = conn.Prepare(kSelectSchemaVersion);
        if (st.Step() != SQLITE_ROW) return st.ErrorStatus("read schema version");
        current = st.Int64(0);
    }
    if (current > latest) {
        return Status::Error(ErrorCode::kUnavailable, "database schema version " + std::to_string(current) +
                                                          " is newer than this binary supports (" +
                                                          std::to_string(latest) + ")");
    }
    for (const SqliteMigration& migration : SqliteMigrations()) {
        const std::string label =
            "migration " + std::to_string(migration.version) + " (" + std::string(migration.name) + ")";
        VG_RETURN_IF_ERROR(conn.Prepare(kBegin).Run("begin " + label));
        // Re-checked inside the write lock: another process may have applied it meanwhile.
        Status status;
        bool already_applied = false;
        {
            Statement st = conn.Prepare(kSelectMigration);
            st.BindInt64(1, migration.version);
            int rc = st.Step();
            if (rc == SQLITE_ROW) {
                already_applied = true;
                if (std::string recorded = st.Text(0); recorded != migration.name) {
                    status = Internal(label + " is recorded as '" + recorded +
                                      "': the database was written by a different schema history");
                }
            } else if (rc != SQLITE_DONE) {
                status = st.ErrorStatus("read " + label);
            }
        }
        if (status.ok() && already_applied) {
            VG_RETURN_IF_ERROR(conn.Prepare(kCommit).Run("commit " + label));
            continue;
        }
        if (status.ok()) {
            // Each migration is one string of DDL without values, hence sqlite3_exec.
            status = conn.Exec(std::string(migration.sql).c_str(), "apply " + label);
        }
        if (status.ok()) {
            Statement st = conn.Prepare(kInsertMigration);
            st.BindInt64(1, migration.version);
            st.BindText(2, migration.name);
            st.BindTime(3, clock.Now());
            status = st.Run("record " + label);
        }
        if (status.ok()) status = conn.Prepare(kCommit).Run("commit " + label);
        if (!status.ok()) {
            if (!conn.InAutocommit()) (void)conn.Prepare(kRollback).Run("rollback");
            return status;
        }
    }
    return Status::Ok();
}

// ---------------------------------------------------------------------------
// The write queue

// A type-erased reference to the caller's write function; the caller blocks until the
// write is done, so the function (and whatever it captured by reference) outlives its use.
class WriteFn {
  public:
    template <typename F>
    explicit WriteFn(const F& f)
        : ctx_(&f), call_([](const void* ctx, Connection& conn) { return (*static_cast<const F*>(ctx))(conn); }) {}
    Status operator()(Connection& conn) const { return call_(ctx_, conn); }

  private:
    const void* ctx_;
    Status (*call_)(const void*, Connection&);
};

// One queued write, on its caller's stack. Every field but `fn` is guarded by the store's
// queue_mu; `result` is written by the batch's leader before it sets `done`.
struct PendingWrite {
    explicit PendingWrite(WriteFn f) : fn(f) {}
    WriteFn fn;
    Status result;
    std::condition_variable cv;  // waits with queue_mu: done, or first in the queue with no leader
    bool done = false;
};

}  // namespace

// ---------------------------------------------------------------------------
// SqliteStore::Impl

struct SqliteStore::Impl {
    Impl(const SqliteStoreOptions& opts, std::unique_ptr<Connection> write_conn,
         std::vector<std::unique_ptr<Connection>> readers)
        : options(opts),
          writer(std::move(write_conn)),
          idle_readers(std::move(readers)),
          reader_count(idle_readers.size()) {}

    // Runs `fn` inside its own savepoint of the next batch and returns once that batch has
    // committed (or failed). The writes of all callers queued at once share one transaction and one
    // fsync (a group commit), run by the first of them on its own thread — the leader, as in leveldb's
    // DBImpl::Write — while the others wait; with no one else writing, a caller commits its write at
    // once, with no hand-off to another thread. A leader commits one batch, then passes the lead to
    // the first caller still queued, so no caller runs more than one batch of others' writes.
    template <typename F>
    Status Write(const F& fn) {
        PendingWrite write{WriteFn(fn)};
        std::unique_lock lock(queue_mu);
        if (queue_closed) return Closed();
        queue.push_back(&write);
        write.cv.wait(lock, [&] { return write.done || (!leading && queue.front() == &write); });
        if (write.done) return std::move(write.result);

        leading = true;
        const size_t n = std::min(queue.size(), static_cast<size_t>(options.max_batch_size));
        std::vector<PendingWrite*> batch(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
        queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
        lock.unlock();
        RunBatch(batch);
        lock.lock();
        // Under queue_mu: a follower cannot see `done` and return (ending its PendingWrite) before
        // we let go of the lock, and we do not touch the batch afterwards.
        for (PendingWrite* other : batch) {
            if (other == &write) continue;
            other->done = true;
            other->cv.notify_one();
        }
        leading = false;
        if (!queue.empty()) {
            queue.front()->cv.notify_one();
        } else {
            idle_cv.notify_all();
        }
        return std::move(write.result);
    }

    // Runs `fn` with a leased read connection; returns kUnavailable once closed.
    template <typename F>
    auto Read(const F& fn) -> decltype(fn(std::declval<Connection&>())) {
        std::unique_ptr<Connection> conn;
        {
            std::unique_lock lock(pool_mu);
            pool_cv.wait(lock, [&] { return !idle_readers.empty() || pool_closed; });
            if (pool_closed) return Closed();
            conn = std::move(idle_readers.back());
            idle_readers.pop_back();
        }
        // Hands the connection back even if fn throws, so Close() cannot wait forever.
        struct Return {
            Impl* impl;
            std::unique_ptr<Connection>* conn;
            ~Return() { impl->ReturnReader(std::move(*conn)); }
        } give_back{this, &conn};
        return fn(*conn);
    }

    void ReturnReader(std::unique_ptr<Connection> conn) {
        std::lock_guard lock(pool_mu);
        idle_readers.push_back(std::move(conn));
        if (pool_closed) {
            pool_drained_cv.notify_all();
        } else {
            pool_cv.notify_one();
        }
    }

    static Status RunOne(const PendingWrite& write, Connection& conn) {
        try {
            return write.fn(conn);
        } catch (const std::exception& e) {
            return Internal(std::string("write failed: ") + e.what());
        } catch (...) {
            return Internal("write failed: unknown exception");
        }
    }

    // Commits `batch` as one transaction, each write in its own savepoint. Sets every result.
    // REQUIRES: the caller leads (only the leader touches the write connection).
    void RunBatch(const std::vector<PendingWrite*>& batch) {
        Connection& conn = *writer;
        std::vector<PendingWrite*> succeeded;
        size_t next = 0;
        while (next < batch.size()) {
            Status begin = conn.Prepare(kBegin).Run("begin transaction");
            if (!begin.ok()) {
                for (; next < batch.size(); ++next) batch[next]->result = begin;
                return;
            }
            succeeded.clear();
            bool transaction_lost = false;
            for (; next < batch.size(); ++next) {
                PendingWrite& write = *batch[next];
                Status control = conn.Prepare(kSavepoint).Run("savepoint");
                if (control.ok()) {
                    write.result = RunOne(write, conn);
                    if (!write.result.ok() && !conn.InAutocommit()) {
                        control = conn.Prepare(kRollbackTo).Run("rollback to savepoint");
                    }
                    if (control.ok() && !conn.InAutocommit()) control = conn.Prepare(kRelease).Run("release savepoint");
                }
                if (!control.ok() || conn.InAutocommit()) {
                    // The transaction is gone (SQLite rolls back by itself on I/O errors, a full
                    // disk, out of memory) or unusable: nothing written in it so far is kept.
                    Status lost =
                        !control.ok()
                            ? control
                            : Internal("transaction rolled back: " +
                                       (write.result.ok() ? std::string("unknown reason") : write.result.message()));
                    if (!conn.InAutocommit()) (void)conn.Prepare(kRollback).Run("rollback");
                    for (PendingWrite* done : succeeded) done->result = lost;
                    if (write.result.ok()) write.result = lost;
                    ++next;
                    transaction_lost = true;
                    break;
                }
                if (write.result.ok()) succeeded.push_back(&write);
            }
            if (transaction_lost) continue;  // the rest of the batch gets a fresh transaction
            Status commit = conn.Prepare(kCommit).Run("commit");
            if (!commit.ok()) {
                if (!conn.InAutocommit()) (void)conn.Prepare(kRollback).Run("rollback");
                // Writes that failed on their own keep their own (more precise) error.
                for (PendingWrite* done : succeeded) done->result = commit;
            }
        }
    }

    const SqliteStoreOptions options;
    std::unique_ptr<Connection> writer;  // used only by the leader of the batch being committed

    std::mutex queue_mu;
    std::condition_variable idle_cv;  // Close() waits here for the last batch to finish
    std::deque<PendingWrite*> queue;  // guarded by queue_mu; callers waiting for their write
    bool leading = false;             // guarded by queue_mu; a caller is committing a batch
    bool queue_closed = false;        // guarded by queue_mu; no new writes

    std::mutex pool_mu;
    std::condition_variable pool_cv;                        // readers wait here for a free connection
    std::condition_variable pool_drained_cv;                // Close() waits here for leased connections
    std::vector<std::unique_ptr<Connection>> idle_readers;  // guarded by pool_mu
    const size_t reader_count;
    bool pool_closed = false;  // guarded by pool_mu

    std::mutex close_mu;  // serializes Close(); held for its whole duration
    bool closed = false;  // guarded by close_mu
};

// ---------------------------------------------------------------------------
// Open / Close

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteStoreOptions& options) {
    if (options.path.empty() || options.path == ":memory:") {
        return Internal("SqliteStoreOptions.path must name a database file");
    }
    if (options.max_batch_size < 1) return Internal("SqliteStoreOptions.max_batch_size must be at least 1");
    if (options.read_connections < 1) return Internal("SqliteStoreOptions.read_connections must be at least 1");
    if (options.busy_timeout.count() < 0) return Internal("SqliteStoreOptions.busy_timeout must not be negative");
    const Clock& clock = options.clock != nullptr ? *options.clock : SystemClock::Instance();

    auto writer = Connection::Open(options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.busy_timeout);
    if (!writer.ok()) return writer.status();
    Connection& conn = *writer.value();
    {
        // WAL is what lets readers run beside the writer; it is persistent in the file.
        Statement st = conn.Prepare("PRAGMA journal_mode = WAL");
        if (st.Step() != SQLITE_ROW) return st.ErrorStatus("set journal_mode");
        if (std::string mode = st.Text(0); mode != "wal") {
            return Internal("cannot use WAL for '" + options.path + "' (journal_mode is " + mode + ")");
        }
    }
    VG_RETURN_IF_ERROR(
        conn.Exec(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", "pragma"));
    VG_RETURN_IF_ERROR(conn.Exec("PRAGMA foreign_keys = ON", "pragma"));
    VG_RETURN_IF_ERROR(Migrate(conn, clock));

    std::vector<std::unique_ptr<Connection>> readers;
    for (int i = 0; i < options.read_connections; ++i) {
        auto reader = Connection::Open(options.path, SQLITE_OPEN_READWRITE, options.busy_timeout);
        if (!reader.ok()) return reader.status();
        // query_only: a read connection that tried to write would take the write lock
        // from under the write connection.
        VG_RETURN_IF_ERROR(reader.value()->Exec("PRAGMA foreign_keys = ON; PRAGMA query_only = ON", "pragma"));
        readers.push_back(std::move(reader).value());
    }

    auto impl = std::make_unique<Impl>(options, std::move(writer).value(), std::move(readers));
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteStore::~SqliteStore() { Close(); }

void SqliteStore::Close() {
    Impl& s = *impl_;
    std::lock_guard close_lock(s.close_mu);
    if (s.closed) return;
    {
        // Writes already queued are committed first (their callers lead in turn); new ones are refused.
        std::unique_lock lock(s.queue_mu);
        s.queue_closed = true;
        s.idle_cv.wait(lock, [&] { return !s.leading && s.queue.empty(); });
    }
    {
        std::unique_lock lock(s.pool_mu);
        s.pool_closed = true;
        s.pool_cv.notify_all();
        s.pool_drained_cv.wait(lock, [&] { return s.idle_readers.size() == s.reader_count; });
        s.idle_readers.clear();
    }
    // Closed last: the last connection to close checkpoints the WAL into the database file.
    s.writer.reset();
    s.closed = true;
}

Status SqliteStore::CheckHealth() {
    {
        std::lock_guard lock(impl_->queue_mu);
        if (impl_->queue_closed) return Closed();
    }
    return impl_->Read([](Connection& conn) -> Status {
        Statement st = conn.Prepare("SELECT 1");
        return st.Step() == SQLITE_ROW ? Status::Ok() : st.ErrorStatus("health check");
    });
}

// ---------------------------------------------------------------------------
// Users

Result<domain::User> SqliteStore::CreateUser(const NewUser& in) {
    domain::User user;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        const domain::UserProfile& p = in.profile;
        Statement st = conn.Prepare(kInsertUser);
        st.BindText(1, p.id);
        st.BindText(2, in.password_hash);
        st.BindText(3, p.name);
        st.BindInt64(4, p.age);
        st.BindText(5, p.address);
        st.BindText(6, p.detailed_address);
        st.BindText(7, p.phone_num);
        st.BindText(8, p.guard_name);
        st.BindText(9, p.guard_phone_num);
        st.BindTime(10, in.created_at);
        st.BindText(11, p.guard_email);
        st.BindText(12, p.time_zone);
        if (st.Step() != SQLITE_DONE) {
            // users.id is the only unique key a caller supplies (unique_num is assigned here).
            if (st.error_code() == SQLITE_CONSTRAINT_UNIQUE) {
                return Status::Error(ErrorCode::kConflict, "user id is already taken", {{"id", "is already taken"}});
            }
            return st.ErrorStatus("create user");
        }
        user.unique_num = conn.LastInsertRowid();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    user.profile = in.profile;
    user.password_hash = in.password_hash;
    user.created_at = in.created_at;
    return user;
}

Result<domain::User> SqliteStore::FindUserById(std::string_view id) {
    return impl_->Read([&](Connection& conn) {
        return FindOneUser(conn, kSelectUserById, [&](Statement& st) { st.BindText(1, id); });
    });
}

Result<domain::User> SqliteStore::FindUserByUniqueNum(int64_t unique_num) {
    return impl_->Read([&](Connection& conn) {
        return FindOneUser(conn, kSelectUserByUniqueNum, [&](Statement& st) { st.BindInt64(1, unique_num); });
    });
}

Result<bool> SqliteStore::UserIdExists(std::string_view id) {
    return impl_->Read([&](Connection& conn) -> Result<bool> {
        Statement st = conn.Prepare(kUserIdExists);
        st.BindText(1, id);
        switch (st.Step()) {
            case SQLITE_ROW:
                return true;
            case SQLITE_DONE:
                return false;
            default:
                return st.ErrorStatus("check user id");
        }
    });
}

// ---------------------------------------------------------------------------
// Sessions

Status SqliteStore::CreateSession(const domain::Session& s) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kInsertSession);
        st.BindText(1, s.token_hash);
        st.BindInt64(2, s.user_unique_num);
        st.BindText(3, s.csrf_token);
        st.BindTime(4, s.created_at);
        st.BindTime(5, s.last_seen_at);
        st.BindTime(6, s.expires_at);
        st.BindText(7, s.client_address);
        st.BindText(8, s.user_agent);
        if (st.Step() == SQLITE_DONE) return Status::Ok();
        switch (st.error_code()) {
            case SQLITE_CONSTRAINT_PRIMARYKEY:
            case SQLITE_CONSTRAINT_UNIQUE:
                return Status::Error(ErrorCode::kConflict, "session token hash already exists");
            case SQLITE_CONSTRAINT_FOREIGNKEY:
                return NotFound("user not found");
            default:
                return st.ErrorStatus("create session");
        }
    });
}

Result<domain::Session> SqliteStore::FindSession(std::string_view token_hash) {
    return impl_->Read([&](Connection& conn) -> Result<domain::Session> {
        Statement st = conn.Prepare(kSelectSession);
        st.BindText(1, token_hash);
        switch (st.Step()) {
            case SQLITE_ROW:
                return ReadSession(st);
            case SQLITE_DONE:
                return NotFound("session not found");
            default:
                return st.ErrorStatus("find session");
        }
    });
}

Status SqliteStore::TouchSession(std::string_view token_hash, TimePoint last_seen_at) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kTouchSession);
        st.BindText(1, token_hash);
        st.BindTime(2, last_seen_at);
        VG_RETURN_IF_ERROR(st.Run("touch session"));
        return conn.Changes() == 0 ? NotFound("session not found") : Status::Ok();
    });
}

Status SqliteStore::DeleteSession(std::string_view token_hash) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kDeleteSession);
        st.BindText(1, token_hash);
        VG_RETURN_IF_ERROR(st.Run("delete session"));
        return conn.Changes() == 0 ? NotFound("session not found") : Status::Ok();
    });
}

Result<int64_t> SqliteStore::DeleteExpiredSessions(TimePoint now, TimePoint idle_cutoff) {
    int64_t deleted = 0;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kDeleteExpiredSessions);
        st.BindTime(1, now);
        st.BindTime(2, idle_cutoff);
        VG_RETURN_IF_ERROR(st.Run("delete expired sessions"));
        deleted = conn.Changes();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return deleted;
}

// ---------------------------------------------------------------------------
// Devices

Result<domain::Device> SqliteStore::CreateDevice(const NewDevice& in) {
    domain::Device device;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kInsertDevice);
        st.BindInt64(1, in.user_unique_num);
        st.BindText(2, in.name);
        st.BindText(3, in.token_hash);
        st.BindTime(4, in.created_at);
        if (st.Step() != SQLITE_DONE) {
            switch (st.error_code()) {
                case SQLITE_CONSTRAINT_UNIQUE:
                    return Status::Error(ErrorCode::kConflict, "device token hash already exists");
                case SQLITE_CONSTRAINT_FOREIGNKEY:
                    return NotFound("user not found");
                default:
                    return st.ErrorStatus("create device");
            }
        }
        device.device_id = conn.LastInsertRowid();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    device.user_unique_num = in.user_unique_num;
    device.name = in.name;
    device.token_hash = in.token_hash;
    device.created_at = in.created_at;
    return device;
}

Result<domain::Device> SqliteStore::FindDeviceByTokenHash(std::string_view token_hash) {
    return impl_->Read([&](Connection& conn) -> Result<domain::Device> {
        Statement st = conn.Prepare(kSelectDeviceByTokenHash);
        st.BindText(1, token_hash);
        switch (st.Step()) {
            case SQLITE_ROW:
                return ReadDevice(st);
            case SQLITE_DONE:
                return NotFound("device not found");
            default:
                return st.ErrorStatus("find device");
        }
    });
}

Result<std::vector<domain::Device>> SqliteStore::ListDevices(int64_t user_unique_num) {
    return impl_->Read([&](Connection& conn) -> Result<std::vector<domain::Device>> {
        Statement st = conn.Prepare(kSelectDevicesByUser);
        st.BindInt64(1, user_unique_num);
        std::vector<domain::Device> devices;
        int rc;
        while ((rc = st.Step()) == SQLITE_ROW) devices.push_back(ReadDevice(st));
        if (rc != SQLITE_DONE) return st.ErrorStatus("list devices");
        return devices;
    });
}

Status SqliteStore::RevokeDevice(int64_t user_unique_num, int64_t device_id, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kRevokeDevice);
        st.BindInt64(1, user_unique_num);
        st.BindInt64(2, device_id);
        st.BindTime(3, at);
        VG_RETURN_IF_ERROR(st.Run("revoke device"));
        // One answer for "no such device", "not yours" and "already revoked": a caller
        // must not learn which devices other users have.
        return conn.Changes() == 0 ? NotFound("device not found") : Status::Ok();
    });
}

Status SqliteStore::TouchDevice(int64_t device_id, TimePoint last_seen_at) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kTouchDevice);
        st.BindInt64(1, device_id);
        st.BindTime(2, last_seen_at);
        VG_RETURN_IF_ERROR(st.Run("touch device"));
        return conn.Changes() == 0 ? NotFound("device not found") : Status::Ok();
    });
}

// ---------------------------------------------------------------------------
// The seed's UserStatus / UserPosture

namespace {

// One reading on the writer's connection; false when (device, seq) was stored before (a retry).
Result<bool> WriteReading(Connection& conn, int64_t user_unique_num, std::optional<int64_t> device_id,
                          const IncomingReading& in, TimePoint received_at) {
    Statement st = conn.Prepare(kInsertReading);
    st.BindInt64(1, user_unique_num);
    st.BindOptional(2, device_id);
    st.BindOptional(3, device_id ? in.device_seq : std::nullopt);
    st.BindTime(4, in.reading.measured_at);
    st.BindTime(5, received_at);
    for (int m = 0; m < domain::kMetricCount; ++m) st.BindOptional(6 + m, in.reading.values[static_cast<size_t>(m)]);
    VG_RETURN_IF_ERROR(st.Run("store reading"));
    return conn.Changes() > 0;
}

// One status row and its user's danger_degree, on the writer's connection. kNotFound (nothing written)
// when the user does not exist.
Status WriteStatusRow(Connection& conn, const StatusRow& row) {
    {
        Statement st = conn.Prepare(kSetDangerDegree);
        st.BindInt64(1, row.user_unique_num);
        st.BindInt64(2, row.status);
        VG_RETURN_IF_ERROR(st.Run("update user"));
        if (conn.Changes() == 0) {
            // Unchanged, or no such user.
            Statement exists = conn.Prepare(kUserExists);
            exists.BindInt64(1, row.user_unique_num);
            const int rc = exists.Step();
            if (rc == SQLITE_DONE) return NotFound("user not found");
            if (rc != SQLITE_ROW) return exists.ErrorStatus("find user");
        }
    }
    Statement st = conn.Prepare(kInsertStatus);
    st.BindInt64(1, row.user_unique_num);
    st.BindInt64(2, row.status);
    st.BindTime(3, row.updated_at);
    st.BindText(4, row.causes);
    st.BindText(5, row.explanation);
    st.BindOptional(6, row.reading_at);
    return st.Run("append status row");
}

// One posture row and its user's user_posture, on the writer's connection. kNotFound (nothing written)
// when the user does not exist; a posture outside 0-7 for an existing user fails the schema's CHECK.
Status WritePostureRow(Connection& conn, const PostureRow& row) {
    return AppendHistory(conn, kSetUserPosture, kInsertPosture, row.user_unique_num, row.posture, row.updated_at);
}

constexpr std::string_view kUpsertFallSuspicion =
    "INSERT INTO fall_suspicions (user_unique_num, impact_at, still_run, last_end, last_received, raised_at, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (user_unique_num) DO UPDATE SET "
    "impact_at = excluded.impact_at, still_run = excluded.still_run, last_end = excluded.last_end, "
    "last_received = excluded.last_received, raised_at = excluded.raised_at, updated_at = excluded.updated_at";
constexpr std::string_view kDeleteFallSuspicion = "DELETE FROM fall_suspicions WHERE user_unique_num = ?1";

// The wearer's suspicion, replacing the one stored before, on the writer's connection. kNotFound when
// the wearer does not exist (the foreign key refuses it).
Status WriteFallSuspicion(Connection& conn, const FallSuspicion& f) {
    Statement st = conn.Prepare(kUpsertFallSuspicion);
    st.BindInt64(1, f.wearer);
    st.BindTime(2, f.impact_at);
    st.BindInt64(3, f.still_run);
    st.BindTime(4, f.last_end);
    st.BindTime(5, f.last_received);
    st.BindTime(6, f.raised_at);
    st.BindTime(7, f.updated_at);
    if (Status s = st.Run("save fall suspicion"); !s.ok()) {
        if (st.error_code() == SQLITE_CONSTRAINT_FOREIGNKEY) return NotFound("user not found");
        return s;
    }
    return Status::Ok();
}

// Removes the wearer's suspicion, if any, on the writer's connection.
Status WriteClearFallSuspicion(Connection& conn, int64_t wearer) {
    Statement st = conn.Prepare(kDeleteFallSuspicion);
    st.BindInt64(1, wearer);
    return st.Run("clear fall suspicion");
}

}  // namespace

Status SqliteStore::AppendStatus(const StatusRow& row) {
    return impl_->Write([&](Connection& conn) -> Status { return WriteStatusRow(conn, row); });
}

Result<std::vector<Status>> SqliteStore::AppendStatuses(std::span<const StatusRow> rows) {
    std::vector<Status> results(rows.size());
    Status status = impl_->Write([&](Connection& conn) -> Status {
        for (size_t i = 0; i < rows.size(); ++i) {
            Status one = WriteStatusRow(conn, rows[i]);
            // A missing user changed nothing (its UPDATE matched no row): skip that row alone.
            if (!one.ok() && one.code() != ErrorCode::kNotFound) return one;
            results[i] = std::move(one);
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return results;
}

namespace {
Result<domain::Incident> WriteIncident(Connection& conn, const domain::Incident& incident,
                                       std::span<const domain::IncidentEvent> events,
                                       std::span<const NewOutboxMessage> outbox);
}  // namespace

Result<std::vector<Status>> SqliteStore::RecordVerdicts(std::span<const VerdictRecord> records) {
    std::vector<Status> results(records.size());
    Status status = impl_->Write([&](Connection& conn) -> Status {
        for (size_t i = 0; i < records.size(); ++i) {
            const VerdictRecord& r = records[i];
            if (r.save_suspicion && r.clear_suspicion) {
                return Internal("a verdict record both saves and clears its fall suspicion");
            }
            // Without a reading first, the row's UPDATE finds a missing user; otherwise look it up, so
            // that nothing of a missing user's record is written.
            if (r.reading || !r.row) {
                Statement st = conn.Prepare(kUserExists);
                st.BindInt64(1, r.user_unique_num);
                const int rc = st.Step();
                if (rc == SQLITE_DONE) {
                    results[i] = NotFound("user not found");
                    continue;
                }
                if (rc != SQLITE_ROW) return st.ErrorStatus("find user");
            }
            if (r.reading) {
                auto stored = WriteReading(conn, r.user_unique_num, r.device_id, *r.reading, r.received_at);
                if (!stored.ok()) return stored.status();
            }
            if (r.row) {
                Status one = WriteStatusRow(conn, *r.row);
                // A missing user changed nothing (its UPDATE matched no row): skip that record alone.
                if (one.code() == ErrorCode::kNotFound && !r.reading) {
                    results[i] = std::move(one);
                    continue;
                }
                VG_RETURN_IF_ERROR(one);
            }
            // The user exists (checked above, in this transaction): any error from here on is the call's.
            for (const PostureRow& posture : r.postures) VG_RETURN_IF_ERROR(WritePostureRow(conn, posture));
            if (r.save_suspicion) VG_RETURN_IF_ERROR(WriteFallSuspicion(conn, *r.save_suspicion));
            if (r.clear_suspicion) VG_RETURN_IF_ERROR(WriteClearFallSuspicion(conn, r.user_unique_num));
            if (r.incident) {
                // Refused before anything of it is written: the record's other writes stand.
                auto saved = WriteIncident(conn, r.incident->incident, r.incident->events, r.incident->outbox);
                if (!saved.ok()) {
                    if (saved.status().code() != ErrorCode::kConflict) return saved.status();
                    results[i] = saved.status();
                }
            }
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return results;
}

Status SqliteStore::SetRuleProfile(int64_t user_unique_num, std::string_view profile) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kSetRuleProfile);
        st.BindInt64(1, user_unique_num);
        st.BindText(2, profile);
        VG_RETURN_IF_ERROR(st.Run("set rule profile"));
        return conn.Changes() == 0 ? NotFound("user not found") : Status::Ok();
    });
}

Status SqliteStore::SetGuardEmail(int64_t user_unique_num, std::string_view guard_email,
                                  std::string_view unverify_key) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kSetGuardEmail);
        st.BindInt64(1, user_unique_num);
        st.BindText(2, guard_email);
        VG_RETURN_IF_ERROR(st.Run("set guard e-mail"));
        if (conn.Changes() == 0) return NotFound("user not found");
        if (!unverify_key.empty()) {
            Statement del = conn.Prepare(kDeletePhoneCode);
            del.BindInt64(1, user_unique_num);
            del.BindText(2, unverify_key);
            VG_RETURN_IF_ERROR(del.Run("unverify the old guard e-mail"));
        }
        return Status::Ok();
    });
}

// ---------------------------------------------------------------------------
// Self-service and the operator (issues 15, 16)

namespace {

// Runs a DELETE ... RETURNING token_hash and collects the hashes.
Result<std::vector<std::string>> DeleteSessionsReturning(Connection& conn, int64_t user, std::string_view keep) {
    Statement st = conn.Prepare(kDeleteSessionsExcept);
    st.BindInt64(1, user);
    st.BindText(2, keep);
    std::vector<std::string> deleted;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) deleted.push_back(st.Text(0));
    if (rc != SQLITE_DONE) return st.ErrorStatus("delete sessions");
    return deleted;
}

}  // namespace

Result<domain::User> SqliteStore::UpdateUserProfile(const ProfileUpdate& u) {
    Status status = impl_->Write([&](Connection& conn) -> Status {
        const domain::UserProfile& p = u.profile;
        Statement st = conn.Prepare(kUpdateProfile);
        st.BindInt64(1, u.user_unique_num);
        st.BindText(2, p.name);
        st.BindInt64(3, p.age);
        st.BindText(4, p.address);
        st.BindText(5, p.detailed_address);
        st.BindText(6, p.phone_num);
        st.BindText(7, p.guard_name);
        st.BindText(8, p.guard_phone_num);
        st.BindOptional(9, u.address_confirmed_at);
        st.BindText(10, u.profile.time_zone);
        VG_RETURN_IF_ERROR(st.Run("update profile"));
        if (conn.Changes() == 0) return NotFound("user not found");
        for (const std::string& phone : u.unverify_phones) {
            Statement forget = conn.Prepare(kForgetPhoneCode);
            forget.BindInt64(1, u.user_unique_num);
            forget.BindText(2, phone);
            VG_RETURN_IF_ERROR(forget.Run("forget phone verification"));
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return FindUserByUniqueNum(u.user_unique_num);
}

Status SqliteStore::SetAddressConfirmed(int64_t user_unique_num, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kSetAddressConfirmed);
        st.BindInt64(1, user_unique_num);
        st.BindTime(2, at);
        VG_RETURN_IF_ERROR(st.Run("confirm address"));
        return conn.Changes() == 0 ? NotFound("user not found") : Status::Ok();
    });
}

Result<std::vector<domain::Session>> SqliteStore::ListSessions(int64_t user_unique_num, int limit) {
    return impl_->Read([&](Connection& conn) -> Result<std::vector<domain::Session>> {
        Statement st = conn.Prepare(kSelectSessionsByUser);
        st.BindInt64(1, user_unique_num);
        st.BindInt64(2, std::clamp(limit, 1, kMaxSessionRows));
        std::vector<domain::Session> sessions;
        int rc;
        while ((rc = st.Step()) == SQLITE_ROW) sessions.push_back(ReadSession(st));
        if (rc != SQLITE_DONE) return st.ErrorStatus("list sessions");
        return sessions;
    });
}

Result<std::vector<std::string>> SqliteStore::DeleteSessionsExcept(int64_t user_unique_num,
                                                                   std::string_view keep_token_hash) {
    std::vector<std::string> deleted;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        auto hashes = DeleteSessionsReturning(conn, user_unique_num, keep_token_hash);
        if (!hashes.ok()) return hashes.status();
        deleted = std::move(hashes).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return deleted;
}

Result<std::vector<std::string>> SqliteStore::SetPasswordHash(int64_t user_unique_num, std::string_view password_hash,
                                                              std::string_view keep_token_hash) {
    std::vector<std::string> deleted;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kSetPasswordHash);
        st.BindInt64(1, user_unique_num);
        st.BindText(2, password_hash);
        VG_RETURN_IF_ERROR(st.Run("set password"));
        if (conn.Changes() == 0) return NotFound("user not found");
        auto hashes = DeleteSessionsReturning(conn, user_unique_num, keep_token_hash);
        if (!hashes.ok()) return hashes.status();
        deleted = std::move(hashes).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return deleted;
}

Result<std::vector<std::string>> SqliteStore::SetUserLock(int64_t user_unique_num, std::optional<TimePoint> at,
                                                          std::string_view reason) {
    std::vector<std::string> deleted;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kSetUserLock);
        st.BindInt64(1, user_unique_num);
        st.BindOptional(2, at);
        st.BindText(3, at ? reason : std::string_view());
        VG_RETURN_IF_ERROR(st.Run("set user lock"));
        if (conn.Changes() == 0) return NotFound("user not found");
        if (!at) return Status::Ok();
        auto hashes = DeleteSessionsReturning(conn, user_unique_num, "");
        if (!hashes.ok()) return hashes.status();
        deleted = std::move(hashes).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return deleted;
}

Result<std::vector<UserSummary>> SqliteStore::ListUserSummaries(int64_t after, int limit) {
    return impl_->Read([&](Connection& conn) -> Result<std::vector<UserSummary>> {
        Statement st = conn.Prepare(kSelectUserSummaries);
        st.BindInt64(1, after);
        st.BindInt64(2, std::clamp(limit, 1, kMaxSessionRows));
        std::vector<UserSummary> out;
        int rc;
        while ((rc = st.Step()) == SQLITE_ROW) {
            UserSummary s;
            s.user = ReadUser(st);
            s.sessions = st.Int64(19);
            s.active_devices = st.Int64(20);
            s.last_login_at = st.OptionalTime(21);
            s.last_seen_at = st.OptionalTime(22);
            if (auto device_seen = st.OptionalTime(23);
                device_seen && (!s.last_seen_at || *device_seen > *s.last_seen_at)) {
                s.last_seen_at = device_seen;
            }
            out.push_back(std::move(s));
        }
        if (rc != SQLITE_DONE) return st.ErrorStatus("list users");
        return out;
    });
}

// ---------------------------------------------------------------------------
// Vitals

Result<std::vector<bool>> SqliteStore::AppendReadings(int64_t user_unique_num, std::optional<int64_t> device_id,
                                                      std::span<const IncomingReading> readings,
                                                      TimePoint received_at) {
    std::vector<bool> stored(readings.size(), false);
    Status status = impl_->Write([&](Connection& conn) -> Status {
        {
            Statement st = conn.Prepare(kUserExists);
            st.BindInt64(1, user_unique_num);
            const int rc = st.Step();
            if (rc == SQLITE_DONE) return NotFound("user not found");
            if (rc != SQLITE_ROW) return st.ErrorStatus("find user");
        }
        for (size_t i = 0; i < readings.size(); ++i) {
            auto one = WriteReading(conn, user_unique_num, device_id, readings[i], received_at);
            if (!one.ok()) return one.status();
            stored[i] = *one;
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return stored;
}

Result<std::vector<ReadingBucket>> SqliteStore::SummarizeReadings(int64_t user_unique_num, TimePoint from, TimePoint to,
                                                                  Milliseconds bucket) {
    if (Status s = CheckSummaryRequest(from, to, bucket); !s.ok()) return s;
    return impl_->Read([&](Connection& conn) -> Result<std::vector<ReadingBucket>> {
        Statement st = conn.Prepare(kSummarizeReadings);
        st.BindInt64(1, user_unique_num);
        st.BindTime(2, from);
        st.BindTime(3, to);
        st.BindInt64(4, bucket.count());
        std::vector<ReadingBucket> rows;
        int rc;
        while ((rc = st.Step()) == SQLITE_ROW) {
            ReadingBucket b;
            b.start = from + st.Int64(0) * bucket;
            b.readings = st.Int64(1);
            for (int m = 0; m < domain::kMetricCount; ++m) {
                MetricSummary& summary = b.metrics[static_cast<size_t>(m)];
                summary.count = st.Int64(2 + 4 * m);
                if (summary.count == 0) continue;
                summary.min = *st.OptionalDouble(3 + 4 * m);
                summary.max = *st.OptionalDouble(4 + 4 * m);
                summary.mean = *st.OptionalDouble(5 + 4 * m);
            }
            rows.push_back(b);
        }
        if (rc != SQLITE_DONE) return st.ErrorStatus("summarize readings");
        return rows;
    });
}

Status SqliteStore::ForEachWearerReadingsSince(
    TimePoint since, const std::function<void(int64_t wearer, std::vector<domain::VitalsReading>&& readings)>& fn) {
    Result<std::vector<int64_t>> users = impl_->Read([&](Connection& conn) -> Result<std::vector<int64_t>> {
        Statement st = conn.Prepare(kSelectUserNums);
        std::vector<int64_t> nums;
        int rc;
        while ((rc = st.Step()) == SQLITE_ROW) nums.push_back(st.Int64(0));
        if (rc != SQLITE_DONE) return st.ErrorStatus("list users");
        return nums;
    });
    if (!users.ok()) return users.status();
    // One short read per wearer (an index range scan), so that writers are never held up for long.
    for (int64_t user : users.value()) {
        Result<std::vector<domain::VitalsReading>> readings =
            impl_->Read([&](Connection& conn) -> Result<std::vector<domain::VitalsReading>> {
                Statement st = conn.Prepare(kSelectReadingsSince);
                st.BindInt64(1, user);
                st.BindTime(2, since);
                std::vector<domain::VitalsReading> rows;
                int rc;
                while ((rc = st.Step()) == SQLITE_ROW) {
                    domain::VitalsReading r;
                    r.measured_at = st.Time(0);
                    for (int m = 0; m < domain::kMetricCount; ++m) {
                        r.values[static_cast<size_t>(m)] = st.OptionalDouble(1 + m);
                    }
                    rows.push_back(std::move(r));
                }
                if (rc != SQLITE_DONE) return st.ErrorStatus("read vitals for replay");
                return rows;
            });
        if (!readings.ok()) return readings.status();
        if (!readings.value().empty()) fn(user, std::move(readings).value());
    }
    return Status::Ok();
}

Result<std::vector<StoredReading>> SqliteStore::RecentReadings(int64_t user_unique_num, int limit) {
    return impl_->Read([&](Connection& conn) -> Result<std::vector<StoredReading>> {
        Statement st = conn.Prepare(kSelectRecentReadings);
        st.BindInt64(1, user_unique_num);
        st.BindInt64(2, std::clamp(limit, 1, kMaxRecentRows));
        std::vector<StoredReading> rows;
        int rc;
        while ((rc = st.Step()) == SQLITE_ROW) {
            StoredReading r;
            r.id = st.Int64(0);
            r.device_id = st.OptionalInt64(1);
            r.device_seq = st.OptionalInt64(2);
            r.reading.measured_at = st.Time(3);
            r.received_at = st.Time(4);
            for (int m = 0; m < domain::kMetricCount; ++m) {
                r.reading.values[static_cast<size_t>(m)] = st.OptionalDouble(5 + m);
            }
            rows.push_back(std::move(r));
        }
        if (rc != SQLITE_DONE) return st.ErrorStatus("read recent readings");
        return rows;
    });
}

Status SqliteStore::AppendPosture(const PostureRow& row) {
    return impl_->Write([&](Connection& conn) { return WritePostureRow(conn, row); });
}

Result<std::vector<StatusRow>> SqliteStore::RecentStatuses(int64_t user_unique_num, int limit) {
    return impl_->Read(
        [&](Connection& conn) { return ReadRecent<StatusRow>(conn, kSelectRecentStatuses, user_unique_num, limit); });
}

Result<std::vector<PostureRow>> SqliteStore::RecentPostures(int64_t user_unique_num, int limit) {
    return impl_->Read(
        [&](Connection& conn) { return ReadRecent<PostureRow>(conn, kSelectRecentPostures, user_unique_num, limit); });
}

// ---------------------------------------------------------------------------
// Incidents and the outbox

namespace {

constexpr std::string_view kInsertIncident =
    "INSERT INTO incidents (user_unique_num, kind, phase, level, max_level, causes, rules, explanation, opened_at, "
    "updated_at, escalate_at, deadline, guardians_notified_at, next_reraise_at, reraise_count, dispatched_at, "
    "acknowledged_at, acknowledged_by, wearer_ok_at, wearer_ok_until, snoozed_until, closed_at, close_reason, "
    "next_due, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
    "?20, ?21, ?22, ?23, ?24, 1)";
constexpr std::string_view kUpdateIncident =
    "UPDATE incidents SET user_unique_num = ?1, kind = ?2, phase = ?3, level = ?4, max_level = ?5, causes = ?6, "
    "rules = ?7, explanation = ?8, opened_at = ?9, updated_at = ?10, escalate_at = ?11, deadline = ?12, "
    "guardians_notified_at = ?13, next_reraise_at = ?14, reraise_count = ?15, dispatched_at = ?16, "
    "acknowledged_at = ?17, acknowledged_by = ?18, wearer_ok_at = ?19, wearer_ok_until = ?20, snoozed_until = ?21, "
    "closed_at = ?22, close_reason = ?23, next_due = ?24, version = version + 1 WHERE id = ?25 AND version = ?26";
constexpr std::string_view kSelectIncidentById =
    "SELECT id, user_unique_num, kind, phase, level, max_level, causes, rules, explanation, opened_at, updated_at, "
    "escalate_at, deadline, guardians_notified_at, next_reraise_at, reraise_count, dispatched_at, acknowledged_at, "
    "acknowledged_by, wearer_ok_at, wearer_ok_until, snoozed_until, closed_at, close_reason, version FROM incidents "
    "WHERE id = ?1";
constexpr std::string_view kSelectOpenIncident =
    "SELECT id, user_unique_num, kind, phase, level, max_level, causes, rules, explanation, opened_at, updated_at, "
    "escalate_at, deadline, guardians_notified_at, next_reraise_at, reraise_count, dispatched_at, acknowledged_at, "
    "acknowledged_by, wearer_ok_at, wearer_ok_until, snoozed_until, closed_at, close_reason, version FROM incidents "
    "WHERE user_unique_num = ?1 AND phase <> 'closed'";
constexpr std::string_view kSelectIncidentsByUser =
    "SELECT id, user_unique_num, kind, phase, level, max_level, causes, rules, explanation, opened_at, updated_at, "
    "escalate_at, deadline, guardians_notified_at, next_reraise_at, reraise_count, dispatched_at, acknowledged_at, "
    "acknowledged_by, wearer_ok_at, wearer_ok_until, snoozed_until, closed_at, close_reason, version FROM incidents "
    "WHERE user_unique_num = ?1 ORDER BY opened_at DESC, id DESC LIMIT ?2";
constexpr std::string_view kSelectDueIncidents =
    "SELECT id, user_unique_num, kind, phase, level, max_level, causes, rules, explanation, opened_at, updated_at, "
    "escalate_at, deadline, guardians_notified_at, next_reraise_at, reraise_count, dispatched_at, acknowledged_at, "
    "acknowledged_by, wearer_ok_at, wearer_ok_until, snoozed_until, closed_at, close_reason, version FROM incidents "
    "WHERE next_due IS NOT NULL AND next_due <= ?1 ORDER BY next_due, id LIMIT ?2";
constexpr std::string_view kSelectNextIncidentDue = "SELECT MIN(next_due) FROM incidents WHERE next_due IS NOT NULL";
constexpr std::string_view kInsertIncidentEvent =
    "INSERT INTO incident_events (incident_id, at, type, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr std::string_view kSelectIncidentEvents =
    "SELECT id, incident_id, at, type, actor, detail FROM incident_events WHERE incident_id = ?1 ORDER BY id";
constexpr std::string_view kInsertOutbox =
    "INSERT INTO outbox (incident_id, channel, recipient, subject, body, payload_json, idempotency_key, created_at, "
    "next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (idempotency_key) DO NOTHING";
constexpr std::string_view kSelectDueOutbox =
    "SELECT id FROM outbox WHERE (state = 'pending' AND next_attempt_at <= ?1) OR (state = 'delivering' AND "
    "leased_until < ?1) ORDER BY next_attempt_at, id LIMIT ?2";
constexpr std::string_view kLeaseOutbox =
    "UPDATE outbox SET state = 'delivering', leased_until = ?2, attempts = attempts + 1 WHERE id = ?1";
constexpr std::string_view kSelectOutboxById =
    "SELECT id, incident_id, channel, recipient, subject, body, payload_json, idempotency_key, attempts, created_at, "
    "next_attempt_at, state, leased_until, last_attempt_at, last_error, delivered_at, delivered_detail FROM outbox "
    "WHERE id = ?1";
constexpr std::string_view kSelectOutboxByIncident =
    "SELECT id, incident_id, channel, recipient, subject, body, payload_json, idempotency_key, attempts, created_at, "
    "next_attempt_at, state, leased_until, last_attempt_at, last_error, delivered_at, delivered_detail FROM outbox "
    "WHERE incident_id = ?1 ORDER BY id";
constexpr std::string_view kMarkOutboxDelivered =
    "UPDATE outbox SET state = 'delivered', leased_until = NULL, last_attempt_at = ?2, delivered_at = ?2, "
    "delivered_detail = ?3 WHERE id = ?1 AND state <> 'delivered'";
constexpr std::string_view kMarkOutboxRetry =
    "UPDATE outbox SET state = 'pending', leased_until = NULL, last_attempt_at = ?2, last_error = ?3, "
    "next_attempt_at = ?4 WHERE id = ?1 AND state = 'delivering' AND attempts = ?5";
constexpr std::string_view kMarkOutboxFailed =
    "UPDATE outbox SET state = 'failed', leased_until = NULL, last_attempt_at = ?2, last_error = ?3 "
    "WHERE id = ?1 AND state = 'delivering' AND attempts = ?4";
constexpr std::string_view kReleaseOutbox =
    "UPDATE outbox SET state = 'pending', leased_until = NULL, attempts = attempts - 1 "
    "WHERE id = ?1 AND state = 'delivering' AND attempts = ?2";
// Monitoring, every few seconds: the open incidents scan the table (closed ones have no index of their
// own); the outbox reads only its pending and delivering rows through their partial indexes.
constexpr std::string_view kSelectOpenIncidentPhases =
    "SELECT phase, COUNT(*), MIN(deadline) FROM incidents WHERE phase <> 'closed' GROUP BY phase";
constexpr std::string_view kSelectOutboxBacklog =
    "SELECT channel, COUNT(*), MIN(created_at) FROM (SELECT channel, created_at FROM outbox WHERE state = 'pending' "
    "UNION ALL SELECT channel, created_at FROM outbox WHERE state = 'delivering') GROUP BY channel ORDER BY channel";
constexpr std::string_view kSelectOutboxWake =
    "SELECT MIN(t) FROM (SELECT MIN(next_attempt_at) AS t FROM outbox WHERE state = 'pending' "
    "UNION ALL SELECT MIN(leased_until) FROM outbox WHERE state = 'delivering')";

std::string JoinCauses(const std::vector<domain::Metric>& causes) {
    std::string out;
    for (domain::Metric m : causes) {
        if (!out.empty()) out += ',';
        out += domain::MetricName(m);
    }
    return out;
}
std::string JoinStrings(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) out += ',';
        out += s;
    }
    return out;
}
std::vector<std::string> SplitCsv(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        if (comma > start) out.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

domain::Incident ReadIncident(const Statement& st) {
    domain::Incident i;
    i.id = st.Int64(0);
    i.wearer = st.Int64(1);
    i.kind = domain::IncidentKindFromName(st.Text(2)).value_or(domain::IncidentKind::kVitals);
    i.phase = domain::IncidentPhaseFromName(st.Text(3)).value_or(domain::IncidentPhase::kGuidance);
    i.level = static_cast<domain::Level>(std::clamp(st.Int(4), 0, 2));
    i.max_level = static_cast<domain::Level>(std::clamp(st.Int(5), 0, 2));
    for (const std::string& name : SplitCsv(st.Text(6))) {
        if (auto m = domain::MetricFromName(name)) i.causes.push_back(*m);
    }
    i.rules = SplitCsv(st.Text(7));
    i.explanation = st.Text(8);
    i.opened_at = st.Time(9);
    i.updated_at = st.Time(10);
    i.escalate_at = st.OptionalTime(11);
    i.deadline = st.OptionalTime(12);
    i.guardians_notified_at = st.OptionalTime(13);
    i.next_reraise_at = st.OptionalTime(14);
    i.reraise_count = st.Int(15);
    i.dispatched_at = st.OptionalTime(16);
    i.acknowledged_at = st.OptionalTime(17);
    i.acknowledged_by = st.Text(18);
    i.wearer_ok_at = st.OptionalTime(19);
    i.wearer_ok_until = st.OptionalTime(20);
    i.snoozed_until = st.OptionalTime(21);
    i.closed_at = st.OptionalTime(22);
    i.close_reason = domain::CloseReasonFromName(st.Text(23)).value_or(domain::CloseReason::kNone);
    i.version = st.Int64(24);
    return i;
}

// Binds ?1..?24 of kInsertIncident / kUpdateIncident. The strings must outlive the statement.
struct IncidentTexts {
    std::string causes, rules;
};
void BindIncident(Statement& st, const domain::Incident& i, const IncidentTexts& texts) {
    st.BindInt64(1, i.wearer);
    st.BindText(2, domain::IncidentKindName(i.kind));
    st.BindText(3, domain::IncidentPhaseName(i.phase));
    st.BindInt64(4, static_cast<int>(i.level));
    st.BindInt64(5, static_cast<int>(i.max_level));
    st.BindText(6, texts.causes);
    st.BindText(7, texts.rules);
    st.BindText(8, i.explanation);
    st.BindTime(9, i.opened_at);
    st.BindTime(10, i.updated_at);
    st.BindOptional(11, i.escalate_at);
    st.BindOptional(12, i.deadline);
    st.BindOptional(13, i.guardians_notified_at);
    st.BindOptional(14, i.next_reraise_at);
    st.BindInt64(15, i.reraise_count);
    st.BindOptional(16, i.dispatched_at);
    st.BindOptional(17, i.acknowledged_at);
    st.BindText(18, i.acknowledged_by);
    st.BindOptional(19, i.wearer_ok_at);
    st.BindOptional(20, i.wearer_ok_until);
    st.BindOptional(21, i.snoozed_until);
    st.BindOptional(22, i.closed_at);
    st.BindText(23, domain::CloseReasonName(i.close_reason));
    st.BindOptional(24, i.NextDue());
}

OutboxMessage ReadOutbox(const Statement& st) {
    OutboxMessage m;
    m.id = st.Int64(0);
    m.incident_id = st.OptionalInt64(1);
    m.channel = st.Text(2);
    m.recipient = st.Text(3);
    m.subject = st.Text(4);
    m.body = st.Text(5);
    m.payload_json = st.Text(6);
    m.idempotency_key = st.Text(7);
    m.attempts = st.Int(8);
    m.created_at = st.Time(9);
    m.next_attempt_at = st.Time(10);
    m.state = st.Text(11);
    m.leased_until = st.OptionalTime(12);
    m.last_attempt_at = st.OptionalTime(13);
    m.last_error = st.Text(14);
    m.delivered_at = st.OptionalTime(15);
    m.delivered_detail = st.Text(16);
    return m;
}

template <typename Row, typename ReadFn>
Result<std::vector<Row>> ReadRows(Statement& st, ReadFn read, std::string_view what) {
    std::vector<Row> rows;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) rows.push_back(read(st));
    if (rc != SQLITE_DONE) return st.ErrorStatus(what);
    return rows;
}

}  // namespace

namespace {

// SaveIncident's write on the writer's connection. kConflict and kNotFound are found before anything is
// written (the insert or update is refused whole), so a caller may go on in the same transaction.
Result<domain::Incident> WriteIncident(Connection& conn, const domain::Incident& incident,
                                       std::span<const domain::IncidentEvent> events,
                                       std::span<const NewOutboxMessage> outbox) {
    domain::Incident saved = incident;
    const IncidentTexts texts{JoinCauses(incident.causes), JoinStrings(incident.rules)};
    if (incident.id == 0) {
        Statement st = conn.Prepare(kInsertIncident);
        BindIncident(st, incident, texts);
        if (Status s = st.Run("insert incident"); !s.ok()) {
            if (st.error_code() == SQLITE_CONSTRAINT_UNIQUE) {
                return Status::Error(ErrorCode::kConflict, "The wearer already has an open incident.");
            }
            if (st.error_code() == SQLITE_CONSTRAINT_FOREIGNKEY) return NotFound("user not found");
            return s;
        }
        saved.id = conn.LastInsertRowid();
        saved.version = 1;
    } else {
        Statement st = conn.Prepare(kUpdateIncident);
        BindIncident(st, incident, texts);
        st.BindInt64(25, incident.id);
        st.BindInt64(26, incident.version);
        if (Status s = st.Run("update incident"); !s.ok()) {
            if (st.error_code() == SQLITE_CONSTRAINT_UNIQUE) {
                return Status::Error(ErrorCode::kConflict, "The wearer already has an open incident.");
            }
            return s;
        }
        if (conn.Changes() == 0) {
            Statement exists = conn.Prepare(kSelectIncidentById);
            exists.BindInt64(1, incident.id);
            const int rc = exists.Step();
            if (rc == SQLITE_DONE) return NotFound("incident not found");
            if (rc != SQLITE_ROW) return exists.ErrorStatus("read incident");
            return Status::Error(ErrorCode::kConflict,
                                 "Incident " + std::to_string(incident.id) + " changed meanwhile; reload it.");
        }
        saved.version = incident.version + 1;
    }
    for (const domain::IncidentEvent& e : events) {
        Statement st = conn.Prepare(kInsertIncidentEvent);
        st.BindInt64(1, saved.id);
        st.BindTime(2, e.at);
        st.BindText(3, e.type);
        st.BindText(4, e.actor);
        st.BindText(5, e.detail);
        VG_RETURN_IF_ERROR(st.Run("insert incident event"));
    }
    for (const NewOutboxMessage& m : outbox) {
        Statement st = conn.Prepare(kInsertOutbox);
        st.BindInt64(1, saved.id);
        st.BindText(2, m.channel);
        st.BindText(3, m.recipient);
        st.BindText(4, m.subject);
        st.BindText(5, m.body);
        st.BindText(6, m.payload_json);
        st.BindText(7, m.idempotency_key);
        st.BindTime(8, m.created_at);
        st.BindTime(9, m.next_attempt_at);
        VG_RETURN_IF_ERROR(st.Run("insert outbox message"));
    }
    return saved;
}

}  // namespace

Result<domain::Incident> SqliteStore::SaveIncident(const domain::Incident& incident,
                                                   std::span<const domain::IncidentEvent> events,
                                                   std::span<const NewOutboxMessage> outbox) {
    Result<domain::Incident> saved = Status::Error(ErrorCode::kInternal, "not written");
    Status status = impl_->Write([&](Connection& conn) -> Status {
        saved = WriteIncident(conn, incident, events, outbox);
        return saved.status();
    });
    if (!status.ok()) return status;
    return saved;
}

Result<std::optional<domain::Incident>> SqliteStore::FindOpenIncident(int64_t user_unique_num) {
    return impl_->Read([&](Connection& conn) -> Result<std::optional<domain::Incident>> {
        Statement st = conn.Prepare(kSelectOpenIncident);
        st.BindInt64(1, user_unique_num);
        int rc = st.Step();
        if (rc == SQLITE_ROW) return std::optional<domain::Incident>(ReadIncident(st));
        if (rc != SQLITE_DONE) return st.ErrorStatus("read open incident");
        return std::optional<domain::Incident>();
    });
}

Result<domain::Incident> SqliteStore::FindIncident(int64_t incident_id) {
    return impl_->Read([&](Connection& conn) -> Result<domain::Incident> {
        Statement st = conn.Prepare(kSelectIncidentById);
        st.BindInt64(1, incident_id);
        int rc = st.Step();
        if (rc == SQLITE_ROW) return ReadIncident(st);
        if (rc != SQLITE_DONE) return st.ErrorStatus("read incident");
        return NotFound("incident not found");
    });
}

Result<std::vector<domain::Incident>> SqliteStore::ListIncidents(int64_t user_unique_num, int limit) {
    return impl_->Read([&](Connection& conn) {
        Statement st = conn.Prepare(kSelectIncidentsByUser);
        st.BindInt64(1, user_unique_num);
        st.BindInt64(2, std::clamp(limit, 1, kMaxRecentRows));
        return ReadRows<domain::Incident>(st, ReadIncident, "list incidents");
    });
}

Result<std::vector<domain::Incident>> SqliteStore::DueIncidents(TimePoint now, int limit) {
    return impl_->Read([&](Connection& conn) {
        Statement st = conn.Prepare(kSelectDueIncidents);
        st.BindTime(1, now);
        st.BindInt64(2, std::clamp(limit, 1, kMaxDueIncidents));
        return ReadRows<domain::Incident>(st, ReadIncident, "read due incidents");
    });
}

Result<std::optional<TimePoint>> SqliteStore::NextIncidentDue() {
    return impl_->Read([&](Connection& conn) -> Result<std::optional<TimePoint>> {
        Statement st = conn.Prepare(kSelectNextIncidentDue);
        if (st.Step() != SQLITE_ROW) return st.ErrorStatus("read next incident due");
        return st.OptionalTime(0);
    });
}

Result<std::vector<OpenIncidentPhase>> SqliteStore::OpenIncidentsByPhase() {
    return impl_->Read([&](Connection& conn) -> Result<std::vector<OpenIncidentPhase>> {
        Statement st = conn.Prepare(kSelectOpenIncidentPhases);
        std::vector<OpenIncidentPhase> phases;
        int rc;
        while ((rc = st.Step()) == SQLITE_ROW) {
            auto phase = domain::IncidentPhaseFromName(st.Text(0));
            if (!phase) return Status::Error(ErrorCode::kInternal, "an incident has an unknown phase: " + st.Text(0));
            phases.push_back({*phase, st.Int64(1), st.OptionalTime(2)});
        }
        if (rc != SQLITE_DONE) return st.ErrorStatus("read open incidents by phase");
        std::sort(phases.begin(), phases.end(), [](const auto& a, const auto& b) { return a.phase < b.phase; });
        return phases;
    });
}

Result<std::vector<domain::IncidentEvent>> SqliteStore::IncidentEvents(int64_t incident_id) {
    return impl_->Read([&](Connection& conn) {
        Statement st = conn.Prepare(kSelectIncidentEvents);
        st.BindInt64(1, incident_id);
        return ReadRows<domain::IncidentEvent>(
            st,
            [](const Statement& s) {
                domain::IncidentEvent e;
                e.id = s.Int64(0);
                e.incident_id = s.Int64(1);
                e.at = s.Time(2);
                e.type = s.Text(3);
                e.actor = s.Text(4);
                e.detail = s.Text(5);
                return e;
            },
            "read incident events");
    });
}

Result<std::vector<OutboxMessage>> SqliteStore::ClaimOutbox(TimePoint now, size_t max_items, Milliseconds lease) {
    std::vector<OutboxMessage> claimed;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        claimed.clear();
        std::vector<int64_t> ids;
        {
            Statement st = conn.Prepare(kSelectDueOutbox);
            st.BindTime(1, now);
            st.BindInt64(2, static_cast<int64_t>(std::min(max_items, kMaxOutboxClaim)));
            int rc;
            while ((rc = st.Step()) == SQLITE_ROW) ids.push_back(st.Int64(0));
            if (rc != SQLITE_DONE) return st.ErrorStatus("select due outbox messages");
        }
        for (int64_t id : ids) {
            {
                Statement st = conn.Prepare(kLeaseOutbox);
                st.BindInt64(1, id);
                st.BindTime(2, now + lease);
                VG_RETURN_IF_ERROR(st.Run("lease outbox message"));
            }
            Statement st = conn.Prepare(kSelectOutboxById);
            st.BindInt64(1, id);
            if (st.Step() != SQLITE_ROW) return st.ErrorStatus("read leased outbox message");
            claimed.push_back(ReadOutbox(st));
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return claimed;
}

Status SqliteStore::MarkOutboxDelivered(int64_t id, int, TimePoint at, const std::string& detail) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kMarkOutboxDelivered);
        st.BindInt64(1, id);
        st.BindTime(2, at);
        st.BindText(3, detail);
        VG_RETURN_IF_ERROR(st.Run("mark outbox message delivered"));
        if (conn.Changes() == 0) return Status::Error(ErrorCode::kConflict, "already delivered or unknown");
        return Status::Ok();
    });
}

Status SqliteStore::MarkOutboxFailed(int64_t id, int attempt, TimePoint at, const std::string& error,
                                     std::optional<TimePoint> retry_at) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(retry_at ? kMarkOutboxRetry : kMarkOutboxFailed);
        st.BindInt64(1, id);
        st.BindTime(2, at);
        st.BindText(3, error);
        if (retry_at) {
            st.BindTime(4, *retry_at);
            st.BindInt64(5, attempt);
        } else {
            st.BindInt64(4, attempt);
        }
        VG_RETURN_IF_ERROR(st.Run("mark outbox attempt failed"));
        if (conn.Changes() == 0) return Status::Error(ErrorCode::kConflict, "the attempt is no longer current");
        return Status::Ok();
    });
}

Status SqliteStore::ReleaseOutbox(int64_t id, int attempt) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kReleaseOutbox);
        st.BindInt64(1, id);
        st.BindInt64(2, attempt);
        VG_RETURN_IF_ERROR(st.Run("release outbox message"));
        if (conn.Changes() == 0) return Status::Error(ErrorCode::kConflict, "the attempt is no longer current");
        return Status::Ok();
    });
}

Result<std::optional<TimePoint>> SqliteStore::NextOutboxWake() {
    return impl_->Read([&](Connection& conn) -> Result<std::optional<TimePoint>> {
        Statement st = conn.Prepare(kSelectOutboxWake);
        if (st.Step() != SQLITE_ROW) return st.ErrorStatus("read next outbox wake-up");
        return st.OptionalTime(0);
    });
}

Result<std::vector<OutboxBacklog>> SqliteStore::OutboxBacklogByChannel() {
    return impl_->Read([&](Connection& conn) -> Result<std::vector<OutboxBacklog>> {
        Statement st = conn.Prepare(kSelectOutboxBacklog);
        std::vector<OutboxBacklog> backlog;
        int rc;
        while ((rc = st.Step()) == SQLITE_ROW) backlog.push_back({st.Text(0), st.Int64(1), st.Time(2)});
        if (rc != SQLITE_DONE) return st.ErrorStatus("read the outbox backlog");
        return backlog;
    });
}

Result<OutboxMessage> SqliteStore::FindOutbox(int64_t id) {
    return impl_->Read([&](Connection& conn) -> Result<OutboxMessage> {
        Statement st = conn.Prepare(kSelectOutboxById);
        st.BindInt64(1, id);
        int rc = st.Step();
        if (rc == SQLITE_ROW) return ReadOutbox(st);
        if (rc != SQLITE_DONE) return st.ErrorStatus("read outbox message");
        return NotFound("outbox message not found");
    });
}

Result<std::vector<OutboxMessage>> SqliteStore::IncidentOutbox(int64_t incident_id) {
    return impl_->Read([&](Connection& conn) {
        Statement st = conn.Prepare(kSelectOutboxByIncident);
        st.BindInt64(1, incident_id);
        return ReadRows<OutboxMessage>(st, ReadOutbox, "read incident outbox");
    });
}

// ---------------------------------------------------------------------------
// Suspected falls

namespace {

constexpr std::string_view kSelectFallSuspicions =
    "SELECT user_unique_num, impact_at, still_run, last_end, last_received, raised_at, updated_at "
    "FROM fall_suspicions ORDER BY user_unique_num";

}  // namespace

Status SqliteStore::SaveFallSuspicion(const FallSuspicion& f) {
    return impl_->Write([&](Connection& conn) -> Status { return WriteFallSuspicion(conn, f); });
}

Status SqliteStore::ClearFallSuspicion(int64_t wearer) {
    return impl_->Write([&](Connection& conn) -> Status { return WriteClearFallSuspicion(conn, wearer); });
}

Result<std::vector<FallSuspicion>> SqliteStore::ListFallSuspicions() {
    return impl_->Read([&](Connection& conn) {
        Statement st = conn.Prepare(kSelectFallSuspicions);
        return ReadRows<FallSuspicion>(
            st,
            [](const Statement& r) {
                FallSuspicion f;
                f.wearer = r.Int64(0);
                f.impact_at = r.Time(1);
                f.still_run = r.Int(2);
                f.last_end = r.Time(3);
                f.last_received = r.Time(4);
                f.raised_at = r.Time(5);
                f.updated_at = r.Time(6);
                return f;
            },
            "list fall suspicions");
    });
}

// ---------------------------------------------------------------------------
// Guardian links and the audit log

namespace {

constexpr std::string_view kInsertLink =
    "INSERT INTO guardian_links (wearer, guardian, state, requested_by, created_at) VALUES (?1, ?2, 'pending', ?3, ?4)";
constexpr std::string_view kSelectLinkBase =
    "SELECT l.id, l.wearer, l.guardian, w.id, w.name, g.id, g.name, g.phone_num, l.state, l.requested_by, "
    "l.created_at, l.accepted_at, l.ended_at FROM guardian_links l JOIN users w ON w.unique_num = l.wearer "
    "JOIN users g ON g.unique_num = l.guardian ";
constexpr std::string_view kAcceptLink =
    "UPDATE guardian_links SET state = 'active', accepted_at = ?2 WHERE id = ?1 AND state = 'pending'";
constexpr std::string_view kEndLink =
    "UPDATE guardian_links SET state = 'ended', ended_at = ?2 WHERE id = ?1 AND state <> 'ended'";
constexpr std::string_view kIsActiveGuardian =
    "SELECT 1 FROM guardian_links WHERE guardian = ?1 AND wearer = ?2 AND state = 'active'";
constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_log (at, actor, wearer, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr std::string_view kSelectAudit =
    "SELECT at, actor, wearer, action, detail FROM audit_log WHERE wearer = ?1 ORDER BY at DESC, id DESC LIMIT ?2";

GuardianLink ReadLink(const Statement& st) {
    GuardianLink l;
    l.id = st.Int64(0);
    l.wearer = st.Int64(1);
    l.guardian = st.Int64(2);
    l.wearer_id = st.Text(3);
    l.wearer_name = st.Text(4);
    l.guardian_id = st.Text(5);
    l.guardian_name = st.Text(6);
    l.guardian_phone = st.Text(7);
    l.state = st.Text(8);
    l.requested_by = st.Text(9);
    l.created_at = st.Time(10);
    l.accepted_at = st.OptionalTime(11);
    l.ended_at = st.OptionalTime(12);
    return l;
}

}  // namespace

Result<GuardianLink> SqliteStore::CreateGuardianLink(int64_t wearer, int64_t guardian, std::string_view requested_by,
                                                     TimePoint at) {
    int64_t id = 0;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kInsertLink);
        st.BindInt64(1, wearer);
        st.BindInt64(2, guardian);
        st.BindText(3, requested_by);
        st.BindTime(4, at);
        if (Status s = st.Run("insert guardian link"); !s.ok()) {
            if (st.error_code() == SQLITE_CONSTRAINT_UNIQUE) {
                return Status::Error(ErrorCode::kConflict, "These two accounts are already linked or asked to be.");
            }
            if (st.error_code() == SQLITE_CONSTRAINT_FOREIGNKEY) return NotFound("user not found");
            if (st.error_code() == SQLITE_CONSTRAINT_CHECK) {
                return Status::Error(ErrorCode::kValidationFailed, "A wearer cannot be their own guardian.");
            }
            return s;
        }
        id = conn.LastInsertRowid();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return FindGuardianLink(id);
}

Result<GuardianLink> SqliteStore::FindGuardianLink(int64_t link_id) {
    static const std::string sql = std::string(kSelectLinkBase) + "WHERE l.id = ?1";
    return impl_->Read([&](Connection& conn) -> Result<GuardianLink> {
        Statement st = conn.Prepare(sql);
        st.BindInt64(1, link_id);
        int rc = st.Step();
        if (rc == SQLITE_ROW) return ReadLink(st);
        if (rc != SQLITE_DONE) return st.ErrorStatus("read guardian link");
        return NotFound("guardian link not found");
    });
}

Status SqliteStore::AcceptGuardianLink(int64_t link_id, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kAcceptLink);
        st.BindInt64(1, link_id);
        st.BindTime(2, at);
        VG_RETURN_IF_ERROR(st.Run("accept guardian link"));
        if (conn.Changes() == 0) return Status::Error(ErrorCode::kConflict, "The link is not waiting to be accepted.");
        return Status::Ok();
    });
}

Status SqliteStore::EndGuardianLink(int64_t link_id, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kEndLink);
        st.BindInt64(1, link_id);
        st.BindTime(2, at);
        VG_RETURN_IF_ERROR(st.Run("end guardian link"));
        if (conn.Changes() == 0) return Status::Error(ErrorCode::kConflict, "The link has already ended.");
        return Status::Ok();
    });
}

Result<std::vector<GuardianLink>> SqliteStore::ListGuardianLinks(int64_t user) {
    static const std::string sql = std::string(kSelectLinkBase) +
                                   "WHERE (l.wearer = ?1 OR l.guardian = ?1) AND l.state <> 'ended' "
                                   "ORDER BY l.created_at DESC, l.id DESC";
    return impl_->Read([&](Connection& conn) {
        Statement st = conn.Prepare(sql);
        st.BindInt64(1, user);
        return ReadRows<GuardianLink>(st, ReadLink, "list guardian links");
    });
}

Result<std::vector<GuardianLink>> SqliteStore::ActiveGuardians(int64_t wearer) {
    static const std::string sql =
        std::string(kSelectLinkBase) + "WHERE l.wearer = ?1 AND l.state = 'active' ORDER BY l.id";
    return impl_->Read([&](Connection& conn) {
        Statement st = conn.Prepare(sql);
        st.BindInt64(1, wearer);
        return ReadRows<GuardianLink>(st, ReadLink, "list active guardians");
    });
}

Result<bool> SqliteStore::IsActiveGuardian(int64_t guardian, int64_t wearer) {
    return impl_->Read([&](Connection& conn) -> Result<bool> {
        Statement st = conn.Prepare(kIsActiveGuardian);
        st.BindInt64(1, guardian);
        st.BindInt64(2, wearer);
        int rc = st.Step();
        if (rc == SQLITE_ROW) return true;
        if (rc != SQLITE_DONE) return st.ErrorStatus("check guardian link");
        return false;
    });
}

Status SqliteStore::AppendAudit(const AuditEntry& e) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kInsertAudit);
        st.BindTime(1, e.at);
        st.BindInt64(2, e.actor);
        st.BindInt64(3, e.wearer);
        st.BindText(4, e.action);
        st.BindText(5, e.detail);
        return st.Run("append audit entry");
    });
}

Result<std::vector<AuditEntry>> SqliteStore::AuditFor(int64_t wearer, int limit) {
    return impl_->Read([&](Connection& conn) {
        Statement st = conn.Prepare(kSelectAudit);
        st.BindInt64(1, wearer);
        st.BindInt64(2, std::clamp(limit, 1, kMaxAuditRows));
        return ReadRows<AuditEntry>(
            st,
            [](const Statement& s) {
                AuditEntry e;
                e.at = s.Time(0);
                e.actor = s.Int64(1);
                e.wearer = s.Int64(2);
                e.action = s.Text(3);
                e.detail = s.Text(4);
                return e;
            },
            "read audit log");
    });
}

// ---------------------------------------------------------------------------
// Phone verification

namespace {

constexpr std::string_view kUpsertPhoneCode =
    "INSERT INTO phone_codes (user_unique_num, phone, code_hash, sent_at, expires_at, attempts, verified_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6) ON CONFLICT (user_unique_num, phone) DO UPDATE SET "
    "code_hash = excluded.code_hash, sent_at = excluded.sent_at, expires_at = excluded.expires_at, attempts = 0, "
    "verified_at = excluded.verified_at";
constexpr std::string_view kInsertPhoneCodeSend =
    "INSERT INTO phone_code_sends (user_unique_num, phone, sent_at) VALUES (?1, ?2, ?3)";
constexpr std::string_view kSelectPhoneCode =
    "SELECT user_unique_num, phone, code_hash, sent_at, expires_at, attempts, verified_at FROM phone_codes "
    "WHERE user_unique_num = ?1 AND phone = ?2";
constexpr std::string_view kUsePhoneCodeAttempt =
    "UPDATE phone_codes SET attempts = attempts + 1 WHERE user_unique_num = ?1 AND phone = ?2";
constexpr std::string_view kMarkPhoneVerified =
    "UPDATE phone_codes SET verified_at = COALESCE(verified_at, ?3) WHERE user_unique_num = ?1 AND phone = ?2";
constexpr std::string_view kCountPhoneCodesByUser =
    "SELECT COUNT(*) FROM phone_code_sends WHERE user_unique_num = ?1 AND sent_at >= ?2";
constexpr std::string_view kCountPhoneCodesToPhone =
    "SELECT COUNT(*) FROM phone_code_sends WHERE phone = ?1 AND sent_at >= ?2";

PhoneCode ReadPhoneCode(const Statement& s) {
    PhoneCode c;
    c.user = s.Int64(0);
    c.phone = s.Text(1);
    c.code_hash = s.Text(2);
    c.sent_at = s.Time(3);
    c.expires_at = s.Time(4);
    c.attempts = static_cast<int>(s.Int64(5));
    c.verified_at = s.OptionalTime(6);
    return c;
}

Result<PhoneCode> SelectPhoneCode(Connection& conn, int64_t user, std::string_view phone) {
    Statement st = conn.Prepare(kSelectPhoneCode);
    st.BindInt64(1, user);
    st.BindText(2, phone);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return ReadPhoneCode(st);
    if (rc != SQLITE_DONE) return st.ErrorStatus("read phone code");
    return NotFound("no code was sent to this number");
}

}  // namespace

Status SqliteStore::IssuePhoneCode(const PhoneCode& code, const NewOutboxMessage& sms) {
    return impl_->Write([&](Connection& conn) -> Status {
        {
            Statement st = conn.Prepare(kUpsertPhoneCode);
            st.BindInt64(1, code.user);
            st.BindText(2, code.phone);
            st.BindText(3, code.code_hash);
            st.BindTime(4, code.sent_at);
            st.BindTime(5, code.expires_at);
            st.BindOptional(6, code.verified_at);
            if (Status s = st.Run("store phone code"); !s.ok()) {
                if (st.error_code() == SQLITE_CONSTRAINT_FOREIGNKEY) return NotFound("user not found");
                return s;
            }
        }
        {
            Statement st = conn.Prepare(kInsertPhoneCodeSend);
            st.BindInt64(1, code.user);
            st.BindText(2, code.phone);
            st.BindTime(3, code.sent_at);
            VG_RETURN_IF_ERROR(st.Run("log phone code send"));
        }
        Statement st = conn.Prepare(kInsertOutbox);
        st.BindNull(1);
        st.BindText(2, sms.channel);
        st.BindText(3, sms.recipient);
        st.BindText(4, sms.subject);
        st.BindText(5, sms.body);
        st.BindText(6, sms.payload_json);
        st.BindText(7, sms.idempotency_key);
        st.BindTime(8, sms.created_at);
        st.BindTime(9, sms.next_attempt_at);
        return st.Run("insert outbox message");
    });
}

Result<PhoneCode> SqliteStore::FindPhoneCode(int64_t user, std::string_view phone) {
    return impl_->Read([&](Connection& conn) { return SelectPhoneCode(conn, user, phone); });
}

Result<PhoneCode> SqliteStore::UsePhoneCodeAttempt(int64_t user, std::string_view phone) {
    PhoneCode after;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kUsePhoneCodeAttempt);
        st.BindInt64(1, user);
        st.BindText(2, phone);
        VG_RETURN_IF_ERROR(st.Run("count phone code attempt"));
        if (conn.Changes() == 0) return NotFound("no code was sent to this number");
        auto row = SelectPhoneCode(conn, user, phone);
        if (!row.ok()) return row.status();
        after = std::move(row).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return after;
}

Status SqliteStore::MarkPhoneVerified(int64_t user, std::string_view phone, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        Statement st = conn.Prepare(kMarkPhoneVerified);
        st.BindInt64(1, user);
        st.BindText(2, phone);
        st.BindTime(3, at);
        VG_RETURN_IF_ERROR(st.Run("mark phone verified"));
        if (conn.Changes() == 0) return NotFound("no code was sent to this number");
        return Status::Ok();
    });
}

Result<bool> SqliteStore::IsPhoneVerified(int64_t user, std::string_view phone) {
    return impl_->Read([&](Connection& conn) -> Result<bool> {
        auto row = SelectPhoneCode(conn, user, phone);
        if (!row.ok()) {
            if (row.status().code() == ErrorCode::kNotFound) return false;
            return row.status();
        }
        return row->verified_at.has_value();
    });
}

Result<int64_t> SqliteStore::CountPhoneCodesSentByUser(int64_t user, TimePoint since) {
    return impl_->Read([&](Connection& conn) -> Result<int64_t> {
        Statement st = conn.Prepare(kCountPhoneCodesByUser);
        st.BindInt64(1, user);
        st.BindTime(2, since);
        if (st.Step() != SQLITE_ROW) return st.ErrorStatus("count phone codes");
        return st.Int64(0);
    });
}

Result<int64_t> SqliteStore::CountPhoneCodesSentToPhone(std::string_view phone, TimePoint since) {
    return impl_->Read([&](Connection& conn) -> Result<int64_t> {
        Statement st = conn.Prepare(kCountPhoneCodesToPhone);
        st.BindText(1, phone);
        st.BindTime(2, since);
        if (st.Step() != SQLITE_ROW) return st.ErrorStatus("count phone codes");
        return st.Int64(0);
    });
}

}  // namespace vg::store
