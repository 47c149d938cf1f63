// AccountStore (accounts.hpp): users, sessions, devices, rule profile.

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// ---- users ----

TEST_P(StoreConformance, CreatedUserIsFoundByIdAndUniqueNum) {
    NewUser in = SampleUser("grandma_kim");
    auto created = store().CreateUser(in);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_GT(created->unique_num, 0);
    EXPECT_EQ(created->profile, in.profile);
    EXPECT_EQ(created->password_hash, in.password_hash);
    EXPECT_EQ(created->danger_degree, 0);
    EXPECT_EQ(created->user_posture, std::nullopt);
    EXPECT_EQ(created->created_at, kT0);
    EXPECT_EQ(created->rule_profile, "adult-default");

    for (auto found : {store().FindUserById("grandma_kim"), store().FindUserByUniqueNum(created->unique_num)}) {
        ASSERT_TRUE(found.ok()) << found.status().ToString();
        EXPECT_EQ(found->unique_num, created->unique_num);
        EXPECT_EQ(found->profile, in.profile);
        EXPECT_EQ(found->password_hash, in.password_hash);
        EXPECT_EQ(found->danger_degree, 0);
        EXPECT_EQ(found->user_posture, std::nullopt);
        EXPECT_EQ(found->created_at, kT0);
        EXPECT_EQ(found->rule_profile, "adult-default");
    }
}

TEST_P(StoreConformance, UniqueNumsAreDistinctAndIncreasing) {
    int64_t a = CreateUserOrDie("user_a");
    int64_t b = CreateUserOrDie("user_b");
    EXPECT_LT(a, b);
}

TEST_P(StoreConformance, TakenIdIsConflictOnFieldId) {
    CreateUserOrDie("taken");
    NewUser again = SampleUser("taken");
    again.profile.name = "Someone Else";
    auto result = store().CreateUser(again);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kConflict);
    ASSERT_EQ(result.status().fields().size(), 1u);
    EXPECT_EQ(result.status().fields()[0], (FieldError{"id", "is already taken"}));
    // The first user is untouched.
    auto found = store().FindUserById("taken");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->profile.name, "김영희");
}

// A taken id does not use up a number: the next user still gets a fresh, larger one.
TEST_P(StoreConformance, FailedCreateDoesNotDisturbNumbering) {
    const int64_t first = CreateUserOrDie("first");
    ASSERT_EQ(store().CreateUser(SampleUser("first")).status().code(), ErrorCode::kConflict);
    const int64_t second = CreateUserOrDie("second");
    EXPECT_GT(second, first);
    EXPECT_EQ(store().FindUserByUniqueNum(second)->profile.id, "second");
}

