#include "vg/escalation/phone_verification.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <stdexcept>

namespace vg::escalation {
namespace {

constexpr Milliseconds kDay{24 * 60 * 60 * 1000};
constexpr size_t kSaltBytes = 16;

void InitSodium() {
    static const bool ok = [] {
        if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
        return true;
    }();
    (void)ok;
}

std::string Hex(const unsigned char* bytes, size_t n) {
    std::string hex(n * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), bytes, n);
    hex.pop_back();
    return hex;
}

// BLAKE2b-256 of the code bound to its account, number and salt: "salt_hex$digest_hex".
std::string HashCode(std::string_view salt_hex, int64_t user, std::string_view phone, std::string_view code) {
    const std::string input =
        std::string(salt_hex) + "|" + std::to_string(user) + "|" + std::string(phone) + "|" + std::string(code);
    unsigned char digest[32];
    crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                       nullptr, 0);
    return std::string(salt_hex) + "$" + Hex(digest, sizeof digest);
}

bool SixDigits(std::string_view code) {
    if (code.size() != 6) return false;
    for (char c : code) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

int SecondsUntil(TimePoint t, TimePoint now) {
    const auto ms = std::chrono::duration_cast<Milliseconds>(t - now).count();
    return static_cast<int>(std::max<int64_t>(1, (ms + 999) / 1000));
}

const std::string& NumberOf(const domain::User& user, PhoneField field) {
    if (field == PhoneField::kGuardEmail) return user.profile.guard_email;
    return field == PhoneField::kGuardPhone ? user.profile.guard_phone_num : user.profile.phone_num;
}

// The verification key of the field's value: digits for numbers, "email:..." for the address.
std::string KeyOf(PhoneField field, std::string_view value) {
    return field == PhoneField::kGuardEmail ? EmailKey(value) : domain::PhoneKey(value);
}

Status NoSuchNumber(PhoneField field) {
    if (field == PhoneField::kGuardEmail) {
        return Status::Error(ErrorCode::kValidationFailed, "There is no guardian e-mail address on your account.",
                             {{"field", "the account has no guard_email"}});
    }
    return Status::Error(ErrorCode::kValidationFailed, "There is no such phone number on your account.",
                         {{"field", field == PhoneField::kGuardPhone ? "the account has no guard_phone_num"
                                                                     : "the account has no phone_num"}});
}

}  // namespace

std::string_view PhoneFieldName(PhoneField f) {
    if (f == PhoneField::kGuardEmail) return "guard_email";
    return f == PhoneField::kGuardPhone ? "guard_phone_num" : "phone_num";
}

std::optional<PhoneField> PhoneFieldFromName(std::string_view name) {
    if (name == "guard_phone_num") return PhoneField::kGuardPhone;
    if (name == "phone_num") return PhoneField::kOwnPhone;
    if (name == "guard_email") return PhoneField::kGuardEmail;
    return std::nullopt;
}

std::string EmailKey(std::string_view address) {
    std::string key = "email:";
    for (char c : address) key.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    return key;
}

PhoneVerificationService::PhoneVerificationService(store::Store& store, const Clock& clock,
                                                   PhoneVerificationOptions options, std::function<void()> on_outbox)
    : store_(store), clock_(clock), options_(std::move(options)), on_outbox_(std::move(on_outbox)) {
    InitSodium();
}

Result<PhoneVerificationState> PhoneVerificationService::State(const domain::User& user, PhoneField field) {
    const std::string& number = NumberOf(user, field);
    if (number.empty()) return NoSuchNumber(field);
    PhoneVerificationState state;
    state.field = field;
    auto row = store_.FindPhoneCode(user.unique_num, KeyOf(field, number));
    if (!row.ok()) {
        if (row.status().code() == ErrorCode::kNotFound) return state;
        return row.status();
    }
    const TimePoint now = clock_.Now();
    state.verified = row->verified_at.has_value();
    if (!state.verified) {
        state.resend_at = row->sent_at + options_.resend_after;
        if (now < row->expires_at && row->attempts < options_.max_attempts) {
            state.code_expires_at = row->expires_at;
            state.attempts_left = options_.max_attempts - row->attempts;
        }
    }
    return state;
}

