#include "vg/auth/account_service.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "vg/store/sqlite_store.hpp"

namespace vg::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

domain::SignupInput Kim() {
    domain::SignupInput in;
    in.profile.id = "grandma_kim";
    in.password = "correct horse";
    in.profile.name = "김영희";
    in.profile.age = 78;
    in.profile.address = "서울특별시 종로구 세종대로 1";
    in.profile.phone_num = "010-1234-5678";
    in.profile.guard_name = "김철수";
    in.profile.guard_phone_num = "010-9876-5432";
    return in;
}

class AccountServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("vg_auth_test_" + std::to_string(getpid()) + "_" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        store::SqliteStoreOptions options;
        options.path = (dir_ / "test.db").string();
        auto opened = store::SqliteStore::Open(options);
        ASSERT_TRUE(opened.ok()) << opened.status().ToString();
        store_ = std::move(opened).value();
        AccountOptions account_options;
        account_options.password_cost = PasswordHashCost::Minimum();
        account_options.session_ttl = std::chrono::hours(12);
        account_options.idle_timeout = minutes(30);
        account_options.touch_interval = minutes(1);
        account_options.max_failed_logins_per_id = 3;
        account_options.max_failed_logins_per_address = 5;
        service_ = std::make_unique<AccountService>(*store_, clock_, account_options);
    }
    void TearDown() override {
        service_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    const ClientInfo client_{"192.0.2.10", "test-agent"};
    std::filesystem::path dir_;
    ManualClock clock_;
    std::unique_ptr<store::SqliteStore> store_;
    std::unique_ptr<AccountService> service_;
};

TEST_F(AccountServiceTest, SignupStoresAnArgon2idHashNeverThePassword) {
    auto user = service_->Signup(Kim());
    ASSERT_TRUE(user.ok()) << user.status().ToString();
    EXPECT_EQ(user->profile, Kim().profile);
    EXPECT_EQ(user->password_hash.rfind("$argon2id$", 0), 0u);
    EXPECT_EQ(user->password_hash.find("correct horse"), std::string::npos);
    EXPECT_EQ(user->danger_degree, 0);
    EXPECT_FALSE(user->user_posture.has_value());
}

TEST_F(AccountServiceTest, SignupRejectsInvalidInputAndWritesNothing) {
    domain::SignupInput bad = Kim();
    bad.profile.age = 200;
    bad.profile.phone_num = "hello";
    auto user = service_->Signup(bad);
    ASSERT_FALSE(user.ok());
    EXPECT_EQ(user.status().code(), ErrorCode::kValidationFailed);
    ASSERT_EQ(user.status().fields().size(), 2u);
    EXPECT_EQ(user.status().fields()[0].field, "age");
    EXPECT_EQ(user.status().fields()[1].field, "phone_num");
    EXPECT_TRUE(*service_->IsIdAvailable("grandma_kim"));
}

TEST_F(AccountServiceTest, DuplicateIdIsAConflict) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto again = service_->Signup(Kim());
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().code(), ErrorCode::kConflict);
    EXPECT_FALSE(*service_->IsIdAvailable("grandma_kim"));
    EXPECT_EQ(service_->IsIdAvailable("X").status().code(), ErrorCode::kValidationFailed);
}

TEST_F(AccountServiceTest, LoginAuthenticateLogout) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto login = service_->Login("grandma_kim", "correct horse", client_);
    ASSERT_TRUE(login.ok()) << login.status().ToString();
    EXPECT_EQ(login->token.size(), 43u);
    EXPECT_EQ(login->session.token_hash, HashToken(login->token));
    EXPECT_NE(login->session.csrf_token, login->token);

    auto auth = service_->Authenticate(login->token);
    ASSERT_TRUE(auth.ok()) << auth.status().ToString();
    EXPECT_EQ(auth->user.profile.id, "grandma_kim");
    EXPECT_EQ(auth->session.csrf_token, login->session.csrf_token);

    ASSERT_TRUE(service_->Logout(login->token).ok());
    EXPECT_EQ(service_->Authenticate(login->token).status().code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(service_->Logout(login->token).code(), ErrorCode::kUnauthenticated);
}

