#include "vg/notify/delivery_worker.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "sinks.hpp"
#include "vg/notify/webhook.hpp"

namespace vg::notify {
namespace {

using namespace std::chrono_literals;
using testing::HttpSink;
using testing::PlannedResponse;

constexpr const char* kSecret = "worker-test-secret-0123456789";
const RetryPolicyOptions kPolicy{.base = 1000ms, .factor = 2.0, .cap = 60'000ms, .max_attempts = 5};

class DeliveryWorkerTest : public ::testing::Test {
  protected:
    std::shared_ptr<Channel> Webhook(const Clock& clock, Milliseconds timeout = 2s) {
        WebhookOptions options;
        options.secret = kSecret;
        options.http.timeout = timeout;
        auto channel = WebhookChannel::Create(options, clock);
        EXPECT_TRUE(channel.ok());
        return std::shared_ptr<Channel>(std::move(channel).value());
    }

    int64_t Enqueue(const std::string& key, TimePoint at, const std::string& channel = "webhook") {
        NewOutboxItem item;
        item.channel = channel;
        item.recipient = sink_.Url("/hook");
        item.payload_json = R"({"key":")" + key + R"("})";
        item.idempotency_key = key;
        item.created_at = at;
        item.next_attempt_at = at;
        return queue_.Enqueue(std::move(item));
    }

    void Record(const DeliveryEvent& event) {
        std::lock_guard lock(events_mu_);
        events_.push_back(event);
    }
    std::vector<DeliveryEvent> events() {
        std::lock_guard lock(events_mu_);
        return events_;
    }

    HttpSink sink_;
    InMemoryOutboxQueue queue_;
    std::mutex events_mu_;
    std::vector<DeliveryEvent> events_;
};

TEST_F(DeliveryWorkerTest, FailsTwiceThenDeliversOnTheThirdWithThePolicysBackoff) {
    ManualClock clock;
    const TimePoint t0 = clock.Now();
    RetryPolicy policy(kPolicy, 1234);
    RetryPolicy twin(kPolicy, 1234);  // the same seed: the delays the worker will draw
    const Milliseconds d1 = *twin.NextDelay(1);
    const Milliseconds d2 = *twin.NextDelay(2);
    ASSERT_GT(d1.count(), 0);
    ASSERT_GT(d2.count(), 0);
    DeliveryWorker worker(queue_, {{"webhook", Webhook(clock)}}, policy, clock, {},
                          [this](const DeliveryEvent& e) { Record(e); });
    sink_.Plan({{.status = 500}, {.status = 503}});
    const int64_t id = Enqueue("incident-1/guardian-1", t0);

    EXPECT_EQ(worker.ProcessDue(), 1u);  // attempt 1: 500
    auto state = queue_.GetState(id).value();
    EXPECT_EQ(state.state, DeliveryState::kPending);
    EXPECT_EQ(state.next_attempt_at, t0 + d1);
    EXPECT_NE(state.last_error.find("HTTP 500"), std::string::npos);

    clock.Advance(d1 - 1ms);
    EXPECT_EQ(worker.ProcessDue(), 0u);  // not due yet
    clock.Advance(1ms);
    EXPECT_EQ(worker.ProcessDue(), 1u);  // attempt 2: 503
    EXPECT_EQ(queue_.GetState(id)->next_attempt_at, t0 + d1 + d2);

    clock.Advance(d2);
    EXPECT_EQ(worker.ProcessDue(), 1u);  // attempt 3: delivered
    state = queue_.GetState(id).value();
    EXPECT_EQ(state.state, DeliveryState::kDelivered);
    EXPECT_EQ(state.attempts, 3);
    EXPECT_EQ(state.delivered_at, t0 + d1 + d2);
    EXPECT_EQ(state.delivered_detail, "HTTP 200");

    // The receiver saw the same idempotency key on every attempt, each freshly signed.
    const auto requests = sink_.requests();
    ASSERT_EQ(requests.size(), 3u);
    for (const auto& request : requests) {
        EXPECT_EQ(request.header("idempotency-key"), "incident-1/guardian-1");
        EXPECT_TRUE(VerifyWebhookSignature(kSecret, request.header("x-vitalguard-timestamp"), request.body,
                                           request.header("x-vitalguard-signature"), clock.Now())
                        .ok());
    }
    const auto seen = events();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].outcome, DeliveryOutcome::kRetryScheduled);
    EXPECT_EQ(seen[0].retry_at, t0 + d1);
    EXPECT_EQ(seen[1].outcome, DeliveryOutcome::kRetryScheduled);
    EXPECT_EQ(seen[2].outcome, DeliveryOutcome::kDelivered);
    EXPECT_EQ(seen[2].attempt, 3);
    EXPECT_EQ(seen[2].finished_at - seen[2].created_at, d1 + d2);     // creation -> delivery
    EXPECT_EQ(seen[0].attempt_started_at - seen[0].created_at, 0ms);  // creation -> first attempt
    const auto counters = worker.counters();
    EXPECT_EQ(counters.delivered, 1u);
    EXPECT_EQ(counters.retries_scheduled, 2u);
    EXPECT_EQ(counters.failed, 0u);
}

TEST_F(DeliveryWorkerTest, PermanentRefusalFailsWithoutRetry) {
    ManualClock clock;
    RetryPolicy policy(kPolicy, 1);
    DeliveryWorker worker(queue_, {{"webhook", Webhook(clock)}}, policy, clock, {});
    sink_.SetDefault({.status = 400, .body = "unknown field"});
    const int64_t id = Enqueue("bad", clock.Now());
    EXPECT_EQ(worker.ProcessDue(), 1u);
    auto state = queue_.GetState(id).value();
    EXPECT_EQ(state.state, DeliveryState::kFailed);
    EXPECT_NE(state.last_error.find("HTTP 400: unknown field"), std::string::npos) << state.last_error;
    clock.Advance(1h);
    EXPECT_EQ(worker.ProcessDue(), 0u);
    EXPECT_EQ(sink_.count(), 1u);
    EXPECT_EQ(worker.counters().failed, 1u);
}

TEST_F(DeliveryWorkerTest, TimeoutIsRetriedAndRetryAfterIsHonoured) {
    ManualClock clock;
    RetryPolicy policy(kPolicy, 5);
    DeliveryWorker worker(queue_, {{"webhook", Webhook(clock, 200ms)}}, policy, clock, {});
    sink_.Plan({{.status = 200, .hang = 5s}, {.status = 503, .retry_after = "30"}});
    const int64_t id = Enqueue("slow", clock.Now());
    EXPECT_EQ(worker.ProcessDue(), 1u);  // times out
    auto state = queue_.GetState(id).value();
    EXPECT_EQ(state.state, DeliveryState::kPending);
    EXPECT_NE(state.last_error.find("timed out"), std::string::npos) << state.last_error;

    clock.Set(state.next_attempt_at);
    EXPECT_EQ(worker.ProcessDue(), 1u);  // 503 with Retry-After: 30 (more than the policy's 2 s ceiling)
    EXPECT_EQ(queue_.GetState(id)->next_attempt_at, clock.Now() + 30s);
    clock.Advance(30s);
    EXPECT_EQ(worker.ProcessDue(), 1u);
    EXPECT_EQ(queue_.GetState(id)->state, DeliveryState::kDelivered);
    EXPECT_EQ(sink_.count(), 3u);
}

TEST_F(DeliveryWorkerTest, GivesUpAfterMaxAttempts) {
    ManualClock clock;
    RetryPolicy policy({.base = 10ms, .factor = 2.0, .cap = 100ms, .max_attempts = 3}, 9);
    DeliveryWorker worker(queue_, {{"webhook", Webhook(clock)}}, policy, clock, {});
    sink_.SetDefault({.status = 500});
    const int64_t id = Enqueue("doomed", clock.Now());
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(worker.ProcessDue(), 1u);
        clock.Advance(1s);
    }
    EXPECT_EQ(worker.ProcessDue(), 0u);
    auto state = queue_.GetState(id).value();
    EXPECT_EQ(state.state, DeliveryState::kFailed);
    EXPECT_EQ(state.attempts, 3);
    EXPECT_NE(state.last_error.find("gave up after 3 attempts"), std::string::npos) << state.last_error;
}

