// StoreLifecycle (lifecycle.hpp), and what holds for every port at once: thread-safety, Close.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

TEST_P(StoreConformance, HealthIsOkWhileOpen) {
    EXPECT_TRUE(store().CheckHealth().ok());
    store().Close();
    EXPECT_EQ(store().CheckHealth().code(), ErrorCode::kUnavailable);
}

// kUnavailable with a Retry-After hint (the api answers 503 + Retry-After).
void ExpectClosed(const Status& status, const char* call) {
    EXPECT_EQ(status.code(), ErrorCode::kUnavailable) << call << ": " << status.ToString();
    EXPECT_TRUE(status.retry_after_seconds().has_value()) << call;
}

TEST_P(StoreConformance, EveryCallAfterCloseIsUnavailable) {
    int64_t user = CreateUserOrDie("before_close");
    auto device = store().CreateDevice(SampleDevice(user, "d"));
    ASSERT_TRUE(device.ok());
    auto incident = store().SaveIncident(DangerIncident(user, kNow), {}, {});
    ASSERT_TRUE(incident.ok());
    store().Close();
    store().Close();  // idempotent
    Store& s = store();
    const std::vector<StatusRow> rows{StatusRow{user, 1, kT0, {}, {}, {}}};
    const std::vector<IncomingReading> readings{ReadingAt(1000, 1, 70)};
    bool called = false;
    // AccountStore
    ExpectClosed(s.CreateUser(SampleUser("after_close")).status(), "CreateUser");
    ExpectClosed(s.FindUserById("before_close").status(), "FindUserById");
    ExpectClosed(s.FindUserByUniqueNum(user).status(), "FindUserByUniqueNum");
    ExpectClosed(s.UserIdExists("before_close").status(), "UserIdExists");
    ExpectClosed(s.CreateSession(SampleSession("s", user)), "CreateSession");
    ExpectClosed(s.FindSession("s").status(), "FindSession");
    ExpectClosed(s.TouchSession("s", kT0), "TouchSession");
    ExpectClosed(s.DeleteSession("s"), "DeleteSession");
    ExpectClosed(s.DeleteExpiredSessions(kT0, kT0).status(), "DeleteExpiredSessions");
    ExpectClosed(s.CreateDevice(SampleDevice(user, "d2")).status(), "CreateDevice");
    ExpectClosed(s.FindDeviceByTokenHash("d").status(), "FindDeviceByTokenHash");
    ExpectClosed(s.ListDevices(user).status(), "ListDevices");
    ExpectClosed(s.RevokeDevice(user, device->device_id, kT0), "RevokeDevice");
    ExpectClosed(s.TouchDevice(device->device_id, kT0), "TouchDevice");
    ExpectClosed(s.SetRuleProfile(user, "glucose"), "SetRuleProfile");
    // ReadingStore
    ExpectClosed(s.AppendReadings(user, device->device_id, readings, kT0).status(), "AppendReadings");
    ExpectClosed(s.RecentReadings(user, 10).status(), "RecentReadings");
    ExpectClosed(
        s.ForEachWearerReadingsSince(kT0, [&](int64_t, std::vector<domain::VitalsReading>&&) { called = true; }),
        "ForEachWearerReadingsSince");
    EXPECT_FALSE(called);
    // StatusStore
    ExpectClosed(s.AppendStatus(StatusRow{user, 1, kT0, {}, {}, {}}), "AppendStatus");
    ExpectClosed(s.AppendStatuses(rows).status(), "AppendStatuses");
    ExpectClosed(s.AppendPosture({user, 1, kT0}), "AppendPosture");
    ExpectClosed(s.RecentStatuses(user, 10).status(), "RecentStatuses");
    ExpectClosed(s.RecentPostures(user, 10).status(), "RecentPostures");
    // IncidentStore
    ExpectClosed(s.SaveIncident(*incident, {}, {}).status(), "SaveIncident");
    ExpectClosed(s.FindOpenIncident(user).status(), "FindOpenIncident");
    ExpectClosed(s.FindIncident(incident->id).status(), "FindIncident");
    ExpectClosed(s.ListIncidents(user, 10).status(), "ListIncidents");
    ExpectClosed(s.DueIncidents(kNow, 10).status(), "DueIncidents");
    ExpectClosed(s.NextIncidentDue().status(), "NextIncidentDue");
    ExpectClosed(s.IncidentEvents(incident->id).status(), "IncidentEvents");
    // OutboxStore
    ExpectClosed(s.ClaimOutbox(kNow, 10, std::chrono::seconds(30)).status(), "ClaimOutbox");
    ExpectClosed(s.MarkOutboxDelivered(1, 1, kNow, "ok"), "MarkOutboxDelivered");
    ExpectClosed(s.MarkOutboxFailed(1, 1, kNow, "x", kNow), "MarkOutboxFailed");
    ExpectClosed(s.ReleaseOutbox(1, 1), "ReleaseOutbox");
    ExpectClosed(s.NextOutboxWake().status(), "NextOutboxWake");
    ExpectClosed(s.FindOutbox(1).status(), "FindOutbox");
    ExpectClosed(s.IncidentOutbox(incident->id).status(), "IncidentOutbox");
    // FallSuspicionStore
    ExpectClosed(s.SaveFallSuspicion({user, kT0, 0, kT0, kT0, kT0, kT0}), "SaveFallSuspicion");
    ExpectClosed(s.ClearFallSuspicion(user), "ClearFallSuspicion");
    ExpectClosed(s.ListFallSuspicions().status(), "ListFallSuspicions");
    // GuardianStore
    ExpectClosed(s.CreateGuardianLink(user, user + 1, "wearer", kNow).status(), "CreateGuardianLink");
    ExpectClosed(s.FindGuardianLink(1).status(), "FindGuardianLink");
    ExpectClosed(s.AcceptGuardianLink(1, kNow), "AcceptGuardianLink");
    ExpectClosed(s.EndGuardianLink(1, kNow), "EndGuardianLink");
    ExpectClosed(s.ListGuardianLinks(user).status(), "ListGuardianLinks");
    ExpectClosed(s.ActiveGuardians(user).status(), "ActiveGuardians");
    ExpectClosed(s.IsActiveGuardian(user + 1, user).status(), "IsActiveGuardian");
    // AuditStore
    ExpectClosed(s.AppendAudit(AuditEntry{kNow, user, user, "GET /x", ""}), "AppendAudit");
    ExpectClosed(s.AuditFor(user, 10).status(), "AuditFor");
    // StoreLifecycle
    ExpectClosed(s.CheckHealth(), "CheckHealth");
}