TEST_P(StoreConformance, MissingUserIsNotFound) {
    EXPECT_EQ(store().FindUserById("nobody").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindUserByUniqueNum(12345).status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformance, UserIdExists) {
    CreateUserOrDie("present");
    auto yes = store().UserIdExists("present");
    ASSERT_TRUE(yes.ok());
    EXPECT_TRUE(*yes);
    auto no = store().UserIdExists("absent");
    ASSERT_TRUE(no.ok());
    EXPECT_FALSE(*no);
}

// The domain validates first; the store is the last guard (SQLite: a schema CHECK).
TEST_P(StoreConformance, ValueOutsideTheDomainLimitsIsInternalAndNotStored) {
    for (int age : {131, 0}) {
        NewUser bad = SampleUser("bad_age_" + std::to_string(age));
        bad.profile.age = age;
        auto result = store().CreateUser(bad);
        ASSERT_FALSE(result.ok()) << age;
        EXPECT_EQ(result.status().code(), ErrorCode::kInternal) << age;
        EXPECT_EQ(store().FindUserById(bad.profile.id).status().code(), ErrorCode::kNotFound) << age;
    }
    // The limits themselves are fine.
    for (int age : {1, 130}) {
        NewUser edge = SampleUser("edge_age_" + std::to_string(age));
        edge.profile.age = age;
        EXPECT_TRUE(store().CreateUser(edge).ok()) << age;
    }
}

// Values are data, never code (SQL: bound, not spliced), and any bytes round-trip.
TEST_P(StoreConformance, ValuesAreBoundNotSpliced) {
    for (const std::string id : {"x'); DROP TABLE users; --", "a\"b\\c%_*", "이름_😀"}) {
        NewUser user = SampleUser(id);
        user.profile.name = id + " name";
        ASSERT_TRUE(store().CreateUser(user).ok()) << id;
        auto found = store().FindUserById(id);
        ASSERT_TRUE(found.ok()) << found.status().ToString();
        EXPECT_EQ(found->profile.id, id);
        EXPECT_EQ(found->profile.name, id + " name");
    }
    EXPECT_FALSE(store().UserIdExists("x'); DROP TABLE users; -").value()) << "ids are compared whole";
    EXPECT_FALSE(store().UserIdExists("%").value()) << "no pattern matching";
}

// ---- sessions ----

TEST_P(StoreConformance, SessionRoundTrip) {
    int64_t user = CreateUserOrDie("session_user");
    domain::Session in = SampleSession("hash-1", user);
    ASSERT_TRUE(store().CreateSession(in).ok());
    auto found = store().FindSession("hash-1");
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(found->token_hash, in.token_hash);
    EXPECT_EQ(found->user_unique_num, user);
    EXPECT_EQ(found->csrf_token, in.csrf_token);
    EXPECT_EQ(found->created_at, in.created_at);
    EXPECT_EQ(found->last_seen_at, in.last_seen_at);
    EXPECT_EQ(found->expires_at, in.expires_at);
    EXPECT_EQ(found->client_address, in.client_address);
    EXPECT_EQ(found->user_agent, in.user_agent);
}

TEST_P(StoreConformance, SessionErrors) {
    int64_t user = CreateUserOrDie("session_user");
    ASSERT_TRUE(store().CreateSession(SampleSession("dup", user)).ok());
    EXPECT_EQ(store().CreateSession(SampleSession("dup", user)).code(), ErrorCode::kConflict);
    EXPECT_EQ(store().CreateSession(SampleSession("orphan", user + 100)).code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindSession("orphan").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindSession("missing").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().TouchSession("missing", kT0).code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().DeleteSession("missing").code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformance, TouchAndDeleteSession) {
    int64_t user = CreateUserOrDie("session_user");
    ASSERT_TRUE(store().CreateSession(SampleSession("s", user)).ok());
    ASSERT_TRUE(store().TouchSession("s", kT0 + minutes(5)).ok());
    auto found = store().FindSession("s");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->last_seen_at, kT0 + minutes(5));
    EXPECT_EQ(found->created_at, kT0);
    // Touching with the same time still finds the row.
    EXPECT_TRUE(store().TouchSession("s", kT0 + minutes(5)).ok());

    ASSERT_TRUE(store().DeleteSession("s").ok());
    EXPECT_EQ(store().FindSession("s").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().DeleteSession("s").code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().TouchSession("s", kT0).code(), ErrorCode::kNotFound);
}

// Expiry is the caller's decision until DeleteExpiredSessions runs: an expired session is still found.
TEST_P(StoreConformance, ExpiredSessionIsFoundUntilDeleted) {
    int64_t user = CreateUserOrDie("session_user");
    domain::Session old = SampleSession("old", user, kT0 - hours(48));
    ASSERT_TRUE(store().CreateSession(old).ok());
    auto found = store().FindSession("old");
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(found->expires_at, kT0 - hours(24));
}

TEST_P(StoreConformance, DeleteExpiredSessionsUsesAbsoluteAndIdleCutoffs) {
    int64_t user = CreateUserOrDie("session_user");
    const TimePoint now = kT0 + hours(10);
    const TimePoint idle_cutoff = now - minutes(30);

    auto make = [&](std::string name, TimePoint last_seen, TimePoint expires) {
        domain::Session s = SampleSession(std::move(name), user);
        s.last_seen_at = last_seen;
        s.expires_at = expires;
        ASSERT_TRUE(store().CreateSession(s).ok());
    };
    make("fresh", now - minutes(1), now + hours(1));
    make("absolute_past", now - minutes(1), now - minutes(1));
    make("absolute_now", now - minutes(1), now);             // expires_at <= now: gone
    make("idle", idle_cutoff - minutes(1), now + hours(1));  // idle since before the cutoff: gone
    make("idle_boundary", idle_cutoff, now + hours(1));      // seen exactly at the cutoff: kept
    make("both", idle_cutoff - hours(1), now - hours(1));

    auto deleted = store().DeleteExpiredSessions(now, idle_cutoff);
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    EXPECT_EQ(*deleted, 4);
    EXPECT_TRUE(store().FindSession("fresh").ok());
    EXPECT_TRUE(store().FindSession("idle_boundary").ok());
    for (const char* gone : {"absolute_past", "absolute_now", "idle", "both"}) {
        EXPECT_EQ(store().FindSession(gone).status().code(), ErrorCode::kNotFound) << gone;
    }
    auto again = store().DeleteExpiredSessions(now, idle_cutoff);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 0);
}

// ---- devices ----

TEST_P(StoreConformance, DeviceRoundTrip) {
    int64_t user = CreateUserOrDie("device_user");
    auto created = store().CreateDevice(SampleDevice(user, "dev-hash"));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_GT(created->device_id, 0);
    EXPECT_EQ(created->user_unique_num, user);
    EXPECT_EQ(created->name, "Galaxy Watch");
    EXPECT_EQ(created->token_hash, "dev-hash");
    EXPECT_EQ(created->created_at, kT0);
    EXPECT_EQ(created->revoked_at, std::nullopt);
    EXPECT_EQ(created->last_seen_at, std::nullopt);

    auto found = store().FindDeviceByTokenHash("dev-hash");
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(found->device_id, created->device_id);
    EXPECT_EQ(found->user_unique_num, user);
    EXPECT_EQ(found->name, "Galaxy Watch");
    EXPECT_EQ(found->token_hash, "dev-hash");
    EXPECT_EQ(found->created_at, kT0);
    EXPECT_EQ(found->revoked_at, std::nullopt);
    EXPECT_EQ(found->last_seen_at, std::nullopt);

    ASSERT_TRUE(store().TouchDevice(created->device_id, kT0 + minutes(3)).ok());
    found = store().FindDeviceByTokenHash("dev-hash");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->last_seen_at, kT0 + minutes(3));
}