TEST_F(DeliveryWorkerTest, UnknownChannelFailsPermanently) {
    ManualClock clock;
    RetryPolicy policy(kPolicy, 1);
    DeliveryWorker worker(queue_, {{"webhook", Webhook(clock)}}, policy, clock, {});
    const int64_t id = Enqueue("pager", clock.Now(), "pager");
    EXPECT_EQ(worker.ProcessDue(), 1u);
    EXPECT_EQ(queue_.GetState(id)->state, DeliveryState::kFailed);
    EXPECT_NE(queue_.GetState(id)->last_error.find("no channel named \"pager\""), std::string::npos);
}

TEST_F(DeliveryWorkerTest, RedeliversAfterALeaseExpiresWhenAWorkerCrashed) {
    ManualClock clock;
    RetryPolicy policy(kPolicy, 1);
    auto channel = Webhook(clock);
    const int64_t id = Enqueue("crash-1", clock.Now());
    // A worker claims the message, delivers it, and dies before recording the delivery.
    auto claimed = queue_.ClaimDue(clock.Now(), 1, 30s);
    ASSERT_EQ(claimed->size(), 1u);
    ASSERT_TRUE(channel->Deliver(claimed->at(0)).ok());

    DeliveryWorker worker(queue_, {{"webhook", channel}}, policy, clock, {.lease = 30s});
    EXPECT_EQ(worker.ProcessDue(), 0u);  // still leased to the dead worker
    clock.Advance(30s + 1ms);
    EXPECT_EQ(worker.ProcessDue(), 1u);
    auto state = queue_.GetState(id).value();
    EXPECT_EQ(state.state, DeliveryState::kDelivered);
    EXPECT_EQ(state.attempts, 2);
    // At least once: the receiver got it twice, with one idempotency key to deduplicate on.
    const auto requests = sink_.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].header("idempotency-key"), "crash-1");
    EXPECT_EQ(requests[1].header("idempotency-key"), "crash-1");
}

