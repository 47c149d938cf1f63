// GuardianStore (guardians.hpp) and AuditStore (audit.hpp).

#include <chrono>
#include <string>
#include <vector>

#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

using std::chrono::minutes;

TEST_P(StoreConformance, GuardianLinksAskAcceptEndAndAreUniquePerPair) {
    const int64_t wearer = CreateUserOrDie("link_wearer");
    const int64_t guardian = CreateUserOrDie("link_guardian");
    auto link = store().CreateGuardianLink(wearer, guardian, "wearer", kNow);
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    EXPECT_EQ(link->state, "pending");
    EXPECT_EQ(link->guardian_id, "link_guardian");
    EXPECT_FALSE(store().IsActiveGuardian(guardian, wearer).value());
    EXPECT_EQ(store().CreateGuardianLink(wearer, guardian, "guardian", kNow).status().code(), ErrorCode::kConflict);
    EXPECT_EQ(store().CreateGuardianLink(wearer, wearer, "wearer", kNow).status().code(), ErrorCode::kValidationFailed);
    ASSERT_TRUE(store().AcceptGuardianLink(link->id, kNow).ok());
    EXPECT_EQ(store().AcceptGuardianLink(link->id, kNow).code(), ErrorCode::kConflict);
    EXPECT_TRUE(store().IsActiveGuardian(guardian, wearer).value());
    EXPECT_FALSE(store().IsActiveGuardian(wearer, guardian).value()) << "links have a direction";
    EXPECT_EQ(store().ActiveGuardians(wearer)->size(), 1u);
    EXPECT_EQ(store().ListGuardianLinks(guardian)->size(), 1u);
    ASSERT_TRUE(store().EndGuardianLink(link->id, kNow).ok());
    EXPECT_FALSE(store().IsActiveGuardian(guardian, wearer).value());
    EXPECT_TRUE(store().ListGuardianLinks(wearer)->empty());
    // Ended links free the pair for a new request.
    EXPECT_TRUE(store().CreateGuardianLink(wearer, guardian, "guardian", kNow).ok());

    AuditEntry e;
    e.at = kNow;
    e.actor = guardian;
    e.wearer = wearer;
    e.action = "GET /api/get_status";
    e.detail = "10 rows";
    ASSERT_TRUE(store().AppendAudit(e).ok());
    auto audit = store().AuditFor(wearer, 10);
    ASSERT_EQ(audit->size(), 1u);
    EXPECT_EQ(audit->front().actor, guardian);
}

TEST_P(StoreConformance, GuardianLinkCarriesBothUsersAndItsTimes) {
    NewUser w = SampleUser("link_wearer");
    w.profile.name = "김영희";
    NewUser g = SampleUser("link_guardian");
    g.profile.name = "이철수";
    g.profile.phone_num = "010-9999-0000";
    auto wearer = store().CreateUser(w);
    auto guardian = store().CreateUser(g);
    ASSERT_TRUE(wearer.ok() && guardian.ok());
    auto link = store().CreateGuardianLink(wearer->unique_num, guardian->unique_num, "guardian", kNow);
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    EXPECT_GT(link->id, 0);
    EXPECT_EQ(link->wearer, wearer->unique_num);
    EXPECT_EQ(link->guardian, guardian->unique_num);
    EXPECT_EQ(link->wearer_id, "link_wearer");
    EXPECT_EQ(link->wearer_name, "김영희");
    EXPECT_EQ(link->guardian_id, "link_guardian");
    EXPECT_EQ(link->guardian_name, "이철수");
    EXPECT_EQ(link->guardian_phone, "010-9999-0000");
    EXPECT_EQ(link->requested_by, "guardian");
    EXPECT_EQ(link->created_at, kNow);
    EXPECT_EQ(link->accepted_at, std::nullopt);
    EXPECT_EQ(link->ended_at, std::nullopt);

    ASSERT_TRUE(store().AcceptGuardianLink(link->id, kNow + minutes(1)).ok());
    auto accepted = store().FindGuardianLink(link->id);
    ASSERT_TRUE(accepted.ok());
    EXPECT_EQ(accepted->state, "active");
    EXPECT_EQ(accepted->accepted_at, kNow + minutes(1));
    EXPECT_EQ(accepted->guardian_name, "이철수");
    auto active = store().ActiveGuardians(wearer->unique_num);
    ASSERT_EQ(active->size(), 1u);
    EXPECT_EQ(active->front().guardian_phone, "010-9999-0000");

    ASSERT_TRUE(store().EndGuardianLink(link->id, kNow + minutes(2)).ok());
    auto ended = store().FindGuardianLink(link->id);  // ended links are still found
    ASSERT_TRUE(ended.ok()) << ended.status().ToString();
    EXPECT_EQ(ended->state, "ended");
    EXPECT_EQ(ended->accepted_at, kNow + minutes(1));
    EXPECT_EQ(ended->ended_at, kNow + minutes(2));
}

