#pragma once
// Store: everything VitalGuard keeps durably, behind one interface.
//
// Implementations: store/sqlite (the embedded default); later store/postgres.
// Every method is a complete unit of work: it either happens entirely and is
// durable when the call returns OK (a crash or `kill -9` afterwards loses
// nothing), or it changes nothing and returns an error Status.
//
// Thread-safety: all methods may be called concurrently from any thread.
// Implementations may serialize writes internally (e.g. one writer thread that
// commits queued writes together, "group commit") but must not let one
// caller's failure affect another's write.
//
// Errors: kNotFound when a looked-up row does not exist; kConflict when a
// unique key is taken; kUnavailable when the store is closed or cannot be
// reached; kInternal for anything else (with the driver's message).

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/account.hpp"
#include "vg/domain/incident.hpp"
#include "vg/domain/vitals.hpp"

namespace vg::store {

// A new user row. unique_num and created_at are assigned by the store / caller.
struct NewUser {
    domain::UserProfile profile;
    std::string password_hash;
    TimePoint created_at;
};

struct NewDevice {
    int64_t user_unique_num = 0;
    std::string name;
    std::string token_hash;
    TimePoint created_at;
};

// One row of the seed's UserStatus: 0 normal, 1 caution, 2 danger, with why.
struct StatusRow {
    int64_t user_unique_num = 0;
    int status = 0;
    TimePoint updated_at;
    std::string causes;                   // comma-separated metric names, e.g. "heart_rate,spo2"; may be empty
    std::string explanation;              // the sentence shown to the wearer; may be empty
    std::optional<TimePoint> reading_at;  // when the reading behind it was measured
};

// A reading to store. device_seq (with the device) makes a retried upload idempotent.
struct IncomingReading {
    std::optional<int64_t> device_seq;
    domain::VitalsReading reading;
};

struct StoredReading {
    int64_t id = 0;
    std::optional<int64_t> device_id;
    std::optional<int64_t> device_seq;
    domain::VitalsReading reading;
    TimePoint received_at;
};

// A link between a wearer and a guardian account (docs/api.md, Guardians).
struct GuardianLink {
    int64_t id = 0;
    int64_t wearer = 0;
    int64_t guardian = 0;
    std::string wearer_id, wearer_name;      // login id and name, for lists
    std::string guardian_id, guardian_name;  // login id and name
    std::string guardian_phone;              // for notifications
    std::string state;                       // "pending", "active", "ended"
    std::string requested_by;                // "wearer" or "guardian"
    TimePoint created_at;
    std::optional<TimePoint> accepted_at;
    std::optional<TimePoint> ended_at;
};

struct AuditEntry {
    TimePoint at;
    int64_t actor = 0;
    int64_t wearer = 0;
    std::string action;
    std::string detail;
};

// A message to write to the outbox with an incident transition.
struct NewOutboxMessage {
    std::string channel;    // "webhook", "sms", "email", "emergency", "live"
    std::string recipient;  // URL, phone number, e-mail address
    std::string subject;
    std::string body;
    std::string payload_json;
    std::string idempotency_key;  // unique; a second message with the same key is not written
    TimePoint created_at;
    TimePoint next_attempt_at;
};

// A stored outbox message with its delivery state.
struct OutboxMessage {
    int64_t id = 0;
    std::optional<int64_t> incident_id;
    std::string channel;
    std::string recipient;
    std::string subject;
    std::string body;
    std::string payload_json;
    std::string idempotency_key;
    int attempts = 0;
    TimePoint created_at;
    TimePoint next_attempt_at;
    std::string state;  // "pending", "delivering", "delivered", "failed"
    std::optional<TimePoint> leased_until;
    std::optional<TimePoint> last_attempt_at;
    std::string last_error;
    std::optional<TimePoint> delivered_at;
    std::string delivered_detail;
};

// One row of the seed's UserPosture: class 0-7 (0 Downstairs ... 7 Fall).
struct PostureRow {
    int64_t user_unique_num = 0;
    int posture = 0;
    TimePoint updated_at;
};

// A suspected fall that is not decided yet (vg::posture::FallMonitor's state while suspected), kept so that
// a restarted process still decides it: one row per wearer, the latest state. Device times are the
// windows' own clock; server times are the server's (see posture/README.md, "Across a restart").
struct FallSuspicion {
    int64_t wearer = 0;
    TimePoint impact_at;      // device time: end of the window that raised the suspicion
    int still_run = 0;        // consecutive still windows seen since
    TimePoint last_end;       // device time: end of the latest window the monitor saw
    TimePoint last_received;  // server time: when that window was received
    TimePoint raised_at;      // server time: when the suspicion was raised
    TimePoint updated_at;     // server time: when this state was saved
};

class Store {
  public:
    virtual ~Store() = default;

