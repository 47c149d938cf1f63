// Phone verification on simulated time and the in-memory store: one SMS per code, codes that expire,
// five attempts, resend and daily limits, and a changed number that is unverified again.
#include "vg/escalation/phone_verification.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "vg/store/memory_store.hpp"

namespace vg::escalation {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

class PhoneVerificationTest : public ::testing::Test {
  protected:
    void SetUp() override { user_ = NewUser("grandma_kim", "010-3333-4444"); }
    domain::User NewUser(const std::string& id, const std::string& guard_phone) {
        store::NewUser u;
        u.profile.id = id;
        u.profile.name = "김영희";
        u.profile.age = 82;
        u.profile.address = "서울특별시 종로구 세종대로 1";
        u.profile.phone_num = "010-1111-2222";
        u.profile.guard_name = "김철수";
        u.profile.guard_phone_num = guard_phone;
        u.password_hash = "x";
        u.created_at = clock_.Now();
        auto created = store_.CreateUser(u);
        EXPECT_TRUE(created.ok()) << created.status().ToString();
        return created.ok() ? created.value() : domain::User{};
    }
    // The SMS in the outbox to `to`, oldest first (claimed, so each is returned once).
    std::vector<store::OutboxMessage> SmsTo(const std::string& to) {
        auto claimed = store_.ClaimOutbox(clock_.Now(), 100, minutes(1));
        EXPECT_TRUE(claimed.ok());
        for (auto& m : *claimed) {
            // A claim whose lease ran out is claimed again: count each message once.
            if (std::none_of(sent_.begin(), sent_.end(), [&](auto& s) { return s.id == m.id; })) sent_.push_back(m);
        }
        std::vector<store::OutboxMessage> out;
        for (const auto& m : sent_) {
            if (m.recipient == to && m.channel == "sms") out.push_back(m);
        }
        return out;
    }
    std::string LastCode(const std::string& to) {
        auto sms = SmsTo(to);
        if (sms.empty()) return {};
        std::smatch m;
        const std::string body = sms.back().body;
        EXPECT_TRUE(std::regex_search(body, m, std::regex("([0-9]{6})"))) << body;
        return m.size() > 1 ? m[1].str() : std::string();
    }
    static std::string Wrong(const std::string& code) {
        std::string w = code;
        w[5] = code[5] == '9' ? '0' : static_cast<char>(code[5] + 1);
        return w;
    }

    ManualClock clock_{FromUnixMillis(1'800'000'000'000)};
    store::MemoryStore store_;
    int wakeups_ = 0;
    PhoneVerificationService service_{store_, clock_, PhoneVerificationOptions{}, [this] { ++wakeups_; }};
    domain::User user_;
    std::vector<store::OutboxMessage> sent_;
};

TEST_F(PhoneVerificationTest, OneSmsWithSixRandomDigitsThenTheRightCodeVerifies) {
    auto state = service_.State(user_, PhoneField::kGuardPhone);
    ASSERT_TRUE(state.ok());
    EXPECT_FALSE(state->verified);
    auto sent = service_.SendCode(user_, PhoneField::kGuardPhone);
    ASSERT_TRUE(sent.ok()) << sent.status().ToString();
    EXPECT_EQ(sent->code_expires_at, clock_.Now() + minutes(10));
    EXPECT_EQ(sent->attempts_left, 5);
    EXPECT_EQ(wakeups_, 1);
    ASSERT_EQ(SmsTo("010-3333-4444").size(), 1u);
    const std::string body = SmsTo("010-3333-4444")[0].body;
    EXPECT_EQ(body.find("김영희"), std::string::npos) << "no text the account holder typed: " << body;
    const std::string code = LastCode("010-3333-4444");
    ASSERT_EQ(code.size(), 6u);
    auto stored = store_.FindPhoneCode(user_.unique_num, "01033334444");
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->code_hash.find(code), std::string::npos) << "only a hash is stored";

    clock_.Advance(minutes(9));
    auto ok = service_.Confirm(user_, PhoneField::kGuardPhone, code);
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_TRUE(ok->verified);
    EXPECT_TRUE(service_.State(user_, PhoneField::kGuardPhone)->verified);
    EXPECT_TRUE(store_.IsPhoneVerified(user_.unique_num, "01033334444").value());
    // Verified: asking again sends nothing.
    clock_.Advance(minutes(5));
    EXPECT_TRUE(service_.SendCode(user_, PhoneField::kGuardPhone)->verified);
    EXPECT_EQ(SmsTo("010-3333-4444").size(), 1u);
    // The account's own number is another number, still unverified.
    EXPECT_FALSE(service_.State(user_, PhoneField::kOwnPhone)->verified);
}

