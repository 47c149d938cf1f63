#pragma once
// PhoneVerificationService: proves that a phone number's owner wants VitalGuard's SMS before any is
// sent to it (docs/api.md, "Phone verification"; docs/escalation.md). A code of 6 digits (libsodium
// randombytes) is sent ONCE by SMS on request; its owner tells it to the account holder, who enters it.
// Until then escalation sends that number no SMS (the guardians are reached on the dashboard, the live
// stream and the operator webhook), and an account with no verified number counts as new for SOS
// (escalation_service.hpp, SosLimits).
//
// The numbers of an account: "guard_phone_num" (the guardian's, SMS alerts go there) and "phone_num"
// (the account holder's own; a guardian account's alerts go there). Verification is per (account,
// domain::PhoneKey of the number): changing a number makes it unverified again.
// The guardian's e-mail address ("guard_email", issue 16) is verified the same way: its code goes out
// once on the `email` channel (kUnavailable when the server has none), under the key EmailKey(address),
// with the same limits (per account, and per address instead of per number).
//
// What a request costs and reveals: at most one SMS per SendCode, no more than one per number every
// `resend_after`, `max_codes_per_user_per_day` per account and `max_codes_per_phone_per_day` per number
// (whoever asks), the SMS says nothing but the code; answers speak only of the caller's own numbers.
// The code is stored only as a salted hash and compared in constant time.
//
// Thread-safety: every method may be called from any thread (the store serialises; attempts are counted
// atomically by the store, so parallel guesses cannot exceed max_attempts).
// Ownership: borrows the store and the clock; both must outlive the service.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/account.hpp"
#include "vg/store/store.hpp"

namespace vg::escalation {

struct PhoneVerificationOptions {
    Milliseconds code_lifetime{10 * 60 * 1000};
    int max_attempts = 5;                  // entries per code, right or wrong
    Milliseconds resend_after{60 * 1000};  // per (account, number)
    int max_codes_per_user_per_day = 5;    // any numbers of one account, in 24 h
    int max_codes_per_phone_per_day = 3;   // one number, by any accounts, in 24 h
    std::string language = "ko";           // of the SMS: "ko" or "en"
    bool email_enabled = false;            // an `email` channel is configured: guard_email codes can be sent
};

// Which of the account's numbers (or the guardian's e-mail address): "guard_phone_num", "phone_num"
// or "guard_email".
enum class PhoneField { kGuardPhone, kOwnPhone, kGuardEmail };
std::string_view PhoneFieldName(PhoneField f);
std::optional<PhoneField> PhoneFieldFromName(std::string_view name);
// The verification key of an e-mail address: "email:" + the address in lower case (one mailbox, one
// key, one daily limit, however its letters are written). Never a PhoneKey (those are digits only).
std::string EmailKey(std::string_view address);

// One number of an account as the profile shows it.
struct PhoneVerificationState {
    PhoneField field = PhoneField::kGuardPhone;
    bool verified = false;
    std::optional<TimePoint> code_expires_at;  // a code is pending until then (unverified only)
    int attempts_left = 0;                     // of the pending code
    std::optional<TimePoint> resend_at;        // a new code may be asked for from then on
};

class PhoneVerificationService {
  public:
    // `on_outbox` wakes the delivery worker after a code's SMS is written.
    PhoneVerificationService(store::Store& store, const Clock& clock, PhoneVerificationOptions options,
                             std::function<void()> on_outbox = {});

    // Sends a new code to the user's `field` number (one SMS through the outbox; for kGuardEmail one
    // e-mail) unless it is verified already. Errors: kValidationFailed (field "field") when the account
    // has no such number or address; kUnavailable for kGuardEmail without email_enabled;
    // kRateLimited with retry_after_seconds, the message naming the limit, for a resend within
    // resend_after or past a daily limit (nothing is sent).
    Result<PhoneVerificationState> SendCode(const domain::User& user, PhoneField field);
    // Checks a code entered for the user's `field` number. Verified: the state with verified = true
    // (also when it was verified before). Errors: kValidationFailed (field "code") for a wrong code,
    // or one not of 6 digits (which uses no attempt); kConflict when no code was sent to this number,
    // the code expired, or max_attempts entries used it up ("ask for a new code").
    Result<PhoneVerificationState> Confirm(const domain::User& user, PhoneField field, std::string_view code);
    // The state of the user's `field` number; kValidationFailed when the account has no such number.
    Result<PhoneVerificationState> State(const domain::User& user, PhoneField field);

  private:
    store::Store& store_;
    const Clock& clock_;
    const PhoneVerificationOptions options_;
    std::function<void()> on_outbox_;
};

}  // namespace vg::escalation
