#include "vg/notify/outbox.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace vg::notify {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

NewOutboxItem Message(const std::string& key, TimePoint due = kT0) {
    NewOutboxItem item;
    item.channel = std::string(kWebhookChannel);
    item.recipient = "http://127.0.0.1/";
    item.body = "text";
    item.idempotency_key = key;
    item.created_at = due;
    item.next_attempt_at = due;
    return item;
}

TEST(InMemoryOutboxQueueTest, ClaimsDueItemsOldestFirstAndLeasesThem) {
    InMemoryOutboxQueue queue;
    const int64_t later = queue.Enqueue(Message("later", kT0 + 10s));
    const int64_t first = queue.Enqueue(Message("first", kT0 - 5s));
    const int64_t second = queue.Enqueue(Message("second", kT0));

    auto claimed = queue.ClaimDue(kT0, 10, 30s);
    ASSERT_TRUE(claimed.ok());
    ASSERT_EQ(claimed->size(), 2u);
    EXPECT_EQ((*claimed)[0].id, first);
    EXPECT_EQ((*claimed)[1].id, second);
    EXPECT_EQ((*claimed)[0].attempts, 1);
    EXPECT_EQ((*claimed)[0].idempotency_key, "first");

    auto state = queue.GetState(first);
    ASSERT_TRUE(state.ok());
    EXPECT_EQ(state->state, DeliveryState::kDelivering);
    EXPECT_EQ(state->leased_until, kT0 + 30s);
    // Leased items are not claimed again; the later one is not due.
    EXPECT_TRUE(queue.ClaimDue(kT0 + 1s, 10, 30s)->empty());
    EXPECT_EQ(queue.NextWakeAt().value(), kT0 + 10s);
    EXPECT_EQ(queue.GetState(later)->state, DeliveryState::kPending);
    EXPECT_EQ(queue.GetState(999).status().code(), ErrorCode::kNotFound);
}

TEST(InMemoryOutboxQueueTest, RecordsOutcomes) {
    InMemoryOutboxQueue queue;
    const int64_t a = queue.Enqueue(Message("a"));
    const int64_t b = queue.Enqueue(Message("b"));
    const int64_t c = queue.Enqueue(Message("c"));
    ASSERT_EQ(queue.ClaimDue(kT0, 10, 30s)->size(), 3u);

    ASSERT_TRUE(queue.MarkDelivered(a, 1, kT0 + 1s, "HTTP 200").ok());
    ASSERT_TRUE(queue.MarkAttemptFailed(b, 1, kT0 + 1s, "unavailable: HTTP 503", kT0 + 5s).ok());
    ASSERT_TRUE(queue.MarkAttemptFailed(c, 1, kT0 + 1s, "validation_failed: HTTP 400", std::nullopt).ok());

    auto delivered = queue.GetState(a).value();
    EXPECT_EQ(delivered.state, DeliveryState::kDelivered);
    EXPECT_EQ(delivered.delivered_at, kT0 + 1s);
    EXPECT_EQ(delivered.delivered_detail, "HTTP 200");
    auto retrying = queue.GetState(b).value();
    EXPECT_EQ(retrying.state, DeliveryState::kPending);
    EXPECT_EQ(retrying.attempts, 1);
    EXPECT_EQ(retrying.next_attempt_at, kT0 + 5s);
    EXPECT_EQ(retrying.last_error, "unavailable: HTTP 503");
    auto failed = queue.GetState(c).value();
    EXPECT_EQ(failed.state, DeliveryState::kFailed);
    EXPECT_EQ(failed.last_error, "validation_failed: HTTP 400");
    EXPECT_EQ(DeliveryStateName(failed.state), "failed");

    EXPECT_TRUE(queue.ClaimDue(kT0 + 4s, 10, 30s)->empty());
    auto retry = queue.ClaimDue(kT0 + 5s, 10, 30s);
    ASSERT_EQ(retry->size(), 1u);
    EXPECT_EQ((*retry)[0].id, b);
    EXPECT_EQ((*retry)[0].attempts, 2);
    // Terminal states stay terminal.
    EXPECT_EQ(queue.MarkDelivered(a, 1, kT0, "").code(), ErrorCode::kConflict);
    EXPECT_EQ(queue.MarkAttemptFailed(c, 1, kT0, "x", kT0).code(), ErrorCode::kConflict);
}

TEST(InMemoryOutboxQueueTest, ExpiredLeaseMakesTheItemClaimableAgainAndFencesTheOldAttempt) {
    InMemoryOutboxQueue queue;
    const int64_t id = queue.Enqueue(Message("crash"));
    ASSERT_EQ(queue.ClaimDue(kT0, 1, 10s)->size(), 1u);  // a worker claims it, then dies
    EXPECT_TRUE(queue.ClaimDue(kT0 + 10s, 1, 10s)->empty());
    EXPECT_EQ(queue.NextWakeAt().value(), kT0 + 10s + 1ms);

    auto again = queue.ClaimDue(kT0 + 10s + 1ms, 1, 10s);
    ASSERT_EQ(again->size(), 1u);
    EXPECT_EQ((*again)[0].attempts, 2);
    EXPECT_EQ((*again)[0].idempotency_key, "crash");
    EXPECT_NE(queue.GetState(id)->last_error.find("lease expired"), std::string::npos);

    // The first worker wakes up and reports a failure of attempt 1: refused, nothing changes.
    EXPECT_EQ(queue.MarkAttemptFailed(id, 1, kT0 + 11s, "late", kT0 + 12s).code(), ErrorCode::kConflict);
    EXPECT_EQ(queue.GetState(id)->state, DeliveryState::kDelivering);
    // A late success still counts: the message did reach the receiver.
    EXPECT_TRUE(queue.MarkDelivered(id, 1, kT0 + 11s, "HTTP 200").ok());
    EXPECT_EQ(queue.GetState(id)->state, DeliveryState::kDelivered);
    EXPECT_FALSE(queue.NextWakeAt().value().has_value());
}

TEST(InMemoryOutboxQueueTest, ReleaseGivesBackWithoutCountingTheAttempt) {
    InMemoryOutboxQueue queue;
    const int64_t id = queue.Enqueue(Message("r"));
    ASSERT_EQ(queue.ClaimDue(kT0, 1, 10s)->size(), 1u);
    ASSERT_TRUE(queue.Release(id, 1).ok());
    auto state = queue.GetState(id).value();
    EXPECT_EQ(state.state, DeliveryState::kPending);
    EXPECT_EQ(state.attempts, 0);
    EXPECT_EQ(queue.ClaimDue(kT0, 1, 10s)->at(0).attempts, 1);
    EXPECT_EQ(queue.Release(id, 7).code(), ErrorCode::kConflict);
}

TEST(InMemoryOutboxQueueTest, ConcurrentClaimsNeverShareAnItem) {
    InMemoryOutboxQueue queue;
    constexpr int kItems = 2000;
    for (int i = 0; i < kItems; ++i) queue.Enqueue(Message("k" + std::to_string(i)));
    std::mutex mu;
    std::multiset<int64_t> seen;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            while (true) {
                auto claimed = queue.ClaimDue(kT0, 3, 60s);
                if (claimed->empty()) return;
                std::lock_guard lock(mu);
                for (const auto& item : claimed.value()) seen.insert(item.id);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(seen.size(), static_cast<size_t>(kItems));
    EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), static_cast<size_t>(kItems));
    EXPECT_EQ(queue.CountIn(DeliveryState::kDelivering), static_cast<size_t>(kItems));
}

}  // namespace
}  // namespace vg::notify
