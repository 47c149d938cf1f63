// PhoneVerificationStore (phone_verifications.hpp).

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

PhoneCode Code(int64_t user, std::string phone, std::string hash, TimePoint at) {
    PhoneCode c;
    c.user = user;
    c.phone = std::move(phone);
    c.code_hash = std::move(hash);
    c.sent_at = at;
    c.expires_at = at + minutes(10);
    return c;
}

NewOutboxMessage Sms(std::string to, std::string key, TimePoint at) {
    NewOutboxMessage m;
    m.channel = "sms";
    m.recipient = std::move(to);
    m.subject = "VitalGuard";
    m.body = "VitalGuard code 123456";
    m.idempotency_key = std::move(key);
    m.created_at = at;
    m.next_attempt_at = at;
    return m;
}

TEST_P(StoreConformance, PhoneCodesAreIssuedWithTheirSmsVerifiedAndCountedPerUserAndNumber) {
    const int64_t kim = CreateUserOrDie("phone_kim");
    const int64_t lee = CreateUserOrDie("phone_lee");
    EXPECT_FALSE(store().IsPhoneVerified(kim, "01098765432").value());
    EXPECT_EQ(store().FindPhoneCode(kim, "01098765432").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().UsePhoneCodeAttempt(kim, "01098765432").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().MarkPhoneVerified(kim, "01098765432", kNow).code(), ErrorCode::kNotFound);

    ASSERT_TRUE(store().IssuePhoneCode(Code(kim, "01098765432", "h1", kNow), Sms("010-9876-5432", "pv-1", kNow)).ok());
    // The SMS is in the outbox, due now, belonging to no incident.
    auto claimed = store().ClaimOutbox(kNow, 10, minutes(1));
    ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
    ASSERT_EQ(claimed->size(), 1u);
    EXPECT_EQ(claimed->at(0).channel, "sms");
    EXPECT_EQ(claimed->at(0).recipient, "010-9876-5432");
    EXPECT_FALSE(claimed->at(0).incident_id.has_value());

    auto first = store().UsePhoneCodeAttempt(kim, "01098765432");
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(first->attempts, 1);
    EXPECT_EQ(first->code_hash, "h1");
    EXPECT_EQ(first->expires_at, kNow + minutes(10));
    EXPECT_EQ(store().UsePhoneCodeAttempt(kim, "01098765432")->attempts, 2);
    // A new code replaces the old one and its attempts; both sends count.
    ASSERT_TRUE(store()
                    .IssuePhoneCode(Code(kim, "01098765432", "h2", kNow + minutes(1)),
                                    Sms("010-9876-5432", "pv-2", kNow + minutes(1)))
                    .ok());
    auto replaced = store().FindPhoneCode(kim, "01098765432");
    ASSERT_TRUE(replaced.ok());
    EXPECT_EQ(replaced->code_hash, "h2");
    EXPECT_EQ(replaced->attempts, 0);
    EXPECT_FALSE(replaced->verified_at.has_value());
    // Another account sends to the same number; a second number of the first account.
    ASSERT_TRUE(store().IssuePhoneCode(Code(lee, "01098765432", "h3", kNow), Sms("01098765432", "pv-3", kNow)).ok());
    ASSERT_TRUE(store().IssuePhoneCode(Code(kim, "01011112222", "h4", kNow), Sms("010-1111-2222", "pv-4", kNow)).ok());
    EXPECT_EQ(store().CountPhoneCodesSentByUser(kim, kNow).value(), 3);
    EXPECT_EQ(store().CountPhoneCodesSentByUser(kim, kNow + minutes(1)).value(), 1) << "since is inclusive";
    EXPECT_EQ(store().CountPhoneCodesSentToPhone("01098765432", kNow).value(), 3);
    EXPECT_EQ(store().CountPhoneCodesSentToPhone("01098765432", kNow + hours(1)).value(), 0);

    ASSERT_TRUE(store().MarkPhoneVerified(kim, "01098765432", kNow + minutes(2)).ok());
    ASSERT_TRUE(store().MarkPhoneVerified(kim, "01098765432", kNow + minutes(3)).ok());
    EXPECT_EQ(store().FindPhoneCode(kim, "01098765432")->verified_at, kNow + minutes(2)) << "the first time stays";
    EXPECT_TRUE(store().IsPhoneVerified(kim, "01098765432").value());
    EXPECT_FALSE(store().IsPhoneVerified(lee, "01098765432").value()) << "verified for one account only";
    EXPECT_FALSE(store().IsPhoneVerified(kim, "01011112222").value()) << "another number is not verified";

    EXPECT_EQ(store().IssuePhoneCode(Code(987654, "01098765432", "h", kNow), Sms("010", "pv-5", kNow)).code(),
              ErrorCode::kNotFound);
    EXPECT_EQ(store().CountPhoneCodesSentByUser(987654, kNow).value(), 0) << "nothing written on error";
}