TEST_F(AccountServiceTest, WrongPasswordAndUnknownIdGetTheSameAnswer) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto wrong = service_->Login("grandma_kim", "wrong password", client_);
    auto unknown = service_->Login("nobody_here", "wrong password", client_);
    EXPECT_EQ(wrong.status().code(), ErrorCode::kInvalidCredentials);
    EXPECT_EQ(unknown.status().code(), ErrorCode::kInvalidCredentials);
    EXPECT_EQ(wrong.status().message(), unknown.status().message());
}

TEST_F(AccountServiceTest, SessionEndsAfterIdleTimeout) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto login = service_->Login("grandma_kim", "correct horse", client_);
    ASSERT_TRUE(login.ok());
    // Used every 20 minutes, the session stays alive past the 30-minute idle timeout...
    for (int i = 0; i < 4; ++i) {
        clock_.Advance(minutes(20));
        ASSERT_TRUE(service_->Authenticate(login->token).ok()) << "use " << i;
    }
    // ...but not after 30 minutes without use.
    clock_.Advance(minutes(30));
    EXPECT_EQ(service_->Authenticate(login->token).status().code(), ErrorCode::kSessionExpired);
    // An expired session is deleted, not just refused.
    EXPECT_EQ(service_->Authenticate(login->token).status().code(), ErrorCode::kUnauthenticated);
}

TEST_F(AccountServiceTest, AuthenticatingWithoutWritingSaysWhenAWriteIsDue) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto login = service_->Login("grandma_kim", "correct horse", client_);
    ASSERT_TRUE(login.ok());
    const std::string hash = HashToken(login->token);
    auto last_seen = [&] { return store_->FindSession(hash).value().last_seen_at; };
    const TimePoint logged_in = last_seen();

    // Within touch_interval of the last use: answered from reads alone.
    clock_.Advance(std::chrono::seconds(30));
    auto fresh = service_->TryAuthenticateWithoutWriting(login->token);
    ASSERT_TRUE(fresh.has_value());
    ASSERT_TRUE(fresh->ok()) << fresh->status().ToString();
    EXPECT_EQ((*fresh)->user.profile.id, "grandma_kim");
    EXPECT_EQ((*fresh)->session.csrf_token, login->session.csrf_token);
    // Unknown tokens need no write either.
    auto unknown = service_->TryAuthenticateWithoutWriting("not-a-session");
    ASSERT_TRUE(unknown.has_value());
    EXPECT_EQ(unknown->status().code(), ErrorCode::kUnauthenticated);

    // A touch is due: no answer, and nothing written.
    clock_.Advance(minutes(2));
    EXPECT_FALSE(service_->TryAuthenticateWithoutWriting(login->token).has_value());
    EXPECT_EQ(last_seen(), logged_in);
    // Authenticate writes it; then reads suffice again.
    ASSERT_TRUE(service_->Authenticate(login->token).ok());
    EXPECT_EQ(last_seen(), clock_.Now());
    auto after_touch = service_->TryAuthenticateWithoutWriting(login->token);
    ASSERT_TRUE(after_touch.has_value());
    EXPECT_TRUE(after_touch->ok());

    // Expired: deleting it is a write, so no answer, and the session is still stored.
    clock_.Advance(minutes(31));
    EXPECT_FALSE(service_->TryAuthenticateWithoutWriting(login->token).has_value());
    EXPECT_TRUE(store_->FindSession(hash).ok());
    EXPECT_EQ(service_->Authenticate(login->token).status().code(), ErrorCode::kSessionExpired);
    auto gone = service_->TryAuthenticateWithoutWriting(login->token);
    ASSERT_TRUE(gone.has_value());
    EXPECT_EQ(gone->status().code(), ErrorCode::kUnauthenticated);
}

TEST_F(AccountServiceTest, SessionEndsAtAbsoluteExpiryEvenWhenUsed) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto login = service_->Login("grandma_kim", "correct horse", client_);
    ASSERT_TRUE(login.ok());
    for (int i = 0; i < 12 * 3 - 1; ++i) {
        clock_.Advance(minutes(20));
        ASSERT_TRUE(service_->Authenticate(login->token).ok()) << "use " << i;
    }
    clock_.Advance(minutes(20));  // 12 h after login
    EXPECT_EQ(service_->Authenticate(login->token).status().code(), ErrorCode::kSessionExpired);
}

TEST_F(AccountServiceTest, PurgeDeletesOnlyExpiredSessions) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto old_login = service_->Login("grandma_kim", "correct horse", client_);
    clock_.Advance(minutes(40));
    auto new_login = service_->Login("grandma_kim", "correct horse", client_);
    auto purged = service_->PurgeExpiredSessions();
    ASSERT_TRUE(purged.ok());
    EXPECT_EQ(*purged, 1);
    EXPECT_TRUE(service_->Authenticate(new_login->token).ok());
}