Result<PhoneVerificationState> PhoneVerificationService::SendCode(const domain::User& user, PhoneField field) {
    const std::string& number = NumberOf(user, field);
    if (number.empty()) return NoSuchNumber(field);
    const bool email = field == PhoneField::kGuardEmail;
    if (email && !options_.email_enabled) {
        return Status::Error(ErrorCode::kUnavailable,
                             "E-mail is not available on this server (no SMTP channel is configured), so no code "
                             "can be sent to guard_email.");
    }
    const std::string key = KeyOf(field, number);
    const TimePoint now = clock_.Now();
    auto current = State(user, field);
    if (!current.ok() || current->verified) return current;
    auto refuse = [&](const std::string& why, TimePoint frees) {
        spdlog::warn("phone verification: code for account {} refused: {}", user.unique_num, why);
        return Status::Error(ErrorCode::kRateLimited, why).WithRetryAfter(SecondsUntil(frees, now));
    };
    if (auto row = store_.FindPhoneCode(user.unique_num, key); row.ok() && now < row->sent_at + options_.resend_after) {
        return refuse(std::string(email ? "A code was sent to this address less than "
                                        : "A code was sent to this number less than ") +
                          std::to_string(options_.resend_after.count() / 1000) +
                          " seconds ago; wait for it, or ask again after that.",
                      row->sent_at + options_.resend_after);
    }
    auto by_user = store_.CountPhoneCodesSentByUser(user.unique_num, now - kDay);
    if (!by_user.ok()) return by_user.status();
    if (*by_user >= options_.max_codes_per_user_per_day) {
        return refuse("At most " + std::to_string(options_.max_codes_per_user_per_day) +
                          " verification codes a day per account; try again tomorrow.",
                      now + kDay);
    }
    auto to_phone = store_.CountPhoneCodesSentToPhone(key, now - kDay);
    if (!to_phone.ok()) return to_phone.status();
    if (*to_phone >= options_.max_codes_per_phone_per_day) {
        return refuse("At most " + std::to_string(options_.max_codes_per_phone_per_day) +
                          (email ? " verification codes a day to one e-mail address; try again tomorrow."
                                 : " verification codes a day to one phone number; try again tomorrow."),
                      now + kDay);
    }

    // 6 digits, uniform: randombytes_uniform has no modulo bias.
    char code[8];
    std::snprintf(code, sizeof code, "%06u", static_cast<unsigned>(randombytes_uniform(1'000'000)));
    unsigned char salt[kSaltBytes];
    randombytes_buf(salt, sizeof salt);
    store::PhoneCode row;
    row.user = user.unique_num;
    row.phone = key;
    row.code_hash = HashCode(Hex(salt, sizeof salt), user.unique_num, key, code);
    row.sent_at = now;
    row.expires_at = now + options_.code_lifetime;
    // Nothing but the code: no name or other text an account holder typed reaches a stranger's phone.
    const bool ko = options_.language != "en";
    const std::string minutes = std::to_string(options_.code_lifetime.count() / 60000);
    store::NewOutboxMessage sms;
    sms.channel = "sms";
    sms.recipient = number;
    sms.subject = "VitalGuard";
    sms.body = ko ? "[VitalGuard] 인증번호 " + std::string(code) + " (" + minutes +
                        "분간 유효). VitalGuard 알림을 이 번호로 받기 위한 확인입니다. 요청하지 않았다면 무시하세요."
                  : "[VitalGuard] Your code is " + std::string(code) + " (valid " + minutes +
                        " min), to receive VitalGuard alerts on this number. If you did not ask for it, ignore it.";
    sms.idempotency_key =
        "phone-code-" + std::to_string(user.unique_num) + "-" + key + "-" + std::to_string(ToUnixMillis(now));
    if (email) {
        // The same principle by e-mail: the code and why, nothing an account holder typed.
        sms.channel = "email";
        sms.subject = ko ? "[VitalGuard] 인증번호 " + std::string(code) : "[VitalGuard] Your code " + std::string(code);
        sms.body =
            ko ? "VitalGuard 인증번호: " + std::string(code) + "\n\n" + minutes +
                     "분간 유효합니다. 이 주소로 VitalGuard 보호자 알림을 받기 위한 확인입니다. 요청한 분에게 이 "
                     "번호를 "
                     "알려 주세요.\n요청하지 않았다면 이 메일을 무시하세요. 다시 보내지 않습니다.\n"
               : "Your VitalGuard code: " + std::string(code) + "\n\nIt is valid for " + minutes +
                     " minutes, to receive VitalGuard guardian alerts at this address. Tell it to the person who "
                     "asked.\nIf you did not expect it, ignore this e-mail; it is not sent again.\n";
        // Message-ID comes from the key: a dot-atom (no ':' or '@'), so hashed by the channel anyway.
        sms.idempotency_key = "email-code-" + std::to_string(user.unique_num) + "-" + std::to_string(ToUnixMillis(now));
    }
    sms.created_at = now;
    sms.next_attempt_at = now;
    if (Status s = store_.IssuePhoneCode(row, sms); !s.ok()) return s;
    if (on_outbox_) on_outbox_();
    PhoneVerificationState state;
    state.field = field;
    state.code_expires_at = row.expires_at;
    state.attempts_left = options_.max_attempts;
    state.resend_at = now + options_.resend_after;
    return state;
}

