#pragma once
// AccountService: sign-up, login/logout, session authentication and device
// pairing — the account rules of VitalGuard, independent of HTTP.
//
// Sessions: a login creates a random 256-bit token (returned once, kept only
// as a hash) with a CSRF token, an absolute expiry (session_ttl) and an idle
// expiry (idle_timeout since last use). Authenticate() refreshes last use at
// most once per touch_interval so that reads do not each cost a write;
// TryAuthenticateWithoutWriting never writes, for callers that must not wait on a
// commit (an HTTP io thread), and says when Authenticate is needed instead.
// Failed logins slow down per (login id, client address) pair, are limited per
// address, and have a per-id ceiling that never locks the owner out of an
// address that has not failed (LoginThrottle; src/auth/README.md). A limited
// login is refused before any password work is done, and every attempt is
// counted before its hash runs, so parallel attempts get no extra guesses.
// Sign-ups are limited per client address (accounts created per hour).
// Devices: a paired watch gets its own random token for posting data; it can be
// revoked by its owner.
//
// Hot paths authenticate from short-lived copies (TryAuthenticateCached, TryAuthenticateDeviceCached;
// CredentialCache) instead of reading the store on every request.
//
// The limiters come from a RateLimits (rate_limits.hpp): in this process by default, or shared by the
// api servers of a deployment (the app's Redis adapter), under the names "login", "signup_address" and
// "account_changes".
//
// Thread-safety: all methods may be called concurrently (the Store, the limiters and the copies are
// thread-safe).
// Ownership: borrows the Store and the Clock; both must outlive the service. Shares the RateLimits.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/auth/credential_cache.hpp"
#include "vg/auth/crypto.hpp"
#include "vg/auth/login_throttle.hpp"
#include "vg/auth/rate_limiter.hpp"
#include "vg/auth/rate_limits.hpp"
#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/account.hpp"
#include "vg/store/store.hpp"

namespace vg::auth {

struct AccountOptions {
    std::chrono::milliseconds session_ttl{12 * 60 * 60 * 1000};  // absolute session lifetime
    std::chrono::milliseconds idle_timeout{30 * 60 * 1000};      // ends a session unused this long
    std::chrono::milliseconds touch_interval{60 * 1000};         // how stale last_seen may get
    // Failed logins (LoginThrottle's rules, src/auth/README.md "Failed logins").
    int free_failed_logins_per_pair = 3;                       // per (id, address) before delays start
    std::chrono::milliseconds first_login_delay{1000};         // then 1 s, 2 s, 4 s, ...
    std::chrono::milliseconds max_login_delay{5 * 60 * 1000};  // ... up to this
    int max_failed_logins_per_id = 10;                         // the per-id ceiling, across addresses
    std::chrono::milliseconds id_ceiling_interval{5000};       // over it: one turn per interval for fresh addresses
    int max_failed_logins_per_address = 20;                    // across ids
    std::chrono::milliseconds failed_login_window{15 * 60 * 1000};
    // Accounts created from one client address within signup_window; 0: no limit.
    int max_signups_per_address = 5;
    std::chrono::milliseconds signup_window{60 * 60 * 1000};
    PasswordHashCost password_cost = PasswordHashCost::Interactive();
    // Password and profile changes per account within account_change_window (attempts, right or wrong:
    // each costs an Argon2id hash, and a stolen session must not get unlimited guesses); 0: no limit.
    int max_account_changes_per_hour = 10;
    std::chrono::milliseconds account_change_window{60 * 60 * 1000};
    // How long the hot paths (TryAuthenticateCached, TryAuthenticateDeviceCached) may use a copy of a
    // session with its user, or of a device, instead of reading the store; 0 turns the copies off. A
    // session or device ended by this service ends at once; one ended by another process (`vitalguard
    // user lock`) at most this long later.
    std::chrono::milliseconds credential_cache_ttl{1000};
    size_t credential_cache_entries = 100'000;  // per kind (sessions, devices)
};

// PATCH /api/me: the fields to change (nullopt: keep). Validated exactly as at sign-up.
struct ProfileChanges {
    std::optional<std::string> name;
    std::optional<int> age;
    std::optional<std::string> address;
    std::optional<std::string> detailed_address;
    std::optional<std::string> phone_num;
    std::optional<std::string> guard_name;
    std::optional<std::string> guard_phone_num;
    std::optional<std::string> time_zone;  // an IANA zone (tz::CheckTimeZone)
};

// Sessions ended by a change (their token hashes: their live streams are to be closed).
using EndedSessions = std::vector<std::string>;

struct ClientInfo {
    std::string address;     // the client's IP address as text
    std::string user_agent;  // may be empty
};

struct LoginResult {
    domain::User user;
    domain::Session session;
    std::string token;  // the bearer token; the only time it exists outside the client
};

struct AuthContext {
    domain::User user;
    domain::Session session;
};

struct PairedDevice {
    domain::Device device;
    std::string token;  // shown once
};

class AccountService {
  public:
    // `rate_limits`: where the limiters come from; null: InProcessRateLimits().
    AccountService(store::Store& store, const Clock& clock, AccountOptions options,
                   std::shared_ptr<RateLimits> rate_limits = nullptr);