TEST_F(AccountServiceTest, FailedLoginsSlowThePairDownThenTheWindowSlides) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(service_->Login("grandma_kim", "guess" + std::to_string(i) + "xxx", client_).status().code(),
                  ErrorCode::kInvalidCredentials);
    }
    // This (id, address) pair must now wait, even with the right password, and is told for how long.
    auto locked = service_->Login("grandma_kim", "correct horse", client_);
    ASSERT_EQ(locked.status().code(), ErrorCode::kRateLimited);
    ASSERT_TRUE(locked.status().retry_after_seconds().has_value());
    EXPECT_GT(*locked.status().retry_after_seconds(), 0);
    // Another id from another address is not affected.
    ASSERT_TRUE(service_
                    ->Signup([] {
                        auto other = Kim();
                        other.profile.id = "grandpa_lee";
                        return other;
                    }())
                    .ok());
    EXPECT_TRUE(service_->Login("grandpa_lee", "correct horse", {"198.51.100.7", ""}).ok());
    clock_.Advance(minutes(15));
    EXPECT_TRUE(service_->Login("grandma_kim", "correct horse", client_).ok());
}

// Issue 15 item 3: five wrong passwords used to lock the real owner out for 15 minutes, from everywhere.
TEST_F(AccountServiceTest, AnAttackerFailingFromOneAddressDoesNotKeepTheOwnerOutOfAnother) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    const ClientInfo attacker{"203.0.113.66", "curl"};
    for (int i = 0; i < 30; ++i) {
        (void)service_->Login("grandma_kim", "guess" + std::to_string(i) + "xxx", attacker);
        clock_.Advance(seconds(1));
    }
    // The owner, at home, from an address that has not failed: straight in.
    auto owner = service_->Login("grandma_kim", "correct horse", {"198.51.100.20", "phone"});
    EXPECT_TRUE(owner.ok()) << owner.status().ToString();
}

TEST_F(AccountServiceTest, AnAttackersOwnAttemptsSlowDownOneTwoFourSeconds) {
    AccountOptions options = service_->options();
    options.max_failed_logins_per_id = 100;  // only the pair's delays in play here
    options.max_failed_logins_per_address = 100;
    AccountService service(*store_, clock_, options);
    ASSERT_TRUE(service.Signup(Kim()).ok());
    const ClientInfo attacker{"203.0.113.66", "curl"};
    auto attempt = [&] { return service.Login("grandma_kim", "wrong password", attacker).status(); };
    for (int i = 0; i < 3; ++i) EXPECT_EQ(attempt().code(), ErrorCode::kInvalidCredentials) << i;  // free ones
    for (int wait : {1, 2, 4, 8, 16}) {
        Status refused = attempt();
        ASSERT_EQ(refused.code(), ErrorCode::kRateLimited) << wait;
        EXPECT_EQ(refused.retry_after_seconds().value_or(0), wait);
        clock_.Advance(seconds(wait) - std::chrono::milliseconds(1));
        EXPECT_EQ(attempt().code(), ErrorCode::kRateLimited) << "too early by 1 ms, wait " << wait;
        clock_.Advance(std::chrono::milliseconds(1));
        EXPECT_EQ(attempt().code(), ErrorCode::kInvalidCredentials) << wait;
    }
}

TEST_F(AccountServiceTest, TheGrowingDelayStopsAtItsCap) {
    AccountOptions options = service_->options();
    options.max_failed_logins_per_id = 1000;
    options.max_failed_logins_per_address = 1000;
    AccountService service(*store_, clock_, options);
    const ClientInfo attacker{"203.0.113.66", "curl"};
    int last_wait = 0;
    for (int i = 0; i < 40; ++i) {
        Status s = service.Login("grandma_kim", "wrong password", attacker).status();
        if (s.code() == ErrorCode::kRateLimited) {
            last_wait = s.retry_after_seconds().value_or(0);
            clock_.Advance(seconds(last_wait));
        }
    }
    EXPECT_EQ(last_wait, std::chrono::duration_cast<seconds>(options.max_login_delay).count());
}

