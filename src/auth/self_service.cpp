// AccountService's self-service and operator methods (issues 15, 16): re-authenticated password and
// profile changes, the list of one's sessions, ending them, and the operator's lock / unlock / reset.
#include <algorithm>

#include "vg/auth/account_service.hpp"

namespace vg::auth {
namespace {

// A password that passes CheckPassword for any id, so that ValidateSignup judges only the profile.
constexpr std::string_view kProfileOnlyPassword = "profile-only validation 7f3a";

std::string WaitMinutes(int seconds) {
    if (seconds < 120) return std::to_string(seconds) + (seconds == 1 ? " second" : " seconds");
    return std::to_string((seconds + 59) / 60) + " minutes";
}

// The sign-up rules on a whole profile, every field but id and password.
std::vector<FieldError> ValidateProfile(const domain::UserProfile& profile) {
    domain::SignupInput input{profile, std::string(kProfileOnlyPassword)};
    std::vector<FieldError> problems = domain::ValidateSignup(input);
    std::erase_if(problems, [](const FieldError& f) { return f.field == "id" || f.field == "password"; });
    return problems;
}

}  // namespace

Status AccountService::CheckCurrentPassword(const domain::User& user, std::string_view password,
                                            const ClientInfo& client) {
    if (password.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "Please enter your current password.",
                             {{"current_password", "is required"}});
    }
    if (options_.max_account_changes_per_hour > 0) {
        if (int wait = account_changes_->TryAcquire(std::to_string(user.unique_num))) {
            Status s = Status::Error(ErrorCode::kRateLimited,
                                     "Too many password and profile changes for this account (at most " +
                                         std::to_string(options_.max_account_changes_per_hour) +
                                         " an hour). Please try again in " + WaitMinutes(wait) + ".");
            s.WithRetryAfter(wait);
            return s;
        }
    }
    // The login's throttle, on the account's login id: a stolen session guesses no faster than a login.
    const LoginThrottle::Decision admitted = login_throttle_->Begin(user.profile.id, client.address);
    if (!admitted.admitted()) {
        Status s =
            Status::Error(ErrorCode::kRateLimited, "Too many wrong passwords for this account. Please try again in " +
                                                       WaitMinutes(admitted.retry_after_seconds) + ".");
        s.WithRetryAfter(admitted.retry_after_seconds);
        return s;
    }
    if (!hasher_.Verify(user.password_hash, password)) {
        // The login's answer for a wrong password (401), counted as a failed login.
        return Status::Error(ErrorCode::kInvalidCredentials, "The current password is incorrect.",
                             {{"current_password", "is incorrect"}});
    }
    login_throttle_->Succeeded(user.profile.id, client.address);
    return Status::Ok();
}

Result<EndedSessions> AccountService::ChangePassword(const AuthContext& auth, std::string_view current_password,
                                                     std::string_view new_password, const ClientInfo& client) {
    if (auto problem = domain::CheckPassword(new_password, auth.user.profile.id)) {
        return Status::Error(ErrorCode::kValidationFailed, "The new password is not valid.",
                             {{"new_password", *problem}});
    }
    VG_RETURN_IF_ERROR(CheckCurrentPassword(auth.user, current_password, client));
    auto hash = hasher_.Hash(new_password);
    if (!hash.ok()) return hash.status();
    auto ended = store_.SetPasswordHash(auth.user.unique_num, *hash, auth.session.token_hash);
    ForgetCredentials();
    return ended;
}

