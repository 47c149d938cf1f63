#pragma once
// PostgresStore: the Store on a PostgreSQL server (libpq), for running several VitalGuard processes on
// one database. It implements every port of vg::store::Store (store.hpp) and passes the conformance
// suite (store/conformance) unchanged; what follows is what PostgreSQL adds.
//
// Connections: a fixed pool of `connections` libpq connections, opened at Open. A call leases one
// (waiting while all are busy), runs, and gives it back. Every connection's session has
// search_path = `schema`, so one database may hold several VitalGuard schemas. A connection found
// broken (the server restarted, the session was terminated) is reset once (PQreset) and the call's
// unit of work runs again on it; when the reset fails the call returns kUnavailable and the next call
// tries again, so a restarting server never wedges the store.
//
// Writes: every write method is one transaction, BEGIN ISOLATION LEVEL SERIALIZABLE ... COMMIT, so
// concurrent writers (threads of this process or other processes) behave as if SQLite's single writer
// had run them one after another. A serialization failure or deadlock (SQLSTATE 40001 / 40P01)
// rolls the transaction back and runs the whole unit again, after a short randomized back-off, up to
// max_write_attempts times (then kUnavailable). A unit that keeps losing runs alone among this
// process's writers from its fourth attempt on, so conflicts between threads always resolve.
// Within RecordVerdicts each record has its own SAVEPOINT (a record whose user is missing is refused
// alone) and its incident transition another (a kConflict refuses only the transition).
//
// Reads: autocommit statements at READ COMMITTED: a read started after a write returned OK sees it.
// ForEachWearerReadingsSince reads one wearer at a time and calls back with no connection held.
//
// Durability: a write is durable when COMMIT returns, as the server's synchronous_commit makes it (on by
// default: flushed to its WAL). When the connection is lost while COMMIT is on the wire the outcome is
// unknown; the call returns kUnavailable though the write may have been kept (no client can know).
//
// Thread-safety: every method may be called concurrently from any thread. Close() may race with other
// calls; those either complete normally or return kUnavailable. The PostgresStore must outlive every
// call into it.
//
// Schema: versioned migrations (PostgresMigrations()) are applied at Open, each in its own transaction
// under a transaction-level advisory lock keyed by the schema name (two processes opening the same
// schema at once apply each migration once), and recorded in <schema>.schema_migrations. The schema is
// created when missing. A schema written by a newer binary is refused with kUnavailable. Times are BIGINT
// milliseconds since the Unix epoch, ids BIGINT identity columns (never reused), readings float8.
//
// Errors (beyond the Store contract): Open returns kUnavailable when the server cannot be reached or
// the schema is too new, kInternal for bad options (among them a schema name that is not
// [a-z_][a-z0-9_]*, at most 63 characters, not starting with "pg_", or a conninfo libpq cannot parse; the
// message never repeats the conninfo, which may hold a password) or a failed migration. A lost
// connection (SQLSTATE class 08, 57P01-57P03) is kUnavailable; a unique violation (23505) is kConflict;
// the ports' value limits are the schema's CHECK constraints (23514), whose kInternal carries the
// server's "violates check constraint" message. Text values are PostgreSQL text: valid UTF-8 without NUL
// bytes (a NUL is refused with kInternal rather than cut short).

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

struct PostgresStoreOptions {
    // A libpq connection string or URI, e.g. "postgresql://vitalguard@db.internal:5432/vitalguard"
    // or "host=/run/postgresql dbname=vitalguard". "" uses libpq's defaults (the PG* variables).
    std::string conninfo;
    // The PostgreSQL schema that holds VitalGuard's tables; created when missing.
    std::string schema = "vitalguard";
    // Number of connections, i.e. calls that run at the same time.
    int connections = 8;
    // How long connecting (at Open, and when a broken connection is reset) may take, unless conninfo has
    // a connect_timeout of its own. libpq counts whole seconds, at least 2.
    Milliseconds connect_timeout{5000};
    // How many times a write transaction runs before a run of serialization failures is given up
    // (kUnavailable).
    int max_write_attempts = 20;
    // true: this store is the schema's only server (`vitalguard serve` until the scale-out roles): Open
    // takes a session-level advisory lock on the schema over a connection of its own, held until Close,
    // and refuses with kUnavailable ("another VitalGuard server uses the schema …") while another
    // exclusive store holds it. The lock goes with that connection: if the database server drops it (a
    // restart), another server could start on the schema. false (tools, tests): no lock; exclusive
    // stores do not keep it out.
    bool exclusive = false;
    // Time stamped into schema_migrations.applied_at; nullptr means SystemClock::Instance(). Not owned;
    // must outlive Open().
    const Clock* clock = nullptr;
};

// One step of the schema, applied at most once per schema, in version order.
struct PostgresMigration {
    int version = 0;        // 1, 2, 3, ... without gaps
    std::string_view name;  // short description, recorded in schema_migrations
    std::string_view sql;   // DDL only, unqualified names (search_path is the schema); never a value
};

// Every migration this binary knows, ordered by version (statically allocated).
std::span<const PostgresMigration> PostgresMigrations();

// The schema version this binary creates and expects: the last migration's version.
int PostgresSchemaVersion();

// Whether `schema` is a name PostgresStoreOptions::schema accepts.
bool IsValidPostgresSchemaName(std::string_view schema);

class PostgresStore final : public Store {
  public:
    // Connects the pool, creates the schema when missing and applies the pending migrations.
    // The result owns the connections; destroying it Close()s.
    static Result<std::unique_ptr<PostgresStore>> Open(const PostgresStoreOptions& options);

    ~PostgresStore() override;
    PostgresStore(const PostgresStore&) = delete;
    PostgresStore& operator=(const PostgresStore&) = delete;

    // "DATABASE/SCHEMA" (current_database() at Open, and the schema): what every server of one deployment
    // shares whatever address it reaches the database by (the Redis bus records it as its owner).
    const std::string& identity() const;

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
    // One multi-row INSERT ... ON CONFLICT DO NOTHING per chunk of readings.
    Result<std::vector<bool>> AppendReadings(int64_t user_unique_num, std::optional<int64_t> device_id,
                                             std::span<const IncomingReading> readings, TimePoint received_at) override;
    Result<std::vector<StoredReading>> RecentReadings(int64_t user_unique_num, int limit) override;
    Result<std::vector<ReadingBucket>> SummarizeReadings(int64_t user_unique_num, TimePoint from, TimePoint to,
                                                         Milliseconds bucket) override;
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
    // Claims with FOR UPDATE SKIP LOCKED, so concurrent claimers (threads or processes) take different
    // messages instead of queueing behind each other.
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
    // OK when a pooled connection answers `SELECT 1` (a round trip to the server) and the store is not
    // closed.
    Status CheckHealth() override;
    // Refuses new calls, waits for the calls in progress to finish and closes the connections.
    // Afterwards every call returns kUnavailable. Idempotent; safe to call from several threads.
    void Close() override;

  private:
    struct Impl;
    explicit PostgresStore(std::unique_ptr<Impl> impl);

    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::store
