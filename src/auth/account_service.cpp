#include "vg/auth/account_service.hpp"

#include <algorithm>

namespace vg::auth {
namespace {

constexpr const char* kBadCredentials = "The id or password is incorrect.";

std::string WaitText(int seconds) {
    if (seconds < 120) return std::to_string(seconds) + (seconds == 1 ? " second" : " seconds");
    const int minutes = (seconds + 59) / 60;
    return std::to_string(minutes) + " minutes";
}

Status LoginRefused(const LoginThrottle::Decision& d) {
    std::string why;
    switch (d.why) {
        case LoginThrottle::Refusal::kPair:
            why = "Too many failed login attempts for this id from your address.";
            break;
        case LoginThrottle::Refusal::kAddress:
            why = "Too many failed login attempts from your address.";
            break;
        case LoginThrottle::Refusal::kId:
            why = "Too many failed login attempts for this id.";
            break;
        default:
            why = "Too many login attempts right now.";
            break;
    }
    Status s =
        Status::Error(ErrorCode::kRateLimited, why + " Please try again in " + WaitText(d.retry_after_seconds) + ".");
    s.WithRetryAfter(d.retry_after_seconds);
    return s;
}

Status AccountLocked() {
    return Status::Error(ErrorCode::kAccountLocked, "This account is locked. Contact the service operator.");
}

LoginThrottleOptions ThrottleOptions(const AccountOptions& o) {
    LoginThrottleOptions t;
    t.free_failures_per_pair = o.free_failed_logins_per_pair;
    t.first_delay = o.first_login_delay;
    t.max_delay = o.max_login_delay;
    t.max_failures_per_address = o.max_failed_logins_per_address;
    t.max_failures_per_id = o.max_failed_logins_per_id;
    t.ceiling_interval = o.id_ceiling_interval;
    t.window = o.failed_login_window;
    return t;
}

}  // namespace

AccountService::AccountService(store::Store& store, const Clock& clock, AccountOptions options,
                               std::shared_ptr<RateLimits> rate_limits)
    : store_(store),
      clock_(clock),
      options_(options),
      hasher_(options.password_cost),
      rate_limits_(rate_limits ? std::move(rate_limits) : InProcessRateLimits()),
      login_throttle_(rate_limits_->LoginThrottle("login", clock, ThrottleOptions(options))),
      signups_by_address_(rate_limits_->SlidingWindow(
          "signup_address", clock, {options.max_signups_per_address, options.signup_window, 100'000})),
      account_changes_(rate_limits_->SlidingWindow(
          "account_changes", clock,
          {std::max(1, options.max_account_changes_per_hour), options.account_change_window, 100'000})) {}

Result<domain::User> AccountService::Signup(const domain::SignupInput& input) {
    std::vector<FieldError> problems = domain::ValidateSignup(input);
    if (!problems.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "Some fields need to be corrected.", std::move(problems));
    }
    auto hash = hasher_.Hash(input.password);
    if (!hash.ok()) return hash.status();
    store::NewUser row{input.profile, std::move(hash).value(), clock_.Now()};
    return store_.CreateUser(row);
}

Result<domain::User> AccountService::Signup(const domain::SignupInput& input, const ClientInfo& client) {
    if (options_.max_signups_per_address <= 0) return Signup(input);
    if (!domain::ValidateSignup(input).empty()) return Signup(input);  // its field errors; nothing counted
    // Reserved before the ~90 ms hash, so parallel sign-ups cannot all pass; given back unless created.
    if (int wait = signups_by_address_->TryAcquire(client.address)) {
        Status s = Status::Error(ErrorCode::kRateLimited, "Too many accounts were created from your address (at most " +
                                                              std::to_string(options_.max_signups_per_address) +
                                                              " an hour). Please try again in " + WaitText(wait) + ".");
        s.WithRetryAfter(wait);
        return s;
    }
    auto user = Signup(input);
    if (!user.ok()) signups_by_address_->Release(client.address);
    return user;
}

Result<bool> AccountService::IsIdAvailable(std::string_view id) {
    if (auto problem = domain::CheckUserId(id)) {
        return Status::Error(ErrorCode::kValidationFailed, "The id is not valid.", {{"id", *problem}});
    }
    auto exists = store_.UserIdExists(id);
    if (!exists.ok()) return exists.status();
    return !*exists;
}

Result<LoginResult> AccountService::Login(std::string_view id, std::string_view password, const ClientInfo& client) {
    if (id.empty() || password.empty()) {
        std::vector<FieldError> fields;
        if (id.empty()) fields.push_back({"id", "is required"});
        if (password.empty()) fields.push_back({"password", "is required"});
        return Status::Error(ErrorCode::kValidationFailed, "Please enter your id and password.", std::move(fields));
    }
    // Checked and counted in one step before the hash: parallel attempts cannot all pass the check.
    const LoginThrottle::Decision admitted = login_throttle_->Begin(id, client.address);
    if (!admitted.admitted()) return LoginRefused(admitted);

    auto user = store_.FindUserById(id);
    bool password_ok = false;
    if (user.ok()) {
        password_ok = hasher_.Verify(user->password_hash, password);
    } else if (user.status().code() == ErrorCode::kNotFound) {
        hasher_.VerifyDummy(password);
    } else {
        return user.status();
    }
    if (!password_ok) return Status::Error(ErrorCode::kInvalidCredentials, kBadCredentials);  // stays counted
    login_throttle_->Succeeded(id, client.address);
    // Checked after the password: only someone who knows it learns that the account is locked.
    if (user->locked_at) return AccountLocked();

    const TimePoint now = clock_.Now();
    LoginResult result;
    result.token = RandomToken();
    result.session.token_hash = HashToken(result.token);
    result.session.user_unique_num = user->unique_num;
    result.session.csrf_token = RandomToken();
    result.session.created_at = now;
    result.session.last_seen_at = now;
    result.session.expires_at = now + options_.session_ttl;
    result.session.client_address = client.address;
    result.session.user_agent = client.user_agent.substr(0, 512);
    VG_RETURN_IF_ERROR(store_.CreateSession(result.session));
    result.user = std::move(user).value();
    return result;
}

Result<AuthContext> AccountService::Authenticate(std::string_view session_token) {
    return *AuthenticateSession(session_token, /*may_write=*/true, /*use_cache=*/false);
}

std::optional<Result<AuthContext>> AccountService::TryAuthenticateWithoutWriting(std::string_view session_token) {
    return AuthenticateSession(session_token, /*may_write=*/false, /*use_cache=*/false);
}

std::optional<Result<AuthContext>> AccountService::TryAuthenticateCached(std::string_view session_token,
                                                                         bool read_store) {
    return AuthenticateSession(session_token, /*may_write=*/false, /*use_cache=*/true, read_store);
}

std::optional<Result<AuthContext>> AccountService::AuthenticateSession(std::string_view session_token, bool may_write,
                                                                       bool use_cache, bool read_store) {
    if (session_token.empty()) return Status::Error(ErrorCode::kUnauthenticated, "Please log in.");
    const std::string token_hash = HashToken(session_token);
    const TimePoint now = clock_.Now();
    if (use_cache) {
        if (std::optional<AuthContext> copy = sessions_cache_.Find(token_hash, now)) {
            // The same rules as below, on the copy; whatever would write goes to Authenticate.
            const domain::Session& s = copy->session;
            const bool expired = s.expires_at <= now || s.last_seen_at + options_.idle_timeout <= now;
            if (!expired && now - s.last_seen_at < options_.touch_interval && !copy->user.locked_at) {
                return std::move(*copy);
            }
            return std::nullopt;
        }
        if (!read_store) return std::nullopt;
    }
    const uint64_t generation = sessions_cache_.generation();
    auto session = store_.FindSession(token_hash);
    if (!session.ok()) {
        if (session.status().code() == ErrorCode::kNotFound) {
            return Status::Error(ErrorCode::kUnauthenticated, "Your session is not valid. Please log in.");
        }
        return session.status();
    }
    if (session->expires_at <= now || session->last_seen_at + options_.idle_timeout <= now) {
        if (!may_write) return std::nullopt;
        Status deleted = store_.DeleteSession(token_hash);
        (void)deleted;  // already gone is fine; the answer is the same
        return Status::Error(ErrorCode::kSessionExpired, "Your session has expired. Please log in again.");
    }
    if (now - session->last_seen_at >= options_.touch_interval) {
        if (!may_write) return std::nullopt;
        Status touched = store_.TouchSession(token_hash, now);
        if (!touched.ok() && touched.code() != ErrorCode::kNotFound) return touched;
        session.value().last_seen_at = now;
    }
    auto user = store_.FindUserByUniqueNum(session->user_unique_num);
    if (!user.ok()) {
        if (user.status().code() == ErrorCode::kNotFound) {
            return Status::Error(ErrorCode::kUnauthenticated, "Your account no longer exists.");
        }
        return user.status();
    }
    // Locking deletes the account's sessions; one a login created while the lock was written ends here.
    if (user->locked_at) {
        if (!may_write) return std::nullopt;
        (void)store_.DeleteSession(token_hash);
        return Status::Error(ErrorCode::kUnauthenticated, "This account is locked. Contact the service operator.");
    }
    AuthContext context{std::move(user).value(), std::move(session).value()};
    sessions_cache_.Put(token_hash, context, now, generation);
    return context;
}

void AccountService::ForgetCredentials() {
    sessions_cache_.Clear();
    devices_cache_.Clear();
}

Result<TimePoint> AccountService::SessionEndsAt(std::string_view token_hash) {
    auto session = store_.FindSession(token_hash);
    if (!session.ok()) {
        if (session.status().code() == ErrorCode::kNotFound) {
            return Status::Error(ErrorCode::kUnauthenticated, "Your session has ended. Please log in again.");
        }
        return session.status();
    }
    auto user = store_.FindUserByUniqueNum(session->user_unique_num);
    if (!user.ok() && user.status().code() != ErrorCode::kNotFound) return user.status();
    if (!user.ok() || user->locked_at) {
        return Status::Error(ErrorCode::kUnauthenticated, "Your session has ended. Please log in again.");
    }
    return std::min(session->expires_at, session->last_seen_at + options_.idle_timeout);
}

Status AccountService::Logout(std::string_view session_token) {
    if (session_token.empty()) return Status::Error(ErrorCode::kUnauthenticated, "You are not logged in.");
    Status s = store_.DeleteSession(HashToken(session_token));
    ForgetCredentials();
    if (s.code() == ErrorCode::kNotFound) return Status::Error(ErrorCode::kUnauthenticated, "You are not logged in.");
    return s;
}

Result<int64_t> AccountService::PurgeExpiredSessions() {
    const TimePoint now = clock_.Now();
    return store_.DeleteExpiredSessions(now, now - options_.idle_timeout);
}

Result<PairedDevice> AccountService::PairDevice(int64_t user_unique_num, std::string_view name) {
    if (auto problem = domain::CheckDeviceName(name)) {
        return Status::Error(ErrorCode::kValidationFailed, "The device name is not valid.", {{"name", *problem}});
    }
    PairedDevice paired;
    paired.token = RandomToken();
    store::NewDevice row{user_unique_num, std::string(name), HashToken(paired.token), clock_.Now()};
    auto device = store_.CreateDevice(row);
    if (!device.ok()) return device.status();
    paired.device = std::move(device).value();
    return paired;
}

Result<std::vector<domain::Device>> AccountService::ListDevices(int64_t user_unique_num) {
    return store_.ListDevices(user_unique_num);
}

Status AccountService::RevokeDevice(int64_t user_unique_num, int64_t device_id) {
    Status revoked = store_.RevokeDevice(user_unique_num, device_id, clock_.Now());
    ForgetCredentials();
    return revoked;
}

Result<domain::Device> AccountService::AuthenticateDevice(std::string_view device_token) {
    return *AuthenticateDeviceToken(device_token, /*may_write=*/true, /*use_cache=*/false);
}

std::optional<Result<domain::Device>> AccountService::TryAuthenticateDeviceCached(std::string_view device_token,
                                                                                  bool read_store) {
    return AuthenticateDeviceToken(device_token, /*may_write=*/false, /*use_cache=*/true, read_store);
}

std::optional<Result<domain::Device>> AccountService::AuthenticateDeviceToken(std::string_view device_token,
                                                                              bool may_write, bool use_cache,
                                                                              bool read_store) {
    if (device_token.empty()) return Status::Error(ErrorCode::kUnauthenticated, "A device token is required.");
    const std::string token_hash = HashToken(device_token);
    const TimePoint now = clock_.Now();
    auto touch_due = [&](const domain::Device& d) {
        return !d.last_seen_at || now - *d.last_seen_at >= options_.touch_interval;
    };
    if (use_cache) {
        if (std::optional<domain::Device> copy = devices_cache_.Find(token_hash, now)) {
            if (copy->revoked_at || touch_due(*copy)) return std::nullopt;
            return std::move(*copy);
        }
        if (!read_store) return std::nullopt;
    }
    const uint64_t generation = devices_cache_.generation();
    auto device = store_.FindDeviceByTokenHash(token_hash);
    if (!device.ok()) {
        if (device.status().code() == ErrorCode::kNotFound) {
            return Status::Error(ErrorCode::kUnauthenticated, "The device token is not valid.");
        }
        return device.status();
    }
    if (device->revoked_at) {
        return Status::Error(ErrorCode::kUnauthenticated, "This device was unpaired. Please pair it again.");
    }
    if (touch_due(*device)) {
        if (!may_write) return std::nullopt;
        Status touched = store_.TouchDevice(device->device_id, now);
        if (!touched.ok() && touched.code() != ErrorCode::kNotFound) return touched;
        device.value().last_seen_at = now;
    }
    devices_cache_.Put(token_hash, *device, now, generation);
    return device;
}

}  // namespace vg::auth
