// AccountService's self-service and operator methods (self_service.cpp) on a real SQLite store.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "vg/auth/account_service.hpp"
#include "vg/store/sqlite_store.hpp"

namespace vg::auth {
namespace {

using std::chrono::minutes;

domain::SignupInput Lee() {
    domain::SignupInput in;
    in.profile.id = "grandpa_lee";
    in.password = "correct horse";
    in.profile.name = "이순신";
    in.profile.age = 81;
    in.profile.address = "부산광역시 중구 중앙대로 1";
    in.profile.phone_num = "010-1234-5678";
    in.profile.guard_name = "이영희";
    in.profile.guard_phone_num = "010-9876-5432";
    return in;
}

class SelfServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("vg_self_service_test_" + std::to_string(getpid()) + "_" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        store::SqliteStoreOptions options;
        options.path = (dir_ / "test.db").string();
        auto opened = store::SqliteStore::Open(options);
        ASSERT_TRUE(opened.ok()) << opened.status().ToString();
        store_ = std::move(opened).value();
        AccountOptions o;
        o.password_cost = PasswordHashCost::Minimum();
        o.max_account_changes_per_hour = 4;
        service_ = std::make_unique<AccountService>(*store_, clock_, o);
        ASSERT_TRUE(service_->Signup(Lee()).ok());
    }
    void TearDown() override {
        service_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }
    AuthContext LoginOrDie(const std::string& address = "192.0.2.10") {
        auto login = service_->Login("grandpa_lee", "correct horse", {address, "agent"});
        EXPECT_TRUE(login.ok()) << login.status().ToString();
        tokens_.push_back(login->token);
        return AuthContext{login->user, login->session};
    }
    // The verification of `phone_key` for the account, as a confirmed code leaves it.
    void Verify(int64_t user, const std::string& phone_key) {
        store::PhoneCode c;
        c.user = user;
        c.phone = phone_key;
        c.code_hash = "h";
        c.sent_at = clock_.Now();
        c.expires_at = clock_.Now() + minutes(10);
        c.verified_at = clock_.Now();
        store::NewOutboxMessage m;
        m.channel = "sms";
        m.recipient = phone_key;
        m.subject = "s";
        m.body = "b";
        m.idempotency_key = "pv-" + phone_key;
        m.created_at = clock_.Now();
        m.next_attempt_at = clock_.Now();
        ASSERT_TRUE(store_->IssuePhoneCode(c, m).ok());
    }
    bool Verified(int64_t user, const std::string& key) { return store_->IsPhoneVerified(user, key).value(); }

    const ClientInfo client_{"192.0.2.10", "agent"};
    std::filesystem::path dir_;
    ManualClock clock_;
    std::unique_ptr<store::SqliteStore> store_;
    std::unique_ptr<AccountService> service_;
    std::vector<std::string> tokens_;
};

TEST_F(SelfServiceTest, ChangePasswordEndsTheOtherSessionsOnly) {
    AuthContext here = LoginOrDie();
    AuthContext there = LoginOrDie("198.51.100.7");
    auto ended = service_->ChangePassword(here, "correct horse", "battery staple 2", client_);
    ASSERT_TRUE(ended.ok()) << ended.status().ToString();
    EXPECT_EQ(*ended, std::vector<std::string>{there.session.token_hash});
    EXPECT_TRUE(service_->Authenticate(tokens_[0]).ok());
    EXPECT_EQ(service_->Authenticate(tokens_[1]).status().code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(service_->Login("grandpa_lee", "correct horse", client_).status().code(), ErrorCode::kInvalidCredentials);
    EXPECT_TRUE(service_->Login("grandpa_lee", "battery staple 2", client_).ok());
}

TEST_F(SelfServiceTest, ChangePasswordChecksTheNewOneFirstAndTheCurrentOneLikeALogin) {
    AuthContext here = LoginOrDie();
    auto weak = service_->ChangePassword(here, "correct horse", "short", client_);
    EXPECT_EQ(weak.status().code(), ErrorCode::kValidationFailed);
    ASSERT_EQ(weak.status().fields().size(), 1u);
    EXPECT_EQ(weak.status().fields()[0].field, "new_password");
    // Three wrong passwords are free (the login's pair rule); the fourth attempt must wait.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(service_->ChangePassword(here, "wrong password", "battery staple 2", client_).status().code(),
                  ErrorCode::kInvalidCredentials);
    }
    auto held = service_->ChangePassword(here, "correct horse", "battery staple 2", client_);
    EXPECT_EQ(held.status().code(), ErrorCode::kRateLimited);
    EXPECT_TRUE(held.status().retry_after_seconds().has_value());
    // The login from the same address is held up too: one throttle for both.
    EXPECT_EQ(service_->Login("grandpa_lee", "correct horse", client_).status().code(), ErrorCode::kRateLimited);
}

