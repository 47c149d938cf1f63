#pragma once
// AccountStore: the accounts aggregate — users (the seed's User), their login sessions, their
// paired devices, and the rule profile each wearer uses. Used by auth (AccountService) and the api.
//
// One port of vg::store::Store (store.hpp); the rules written there hold for every method here:
// Durability: a call that returns OK happened entirely and durably (a crash or `kill -9` afterwards
// loses nothing); a call that returns an error changed nothing.
// Thread-safety: every method may be called concurrently from any thread; a read started after a
// write returned OK sees it.
// Errors: kNotFound when a looked-up row, or the user a new row belongs to, does not exist;
// kConflict when a unique key is taken; kUnavailable once the store is closed (with
// retry_after_seconds set) or when it cannot be reached; kInternal for anything else — also for a
// value outside the domain's limits (age 1-130, vg/domain/account.hpp): the domain validates first
// and the store is the last guard against a buggy caller, so such a row is never stored.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/account.hpp"

namespace vg::store {

// A new user row. unique_num is assigned by the store, created_at by the caller.
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

// A change of a user's profile (PATCH /api/me), applied in one transaction.
struct ProfileUpdate {
    int64_t user_unique_num = 0;
    // The whole new profile (validated by the caller). profile.id is ignored: a login id never changes.
    // Only the sign-up fields are written (name, age, address, detailed_address, phone_num, guard_name,
    // guard_phone_num, time_zone); columns other features add keep their values.
    domain::UserProfile profile;
    std::optional<TimePoint> address_confirmed_at;  // written when set; kept when nullopt
    // domain::PhoneKey of numbers whose verification of this user ends (their phone_codes rows are
    // deleted; the send log stays, so the daily limits still count): a changed number is unverified,
    // also when it was verified once before.
    std::vector<std::string> unverify_phones;
};

// One account as the operator's `vitalguard user list` shows it.
struct UserSummary {
    domain::User user;
    int64_t sessions = 0;                    // live (stored) sessions
    int64_t active_devices = 0;              // paired and not revoked
    std::optional<TimePoint> last_login_at;  // newest session's created_at, of the stored sessions
    std::optional<TimePoint> last_seen_at;   // newest session last_seen_at or device last_seen_at
};

// At most this many rows come back from ListSessions / ListUserSummaries per call.
inline constexpr int kMaxSessionRows = 100;

class AccountStore {
  public:
    virtual ~AccountStore() = default;

    // ---- users ----
    // Stores a new user and returns it: unique_num > 0, greater than every number given before and
    // never given again (not even after a restart), danger_degree 0, no posture, the rule profile
    // "adult-default" (domain::User's default). kConflict with the field error {"id", "is already taken"} when
    // profile.id is taken.
    virtual Result<domain::User> CreateUser(const NewUser& user) = 0;
    // kNotFound for an unknown id (ids are compared byte for byte; any bytes round-trip).
    virtual Result<domain::User> FindUserById(std::string_view id) = 0;
    virtual Result<domain::User> FindUserByUniqueNum(int64_t unique_num) = 0;  // kNotFound
    virtual Result<bool> UserIdExists(std::string_view id) = 0;

    // ---- sessions ----
    // kConflict when token_hash already exists (a 256-bit collision: a bug); kNotFound for an
    // unknown user.
    virtual Status CreateSession(const domain::Session& session) = 0;
    // The stored session, expired or not (the caller decides); kNotFound when there is none.
    virtual Result<domain::Session> FindSession(std::string_view token_hash) = 0;
    // Sets last_seen_at; kNotFound when the session is gone.
    virtual Status TouchSession(std::string_view token_hash, TimePoint last_seen_at) = 0;
    // kNotFound when the session is gone.
    virtual Status DeleteSession(std::string_view token_hash) = 0;
    // Deletes the sessions whose absolute expiry is <= now or whose last use is before idle_cutoff
    // (one seen exactly at idle_cutoff stays). Returns how many were deleted.
    virtual Result<int64_t> DeleteExpiredSessions(TimePoint now, TimePoint idle_cutoff) = 0;