    // kValidationFailed with every offending field; kConflict (field "id") when the id is taken;
    // kRateLimited (with retry-after) when `client`'s address has created max_signups_per_address
    // accounts within signup_window (checked and counted before the password is hashed; only accounts
    // actually created count).
    Result<domain::User> Signup(const domain::SignupInput& input, const ClientInfo& client);
    // The same without the per-address limit, for trusted callers (tools, tests, benchmarks).
    Result<domain::User> Signup(const domain::SignupInput& input);
    // Whether `id` is free to sign up with. kValidationFailed (field "id") when it is not a valid id.
    Result<bool> IsIdAvailable(std::string_view id);

    // kRateLimited (with retry-after) when LoginThrottle refuses the attempt (this pair must wait, this
    // address failed too often, or the id is over its ceiling and this address must wait its turn);
    // kInvalidCredentials for a wrong id or password (the same answer for both, by design).
    Result<LoginResult> Login(std::string_view id, std::string_view password, const ClientInfo& client);
    // kUnauthenticated for an unknown token; kSessionExpired when it ran out (and it is deleted).
    Result<AuthContext> Authenticate(std::string_view session_token);
    // Authenticate's answer when it can be given without writing to the store (reads only); nullopt
    // when it cannot: the session's last use is due to be refreshed (once per touch_interval), or it
    // has expired and is to be deleted. Then call Authenticate, on a thread that may wait on a commit.
    std::optional<Result<AuthContext>> TryAuthenticateWithoutWriting(std::string_view session_token);
    // TryAuthenticateWithoutWriting's answer from a copy of the session and its user read at most
    // credential_cache_ttl ago, when there is one: no store read at all. For hot paths whose handlers use
    // only who the caller is (update_status, get_status), since the user's details in the copy may be
    // that old. Every successful authentication (this, Authenticate, TryAuthenticateWithoutWriting)
    // refreshes the copy; whatever ends sessions or changes an account here drops the copies.
    // With read_store false (an io thread): nullopt as well when there is no fresh copy.
    std::optional<Result<AuthContext>> TryAuthenticateCached(std::string_view session_token, bool read_store = true);
    // When the session whose token hashes to `token_hash` (HashToken) ends if it is not used again: the
    // earlier of its absolute expiry and its idle end. Reads only. kUnauthenticated when it no longer
    // exists (logged out, purged). For live streams, which must end with their session.
    Result<TimePoint> SessionEndsAt(std::string_view token_hash);
    // Ends the session. kUnauthenticated when it does not exist.
    Status Logout(std::string_view session_token);
    // Deletes every expired session; returns how many.
    Result<int64_t> PurgeExpiredSessions();