    // ---- users ----
    // kConflict (field "id") when profile.id is taken.
    virtual Result<domain::User> CreateUser(const NewUser& user) = 0;
    virtual Result<domain::User> FindUserById(std::string_view id) = 0;
    virtual Result<domain::User> FindUserByUniqueNum(int64_t unique_num) = 0;
    virtual Result<bool> UserIdExists(std::string_view id) = 0;

    // ---- sessions ----
    // kConflict when token_hash already exists (a 256-bit collision: a bug).
    virtual Status CreateSession(const domain::Session& session) = 0;
    virtual Result<domain::Session> FindSession(std::string_view token_hash) = 0;
    // Sets last_seen_at; kNotFound when the session is gone.
    virtual Status TouchSession(std::string_view token_hash, TimePoint last_seen_at) = 0;
    // kNotFound when the session is gone.
    virtual Status DeleteSession(std::string_view token_hash) = 0;
    // Deletes sessions whose absolute expiry is <= now or that were idle since before idle_cutoff.
    // Returns how many were deleted.
    virtual Result<int64_t> DeleteExpiredSessions(TimePoint now, TimePoint idle_cutoff) = 0;

    // ---- devices ----
    virtual Result<domain::Device> CreateDevice(const NewDevice& device) = 0;
    // Finds a device by token hash, revoked or not (the caller decides what revoked means).
    virtual Result<domain::Device> FindDeviceByTokenHash(std::string_view token_hash) = 0;
    // The user's devices, newest first, revoked ones included.
    virtual Result<std::vector<domain::Device>> ListDevices(int64_t user_unique_num) = 0;
    // kNotFound when the device does not exist, belongs to another user, or is already revoked.
    virtual Status RevokeDevice(int64_t user_unique_num, int64_t device_id, TimePoint at) = 0;
    virtual Status TouchDevice(int64_t device_id, TimePoint last_seen_at) = 0;

    // Selects the wearer's rule profile (by name; the caller checks that it exists). kNotFound for no user.
    virtual Status SetRuleProfile(int64_t user_unique_num, std::string_view profile) = 0;

    // ---- vitals ----
    // Stores the readings in one transaction. For each reading, true when it was stored, false when
    // (device_id, device_seq) was already stored (a retry): duplicates are not errors. kNotFound when
    // the user does not exist.
    virtual Result<std::vector<bool>> AppendReadings(int64_t user_unique_num, std::optional<int64_t> device_id,
                                                     std::span<const IncomingReading> readings,
                                                     TimePoint received_at) = 0;
    // The `limit` most recently measured readings, newest first.
    virtual Result<std::vector<StoredReading>> RecentReadings(int64_t user_unique_num, int limit) = 0;
    // Every reading measured at or after `since`, wearer by wearer: `fn` is called once per wearer that
    // has any, with that wearer's readings oldest first (measured_at, then storage order). For
    // rebuilding detector state at start-up. Holds one wearer's readings in memory at a time.
    virtual Status ForEachWearerReadingsSince(
        TimePoint since,
        const std::function<void(int64_t wearer, std::vector<domain::VitalsReading>&& readings)>& fn) = 0;

    // ---- the seed's UserStatus / UserPosture ----
    // Appends the row and sets the user's danger_degree (resp. user_posture) in the same transaction.
    virtual Status AppendStatus(const StatusRow& row) = 0;
    // Appends every row (in order) in one transaction, each as AppendStatus would. The result has one
    // Status per row: kNotFound for a row whose user does not exist (that row alone is skipped). An
    // error of the whole (the store closed, the commit failed) is returned instead, and nothing is kept.
    virtual Result<std::vector<Status>> AppendStatuses(std::span<const StatusRow> rows) = 0;
    virtual Status AppendPosture(const PostureRow& row) = 0;
    // The `limit` most recent rows, newest first.
    virtual Result<std::vector<StatusRow>> RecentStatuses(int64_t user_unique_num, int limit) = 0;
    virtual Result<std::vector<PostureRow>> RecentPostures(int64_t user_unique_num, int limit) = 0;