TEST_P(StoreConformance, ConcurrentPhoneCodeAttemptsEachGetTheirOwnCount) {
    const int64_t kim = CreateUserOrDie("phone_guess");
    ASSERT_TRUE(store().IssuePhoneCode(Code(kim, "01098765432", "h", kNow), Sms("01098765432", "pv-g", kNow)).ok());
    constexpr int kThreads = 8;
    std::vector<int> seen(kThreads, 0);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            auto r = store().UsePhoneCodeAttempt(kim, "01098765432");
            seen[i] = r.ok() ? r->attempts : -1;
        });
    }
    for (auto& t : threads) t.join();
    std::sort(seen.begin(), seen.end());
    for (int i = 0; i < kThreads; ++i) EXPECT_EQ(seen[i], i + 1) << "every entry counted once";
}

}  // namespace
}  // namespace vg::store::conformance

namespace vg::store::conformance {
namespace {

// The guardian e-mail (issue 16): stored with the profile, verified like a number under its own key,
// and unverified in the same transaction that changes it.
TEST_P(StoreConformance, GuardEmailIsStoredAndAChangeEndsTheOldAddresssVerification) {
    NewUser in;
    in.profile.id = "email_kim";
    in.profile.name = "Kim";
    in.profile.age = 70;
    in.profile.address = "Seoul";
    in.profile.phone_num = "010-1234-5678";
    in.profile.guard_email = "guardian@example.org";
    in.password_hash = "hash";
    in.created_at = kNow;
    auto created = store().CreateUser(in);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_EQ(created->profile.guard_email, "guardian@example.org");
    const int64_t kim = created->unique_num;
    EXPECT_EQ(store().FindUserByUniqueNum(kim)->profile.guard_email, "guardian@example.org");
    EXPECT_EQ(store().FindUserById("email_kim")->profile.guard_email, "guardian@example.org");

    const std::string old_key = "email:guardian@example.org";
    NewOutboxMessage mail = Sms("guardian@example.org", "ev-1", kNow);
    mail.channel = "email";
    ASSERT_TRUE(store().IssuePhoneCode(Code(kim, old_key, "h1", kNow), mail).ok());
    ASSERT_TRUE(store().MarkPhoneVerified(kim, old_key, kNow).ok());
    EXPECT_TRUE(store().IsPhoneVerified(kim, old_key).value());

    ASSERT_TRUE(store().SetGuardEmail(kim, "other@example.org", old_key).ok());
    EXPECT_EQ(store().FindUserByUniqueNum(kim)->profile.guard_email, "other@example.org");
    EXPECT_FALSE(store().IsPhoneVerified(kim, old_key).value());
    // The send log stays: the daily limits still count the code sent before.
    EXPECT_EQ(store().CountPhoneCodesSentToPhone(old_key, kNow - hours(1)).value(), 1);

    ASSERT_TRUE(store().SetGuardEmail(kim, "", "email:other@example.org").ok());  // no row there: fine
    EXPECT_EQ(store().FindUserByUniqueNum(kim)->profile.guard_email, "");
    EXPECT_EQ(store().SetGuardEmail(kim + 1000, "x@example.org", "").code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vg::store::conformance