    // ---- self-service (issues 15, 16) ----
    // Re-authentication for a sensitive change by a signed-in user: kInvalidCredentials (the login's
    // answer) for a wrong password, kRateLimited by the login's throttle (keyed on the account's login
    // id and the client address) or by the per-account change limit (max_account_changes_per_hour,
    // counted before the hash, the message naming the limit).
    Status CheckCurrentPassword(const domain::User& user, std::string_view password, const ClientInfo& client);
    // Changes the password after CheckCurrentPassword; the new one is validated as at sign-up (field
    // "new_password"). Every other session of the account ends (`keep_token_hash` stays). Returns them.
    Result<EndedSessions> ChangePassword(const AuthContext& auth, std::string_view current_password,
                                         std::string_view new_password, const ClientInfo& client);
    // Validates `changes` (every problem, fields named as in the request; nothing is checked against the
    // password or written when one is bad), then CheckCurrentPassword, then writes them in one step. A
    // changed phone number is unverified (also when it was verified once before); a changed address or
    // detailed_address sets address_confirmed_at to now. `changed` receives the names of the fields whose
    // value changed. Returns the user as stored.
    Result<domain::User> UpdateProfile(const AuthContext& auth, const ProfileChanges& changes,
                                       std::string_view current_password, const ClientInfo& client,
                                       std::vector<std::string>* changed = nullptr);
    // The wearer confirms the address; returns the user as stored.
    Result<domain::User> ConfirmAddress(int64_t user_unique_num);
    // The user's sessions, newest first, at most store::kMaxSessionRows.
    Result<std::vector<domain::Session>> ListSessions(int64_t user_unique_num);
    // The id a session is shown and ended by: 16 hex of SHA-256("session-id:" + token_hash). Not the
    // token hash, which authenticates the session in the store's lookups.
    static std::string PublicSessionId(std::string_view token_hash);
    // Ends the user's session with this public id and returns its token hash; kNotFound for any other
    // id (another user's included: the same answer).
    Result<std::string> EndSession(int64_t user_unique_num, std::string_view public_id);
    // Ends every session of the user except `keep_token_hash`.
    Result<EndedSessions> EndOtherSessions(int64_t user_unique_num, std::string_view keep_token_hash);

    // ---- the operator (`vitalguard user`) ----
    // Locks the account: login answers kAccountLocked, every session ends. Paired devices keep working.
    Result<EndedSessions> LockUser(int64_t user_unique_num, std::string_view reason);
    Status UnlockUser(int64_t user_unique_num);
    // Sets a new password (validated as at sign-up, field "password") and ends every session.
    Result<EndedSessions> ResetPassword(int64_t user_unique_num, std::string_view new_password);

    // kValidationFailed (field "name") for a bad device name.
    Result<PairedDevice> PairDevice(int64_t user_unique_num, std::string_view name);
    Result<std::vector<domain::Device>> ListDevices(int64_t user_unique_num);
    // kNotFound when it is not this user's active device.
    Status RevokeDevice(int64_t user_unique_num, int64_t device_id);
    // kUnauthenticated for an unknown or revoked device token.
    Result<domain::Device> AuthenticateDevice(std::string_view device_token);
    // AuthenticateDevice's answer from a copy read at most credential_cache_ttl ago (no store read), or
    // from the store when it needs no write; nullopt when its last use is due to be written (then call
    // AuthenticateDevice, on a thread that may wait on a commit).
    std::optional<Result<domain::Device>> TryAuthenticateDeviceCached(std::string_view device_token,
                                                                      bool read_store = true);

    const AccountOptions& options() const { return options_; }

  private:
    // Authenticate, or with may_write false nullopt where it would write; with use_cache, from the
    // copy when there is a fresh one.
    std::optional<Result<AuthContext>> AuthenticateSession(std::string_view session_token, bool may_write,
                                                           bool use_cache, bool read_store = true);
    // AuthenticateDevice, or its Try variant (see AuthenticateSession).
    std::optional<Result<domain::Device>> AuthenticateDeviceToken(std::string_view device_token, bool may_write,
                                                                  bool use_cache, bool read_store = true);
    // After a change that may end a session or a device, or change an account: no copy is used again.
    void ForgetCredentials();

    store::Store& store_;
    const Clock& clock_;
    const AccountOptions options_;
    PasswordHasher hasher_;
    const std::shared_ptr<RateLimits> rate_limits_;
    const std::unique_ptr<LoginThrottle> login_throttle_;             // "login"
    const std::unique_ptr<SlidingWindowLimiter> signups_by_address_;  // "signup_address"
    // "account_changes": per account (unique_num), password and profile changes
    const std::unique_ptr<SlidingWindowLimiter> account_changes_;
    CredentialCache<AuthContext> sessions_cache_{options_.credential_cache_ttl, options_.credential_cache_entries};
    CredentialCache<domain::Device> devices_cache_{options_.credential_cache_ttl, options_.credential_cache_entries};
};

}  // namespace vg::auth