TEST_F(PhoneVerificationTest, AnExpiredCodeFails) {
    ASSERT_TRUE(service_.SendCode(user_, PhoneField::kGuardPhone).ok());
    const std::string code = LastCode("010-3333-4444");
    clock_.Advance(minutes(10));
    auto late = service_.Confirm(user_, PhoneField::kGuardPhone, code);
    EXPECT_EQ(late.status().code(), ErrorCode::kConflict);
    EXPECT_NE(late.status().message().find("expired"), std::string::npos);
    EXPECT_FALSE(service_.State(user_, PhoneField::kGuardPhone)->verified);
}

TEST_F(PhoneVerificationTest, FiveWrongEntriesUseTheCodeUp) {
    ASSERT_TRUE(service_.SendCode(user_, PhoneField::kGuardPhone).ok());
    const std::string code = LastCode("010-3333-4444");
    for (int i = 0; i < 5; ++i) {
        auto r = service_.Confirm(user_, PhoneField::kGuardPhone, Wrong(code));
        ASSERT_EQ(r.status().code(), ErrorCode::kValidationFailed) << i;
        ASSERT_EQ(r.status().fields().size(), 1u);
        EXPECT_EQ(r.status().fields()[0].field, "code");
    }
    EXPECT_EQ(service_.State(user_, PhoneField::kGuardPhone)->attempts_left, 0);
    auto locked = service_.Confirm(user_, PhoneField::kGuardPhone, code);
    EXPECT_EQ(locked.status().code(), ErrorCode::kConflict) << "even the right code, after five wrong ones";
    EXPECT_FALSE(service_.State(user_, PhoneField::kGuardPhone)->verified);
    // Not six digits: refused without using an attempt (and without touching a used-up code).
    EXPECT_EQ(service_.Confirm(user_, PhoneField::kGuardPhone, "12345").status().code(), ErrorCode::kValidationFailed);
    // A new code (after the resend interval) starts over.
    clock_.Advance(seconds(61));
    ASSERT_TRUE(service_.SendCode(user_, PhoneField::kGuardPhone).ok());
    EXPECT_TRUE(service_.Confirm(user_, PhoneField::kGuardPhone, LastCode("010-3333-4444")).ok());
}

TEST_F(PhoneVerificationTest, ResendEveryMinuteAtMostAndDailyLimitsPerAccountAndPerNumber) {
    ASSERT_TRUE(service_.SendCode(user_, PhoneField::kGuardPhone).ok());
    clock_.Advance(seconds(30));
    auto soon = service_.SendCode(user_, PhoneField::kGuardPhone);
    ASSERT_EQ(soon.status().code(), ErrorCode::kRateLimited);
    EXPECT_EQ(soon.status().retry_after_seconds(), 30);
    clock_.Advance(seconds(30));
    ASSERT_TRUE(service_.SendCode(user_, PhoneField::kGuardPhone).ok());
    clock_.Advance(seconds(60));
    ASSERT_TRUE(service_.SendCode(user_, PhoneField::kGuardPhone).ok());
    clock_.Advance(seconds(60));
    auto per_number = service_.SendCode(user_, PhoneField::kGuardPhone);
    ASSERT_EQ(per_number.status().code(), ErrorCode::kRateLimited) << "3 a day to one number";
    EXPECT_NE(per_number.status().message().find("one phone number"), std::string::npos);
    EXPECT_EQ(SmsTo("010-3333-4444").size(), 3u);
    // Another account cannot use the same number to go on: the limit is the number's.
    domain::User other = NewUser("other_lee", "+82 10-3333-4444");
    EXPECT_EQ(service_.SendCode(other, PhoneField::kGuardPhone).status().code(), ErrorCode::kRateLimited);
    // The account's own number: 2 more make 5 for the account, then the account's limit.
    ASSERT_TRUE(service_.SendCode(user_, PhoneField::kOwnPhone).ok());
    clock_.Advance(seconds(61));
    ASSERT_TRUE(service_.SendCode(user_, PhoneField::kOwnPhone).ok());
    clock_.Advance(seconds(61));
    auto per_account = service_.SendCode(user_, PhoneField::kOwnPhone);
    ASSERT_EQ(per_account.status().code(), ErrorCode::kRateLimited);
    EXPECT_NE(per_account.status().message().find("per account"), std::string::npos);
    // A day later, again.
    clock_.Advance(hours(24));
    EXPECT_TRUE(service_.SendCode(user_, PhoneField::kGuardPhone).ok());
}

TEST_F(PhoneVerificationTest, ChangingTheNumberMakesItUnverifiedAgain) {
    ASSERT_TRUE(service_.SendCode(user_, PhoneField::kGuardPhone).ok());
    ASSERT_TRUE(service_.Confirm(user_, PhoneField::kGuardPhone, LastCode("010-3333-4444")).ok());
    domain::User changed = user_;
    changed.profile.guard_phone_num = "010-5555-6666";
    EXPECT_FALSE(service_.State(changed, PhoneField::kGuardPhone)->verified);
    changed.profile.guard_phone_num = "+821033334444";  // the same number written another way
    EXPECT_TRUE(service_.State(changed, PhoneField::kGuardPhone)->verified);
    changed.profile.guard_phone_num.clear();
    EXPECT_EQ(service_.SendCode(changed, PhoneField::kGuardPhone).status().code(), ErrorCode::kValidationFailed);
}