TEST_F(SelfServiceTest, ChangesPerAccountAndHourAreCappedNamingTheLimit) {
    AuthContext here = LoginOrDie();
    ProfileChanges rename;
    for (int i = 0; i < 4; ++i) {
        rename.name = "이순신 " + std::to_string(i);
        ASSERT_TRUE(service_->UpdateProfile(here, rename, "correct horse", client_).ok()) << i;
    }
    auto capped = service_->UpdateProfile(here, rename, "correct horse", client_);
    EXPECT_EQ(capped.status().code(), ErrorCode::kRateLimited);
    EXPECT_NE(capped.status().message().find("at most 4 an hour"), std::string::npos) << capped.status().message();
    EXPECT_EQ(service_->ChangePassword(here, "correct horse", "battery staple 2", client_).status().code(),
              ErrorCode::kRateLimited)
        << "password changes share the cap";
    clock_.Advance(std::chrono::hours(1) + minutes(1));
    EXPECT_TRUE(service_->UpdateProfile(here, rename, "correct horse", client_).ok());
}

TEST_F(SelfServiceTest, UpdateProfileValidatesEveryFieldAndChangesNothingWhenOneIsBad) {
    AuthContext here = LoginOrDie();
    ProfileChanges bad;
    bad.name = "이\u202E순신";  // a direction override
    bad.age = 0;
    bad.guard_phone_num = "010-1234-5678";  // the wearer's own number
    auto refused = service_->UpdateProfile(here, bad, "correct horse", client_);
    ASSERT_EQ(refused.status().code(), ErrorCode::kValidationFailed);
    std::vector<std::string> fields;
    for (const auto& f : refused.status().fields()) fields.push_back(f.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"name", "age", "guard_phone_num"}));
    EXPECT_EQ(store_->FindUserByUniqueNum(here.user.unique_num)->profile, Lee().profile);

    ProfileChanges missing_guard_name;
    missing_guard_name.guard_name = "";
    EXPECT_EQ(service_->UpdateProfile(here, missing_guard_name, "correct horse", client_).status().fields().at(0).field,
              "guard_name");
}

TEST_F(SelfServiceTest, AChangedNumberIsUnverifiedAnUnchangedOneStaysVerified) {
    AuthContext here = LoginOrDie();
    const int64_t me = here.user.unique_num;
    Verify(me, "01012345678");
    Verify(me, "01098765432");
    ProfileChanges same;
    same.guard_phone_num = "+821098765432";  // the same number, written differently
    ASSERT_TRUE(service_->UpdateProfile(here, same, "correct horse", client_).ok());
    EXPECT_TRUE(Verified(me, "01098765432"));

    ProfileChanges other;
    other.guard_phone_num = "010-2222-3333";
    auto updated = service_->UpdateProfile(here, other, "correct horse", client_);
    ASSERT_TRUE(updated.ok());
    EXPECT_FALSE(Verified(me, "01098765432")) << "the old number's verification ends";
    EXPECT_FALSE(Verified(me, "01022223333"));
    EXPECT_TRUE(Verified(me, "01012345678")) << "the wearer's own number did not change";

    here.user = *updated;
    ProfileChanges back;
    back.guard_phone_num = "010-9876-5432";
    ASSERT_TRUE(service_->UpdateProfile(here, back, "correct horse", client_).ok());
    EXPECT_FALSE(Verified(me, "01098765432")) << "taken again: asked again";
}

