#pragma once
// SqliteStore: the embedded Store, one SQLite database file in WAL mode. It implements every port
// of vg::store::Store (store.hpp) and passes the conformance suite (store/conformance); what
// follows is what SQLite adds.
//
// Writes: one write connection. Callers enqueue their write and block until
// it is committed; the first caller in the queue leads (as in leveldb): on its
// own thread it takes everything queued (up to max_batch_size), runs it as one
// `BEGIN IMMEDIATE ... COMMIT` with each write inside its own SAVEPOINT
// ("group commit"), wakes the others, and passes the lead on. An uncontended
// write thus commits on its caller's thread with no hand-off. A write that
// fails (e.g. a taken id) is rolled back alone and returns its own error; the
// others in its batch still commit. When COMMIT itself fails, every write of
// the batch that had succeeded returns that error and nothing of it is kept.
// One durable commit costs ~0.4 ms here, so batching is what lets many
// concurrent writers stay durable without queueing behind one fsync each.
//
// Reads: a fixed pool of read-only connections (WAL readers never block the
// writer nor each other). A read started after a write returned OK sees it.
//
// Durability: with synchronous_full (the default) a write is on disk when its
// call returns OK; with it off, a process crash still loses nothing but a
// power loss may lose the last commits.
//
// Thread-safety: every method may be called concurrently from any thread.
// Close() may race with other calls; those either complete normally or
// return kUnavailable. The SqliteStore must outlive every call into it.
//
// Schema: versioned migrations (SqliteMigrations()) are applied at Open, each
// in its own transaction, and recorded in schema_migrations. A database
// written by a newer binary is refused with kUnavailable.
//
// Errors (beyond the Store contract): Open returns kUnavailable when the file
// cannot be opened or its schema is too new, kInternal for bad options or a
// failed migration. SQLITE_BUSY/LOCKED (another process holding the database
// past busy_timeout) is kUnavailable. The ports' value limits are the schema's
// CHECK constraints, so their kInternal carries SQLite's "CHECK constraint
// failed" message.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/store/store.hpp"

namespace vg::store {

struct SqliteStoreOptions {
    // The database file; created (with its -wal and -shm siblings) when missing.
    // Its directory must exist. In-memory databases are refused: the
    // connections of a SqliteStore must share one file.
    std::string path;
    // true: PRAGMA synchronous=FULL, durable at COMMIT (survives power loss).
    // false: NORMAL, which survives a process crash but not a power loss.
    bool synchronous_full = true;
    // At most this many queued writes are committed in one transaction; bounds
    // the latency one batch adds to the writes queued behind it.
    int max_batch_size = 512;
    // Number of read connections, i.e. reads that run at the same time.
    int read_connections = 4;
    // How long a connection waits for a lock held by another process (or for
    // a WAL checkpoint) before the call fails with kUnavailable.
    Milliseconds busy_timeout{5000};
    // Time stamped into schema_migrations.applied_at; nullptr means
    // SystemClock::Instance(). Not owned; must outlive Open().
    const Clock* clock = nullptr;
};

// One step of the schema, applied at most once per database, in version order.
struct SqliteMigration {
    int version = 0;        // 1, 2, 3, ... without gaps
    std::string_view name;  // short description, recorded in schema_migrations
    std::string_view sql;   // DDL only: no values are ever spliced into it
};

// Every migration this binary knows, ordered by version (statically allocated).
std::span<const SqliteMigration> SqliteMigrations();

// The schema version this binary creates and expects: the last migration's version.
int SqliteSchemaVersion();

class SqliteStore final : public Store {
  public:
    // Opens (creating when missing) the database at options.path, applies the
    // pending migrations.
    // The result owns the connections; destroying it Close()s.
    static Result<std::unique_ptr<SqliteStore>> Open(const SqliteStoreOptions& options);

    ~SqliteStore() override;
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    // ---- AccountStore ----
    Result<domain::User> CreateUser(const NewUser& user) override;
    Result<domain::User> FindUserById(std::string_view id) override;
    Result<domain::User> FindUserByUniqueNum(int64_t unique_num) override;
    Result<bool> UserIdExists(std::string_view id) override;
    Status CreateSession(const domain::Session& session) override;
    Result<domain::Session> FindSession(std::string_view token_hash) override;
    Status TouchSession(std::string_view token_hash, TimePoint last_seen_at) override;
    Status DeleteSession(std::string_view token_hash) override;
    Result<int64_t> DeleteExpiredSessions(TimePoint now, TimePoint idle_cutoff) override;
    Result<domain::Device> CreateDevice(const NewDevice& device) override;
    Result<domain::Device> FindDeviceByTokenHash(std::string_view token_hash) override;
    Result<std::vector<domain::Device>> ListDevices(int64_t user_unique_num) override;
    Status RevokeDevice(int64_t user_unique_num, int64_t device_id, TimePoint at) override;
    Status TouchDevice(int64_t device_id, TimePoint last_seen_at) override;
    Status SetRuleProfile(int64_t user_unique_num, std::string_view profile) override;
    Result<domain::User> UpdateUserProfile(const ProfileUpdate& update) override;
    Status SetAddressConfirmed(int64_t user_unique_num, TimePoint at) override;
    Result<std::vector<domain::Session>> ListSessions(int64_t user_unique_num, int limit) override;
    Result<std::vector<std::string>> DeleteSessionsExcept(int64_t user_unique_num,
                                                          std::string_view keep_token_hash) override;
    Result<std::vector<std::string>> SetPasswordHash(int64_t user_unique_num, std::string_view password_hash,
                                                     std::string_view keep_token_hash) override;
    Result<std::vector<std::string>> SetUserLock(int64_t user_unique_num, std::optional<TimePoint> at,
                                                 std::string_view reason) override;
    Result<std::vector<UserSummary>> ListUserSummaries(int64_t after, int limit) override;
    Status SetGuardEmail(int64_t user_unique_num, std::string_view guard_email, std::string_view unverify_key) override;

