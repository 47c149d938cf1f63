#pragma once
// IncidentStore and OutboxStore: the incidents aggregate — each wearer's incidents (the escalation
// state machine's whole state, versioned), every transition as an IncidentEvent, and the
// transactional outbox of messages those transitions caused. One aggregate, two ports: a transition
// and its outbox messages are written in one transaction (IncidentStore::SaveIncident), while the
// delivery worker needs only the outbox (OutboxStore, vg::notify::OutboxQueue's semantics).
//
// Both are ports of vg::store::Store (store.hpp): durable on OK, nothing written on error, safe from
// any thread, kUnavailable once closed, kInternal for what no rule below names.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/incident.hpp"

namespace vg::store {

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

// An incident transition as SaveIncident writes it: the incident (id 0: a new one), its new events and the
// outbox messages it causes. Carried by the verdict stage into its group commit (VerdictRecord::incident).
struct IncidentTransition {
    domain::Incident incident;
    std::vector<domain::IncidentEvent> events;
    std::vector<NewOutboxMessage> outbox;
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

// Open incidents of one phase, for monitoring (OpenIncidentsByPhase).
struct OpenIncidentPhase {
    domain::IncidentPhase phase = domain::IncidentPhase::kGuidance;
    int64_t incidents = 0;
    std::optional<TimePoint> earliest_deadline;  // the smallest deadline among them, if any has one
};

// Undelivered outbox messages of one channel, for monitoring (OutboxBacklogByChannel).
struct OutboxBacklog {
    std::string channel;
    int64_t messages = 0;         // pending or delivering
    TimePoint oldest_created_at;  // the earliest created_at among them
};

class IncidentStore {
  public:
    virtual ~IncidentStore() = default;

    // Stores a transition in one transaction: the incident, its events and its outbox messages.
    // - incident.id 0: inserted; the stored version is 1 (incident.version is ignored) and the id is
    //   > 0 and never given again. kConflict when it is open and the wearer already has an open
    //   incident (at most one open incident per wearer, also between racing callers); kNotFound when
    //   the wearer does not exist.
    // - otherwise: updated only when the stored version equals incident.version. kNotFound when there
    //   is no such incident; kConflict when the stored version moved on (someone else's transition
    //   came first: reload and retry) or when it would reopen an incident while the wearer has another
    //   open one.
    // Events are appended in order (their id and incident_id are assigned by the store). Outbox
    // messages are written for this incident, pending with no attempts; a message whose
    // idempotency_key exists already (from any incident, or earlier in the same call) is skipped.
    // Returns the incident as stored: id set, version + 1.
    virtual Result<domain::Incident> SaveIncident(const domain::Incident& incident,
                                                  std::span<const domain::IncidentEvent> events,
                                                  std::span<const NewOutboxMessage> outbox) = 0;
    // The wearer's open incident (phase not closed), if any.
    virtual Result<std::optional<domain::Incident>> FindOpenIncident(int64_t user_unique_num) = 0;
    virtual Result<domain::Incident> FindIncident(int64_t incident_id) = 0;  // kNotFound
    // The wearer's `limit` (clamped to [1, kMaxRecentRows]) most recent incidents, newest first
    // (opened_at; a tie: the one inserted last first), closed ones included.
    virtual Result<std::vector<domain::Incident>> ListIncidents(int64_t user_unique_num, int limit) = 0;
    // Open incidents whose NextDue() (as of their last save) is at or before `now`, earliest first (a
    // tie: the one inserted first first), at most `limit` (clamped to [1, kMaxDueIncidents]).
    virtual Result<std::vector<domain::Incident>> DueIncidents(TimePoint now, int limit) = 0;
    // The earliest NextDue() of all open incidents; empty when none is due ever.
    virtual Result<std::optional<TimePoint>> NextIncidentDue() = 0;
    // The incident's events, oldest first (in the order they were stored); none for an unknown id.
    virtual Result<std::vector<domain::IncidentEvent>> IncidentEvents(int64_t incident_id) = 0;
    // Every phase but closed that has at least one incident, in phase order, with how many and their
    // earliest deadline (monitoring: countdowns past their deadline mean a stuck escalation).
    virtual Result<std::vector<OpenIncidentPhase>> OpenIncidentsByPhase() = 0;
};

// The outbox as the delivery worker drives it (vg::notify::OutboxQueue, see notify/outbox.hpp).
// Fencing: `attempt` is OutboxMessage::attempts as claimed; a report for an attempt that is no longer
// current is refused with kConflict and changes nothing — except MarkOutboxDelivered: a delivery
// happened, so it wins unless the message is already delivered.
class OutboxStore {
  public:
    virtual ~OutboxStore() = default;

    // Claims up to min(max_items, kMaxOutboxClaim) messages that are pending with next_attempt_at <=
    // now, or delivering with a lease that ran out before `now` (leased_until < now), oldest due first
    // (next_attempt_at, then id). Each becomes "delivering" until now + lease with attempts + 1, and is
    // returned so. Two concurrent claims never return the same message.
    virtual Result<std::vector<OutboxMessage>> ClaimOutbox(TimePoint now, size_t max_items, Milliseconds lease) = 0;
    // → "delivered" (delivered_at and last_attempt_at = at, delivered_detail = detail, lease cleared),
    // from any state but delivered, whatever `attempt`. kConflict when already delivered or unknown.
    virtual Status MarkOutboxDelivered(int64_t id, int attempt, TimePoint at, const std::string& detail) = 0;
    // The current attempt failed: with retry_at "pending" again, due then; without it "failed" for
    // good. Sets last_attempt_at and last_error, clears the lease. kConflict unless the message is
    // delivering with attempts == attempt (an unknown id included).
    virtual Status MarkOutboxFailed(int64_t id, int attempt, TimePoint at, const std::string& error,
                                    std::optional<TimePoint> retry_at) = 0;
    // Gives back a claim that was not attempted: "pending" again (next_attempt_at unchanged, so due at
    // once), the attempt not counted, the lease cleared. kConflict unless delivering with attempts == attempt.
    virtual Status ReleaseOutbox(int64_t id, int attempt) = 0;
    // The earliest time a claim could return something: the smallest next_attempt_at of pending
    // messages and leased_until of delivering ones; empty when there is nothing to do.
    virtual Result<std::optional<TimePoint>> NextOutboxWake() = 0;
    virtual Result<OutboxMessage> FindOutbox(int64_t id) = 0;  // kNotFound
    // The incident's messages, oldest first (in the order they were written); none for an unknown id.
    virtual Result<std::vector<OutboxMessage>> IncidentOutbox(int64_t incident_id) = 0;
    // Every channel with messages pending or delivering, by channel name, with how many and the
    // earliest created_at among them (monitoring: a 119 report waiting is an emergency).
    virtual Result<std::vector<OutboxBacklog>> OutboxBacklogByChannel() = 0;
};

}  // namespace vg::store