// The per-id ceiling (3 failures in the window here): a thousand addresses each guessing once.
TEST_F(AccountServiceTest, ADistributedAttackerHitsThePerIdCeilingWithoutLockingAFreshAddressOut) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto address = [](int i) {
        return ClientInfo{"10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250), ""};
    };
    int guesses = 0;
    for (int i = 0; i < 1000; ++i) {
        if (service_->Login("grandma_kim", "guess" + std::to_string(i) + "x", address(i)).status().code() ==
            ErrorCode::kInvalidCredentials) {
            ++guesses;
        }
        clock_.Advance(std::chrono::milliseconds(100));  // 1000 attempts in 100 s
    }
    // Over the ceiling, addresses that have not failed share one attempt per id_ceiling_interval (5 s).
    EXPECT_LE(guesses, 3 + 100 / 5 + 1);
    EXPECT_GE(guesses, 3 + 100 / 5 - 1);
    // An address that has failed on this id waits until the id's failures leave the window.
    Status failed_again = service_->Login("grandma_kim", "correct horse", address(0)).status();
    ASSERT_EQ(failed_again.code(), ErrorCode::kRateLimited);
    // A fresh address (the owner's phone) is let through within one interval, never later.
    clock_.Advance(service_->options().id_ceiling_interval);
    auto owner = service_->Login("grandma_kim", "correct horse", {"198.51.100.20", "phone"});
    EXPECT_TRUE(owner.ok()) << owner.status().ToString();
}

TEST_F(AccountServiceTest, AnAddressTheOwnerLoggedInFromBeforeSkipsTheCeiling) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    const ClientInfo home{"198.51.100.20", "phone"};
    ASSERT_TRUE(service_->Login("grandma_kim", "correct horse", home).ok());
    // The attackers take every ceiling slot (one fresh address each, no pause).
    for (int i = 0; i < 100; ++i) {
        (void)service_->Login("grandma_kim", "guess", {"10.1.0." + std::to_string(i), ""});
    }
    EXPECT_EQ(service_->Login("grandma_kim", "guess", {"10.1.1.1", ""}).status().code(), ErrorCode::kRateLimited);
    auto owner = service_->Login("grandma_kim", "correct horse", home);
    EXPECT_TRUE(owner.ok()) << owner.status().ToString();
}

// Issue 15 item 9: the limiter checked before the ~90 ms hash and recorded after it, so parallel
// attempts all passed the check. Each attempt is now reserved before the hash.
TEST_F(AccountServiceTest, ParallelAttemptsRunAtMostTheAllowedNumberOfHashes) {
    AccountOptions options = service_->options();
    options.password_cost = {1, 8 * 1024 * 1024};  // a few ms a hash, so that the attempts overlap
    AccountService service(*store_, clock_, options);
    ASSERT_TRUE(service.Signup(Kim()).ok());
    constexpr int kThreads = 16;
    std::atomic<int> ready{0};
    std::atomic<int> hashed_and_wrong{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            ready.fetch_add(1);
            while (ready.load() < kThreads) std::this_thread::yield();
            Status s = service.Login("grandma_kim", "guess" + std::to_string(t) + "x", client_).status();
            if (s.code() == ErrorCode::kInvalidCredentials) hashed_and_wrong.fetch_add(1);
            if (s.code() == ErrorCode::kRateLimited) refused.fetch_add(1);
        });
    }
    for (auto& t : threads) t.join();
    // Three free failures for this (id, address) pair, and the id's ceiling is three as well.
    EXPECT_EQ(hashed_and_wrong.load(), 3);
    EXPECT_EQ(refused.load(), kThreads - 3);
}

TEST_F(AccountServiceTest, FailedLoginsLockTheClientAddressAcrossIds) {
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(service_->Login("user" + std::to_string(i), "password", client_).status().code(),
                  ErrorCode::kInvalidCredentials);
    }
    EXPECT_EQ(service_->Login("someone_else", "password", client_).status().code(), ErrorCode::kRateLimited);
    EXPECT_EQ(service_->Login("someone_else", "password", {"198.51.100.7", ""}).status().code(),
              ErrorCode::kInvalidCredentials);
}