TEST_F(SelfServiceTest, AChangedAddressIsConfirmedNowAndReportedByName) {
    AuthContext here = LoginOrDie();
    clock_.Advance(minutes(5));
    ProfileChanges moved;
    moved.detailed_address = "202호";
    moved.name = "이순신";  // unchanged value: not reported
    std::vector<std::string> changed;
    auto updated = service_->UpdateProfile(here, moved, "correct horse", client_, &changed);
    ASSERT_TRUE(updated.ok());
    EXPECT_EQ(changed, std::vector<std::string>{"detailed_address"});
    EXPECT_EQ(updated->address_confirmed_at, clock_.Now());

    clock_.Advance(minutes(5));
    auto confirmed = service_->ConfirmAddress(here.user.unique_num);
    ASSERT_TRUE(confirmed.ok());
    EXPECT_EQ(confirmed->address_confirmed_at, clock_.Now());
}

TEST_F(SelfServiceTest, SessionsHavePublicIdsAndEndOnlyForTheirOwner) {
    AuthContext here = LoginOrDie();
    AuthContext there = LoginOrDie();
    auto listed = service_->ListSessions(here.user.unique_num);
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 2u);
    const std::string id = AccountService::PublicSessionId(there.session.token_hash);
    EXPECT_EQ(id.size(), 16u);
    EXPECT_EQ(there.session.token_hash.find(id), std::string::npos) << "not a piece of the token hash";
    EXPECT_EQ(service_->EndSession(here.user.unique_num + 1, id).status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(service_->EndSession(here.user.unique_num, "0123456789abcdef").status().code(), ErrorCode::kNotFound);
    auto ended = service_->EndSession(here.user.unique_num, id);
    ASSERT_TRUE(ended.ok());
    EXPECT_EQ(*ended, there.session.token_hash);
    EXPECT_EQ(service_->EndSession(here.user.unique_num, id).status().code(), ErrorCode::kNotFound);
    EXPECT_TRUE(service_->Authenticate(tokens_[0]).ok());
}

TEST_F(SelfServiceTest, ALockedAccountCannotLogInItsSessionsEndAndUnlockRestoresIt) {
    AuthContext here = LoginOrDie();
    auto ended = service_->LockUser(here.user.unique_num, "reported stolen");
    ASSERT_TRUE(ended.ok());
    EXPECT_EQ(ended->size(), 1u);
    EXPECT_EQ(service_->Authenticate(tokens_[0]).status().code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(service_->SessionEndsAt(here.session.token_hash).status().code(), ErrorCode::kUnauthenticated);
    auto refused = service_->Login("grandpa_lee", "correct horse", client_);
    EXPECT_EQ(refused.status().code(), ErrorCode::kAccountLocked);
    EXPECT_EQ(refused.status().message(), "This account is locked. Contact the service operator.");
    EXPECT_EQ(service_->Login("grandpa_lee", "wrong password", client_).status().code(), ErrorCode::kInvalidCredentials)
        << "only the right password learns that the account is locked";

    ASSERT_TRUE(service_->UnlockUser(here.user.unique_num).ok());
    EXPECT_TRUE(service_->Login("grandpa_lee", "correct horse", client_).ok());
}

TEST_F(SelfServiceTest, ResetPasswordValidatesAndEndsEverySession) {
    AuthContext here = LoginOrDie();
    EXPECT_EQ(service_->ResetPassword(here.user.unique_num, "short").status().code(), ErrorCode::kValidationFailed);
    auto ended = service_->ResetPassword(here.user.unique_num, "a new long one");
    ASSERT_TRUE(ended.ok());
    EXPECT_EQ(ended->size(), 1u);
    EXPECT_EQ(service_->Authenticate(tokens_[0]).status().code(), ErrorCode::kUnauthenticated);
    EXPECT_TRUE(service_->Login("grandpa_lee", "a new long one", client_).ok());
    EXPECT_EQ(service_->ResetPassword(here.user.unique_num + 100, "a new long one").status().code(),
              ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vg::auth