// Writers racing with Close(): each call either completes normally or is refused with kUnavailable;
// once a thread has been refused, it is refused from then on.
TEST_P(StoreConformance, CallsRacingWithCloseCompleteOrAreUnavailable) {
    Store& s = store();
    constexpr int kThreads = 8;
    constexpr int kPerThread = 50;
    std::atomic<int> unexpected = 0;
    std::atomic<int> refused_then_ok = 0;
    std::atomic<int> started = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            bool refused = false;
            ++started;
            for (int i = 0; i < kPerThread; ++i) {
                auto result = s.CreateUser(SampleUser("c" + std::to_string(t) + "_" + std::to_string(i)));
                if (result.ok()) {
                    if (refused) ++refused_then_ok;
                    auto read = s.FindUserByUniqueNum(result->unique_num);
                    if (!read.ok() && read.status().code() != ErrorCode::kUnavailable) ++unexpected;
                } else if (result.status().code() == ErrorCode::kUnavailable) {
                    refused = true;
                } else {
                    ++unexpected;
                }
            }
        });
    }
    while (started.load() < kThreads) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s.Close();
    for (auto& th : threads) th.join();
    EXPECT_EQ(unexpected.load(), 0);
    EXPECT_EQ(refused_then_ok.load(), 0);
    EXPECT_EQ(s.CheckHealth().code(), ErrorCode::kUnavailable);
}

