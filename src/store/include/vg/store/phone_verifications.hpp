#pragma once
// PhoneVerificationStore: which phone numbers their owners have proven they hold (docs/api.md, Phone
// verification). A number receives SMS only once it is verified for the account that registered it, so
// nobody can point VitalGuard's messages at a stranger's phone. Keyed by (user, phone key) where the
// phone key is domain::PhoneKey of the number: changing a number leaves the old row behind and the new
// number unverified.
//
// One port of vg::store::Store (store.hpp): durable on OK, nothing written on error, safe from any
// thread, kUnavailable once closed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/store/incidents.hpp"

namespace vg::store {

// The code last sent to one number of one account, and whether the number is verified.
struct PhoneCode {
    int64_t user = 0;
    std::string phone;      // domain::PhoneKey of the number: digits only
    std::string code_hash;  // a keyed hash of the code; the code itself is never stored
    TimePoint sent_at;
    TimePoint expires_at;
    int attempts = 0;  // entries of a code checked against this code so far (right or wrong)
    std::optional<TimePoint> verified_at;
};

class PhoneVerificationStore {
  public:
    virtual ~PhoneVerificationStore() = default;

    // In one transaction: stores `code` as the (user, phone) row — replacing an earlier code, attempts
    // 0, verified_at kept as given (a caller issues codes only for unverified numbers) —, counts the send
    // for CountPhoneCodesSent, and writes `sms` to the outbox (no incident; skipped when its
    // idempotency_key exists already, like SaveIncident's messages). kNotFound for an unknown user.
    virtual Status IssuePhoneCode(const PhoneCode& code, const NewOutboxMessage& sms) = 0;
    // The (user, phone) row; kNotFound when no code was ever sent there.
    virtual Result<PhoneCode> FindPhoneCode(int64_t user, std::string_view phone) = 0;
    // Counts one entry against the (user, phone) code and returns the row as it is afterwards
    // (attempts + 1), atomically: two concurrent entries never see the same count, so a limit on
    // attempts holds under parallel guessing. kNotFound when there is no such row.
    virtual Result<PhoneCode> UsePhoneCodeAttempt(int64_t user, std::string_view phone) = 0;
    // Sets verified_at (a verified number stays verified, with its first time). kNotFound for no row.
    virtual Status MarkPhoneVerified(int64_t user, std::string_view phone, TimePoint at) = 0;
    // Whether (user, phone) is verified; false when there is no row.
    virtual Result<bool> IsPhoneVerified(int64_t user, std::string_view phone) = 0;
    // Codes sent at or after `since`: by `user` to any number, and to `phone` by any account. Every
    // IssuePhoneCode counts, replaced codes included.
    virtual Result<int64_t> CountPhoneCodesSentByUser(int64_t user, TimePoint since) = 0;
    virtual Result<int64_t> CountPhoneCodesSentToPhone(std::string_view phone, TimePoint since) = 0;
};

}  // namespace vg::store
