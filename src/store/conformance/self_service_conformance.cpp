// AccountStore (accounts.hpp), self-service and the operator: profile updates, sessions listed and
// ended, password changes, lock / unlock, the operator's list (issues 15, 16).

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

PhoneCode VerifiedCode(int64_t user, std::string phone) {
    PhoneCode c;
    c.user = user;
    c.phone = std::move(phone);
    c.code_hash = "h";
    c.sent_at = kNow;
    c.expires_at = kNow + minutes(10);
    c.verified_at = kNow;
    return c;
}

NewOutboxMessage CodeSms(const std::string& key) {
    NewOutboxMessage m;
    m.channel = "sms";
    m.recipient = "010";
    m.subject = "VitalGuard";
    m.body = "code";
    m.idempotency_key = key;
    m.created_at = kNow;
    m.next_attempt_at = kNow;
    return m;
}

TEST_P(StoreConformance, NewUserIsUnlockedAndHasNotConfirmedTheAddress) {
    int64_t user = CreateUserOrDie("fresh_user");
    auto found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_FALSE(found->locked_at.has_value());
    EXPECT_EQ(found->locked_reason, "");
    EXPECT_FALSE(found->address_confirmed_at.has_value());
}

TEST_P(StoreConformance, UpdateProfileWritesEveryFieldAndForgetsTheNamedPhoneVerifications) {
    int64_t user = CreateUserOrDie("profile_user");
    ASSERT_TRUE(store().IssuePhoneCode(VerifiedCode(user, "01012345678"), CodeSms("k1")).ok());
    ASSERT_TRUE(store().IssuePhoneCode(VerifiedCode(user, "01098765432"), CodeSms("k2")).ok());
    ProfileUpdate u;
    u.user_unique_num = user;
    u.profile = SampleUser("ignored_id").profile;
    u.profile.name = "이영희";
    u.profile.age = 80;
    u.profile.address = "부산광역시 중구 1";
    u.profile.detailed_address = "101호";
    u.profile.phone_num = "010-5555-6666";
    u.profile.guard_name = "이철수";
    u.profile.guard_phone_num = "+821098765432";
    u.address_confirmed_at = kNow;
    u.unverify_phones = {"01012345678", "01055556666"};
    auto updated = store().UpdateUserProfile(u);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
    for (auto found : {updated, store().FindUserByUniqueNum(user)}) {
        ASSERT_TRUE(found.ok());
        EXPECT_EQ(found->profile.id, "profile_user") << "the login id never changes";
        EXPECT_EQ(found->profile.name, "이영희");
        EXPECT_EQ(found->profile.age, 80);
        EXPECT_EQ(found->profile.address, "부산광역시 중구 1");
        EXPECT_EQ(found->profile.detailed_address, "101호");
        EXPECT_EQ(found->profile.phone_num, "010-5555-6666");
        EXPECT_EQ(found->profile.guard_name, "이철수");
        EXPECT_EQ(found->address_confirmed_at, kNow);
    }
    EXPECT_FALSE(store().IsPhoneVerified(user, "01012345678").value());
    EXPECT_TRUE(store().IsPhoneVerified(user, "01098765432").value()) << "an unnamed number stays verified";
    // The send log stays: the daily limits still count the codes sent to the forgotten number.
    EXPECT_EQ(store().CountPhoneCodesSentByUser(user, kNow).value(), 2);

    // Without a confirmation time the stored one is kept.
    u.address_confirmed_at.reset();
    u.unverify_phones.clear();
    u.profile.name = "박영희";
    auto again = store().UpdateUserProfile(u);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->address_confirmed_at, kNow);
    EXPECT_EQ(again->profile.name, "박영희");
}