TEST_F(DeliveryWorkerTest, AMessageThatKeepsKillingWorkersIsFailedWithoutAnotherAttempt) {
    ManualClock clock;
    RetryPolicy policy({.base = 10ms, .factor = 2.0, .cap = 100ms, .max_attempts = 2}, 1);
    const int64_t id = Enqueue("poison", clock.Now());
    for (int i = 0; i < 2; ++i) {  // two workers die holding it
        ASSERT_EQ(queue_.ClaimDue(clock.Now(), 1, 1s)->size(), 1u);
        clock.Advance(2s);
    }
    DeliveryWorker worker(queue_, {{"webhook", Webhook(clock)}}, policy, clock, {});
    EXPECT_EQ(worker.ProcessDue(), 1u);
    EXPECT_EQ(queue_.GetState(id)->state, DeliveryState::kFailed);
    EXPECT_EQ(sink_.count(), 0u);
}

TEST_F(DeliveryWorkerTest, ThreadsDeliverEveryMessageExactlyOnceNormallyAndLoseNoneUnderFailures) {
    RetryPolicy policy({.base = 5ms, .factor = 2.0, .cap = 20ms, .max_attempts = 20}, 77);
    const Clock& clock = SystemClock::Instance();
    std::atomic<int> delivered_events{0};
    DeliveryWorker worker(queue_, {{"webhook", Webhook(clock)}}, policy, clock, {.threads = 3, .claim_batch = 2},
                          [&](const DeliveryEvent& e) {
                              if (e.outcome == DeliveryOutcome::kDelivered) delivered_events.fetch_add(1);
                          });
    worker.Start();
    // Round 1: a healthy receiver. Every message arrives exactly once.
    constexpr int kMessages = 40;
    for (int i = 0; i < kMessages; ++i) {
        Enqueue("ok-" + std::to_string(i), clock.Now());
        worker.Notify();
    }
    ASSERT_TRUE(sink_.WaitForCount(kMessages, 5s));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (queue_.CountIn(DeliveryState::kDelivered) < kMessages && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(2ms);
    }
    EXPECT_EQ(queue_.CountIn(DeliveryState::kDelivered), static_cast<size_t>(kMessages));
    std::multiset<std::string> keys;
    for (const auto& request : sink_.requests()) keys.insert(request.header("idempotency-key"));
    EXPECT_EQ(keys.size(), static_cast<size_t>(kMessages));
    EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), static_cast<size_t>(kMessages));

    // Round 2: the receiver fails a third of the requests. Nothing is lost; each key is accepted once.
    std::vector<PlannedResponse> plan;
    for (int i = 0; i < 60; ++i) plan.push_back({.status = i % 3 == 0 ? 500 : 200});
    sink_.Plan(plan);
    const size_t before = sink_.count();
    for (int i = 0; i < kMessages; ++i) {
        Enqueue("flaky-" + std::to_string(i), clock.Now());
        worker.Notify();
    }
    const auto deadline2 = std::chrono::steady_clock::now() + 5s;
    while (queue_.CountIn(DeliveryState::kDelivered) < 2 * kMessages && std::chrono::steady_clock::now() < deadline2) {
        std::this_thread::sleep_for(2ms);
    }
    worker.Stop();
    EXPECT_EQ(queue_.CountIn(DeliveryState::kDelivered), static_cast<size_t>(2 * kMessages));
    EXPECT_EQ(queue_.CountIn(DeliveryState::kFailed), 0u);
    EXPECT_GT(sink_.count() - before, static_cast<size_t>(kMessages));  // some were retried
    EXPECT_EQ(delivered_events.load(), 2 * kMessages);
    EXPECT_GT(worker.counters().retries_scheduled, 0u);
    EXPECT_EQ(worker.counters().queue_errors, 0u);
}

