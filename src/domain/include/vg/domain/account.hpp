#pragma once
// Account value types: the seed's User model, sessions and paired devices,
// and the validation rules for what a person may sign up with.
//
// Pure values and pure functions: no I/O, no clock, no allocation beyond the
// strings themselves. Thread-safety: distinct objects from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg::domain {

// The seed's User fields a person provides at sign-up (password aside).
inline constexpr std::string_view kDefaultTimeZone = "Asia/Seoul";

struct UserProfile {
    std::string id;                // login id, 4-32 of [a-z0-9_.-]
    std::string name;              // the wearer's name
    int age = 0;                   // 1-130
    std::string address;           // street address, where help is sent
    std::string detailed_address;  // flat / floor / door code; may be empty
    std::string phone_num;         // E.164 or Korean domestic format
    std::string guard_name;        // guardian's name; empty when the wearer has none
    std::string guard_phone_num;   // guardian's phone; present exactly when guard_name is
    std::string guard_email;       // guardian's e-mail address (CheckEmailAddress); optional, empty: none
    // The wearer's IANA time zone (e.g. "Asia/Seoul"): the local time of SMS, e-mails, the 119 report and
    // the dashboard. Sign-up takes the browser's; accounts made before it existed are "Asia/Seoul".
    std::string time_zone = std::string(kDefaultTimeZone);

    friend bool operator==(const UserProfile&, const UserProfile&) = default;
};

// Sign-up input: a profile and the plain-text password (never stored).
struct SignupInput {
    UserProfile profile;
    std::string password;
};

// A stored user (the seed's User row).
struct User {
    int64_t unique_num = 0;  // surrogate key, never shown as a login id
    UserProfile profile;
    std::string password_hash;        // Argon2id string, as produced by libsodium
    int danger_degree = 0;            // the wearer's current status: 0 normal, 1 caution, 2 danger
    std::optional<int> user_posture;  // the last predicted posture class (0-7), if any
    TimePoint created_at;
    std::string rule_profile = "adult-default";  // the detection rule profile this wearer uses
    // Set by the service operator (`vitalguard user lock`): no login while set. The account's paired
    // watches keep sending and its alerts keep working (safety first; docs/operations.md).
    std::optional<TimePoint> locked_at;
    std::string locked_reason;  // the operator's note; "" when none or unlocked
    // When the wearer last confirmed (or changed) the address 119 would be told; nullopt: never.
    std::optional<TimePoint> address_confirmed_at;
};

// A login session. The token itself is never stored, only its hash.
struct Session {
    std::string token_hash;  // hex SHA-256 of the bearer token
    int64_t user_unique_num = 0;
    std::string csrf_token;  // required in X-CSRF-Token on state-changing requests
    TimePoint created_at;
    TimePoint last_seen_at;
    TimePoint expires_at;  // absolute expiry; idle expiry is last_seen_at + idle timeout
    std::string client_address;
    std::string user_agent;
};

// A paired watch (or phone relaying it). The device token is never stored, only its hash.
struct Device {
    int64_t device_id = 0;
    int64_t user_unique_num = 0;
    std::string name;
    std::string token_hash;  // hex SHA-256 of the device token
    TimePoint created_at;
    std::optional<TimePoint> revoked_at;
    std::optional<TimePoint> last_seen_at;
};

// Limits, shared by validation, the database schema comments and the API docs.
inline constexpr size_t kIdMinLength = 4;
inline constexpr size_t kIdMaxLength = 32;
inline constexpr size_t kPasswordMinLength = 8;     // code points
inline constexpr size_t kPasswordMaxBytes = 1024;   // bytes; Argon2 input bound
inline constexpr size_t kNameMaxLength = 100;       // code points
inline constexpr size_t kAddressMaxLength = 255;    // code points
inline constexpr size_t kDeviceNameMaxLength = 64;  // code points
inline constexpr int kAgeMin = 1;
inline constexpr int kAgeMax = 130;

// Each returns the problem in words, or nullopt when the value is acceptable. Names and addresses
// (CheckPersonName, CheckAddress, CheckDeviceName) refuse control characters and Unicode format
// characters (category Cf: bidi overrides U+202A-202E and U+2066-2069, zero-width U+200B-200F, U+FEFF,
// ...) and U+2028/U+2029: they end up in SMS, e-mail and the 119 report, where invisible characters
// can disguise what a reader sees.
std::optional<std::string> CheckUserId(std::string_view id);
std::optional<std::string> CheckPassword(std::string_view password, std::string_view id);
std::optional<std::string> CheckPersonName(std::string_view name, bool required);
std::optional<std::string> CheckAddress(std::string_view address, bool required);
std::optional<std::string> CheckAge(int age);
std::optional<std::string> CheckPhoneNumber(std::string_view phone);
std::optional<std::string> CheckDeviceName(std::string_view name);
// A plain ASCII addr-spec "local@domain" of at most kEmailMaxBytes bytes: no display name, quotes,
// comments, brackets, spaces, control or format characters; a domain of dot-separated labels of letters,
// digits and hyphens. It becomes an SMTP recipient and a To header, so anything that could start another
// header or name a second recipient is refused. Expects NormalizeEmailAddress's output (lower-case domain).
inline constexpr size_t kEmailMaxBytes = 254;
std::optional<std::string> CheckEmailAddress(std::string_view email);
// `email` with its domain in lower case (the local part is left as typed: it may be case-sensitive).
std::string NormalizeEmailAddress(std::string_view email);

// The key a phone number is compared, verified and rate-limited by: its digits, with a Korean +82
// number in its domestic form ("+82 10-1234-5678" and "010-1234-5678" are both "01012345678").
std::string PhoneKey(std::string_view phone);

// Whether valid UTF-8 `text` holds a format character as the checks above refuse (false for invalid UTF-8).
bool ContainsFormatCharacter(std::string_view text);

// `text` without the format characters above and without control characters (invalid UTF-8 is
// returned unchanged): for text stored before the checks refused them, as it goes into a message.
std::string WithoutInvisibleCharacters(std::string_view text);

// All problems of a sign-up at once, one per field, in field order.
std::vector<FieldError> ValidateSignup(const SignupInput& input);

// Number of UTF-8 code points, or nullopt when `s` is not valid UTF-8.
std::optional<size_t> Utf8Length(std::string_view s);

}  // namespace vg::domain