Result<domain::User> AccountService::UpdateProfile(const AuthContext& auth, const ProfileChanges& changes,
                                                   std::string_view current_password, const ClientInfo& client,
                                                   std::vector<std::string>* changed) {
    const domain::UserProfile& old = auth.user.profile;
    domain::UserProfile next = old;
    if (changes.name) next.name = *changes.name;
    if (changes.age) next.age = *changes.age;
    if (changes.address) next.address = *changes.address;
    if (changes.detailed_address) next.detailed_address = *changes.detailed_address;
    if (changes.phone_num) next.phone_num = *changes.phone_num;
    if (changes.guard_name) next.guard_name = *changes.guard_name;
    if (changes.guard_phone_num) next.guard_phone_num = *changes.guard_phone_num;
    if (changes.time_zone) next.time_zone = *changes.time_zone;
    if (auto problems = ValidateProfile(next); !problems.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "Some fields need to be corrected.", std::move(problems));
    }
    VG_RETURN_IF_ERROR(CheckCurrentPassword(auth.user, current_password, client));

    store::ProfileUpdate update;
    update.user_unique_num = auth.user.unique_num;
    update.profile = next;
    std::vector<std::string> names;
    if (next.name != old.name) names.push_back("name");
    if (next.age != old.age) names.push_back("age");
    if (next.address != old.address) names.push_back("address");
    if (next.detailed_address != old.detailed_address) names.push_back("detailed_address");
    if (next.phone_num != old.phone_num) names.push_back("phone_num");
    if (next.guard_name != old.guard_name) names.push_back("guard_name");
    if (next.guard_phone_num != old.guard_phone_num) names.push_back("guard_phone_num");
    if (next.time_zone != old.time_zone) names.push_back("time_zone");
    if (next.address != old.address || next.detailed_address != old.detailed_address) {
        update.address_confirmed_at = clock_.Now();  // the wearer just told us where they live
    }
    // Verification is per (account, number): a changed number's old and new keys both lose theirs, so
    // a number the account verified once and now takes again is asked again (its owner may have
    // changed), and an unchanged number keeps its verification.
    const std::string keep_own = domain::PhoneKey(next.phone_num);
    const std::string keep_guard = domain::PhoneKey(next.guard_phone_num);
    auto unverify = [&](const std::string& before, const std::string& after, const std::string& other_kept) {
        const std::string a = domain::PhoneKey(before);
        const std::string b = domain::PhoneKey(after);
        if (a == b) return;  // the same number, written differently: still verified
        for (const std::string& key : {a, b}) {
            if (!key.empty() && key != other_kept) update.unverify_phones.push_back(key);
        }
    };
    const bool own_changed = keep_own != domain::PhoneKey(old.phone_num);
    const bool guard_changed = keep_guard != domain::PhoneKey(old.guard_phone_num);
    unverify(old.phone_num, next.phone_num, guard_changed ? std::string() : keep_guard);
    unverify(old.guard_phone_num, next.guard_phone_num, own_changed ? std::string() : keep_own);

    auto stored = store_.UpdateUserProfile(update);
    ForgetCredentials();
    if (stored.ok() && changed != nullptr) *changed = std::move(names);
    return stored;
}

Result<domain::User> AccountService::ConfirmAddress(int64_t user_unique_num) {
    VG_RETURN_IF_ERROR(store_.SetAddressConfirmed(user_unique_num, clock_.Now()));
    ForgetCredentials();
    return store_.FindUserByUniqueNum(user_unique_num);
}

Result<std::vector<domain::Session>> AccountService::ListSessions(int64_t user_unique_num) {
    return store_.ListSessions(user_unique_num, store::kMaxSessionRows);
}

std::string AccountService::PublicSessionId(std::string_view token_hash) {
    return HashToken("session-id:" + std::string(token_hash)).substr(0, 16);
}

Result<std::string> AccountService::EndSession(int64_t user_unique_num, std::string_view public_id) {
    auto not_found = [] { return Status::Error(ErrorCode::kNotFound, "You have no session with this id."); };
    if (public_id.size() != 16) return not_found();
    auto sessions = store_.ListSessions(user_unique_num, store::kMaxSessionRows);
    if (!sessions.ok()) return sessions.status();
    for (const domain::Session& s : *sessions) {
        if (!SecretsEqual(PublicSessionId(s.token_hash), public_id)) continue;
        Status deleted = store_.DeleteSession(s.token_hash);
        ForgetCredentials();
        if (deleted.code() == ErrorCode::kNotFound) return not_found();  // ended meanwhile
        if (!deleted.ok()) return deleted;
        return s.token_hash;
    }
    return not_found();
}

Result<EndedSessions> AccountService::EndOtherSessions(int64_t user_unique_num, std::string_view keep_token_hash) {
    auto ended = store_.DeleteSessionsExcept(user_unique_num, keep_token_hash);
    ForgetCredentials();
    return ended;
}

Result<EndedSessions> AccountService::LockUser(int64_t user_unique_num, std::string_view reason) {
    if (auto problem = domain::CheckAddress(reason, /*required=*/false)) {
        return Status::Error(ErrorCode::kValidationFailed, "The reason is not valid.", {{"reason", *problem}});
    }
    auto ended = store_.SetUserLock(user_unique_num, clock_.Now(), reason);
    ForgetCredentials();
    return ended;
}

Status AccountService::UnlockUser(int64_t user_unique_num) {
    auto unlocked = store_.SetUserLock(user_unique_num, std::nullopt, "");
    ForgetCredentials();
    return unlocked.ok() ? Status::Ok() : unlocked.status();
}

Result<EndedSessions> AccountService::ResetPassword(int64_t user_unique_num, std::string_view new_password) {
    auto user = store_.FindUserByUniqueNum(user_unique_num);
    if (!user.ok()) return user.status();
    if (auto problem = domain::CheckPassword(new_password, user->profile.id)) {
        return Status::Error(ErrorCode::kValidationFailed, "The password is not valid.", {{"password", *problem}});
    }
    auto hash = hasher_.Hash(new_password);
    if (!hash.ok()) return hash.status();
    auto ended = store_.SetPasswordHash(user_unique_num, *hash, "");
    ForgetCredentials();
    return ended;
}

}  // namespace vg::auth