TEST_P(StoreConformance, DeviceIdsAreDistinctAndIncreasing) {
    int64_t user = CreateUserOrDie("device_user");
    auto a = store().CreateDevice(SampleDevice(user, "a"));
    ASSERT_EQ(store().CreateDevice(SampleDevice(user, "a")).status().code(), ErrorCode::kConflict);
    auto b = store().CreateDevice(SampleDevice(user, "b"));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_GT(a->device_id, 0);
    EXPECT_LT(a->device_id, b->device_id);
}

TEST_P(StoreConformance, DeviceErrors) {
    int64_t user = CreateUserOrDie("device_user");
    ASSERT_TRUE(store().CreateDevice(SampleDevice(user, "dup")).ok());
    EXPECT_EQ(store().CreateDevice(SampleDevice(user, "dup")).status().code(), ErrorCode::kConflict);
    EXPECT_EQ(store().CreateDevice(SampleDevice(user + 100, "orphan")).status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindDeviceByTokenHash("orphan").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindDeviceByTokenHash("missing").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().TouchDevice(99999, kT0).code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().RevokeDevice(user, 99999, kT0).code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformance, ListDevicesNewestFirstIncludingRevoked) {
    int64_t user = CreateUserOrDie("device_user");
    int64_t other = CreateUserOrDie("other_user");
    auto oldest = store().CreateDevice(SampleDevice(user, "d1", kT0));
    auto middle = store().CreateDevice(SampleDevice(user, "d2", kT0 + minutes(1)));
    auto newest = store().CreateDevice(SampleDevice(user, "d3", kT0 + minutes(2)));
    auto same_time = store().CreateDevice(SampleDevice(user, "d4", kT0 + minutes(2)));  // tie: higher id first
    ASSERT_TRUE(store().CreateDevice(SampleDevice(other, "o1")).ok());
    ASSERT_TRUE(oldest.ok() && middle.ok() && newest.ok() && same_time.ok());
    ASSERT_TRUE(store().RevokeDevice(user, middle->device_id, kT0 + hours(1)).ok());

    auto list = store().ListDevices(user);
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    ASSERT_EQ(list->size(), 4u);
    EXPECT_EQ((*list)[0].device_id, same_time->device_id);
    EXPECT_EQ((*list)[1].device_id, newest->device_id);
    EXPECT_EQ((*list)[2].device_id, middle->device_id);
    EXPECT_EQ((*list)[2].revoked_at, kT0 + hours(1));
    EXPECT_EQ((*list)[3].device_id, oldest->device_id);
    for (const domain::Device& d : *list) EXPECT_EQ(d.user_unique_num, user);

    auto none = store().ListDevices(424242);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformance, DeviceIsRevokedOnlyByItsOwnerAndOnlyOnce) {
    int64_t owner = CreateUserOrDie("owner");
    int64_t intruder = CreateUserOrDie("intruder");
    auto device = store().CreateDevice(SampleDevice(owner, "watch"));
    ASSERT_TRUE(device.ok());

    EXPECT_EQ(store().RevokeDevice(intruder, device->device_id, kT0).code(), ErrorCode::kNotFound);
    auto found = store().FindDeviceByTokenHash("watch");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->revoked_at, std::nullopt);

    ASSERT_TRUE(store().RevokeDevice(owner, device->device_id, kT0 + minutes(1)).ok());
    found = store().FindDeviceByTokenHash("watch");  // still found: the caller decides what revoked means
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->revoked_at, kT0 + minutes(1));

    EXPECT_EQ(store().RevokeDevice(owner, device->device_id, kT0 + minutes(2)).code(), ErrorCode::kNotFound);
    found = store().FindDeviceByTokenHash("watch");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->revoked_at, kT0 + minutes(1));  // the first revocation time stays

    // A revoked device can still be touched (its last upload attempt is recorded).
    EXPECT_TRUE(store().TouchDevice(device->device_id, kT0 + minutes(3)).ok());
}

// ---- rule profile ----

TEST_P(StoreConformance, RuleProfileDefaultsAndCanBeChanged) {
    const int64_t user = CreateUserOrDie("profile_user");
    EXPECT_EQ(store().FindUserByUniqueNum(user)->rule_profile, "adult-default");
    ASSERT_TRUE(store().SetRuleProfile(user, "glucose").ok());
    EXPECT_EQ(store().FindUserById("profile_user")->rule_profile, "glucose");
    EXPECT_EQ(store().SetRuleProfile(user + 1000, "glucose").code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vg::store::conformance