TEST_P(StoreConformance, GuardianLinkErrors) {
    const int64_t wearer = CreateUserOrDie("link_wearer");
    const int64_t guardian = CreateUserOrDie("link_guardian");
    EXPECT_EQ(store().CreateGuardianLink(wearer, 424242, "wearer", kNow).status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().CreateGuardianLink(424242, guardian, "guardian", kNow).status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindGuardianLink(424242).status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().AcceptGuardianLink(424242, kNow).code(), ErrorCode::kConflict);
    EXPECT_EQ(store().EndGuardianLink(424242, kNow).code(), ErrorCode::kConflict);
    EXPECT_TRUE(store().ListGuardianLinks(wearer)->empty());

    // A pending link may be ended (withdrawn or declined), once; an ended one cannot be accepted.
    auto link = store().CreateGuardianLink(wearer, guardian, "wearer", kNow);
    ASSERT_TRUE(link.ok());
    ASSERT_TRUE(store().EndGuardianLink(link->id, kNow).ok());
    EXPECT_EQ(store().EndGuardianLink(link->id, kNow).code(), ErrorCode::kConflict);
    EXPECT_EQ(store().AcceptGuardianLink(link->id, kNow).code(), ErrorCode::kConflict);
    EXPECT_FALSE(store().IsActiveGuardian(guardian, wearer).value());
    EXPECT_EQ(store().FindGuardianLink(link->id)->accepted_at, std::nullopt);

    // The reverse direction is another pair.
    ASSERT_TRUE(store().CreateGuardianLink(wearer, guardian, "wearer", kNow).ok());
    EXPECT_TRUE(store().CreateGuardianLink(guardian, wearer, "wearer", kNow).ok());
    EXPECT_EQ(store().CreateGuardianLink(guardian, wearer, "guardian", kNow).status().code(), ErrorCode::kConflict);
}

TEST_P(StoreConformance, GuardianListsAreOrdered) {
    const int64_t wearer = CreateUserOrDie("link_wearer");
    const int64_t g1 = CreateUserOrDie("guardian_1");
    const int64_t g2 = CreateUserOrDie("guardian_2");
    const int64_t g3 = CreateUserOrDie("guardian_3");
    const int64_t other = CreateUserOrDie("other_wearer");
    auto l1 = store().CreateGuardianLink(wearer, g1, "wearer", kNow + minutes(2));
    auto l2 = store().CreateGuardianLink(wearer, g2, "wearer", kNow);
    auto l3 = store().CreateGuardianLink(wearer, g3, "wearer", kNow + minutes(2));  // tie with l1: created later
    auto l4 = store().CreateGuardianLink(other, g1, "guardian", kNow + minutes(5));
    ASSERT_TRUE(l1.ok() && l2.ok() && l3.ok() && l4.ok());

    auto mine = store().ListGuardianLinks(wearer);
    ASSERT_TRUE(mine.ok()) << mine.status().ToString();
    ASSERT_EQ(mine->size(), 3u);
    EXPECT_EQ((*mine)[0].id, l3->id);
    EXPECT_EQ((*mine)[1].id, l1->id);
    EXPECT_EQ((*mine)[2].id, l2->id);
    auto of_g1 = store().ListGuardianLinks(g1);  // either side
    ASSERT_EQ(of_g1->size(), 2u);
    EXPECT_EQ((*of_g1)[0].id, l4->id);
    EXPECT_EQ((*of_g1)[1].id, l1->id);

    // Active guardians: accepted links only, oldest link first, whatever the order of acceptance.
    ASSERT_TRUE(store().AcceptGuardianLink(l3->id, kNow).ok());
    ASSERT_TRUE(store().AcceptGuardianLink(l1->id, kNow).ok());
    ASSERT_TRUE(store().AcceptGuardianLink(l4->id, kNow).ok());
    auto active = store().ActiveGuardians(wearer);
    ASSERT_TRUE(active.ok());
    ASSERT_EQ(active->size(), 2u);
    EXPECT_EQ((*active)[0].id, l1->id);
    EXPECT_EQ((*active)[1].id, l3->id);
    EXPECT_TRUE(store().ActiveGuardians(g1)->empty()) << "a guardian's own wearers are not its guardians";
    EXPECT_TRUE(store().IsActiveGuardian(g1, other).value());
    EXPECT_FALSE(store().IsActiveGuardian(g2, wearer).value()) << "pending is not active";
}

TEST_P(StoreConformance, AuditIsNewestFirstPerWearer) {
    auto entry = [](int64_t actor, int64_t wearer, TimePoint at, std::string detail) {
        AuditEntry e;
        e.at = at;
        e.actor = actor;
        e.wearer = wearer;
        e.action = "GET /api/get_status";
        e.detail = std::move(detail);
        return e;
    };
    // Audit entries are plain numbers: no user has to exist.
    ASSERT_TRUE(store().AppendAudit(entry(7, 1, kNow + minutes(1), "b")).ok());
    ASSERT_TRUE(store().AppendAudit(entry(7, 1, kNow, "a")).ok());
    ASSERT_TRUE(store().AppendAudit(entry(8, 1, kNow + minutes(1), "c")).ok());  // tie with b: appended later
    ASSERT_TRUE(store().AppendAudit(entry(7, 2, kNow + minutes(9), "other wearer")).ok());
    auto audit = store().AuditFor(1, 10);
    ASSERT_TRUE(audit.ok()) << audit.status().ToString();
    ASSERT_EQ(audit->size(), 3u);
    EXPECT_EQ((*audit)[0].detail, "c");
    EXPECT_EQ((*audit)[0].actor, 8);
    EXPECT_EQ((*audit)[0].wearer, 1);
    EXPECT_EQ((*audit)[0].action, "GET /api/get_status");
    EXPECT_EQ((*audit)[0].at, kNow + minutes(1));
    EXPECT_EQ((*audit)[1].detail, "b");
    EXPECT_EQ((*audit)[2].detail, "a");
    auto two = store().AuditFor(1, 2);
    ASSERT_EQ(two->size(), 2u);
    EXPECT_EQ((*two)[1].detail, "b");
    auto one = store().AuditFor(1, -4);
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ(one->front().detail, "c");
    EXPECT_TRUE(store().AuditFor(3, 10)->empty());
}

}  // namespace
}  // namespace vg::store::conformance