    // ---- incidents (escalation) ----
    // Stores a transition in one transaction: the incident (id 0: inserted; else updated only when
    // the stored version equals incident.version), its events and its outbox messages (a message
    // whose idempotency_key exists is skipped). Returns the incident as stored: id set, version + 1.
    // kConflict: the wearer already has an open incident (insert), or the stored version moved on
    // (someone else's transition came first: reload and retry). kNotFound: no such incident or user.
    virtual Result<domain::Incident> SaveIncident(const domain::Incident& incident,
                                                  std::span<const domain::IncidentEvent> events,
                                                  std::span<const NewOutboxMessage> outbox) = 0;
    // The wearer's open incident, if any.
    virtual Result<std::optional<domain::Incident>> FindOpenIncident(int64_t user_unique_num) = 0;
    virtual Result<domain::Incident> FindIncident(int64_t incident_id) = 0;  // kNotFound
    // The wearer's `limit` most recent incidents, newest first.
    virtual Result<std::vector<domain::Incident>> ListIncidents(int64_t user_unique_num, int limit) = 0;
    // Open incidents whose NextDue() is at or before `now`, earliest first.
    virtual Result<std::vector<domain::Incident>> DueIncidents(TimePoint now, int limit) = 0;
    // The earliest NextDue() of all open incidents; empty when none is due ever.
    virtual Result<std::optional<TimePoint>> NextIncidentDue() = 0;
    virtual Result<std::vector<domain::IncidentEvent>> IncidentEvents(int64_t incident_id) = 0;  // oldest first

    // ---- outbox (vg::notify::OutboxQueue semantics, see notify/outbox.hpp) ----
    virtual Result<std::vector<OutboxMessage>> ClaimOutbox(TimePoint now, size_t max_items, Milliseconds lease) = 0;
    virtual Status MarkOutboxDelivered(int64_t id, int attempt, TimePoint at, const std::string& detail) = 0;
    virtual Status MarkOutboxFailed(int64_t id, int attempt, TimePoint at, const std::string& error,
                                    std::optional<TimePoint> retry_at) = 0;
    virtual Status ReleaseOutbox(int64_t id, int attempt) = 0;
    virtual Result<std::optional<TimePoint>> NextOutboxWake() = 0;
    virtual Result<OutboxMessage> FindOutbox(int64_t id) = 0;                            // kNotFound
    virtual Result<std::vector<OutboxMessage>> IncidentOutbox(int64_t incident_id) = 0;  // oldest first

    // ---- suspected falls (posture) ----
    // Stores the wearer's suspicion, replacing the one stored before (one per wearer). kNotFound when the
    // wearer does not exist.
    virtual Status SaveFallSuspicion(const FallSuspicion& suspicion) = 0;
    // Removes the wearer's suspicion; OK when there is none (idempotent).
    virtual Status ClearFallSuspicion(int64_t wearer) = 0;
    // Every stored suspicion, by wearer (for restoring them at start-up).
    virtual Result<std::vector<FallSuspicion>> ListFallSuspicions() = 0;

    // ---- guardians and the audit log ----
    // kConflict when the pair already has a pending or active link; kNotFound for an unknown user.
    virtual Result<GuardianLink> CreateGuardianLink(int64_t wearer, int64_t guardian, std::string_view requested_by,
                                                    TimePoint at) = 0;
    virtual Result<GuardianLink> FindGuardianLink(int64_t link_id) = 0;  // kNotFound
    // pending → active (kConflict otherwise); pending/active → ended (kConflict when already ended).
    virtual Status AcceptGuardianLink(int64_t link_id, TimePoint at) = 0;
    virtual Status EndGuardianLink(int64_t link_id, TimePoint at) = 0;
    // Every pending or active link the user is on, either side, newest first.
    virtual Result<std::vector<GuardianLink>> ListGuardianLinks(int64_t user) = 0;
    // The wearer's active guardians.
    virtual Result<std::vector<GuardianLink>> ActiveGuardians(int64_t wearer) = 0;
    virtual Result<bool> IsActiveGuardian(int64_t guardian, int64_t wearer) = 0;
    virtual Status AppendAudit(const AuditEntry& entry) = 0;
    virtual Result<std::vector<AuditEntry>> AuditFor(int64_t wearer, int limit) = 0;  // newest first

    // ---- lifecycle ----
    // OK when the store can read and write now (for /readyz).
    virtual Status CheckHealth() = 0;
    // Commits everything queued, then refuses new work with kUnavailable. Idempotent.
    virtual void Close() = 0;
};

}  // namespace vg::store