    // ---- ReadingStore ----
    Result<std::vector<bool>> AppendReadings(int64_t user_unique_num, std::optional<int64_t> device_id,
                                             std::span<const IncomingReading> readings, TimePoint received_at) override;
    Result<std::vector<StoredReading>> RecentReadings(int64_t user_unique_num, int limit) override;
    Result<std::vector<ReadingBucket>> SummarizeReadings(int64_t user_unique_num, TimePoint from, TimePoint to,
                                                         Milliseconds bucket) override;
    // One short read per wearer, so that writers are never held up for long.
    Status ForEachWearerReadingsSince(
        TimePoint since,
        const std::function<void(int64_t wearer, std::vector<domain::VitalsReading>&& readings)>& fn) override;

    // ---- StatusStore ----
    Status AppendStatus(const StatusRow& row) override;
    Result<std::vector<Status>> AppendStatuses(std::span<const StatusRow> rows) override;
    Result<std::vector<Status>> RecordVerdicts(std::span<const VerdictRecord> records) override;
    Status AppendPosture(const PostureRow& row) override;
    Result<std::vector<StatusRow>> RecentStatuses(int64_t user_unique_num, int limit) override;
    Result<std::vector<PostureRow>> RecentPostures(int64_t user_unique_num, int limit) override;

    // ---- IncidentStore ----
    Result<domain::Incident> SaveIncident(const domain::Incident& incident,
                                          std::span<const domain::IncidentEvent> events,
                                          std::span<const NewOutboxMessage> outbox) override;
    Result<std::optional<domain::Incident>> FindOpenIncident(int64_t user_unique_num) override;
    Result<domain::Incident> FindIncident(int64_t incident_id) override;
    Result<std::vector<domain::Incident>> ListIncidents(int64_t user_unique_num, int limit) override;
    Result<std::vector<domain::Incident>> DueIncidents(TimePoint now, int limit) override;
    Result<std::optional<TimePoint>> NextIncidentDue() override;
    Result<std::vector<OpenIncidentPhase>> OpenIncidentsByPhase() override;
    Result<std::vector<domain::IncidentEvent>> IncidentEvents(int64_t incident_id) override;

    // ---- OutboxStore ----
    Result<std::vector<OutboxMessage>> ClaimOutbox(TimePoint now, size_t max_items, Milliseconds lease) override;
    Status MarkOutboxDelivered(int64_t id, int attempt, TimePoint at, const std::string& detail) override;
    Status MarkOutboxFailed(int64_t id, int attempt, TimePoint at, const std::string& error,
                            std::optional<TimePoint> retry_at) override;
    Status ReleaseOutbox(int64_t id, int attempt) override;
    Result<std::optional<TimePoint>> NextOutboxWake() override;
    Result<std::vector<OutboxBacklog>> OutboxBacklogByChannel() override;
    Result<OutboxMessage> FindOutbox(int64_t id) override;
    Result<std::vector<OutboxMessage>> IncidentOutbox(int64_t incident_id) override;

    // ---- FallSuspicionStore ----
    Status SaveFallSuspicion(const FallSuspicion& suspicion) override;
    Status ClearFallSuspicion(int64_t wearer) override;
    Result<std::vector<FallSuspicion>> ListFallSuspicions() override;

    // ---- GuardianStore ----
    Result<GuardianLink> CreateGuardianLink(int64_t wearer, int64_t guardian, std::string_view requested_by,
                                            TimePoint at) override;
    Result<GuardianLink> FindGuardianLink(int64_t link_id) override;
    Status AcceptGuardianLink(int64_t link_id, TimePoint at) override;
    Status EndGuardianLink(int64_t link_id, TimePoint at) override;
    Result<std::vector<GuardianLink>> ListGuardianLinks(int64_t user) override;
    Result<std::vector<GuardianLink>> ActiveGuardians(int64_t wearer) override;
    Result<bool> IsActiveGuardian(int64_t guardian, int64_t wearer) override;

    // ---- AuditStore ----
    Status AppendAudit(const AuditEntry& entry) override;
    Result<std::vector<AuditEntry>> AuditFor(int64_t wearer, int limit) override;

    // ---- PhoneVerificationStore ----
    Status IssuePhoneCode(const PhoneCode& code, const NewOutboxMessage& sms) override;
    Result<PhoneCode> FindPhoneCode(int64_t user, std::string_view phone) override;
    Result<PhoneCode> UsePhoneCodeAttempt(int64_t user, std::string_view phone) override;
    Status MarkPhoneVerified(int64_t user, std::string_view phone, TimePoint at) override;
    Result<bool> IsPhoneVerified(int64_t user, std::string_view phone) override;
    Result<int64_t> CountPhoneCodesSentByUser(int64_t user, TimePoint since) override;
    Result<int64_t> CountPhoneCodesSentToPhone(std::string_view phone, TimePoint since) override;

    // ---- StoreLifecycle ----
    // OK when a read connection answers `SELECT 1` and the store is not closed.
    Status CheckHealth() override;
    // Commits every write queued before it, refuses new ones and closes
    // the connections (waiting for reads in progress). Afterwards every call
    // returns kUnavailable. Idempotent; safe to call from several threads.
    void Close() override;

  private:
    struct Impl;
    explicit SqliteStore(std::unique_ptr<Impl> impl);

    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::store
