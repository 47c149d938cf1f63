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

    // ---- rule profile ----
    // Selects the wearer's rule profile (by name; the caller checks that it exists). kNotFound for no user.
    virtual Status SetRuleProfile(int64_t user_unique_num, std::string_view profile) = 0;
};

}  // namespace vg::store