    // ---- devices ----
    // Returns the device: device_id > 0 and never given again, not revoked, never seen.
    // kConflict when token_hash is taken; kNotFound for an unknown user.
    virtual Result<domain::Device> CreateDevice(const NewDevice& device) = 0;
    // Finds a device by token hash, revoked or not (the caller decides what revoked means).
    virtual Result<domain::Device> FindDeviceByTokenHash(std::string_view token_hash) = 0;
    // The user's devices, revoked ones included, newest first (created_at; a tie: the one created
    // later first). An unknown user has no devices: an empty list, not kNotFound.
    virtual Result<std::vector<domain::Device>> ListDevices(int64_t user_unique_num) = 0;
    // Sets revoked_at. One answer, kNotFound, when the device does not exist, belongs to another
    // user, or is already revoked (whose first revocation time stays): a caller must not learn which
    // devices other users have.
    virtual Status RevokeDevice(int64_t user_unique_num, int64_t device_id, TimePoint at) = 0;
    // Sets last_seen_at; kNotFound when the device does not exist.
    virtual Status TouchDevice(int64_t device_id, TimePoint last_seen_at) = 0;

    // ---- self-service and the operator (issues 15, 16) ----
    // Applies `update` and returns the user as stored afterwards. kNotFound for an unknown user;
    // kInternal for a value outside the domain's limits (nothing written).
    virtual Result<domain::User> UpdateUserProfile(const ProfileUpdate& update) = 0;
    // Sets address_confirmed_at. kNotFound for an unknown user.
    virtual Status SetAddressConfirmed(int64_t user_unique_num, TimePoint at) = 0;
    // The user's sessions, expired ones included, newest first (created_at; a tie: token_hash
    // ascending), at most `limit` (clamped to [1, kMaxSessionRows]). An unknown user: an empty list.
    virtual Result<std::vector<domain::Session>> ListSessions(int64_t user_unique_num, int limit) = 0;
    // Deletes every session of the user except the one whose hash is `keep_token_hash` ("" keeps
    // none) and returns the deleted sessions' hashes (their live streams are to be closed).
    virtual Result<std::vector<std::string>> DeleteSessionsExcept(int64_t user_unique_num,
                                                                  std::string_view keep_token_hash) = 0;
    // In one transaction: sets the password hash and deletes every session of the user except
    // `keep_token_hash` ("" keeps none). Returns the deleted hashes. kNotFound for an unknown user.
    virtual Result<std::vector<std::string>> SetPasswordHash(int64_t user_unique_num, std::string_view password_hash,
                                                             std::string_view keep_token_hash) = 0;
    // Locks the user (locked_at = *at, locked_reason = reason) and deletes all their sessions in one
    // transaction, or with at == nullopt unlocks (locked_at NULL, reason ""; sessions untouched).
    // Locking a locked user replaces time and reason. Returns the deleted hashes. kNotFound.
    virtual Result<std::vector<std::string>> SetUserLock(int64_t user_unique_num, std::optional<TimePoint> at,
                                                         std::string_view reason) = 0;
    // Users with unique_num > after, in unique_num order, at most `limit` (clamped to
    // [1, kMaxSessionRows]): a page of the operator's list.
    virtual Result<std::vector<UserSummary>> ListUserSummaries(int64_t after, int limit) = 0;

    // ---- rule profile ----
    // Selects the wearer's rule profile (by name; the caller checks that it exists). kNotFound for no user.
    virtual Status SetRuleProfile(int64_t user_unique_num, std::string_view profile) = 0;

    // ---- guardian e-mail ----
    // In one transaction: sets profile.guard_email ("" removes it; the caller validates and normalises
    // it first, see domain::CheckEmailAddress) and, when `unverify_key` is not empty, deletes the user's
    // PhoneVerificationStore row under that key (the send log stays, so the daily limits still count):
    // the caller passes the old address's key, so a changed address is unverified, also when it comes
    // back later. kNotFound for no user (nothing written).
    virtual Status SetGuardEmail(int64_t user_unique_num, std::string_view guard_email,
                                 std::string_view unverify_key) = 0;
};

}  // namespace vg::store