// Issue 15 item 1 (its sign-up part): anyone could create accounts without limit.
TEST_F(AccountServiceTest, SignupsFromOneAddressAreLimitedPerWindow) {
    AccountOptions options = service_->options();
    options.max_signups_per_address = 2;
    options.signup_window = std::chrono::hours(1);
    AccountService service(*store_, clock_, options);
    auto named = [](const std::string& id) {
        auto in = Kim();
        in.profile.id = id;
        return in;
    };
    const ClientInfo farm{"203.0.113.9", "bot"};
    ASSERT_TRUE(service.Signup(named("farm_1"), farm).ok());
    // Failures do not count: a taken id, a bad field.
    EXPECT_EQ(service.Signup(named("farm_1"), farm).status().code(), ErrorCode::kConflict);
    EXPECT_EQ(service.Signup(named("x"), farm).status().code(), ErrorCode::kValidationFailed);
    ASSERT_TRUE(service.Signup(named("farm_2"), farm).ok());
    auto third = service.Signup(named("farm_3"), farm);
    ASSERT_EQ(third.status().code(), ErrorCode::kRateLimited);
    EXPECT_GT(third.status().retry_after_seconds().value_or(0), 59 * 60);
    EXPECT_NE(third.status().message().find("at most 2 an hour"), std::string::npos) << third.status().message();
    EXPECT_TRUE(service.Signup(named("elsewhere"), {"198.51.100.1", ""}).ok()) << "another address is not affected";
    clock_.Advance(std::chrono::hours(1));
    EXPECT_TRUE(service.Signup(named("farm_3"), farm).ok());
}

TEST_F(AccountServiceTest, SessionEndsAtIsTheEarlierOfExpiryAndIdleEndAndGoneAfterLogout) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto login = service_->Login("grandma_kim", "correct horse", client_);
    ASSERT_TRUE(login.ok());
    const std::string hash = HashToken(login->token);
    auto ends = service_->SessionEndsAt(hash);
    ASSERT_TRUE(ends.ok());
    EXPECT_EQ(*ends, clock_.Now() + minutes(30));  // idle end before the 12 h expiry
    ASSERT_TRUE(service_->Logout(login->token).ok());
    EXPECT_EQ(service_->SessionEndsAt(hash).status().code(), ErrorCode::kUnauthenticated);
}

TEST_F(AccountServiceTest, DevicePairingAuthenticationAndRevocation) {
    auto user = service_->Signup(Kim());
    ASSERT_TRUE(user.ok());
    auto paired = service_->PairDevice(user->unique_num, "Galaxy Watch 6");
    ASSERT_TRUE(paired.ok()) << paired.status().ToString();
    EXPECT_EQ(paired->device.token_hash, HashToken(paired->token));

    auto device = service_->AuthenticateDevice(paired->token);
    ASSERT_TRUE(device.ok());
    EXPECT_EQ(device->user_unique_num, user->unique_num);
    EXPECT_EQ(service_->AuthenticateDevice("not-a-token").status().code(), ErrorCode::kUnauthenticated);

    auto list = service_->ListDevices(user->unique_num);
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->size(), 1u);

    EXPECT_EQ(service_->RevokeDevice(user->unique_num + 1, paired->device.device_id).code(), ErrorCode::kNotFound);
    ASSERT_TRUE(service_->RevokeDevice(user->unique_num, paired->device.device_id).ok());
    EXPECT_EQ(service_->AuthenticateDevice(paired->token).status().code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(service_->RevokeDevice(user->unique_num, paired->device.device_id).code(), ErrorCode::kNotFound);

    EXPECT_EQ(service_->PairDevice(user->unique_num, "").status().code(), ErrorCode::kValidationFailed);
}

