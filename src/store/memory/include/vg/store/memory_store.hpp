#pragma once
// MemoryStore: every port of vg::store::Store (store.hpp) in memory, for logic tests and for
// embedding without a database. Same observable behaviour as SqliteStore — ids, kConflict and
// kNotFound cases, orders and tie-breaks, the outbox's leases and fencing, value limits — checked by
// running the same conformance suite (store/conformance).
//
// Durability: none beyond the object's life; "durable on OK" means visible to every later call.
// Every call is still all or nothing: it validates everything before it changes anything.
//
// Thread-safety: every method may be called concurrently from any thread (one mutex around the whole
// state; a call never runs a caller's function while holding it). Close() may race with other calls;
// those either complete normally or return kUnavailable. The MemoryStore must outlive every call into it.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/store/store.hpp"

namespace vg::store {

class MemoryStore final : public Store {
  public:
    MemoryStore();
    ~MemoryStore() override;
    MemoryStore(const MemoryStore&) = delete;
    MemoryStore& operator=(const MemoryStore&) = delete;

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
    // OK until Close().
    Status CheckHealth() override;
    // Waits for the call in progress (if any), then refuses every call with kUnavailable and frees the
    // data. Idempotent.
    void Close() override;

  private:
    struct Tables;  // every aggregate's rows (memory_store.cpp)

    // Runs fn(tables) under mu_, or returns kUnavailable once closed.
    template <typename F>
    auto Locked(F&& fn) -> decltype(fn(std::declval<Tables&>()));

    std::mutex mu_;
    std::unique_ptr<Tables> tables_;  // GUARDED_BY(mu_); null once closed
};

}  // namespace vg::store