Result<PhoneVerificationState> PhoneVerificationService::Confirm(const domain::User& user, PhoneField field,
                                                                 std::string_view code) {
    const std::string& number = NumberOf(user, field);
    if (number.empty()) return NoSuchNumber(field);
    const char* by = field == PhoneField::kGuardEmail ? "e-mail" : "SMS";
    if (!SixDigits(code)) {
        return Status::Error(ErrorCode::kValidationFailed, "The code is not valid.",
                             {{"code", std::string("must be the 6 digits sent by ") + by}});
    }
    const std::string key = KeyOf(field, number);
    const TimePoint now = clock_.Now();
    auto before = store_.FindPhoneCode(user.unique_num, key);
    if (!before.ok()) {
        if (before.status().code() != ErrorCode::kNotFound) return before.status();
        return Status::Error(ErrorCode::kConflict, "No code was sent to this number; ask for one first.");
    }
    if (before->verified_at) return State(user, field);
    if (now >= before->expires_at) {
        return Status::Error(ErrorCode::kConflict, "The code has expired; ask for a new one.");
    }
    // Counted before it is compared, atomically: parallel guesses each use one of the attempts.
    auto row = store_.UsePhoneCodeAttempt(user.unique_num, key);
    if (!row.ok()) return row.status();
    if (row->attempts > options_.max_attempts) {
        return Status::Error(ErrorCode::kConflict, "This code was entered wrongly " +
                                                       std::to_string(options_.max_attempts) +
                                                       " times and can no longer be used; ask for a new one.");
    }
    const std::string salt = row->code_hash.substr(0, row->code_hash.find('$'));
    const std::string expected = row->code_hash;
    const std::string given = HashCode(salt, user.unique_num, key, code);
    const bool right =
        expected.size() == given.size() && sodium_memcmp(expected.data(), given.data(), given.size()) == 0;
    if (!right) {
        const int left = options_.max_attempts - row->attempts;
        return Status::Error(ErrorCode::kValidationFailed, "The code is not right.",
                             {{"code", left > 0 ? "is not the code sent by " + std::string(by) + "; " +
                                                      std::to_string(left) + (left == 1 ? " try left" : " tries left")
                                                : "is not the code sent by " + std::string(by) +
                                                      "; no tries left, ask for a new code"}});
    }
    if (Status s = store_.MarkPhoneVerified(user.unique_num, key, now); !s.ok()) return s;
    PhoneVerificationState state;
    state.field = field;
    state.verified = true;
    return state;
}

}  // namespace vg::escalation