TEST_F(DeliveryWorkerTest, StopFinishesTheDeliveryInFlight) {
    RetryPolicy policy(kPolicy, 1);
    const Clock& clock = SystemClock::Instance();
    DeliveryWorker worker(queue_, {{"webhook", Webhook(clock)}}, policy, clock, {.threads = 1});
    sink_.Plan({{.status = 200, .hang = 300ms}});
    worker.Start();
    const int64_t id = Enqueue("in-flight", clock.Now());
    worker.Notify();
    ASSERT_TRUE(sink_.WaitForCount(1, 2s));  // the request is being answered, slowly
    worker.Stop();
    EXPECT_EQ(queue_.GetState(id)->state, DeliveryState::kDelivered);
}

TEST_F(DeliveryWorkerTest, WakesOnNotifyAndOnTheNextDueTime) {
    RetryPolicy policy({.base = 50ms, .factor = 1.0, .cap = 50ms, .max_attempts = 3}, 3);
    const Clock& clock = SystemClock::Instance();
    // A long idle wait: only Notify or the queue's next due time can wake the worker in time.
    DeliveryWorker worker(queue_, {{"webhook", Webhook(clock)}}, policy, clock, {.threads = 1, .max_idle_wait = 10s});
    worker.Start();
    std::this_thread::sleep_for(20ms);  // the thread is asleep now
    const auto started = std::chrono::steady_clock::now();
    Enqueue("now", clock.Now());
    worker.Notify();
    ASSERT_TRUE(sink_.WaitForCount(1, 2s));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);

    // Due in 100 ms: no Notify, the worker wakes on the queue's NextWakeAt.
    Enqueue("later", clock.Now() + 100ms);
    worker.Notify();  // tells it a row exists; it is not due yet
    ASSERT_TRUE(sink_.WaitForCount(2, 2s));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    worker.Stop();
}

}  // namespace
}  // namespace vg::notify