TEST_P(StoreConformance, UpdateProfileIsAllOrNothing) {
    int64_t user = CreateUserOrDie("atomic_user");
    ASSERT_TRUE(store().IssuePhoneCode(VerifiedCode(user, "01012345678"), CodeSms("k1")).ok());
    ProfileUpdate u;
    u.user_unique_num = user;
    u.profile = SampleUser("atomic_user").profile;
    u.profile.name = "바뀐 이름";
    u.profile.age = 131;  // outside the domain's limits: a buggy caller
    u.address_confirmed_at = kNow;
    u.unverify_phones = {"01012345678"};
    EXPECT_EQ(store().UpdateUserProfile(u).status().code(), ErrorCode::kInternal);
    auto found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->profile, SampleUser("atomic_user").profile);
    EXPECT_FALSE(found->address_confirmed_at.has_value());
    EXPECT_TRUE(store().IsPhoneVerified(user, "01012345678").value());

    u.user_unique_num = user + 100;
    u.profile.age = 80;
    EXPECT_EQ(store().UpdateUserProfile(u).status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformance, SetAddressConfirmed) {
    int64_t user = CreateUserOrDie("confirm_user");
    ASSERT_TRUE(store().SetAddressConfirmed(user, kNow).ok());
    EXPECT_EQ(store().FindUserByUniqueNum(user)->address_confirmed_at, kNow);
    EXPECT_EQ(store().SetAddressConfirmed(user + 100, kNow).code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformance, ListSessionsNewestFirstOnlyTheUsersAndBounded) {
    int64_t kim = CreateUserOrDie("kim_sessions");
    int64_t lee = CreateUserOrDie("lee_sessions");
    ASSERT_TRUE(store().CreateSession(SampleSession("b", kim, kT0)).ok());
    ASSERT_TRUE(store().CreateSession(SampleSession("a", kim, kT0)).ok());
    ASSERT_TRUE(store().CreateSession(SampleSession("c", kim, kT0 + minutes(1))).ok());
    ASSERT_TRUE(store().CreateSession(SampleSession("other", lee, kT0 + hours(1))).ok());
    auto listed = store().ListSessions(kim, 10);
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    std::vector<std::string> hashes;
    for (const auto& s : *listed) hashes.push_back(s.token_hash);
    EXPECT_EQ(hashes, (std::vector<std::string>{"c", "a", "b"})) << "newest first; a tie by hash";
    EXPECT_EQ(store().ListSessions(kim, 2)->size(), 2u);
    EXPECT_EQ(store().ListSessions(kim, 0)->size(), 1u) << "the limit is clamped to at least 1";
    EXPECT_TRUE(store().ListSessions(kim + lee + 100, 10)->empty());

    for (int i = 0; i < kMaxSessionRows + 5; ++i) {
        ASSERT_TRUE(store().CreateSession(SampleSession("many-" + std::to_string(i), lee, kT0)).ok());
    }
    EXPECT_EQ(store().ListSessions(lee, 100000)->size(), static_cast<size_t>(kMaxSessionRows));
}

TEST_P(StoreConformance, DeleteSessionsExceptKeepsOneAndOtherUsers) {
    int64_t kim = CreateUserOrDie("kim_except");
    int64_t lee = CreateUserOrDie("lee_except");
    for (const char* h : {"k1", "k2", "k3"}) ASSERT_TRUE(store().CreateSession(SampleSession(h, kim)).ok());
    ASSERT_TRUE(store().CreateSession(SampleSession("l1", lee)).ok());
    auto deleted = store().DeleteSessionsExcept(kim, "k2");
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    EXPECT_EQ(std::set<std::string>(deleted->begin(), deleted->end()), (std::set<std::string>{"k1", "k3"}));
    EXPECT_TRUE(store().FindSession("k2").ok());
    EXPECT_EQ(store().FindSession("k1").status().code(), ErrorCode::kNotFound);
    EXPECT_TRUE(store().FindSession("l1").ok());
    // "" keeps none; nothing left: an empty list.
    EXPECT_EQ(store().DeleteSessionsExcept(kim, "")->size(), 1u);
    EXPECT_TRUE(store().DeleteSessionsExcept(kim, "")->empty());
}

TEST_P(StoreConformance, SetPasswordHashEndsTheOtherSessions) {
    int64_t kim = CreateUserOrDie("kim_password");
    for (const char* h : {"p1", "p2"}) ASSERT_TRUE(store().CreateSession(SampleSession(h, kim)).ok());
    auto deleted = store().SetPasswordHash(kim, "$argon2id$new", "p1");
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    EXPECT_EQ(*deleted, std::vector<std::string>{"p2"});
    EXPECT_EQ(store().FindUserByUniqueNum(kim)->password_hash, "$argon2id$new");
    EXPECT_TRUE(store().FindSession("p1").ok());
    EXPECT_EQ(store().SetPasswordHash(kim + 100, "x", "").status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformance, LockEndsEverySessionUnlockKeepsThem) {
    int64_t kim = CreateUserOrDie("kim_lock");
    int64_t lee = CreateUserOrDie("lee_lock");
    for (const char* h : {"s1", "s2"}) ASSERT_TRUE(store().CreateSession(SampleSession(h, kim)).ok());
    ASSERT_TRUE(store().CreateSession(SampleSession("lee", lee)).ok());
    auto locked = store().SetUserLock(kim, kNow, "stolen phone");
    ASSERT_TRUE(locked.ok()) << locked.status().ToString();
    EXPECT_EQ(locked->size(), 2u);
    auto found = store().FindUserByUniqueNum(kim);
    EXPECT_EQ(found->locked_at, kNow);
    EXPECT_EQ(found->locked_reason, "stolen phone");
    EXPECT_TRUE(store().ListSessions(kim, 10)->empty());
    EXPECT_TRUE(store().FindSession("lee").ok()) << "another user's session stays";

    ASSERT_TRUE(store().CreateSession(SampleSession("s3", kim)).ok());
    auto unlocked = store().SetUserLock(kim, std::nullopt, "ignored");
    ASSERT_TRUE(unlocked.ok());
    EXPECT_TRUE(unlocked->empty());
    found = store().FindUserByUniqueNum(kim);
    EXPECT_FALSE(found->locked_at.has_value());
    EXPECT_EQ(found->locked_reason, "");
    EXPECT_TRUE(store().FindSession("s3").ok()) << "unlocking ends nothing";
    EXPECT_EQ(store().SetUserLock(kim + lee + 100, kNow, "").status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformance, ListUserSummariesCountsSessionsAndActiveDevicesInPages) {
    int64_t kim = CreateUserOrDie("kim_summary");
    int64_t lee = CreateUserOrDie("lee_summary");
    ASSERT_TRUE(store().CreateSession(SampleSession("a", kim, kT0)).ok());
    ASSERT_TRUE(store().CreateSession(SampleSession("b", kim, kT0 + minutes(3))).ok());
    ASSERT_TRUE(store().TouchSession("a", kT0 + minutes(7)).ok());
    auto d1 = store().CreateDevice(SampleDevice(kim, "d1"));
    auto d2 = store().CreateDevice(SampleDevice(kim, "d2"));
    ASSERT_TRUE(d1.ok() && d2.ok());
    ASSERT_TRUE(store().RevokeDevice(kim, d2->device_id, kT0).ok());
    ASSERT_TRUE(store().TouchDevice(d1->device_id, kT0 + minutes(9)).ok());

    auto all = store().ListUserSummaries(0, 10);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), 2u);
    const UserSummary& k = all->at(0);
    EXPECT_EQ(k.user.unique_num, kim);
    EXPECT_EQ(k.sessions, 2);
    EXPECT_EQ(k.active_devices, 1);
    EXPECT_EQ(k.last_login_at, kT0 + minutes(3));
    EXPECT_EQ(k.last_seen_at, kT0 + minutes(9)) << "the device was seen last";
    const UserSummary& l = all->at(1);
    EXPECT_EQ(l.user.unique_num, lee);
    EXPECT_EQ(l.sessions, 0);
    EXPECT_FALSE(l.last_login_at.has_value());
    EXPECT_FALSE(l.last_seen_at.has_value());

    auto page = store().ListUserSummaries(kim, 1);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->size(), 1u);
    EXPECT_EQ(page->at(0).user.unique_num, lee);
}

}  // namespace
}  // namespace vg::store::conformance