// The hot paths' copies (CredentialCache): used for at most credential_cache_ttl (1 s), and dropped at
// once by whatever ends a session here.
TEST_F(AccountServiceTest, CachedSessionAuthenticationUsesACopyForAtMostTheTtlAndLogoutEndsItAtOnce) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto login = service_->Login("grandma_kim", "correct horse", client_);
    ASSERT_TRUE(login.ok());
    EXPECT_FALSE(service_->TryAuthenticateCached(login->token, /*read_store=*/false).has_value())
        << "no copy yet, and an io thread may not read the store";
    auto first = service_->TryAuthenticateCached(login->token);
    ASSERT_TRUE(first.has_value() && first->ok());
    EXPECT_EQ((*first)->user.profile.id, "grandma_kim");

    // Another process ends the session (as `vitalguard user lock` does): the copy still answers, for
    // at most the ttl.
    ASSERT_TRUE(store_->DeleteSession(HashToken(login->token)).ok());
    auto copy = service_->TryAuthenticateCached(login->token, /*read_store=*/false);
    ASSERT_TRUE(copy.has_value() && copy->ok()) << "answered from the copy, without the store";
    clock_.Advance(std::chrono::milliseconds(1000));
    EXPECT_FALSE(service_->TryAuthenticateCached(login->token, /*read_store=*/false).has_value());
    auto reread = service_->TryAuthenticateCached(login->token);
    ASSERT_TRUE(reread.has_value());
    EXPECT_EQ(reread->status().code(), ErrorCode::kUnauthenticated);

    // Logging out here ends the copy at once.
    auto again = service_->Login("grandma_kim", "correct horse", client_);
    ASSERT_TRUE(again.ok());
    ASSERT_TRUE(service_->TryAuthenticateCached(again->token).value().ok());
    ASSERT_TRUE(service_->Logout(again->token).ok());
    EXPECT_FALSE(service_->TryAuthenticateCached(again->token, /*read_store=*/false).has_value());
    EXPECT_EQ(service_->TryAuthenticateCached(again->token)->status().code(), ErrorCode::kUnauthenticated);
}

TEST_F(AccountServiceTest, CachedSessionAuthenticationLeavesTheTouchToAuthenticate) {
    ASSERT_TRUE(service_->Signup(Kim()).ok());
    auto login = service_->Login("grandma_kim", "correct horse", client_);
    ASSERT_TRUE(login.ok());
    ASSERT_TRUE(service_->TryAuthenticateCached(login->token).value().ok());
    clock_.Advance(minutes(1));  // the last use is due to be written
    EXPECT_FALSE(service_->TryAuthenticateCached(login->token).has_value());
    ASSERT_TRUE(service_->Authenticate(login->token).ok());  // writes it, and refreshes the copy
    auto copy = service_->TryAuthenticateCached(login->token, /*read_store=*/false);
    ASSERT_TRUE(copy.has_value() && copy->ok());
    EXPECT_EQ((*copy)->session.last_seen_at, clock_.Now());
}

TEST_F(AccountServiceTest, CachedDeviceAuthenticationEndsAtOnceWhenTheDeviceIsUnpaired) {
    auto user = service_->Signup(Kim());
    ASSERT_TRUE(user.ok());
    auto paired = service_->PairDevice(user->unique_num, "Galaxy Watch 6");
    ASSERT_TRUE(paired.ok());
    EXPECT_FALSE(service_->TryAuthenticateDeviceCached(paired->token).has_value()) << "its first use is written";
    ASSERT_TRUE(service_->AuthenticateDevice(paired->token).ok());
    auto copy = service_->TryAuthenticateDeviceCached(paired->token, /*read_store=*/false);
    ASSERT_TRUE(copy.has_value() && copy->ok());
    EXPECT_EQ((*copy)->device_id, paired->device.device_id);
    ASSERT_TRUE(service_->RevokeDevice(user->unique_num, paired->device.device_id).ok());
    EXPECT_FALSE(service_->TryAuthenticateDeviceCached(paired->token, /*read_store=*/false).has_value());
    EXPECT_EQ(service_->TryAuthenticateDeviceCached(paired->token)->status().code(), ErrorCode::kUnauthenticated);
}

TEST(CredentialCacheTest, AReadThatBeganBeforeAClearDoesNotPutItsCopyBack) {
    CredentialCache<int> cache(std::chrono::milliseconds(1000), 2);
    const TimePoint t0{Milliseconds(1'000'000)};
    const uint64_t before = cache.generation();
    cache.Clear();  // e.g. a logout while the read was in progress
    cache.Put("a", 1, t0, before);
    EXPECT_FALSE(cache.Find("a", t0).has_value());
    cache.Put("a", 1, t0, cache.generation());
    EXPECT_EQ(cache.Find("a", t0), 1);
    EXPECT_FALSE(cache.Find("a", t0 + std::chrono::milliseconds(1000)).has_value()) << "past its ttl";
    // Bounded: when full, stale entries make room; otherwise the new one is not kept.
    cache.Put("b", 2, t0, cache.generation());
    cache.Put("c", 3, t0, cache.generation());
    EXPECT_FALSE(cache.Find("c", t0).has_value());
    cache.Put("c", 3, t0 + std::chrono::milliseconds(1500), cache.generation());
    EXPECT_EQ(cache.Find("c", t0 + std::chrono::milliseconds(1500)), 3);
    EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace vg::auth