// The guardian's e-mail (issue 16): one e-mail with the code, the same limits per address, and no code
// at all without an e-mail channel.
TEST_F(PhoneVerificationTest, GuardEmailIsVerifiedByACodeSentOnceByEmail) {
    ASSERT_TRUE(store_.SetGuardEmail(user_.unique_num, "Guardian@Example.org", "").ok());
    user_ = store_.FindUserByUniqueNum(user_.unique_num).value();

    auto off = service_.SendCode(user_, PhoneField::kGuardEmail);  // the default options: no e-mail channel
    ASSERT_FALSE(off.ok());
    EXPECT_EQ(off.status().code(), ErrorCode::kUnavailable);
    EXPECT_NE(off.status().message().find("guard_email"), std::string::npos) << off.status().message();

    PhoneVerificationOptions options;
    options.email_enabled = true;
    PhoneVerificationService service{store_, clock_, options};
    auto sent = service.SendCode(user_, PhoneField::kGuardEmail);
    ASSERT_TRUE(sent.ok()) << sent.status().ToString();
    EXPECT_FALSE(sent->verified);
    EXPECT_EQ(sent->field, PhoneField::kGuardEmail);
    auto claimed = store_.ClaimOutbox(clock_.Now(), 100, minutes(1));
    ASSERT_TRUE(claimed.ok());
    ASSERT_EQ(claimed->size(), 1u);
    const store::OutboxMessage& mail = claimed->front();
    EXPECT_EQ(mail.channel, "email");
    EXPECT_EQ(mail.recipient, "Guardian@Example.org");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(mail.body, m, std::regex("([0-9]{6})"))) << mail.body;
    const std::string code = m[1].str();
    EXPECT_EQ(mail.body.find("김영희"), std::string::npos) << "no text the account holder typed";

    // A resend within a minute is refused; a wrong code names the e-mail.
    EXPECT_EQ(service.SendCode(user_, PhoneField::kGuardEmail).status().code(), ErrorCode::kRateLimited);
    auto wrong = service.Confirm(user_, PhoneField::kGuardEmail, Wrong(code));
    ASSERT_FALSE(wrong.ok());
    ASSERT_EQ(wrong.status().fields().size(), 1u);
    EXPECT_NE(wrong.status().fields()[0].problem.find("e-mail"), std::string::npos);
    auto right = service.Confirm(user_, PhoneField::kGuardEmail, code);
    ASSERT_TRUE(right.ok()) << right.status().ToString();
    EXPECT_TRUE(right->verified);
    EXPECT_TRUE(store_.IsPhoneVerified(user_.unique_num, EmailKey("guardian@example.org")).value());
    EXPECT_TRUE(service.State(user_, PhoneField::kGuardEmail)->verified);
    // The numbers are not verified by it.
    EXPECT_FALSE(service.State(user_, PhoneField::kGuardPhone)->verified);
    EXPECT_EQ(PhoneFieldFromName("guard_email"), PhoneField::kGuardEmail);
    EXPECT_EQ(PhoneFieldName(PhoneField::kGuardEmail), "guard_email");
}

TEST_F(PhoneVerificationTest, OneAddressGetsAtMostThreeCodesADayWhoeverAsks) {
    PhoneVerificationOptions options;
    options.email_enabled = true;
    PhoneVerificationService service{store_, clock_, options};
    std::vector<domain::User> users;
    for (int i = 0; i < 4; ++i) {
        domain::User u = NewUser("email_user" + std::to_string(i), "010-5555-000" + std::to_string(i));
        // The same mailbox, written differently: one key, one limit.
        ASSERT_TRUE(
            store_.SetGuardEmail(u.unique_num, i % 2 == 0 ? "victim@example.org" : "VICTIM@example.org", "").ok());
        users.push_back(store_.FindUserByUniqueNum(u.unique_num).value());
    }
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(service.SendCode(users[i], PhoneField::kGuardEmail).ok()) << i;
    }
    auto fourth = service.SendCode(users[3], PhoneField::kGuardEmail);
    ASSERT_FALSE(fourth.ok());
    EXPECT_EQ(fourth.status().code(), ErrorCode::kRateLimited);
    EXPECT_NE(fourth.status().message().find("e-mail address"), std::string::npos);
    EXPECT_GT(fourth.status().retry_after_seconds(), 0);
}

}  // namespace
}  // namespace vg::escalation