TEST_P(StoreConformance, ConcurrentDuplicateIdsExactlyOneWinsPerId) {
    constexpr int kThreads = 8;
    constexpr int kIds = 20;
    std::mutex mu;
    std::map<std::string, int> winners;
    std::atomic<int> conflicts = 0;
    std::atomic<int> other_errors = 0;
    Store& s = store();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kIds; ++i) {
                std::string id = "contested_" + std::to_string(i);
                auto result = s.CreateUser(SampleUser(id));
                if (result.ok()) {
                    std::lock_guard lock(mu);
                    ++winners[id];
                } else if (result.status().code() == ErrorCode::kConflict) {
                    ++conflicts;
                } else {
                    ++other_errors;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(other_errors.load(), 0);
    EXPECT_EQ(conflicts.load(), kIds * (kThreads - 1));
    ASSERT_EQ(winners.size(), static_cast<size_t>(kIds));
    for (const auto& [id, wins] : winners) EXPECT_EQ(wins, 1) << id;
}

TEST_P(StoreConformance, ConcurrentCreatesAreAllStored) {
    constexpr int kThreads = 8;
    constexpr int kPerThread = 200;
    std::atomic<int> failures = 0;
    std::mutex mu;
    std::set<int64_t> nums;
    Store& s = store();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                auto result = s.CreateUser(SampleUser("u" + std::to_string(t) + "_" + std::to_string(i)));
                if (!result.ok()) ++failures;
                // Reads interleaved with writes: a write that returned is visible to readers.
                if (result.ok() && !s.FindUserByUniqueNum(result->unique_num).ok()) ++failures;
                if (result.ok()) {
                    std::lock_guard lock(mu);
                    nums.insert(result->unique_num);
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    std::set<int64_t> stored_nums;
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kPerThread; ++i) {
            std::string id = "u" + std::to_string(t) + "_" + std::to_string(i);
            auto exists = store().UserIdExists(id);
            ASSERT_TRUE(exists.ok());
            EXPECT_TRUE(*exists) << id;
            auto user = store().FindUserById(id);
            ASSERT_TRUE(user.ok()) << id;
            stored_nums.insert(user->unique_num);
        }
    }
    EXPECT_EQ(nums.size(), static_cast<size_t>(kThreads * kPerThread)) << "every user got a number of its own";
    EXPECT_EQ(stored_nums, nums) << "and is stored under it";
}

// The ports are views of one store: what one port writes, another reads (a service may take just the
// ports it needs and still see the others' writes).
TEST_P(StoreConformance, PortsAreViewsOfOneStore) {
    AccountStore& accounts = store();
    IncidentStore& incidents = store();
    OutboxStore& outbox = store();
    StatusStore& statuses = store();
    auto user = accounts.CreateUser(SampleUser("ported"));
    ASSERT_TRUE(user.ok());
    std::vector<NewOutboxMessage> messages{Message("ported-1", kNow)};
    ASSERT_TRUE(incidents.SaveIncident(DangerIncident(user->unique_num, kNow), {}, messages).ok());
    auto claimed = outbox.ClaimOutbox(kNow, 10, std::chrono::seconds(30));
    ASSERT_TRUE(claimed.ok());
    ASSERT_EQ(claimed->size(), 1u);
    EXPECT_EQ(claimed->front().idempotency_key, "ported-1");
    ASSERT_TRUE(statuses.AppendStatus(StatusRow{user->unique_num, 2, kNow, {}, {}, {}}).ok());
    EXPECT_EQ(accounts.FindUserByUniqueNum(user->unique_num)->danger_degree, 2);
    StoreLifecycle& lifecycle = store();
    lifecycle.Close();
    EXPECT_EQ(outbox.NextOutboxWake().status().code(), ErrorCode::kUnavailable) << "one Close closes every port";
}

}  // namespace
}  // namespace vg::store::conformance
