// RedisStreamsBus on a live Redis ($VG_TEST_REDIS, tests/live_servers): without one every test is skipped
// (or, with VG_REQUIRE_SERVERS=1, fails). Each test uses keys under a fresh random prefix, deleted at the end,
// so tests may run in parallel on one server; none of them kills or restarts the server (it is shared by the
// whole test run): the reconnection test kills only its own buses' connections.
//
// The bus conformance suite runs here with one consuming node; the tests below cover what several nodes add:
// splitting the shards, reclaiming a dead node's shards, replies between nodes, back-pressure, trimming,
// poison entries and lost connections.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "vg/bus/bus_conformance.hpp"
#include "vg/bus/redis_live_fanout.hpp"
#include "vg/bus/redis_streams_bus.hpp"
#include "vg/redis/connection.hpp"
#include "vg/redis/testing.hpp"
#include "vg/testing/live_servers.hpp"

namespace vg::bus {
namespace {

using conformance::At;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

std::string NewPrefix() {
    std::random_device device;
    char text[32];
    std::snprintf(text, sizeof text, "vgtest-%08x%08x", device(), device());
    return text;
}

// A plain connection for what a test does to Redis behind the bus's back.
std::unique_ptr<redis::RedisConnection> RawRedis() { return redis::testing::Connect("vg-bus-test"); }
void DeleteKeys(const std::string& prefix) { redis::testing::DeleteKeysUnder(prefix); }

int64_t IntegerCommand(const std::vector<std::string_view>& args) {
    auto redis = RawRedis();
    if (redis == nullptr) return -1;
    auto reply = redis->Command(args);
    if (!reply.ok()) return -1;
    return redis::IntegerOf(reply->get()).value_or(-1);
}

// Waits (polling) until `done` holds, at most `limit`; whether it did.
template <typename Done>
bool WaitFor(Done done, milliseconds limit = milliseconds(10'000)) {
    const auto deadline = SteadyClock::now() + limit;
    while (!done()) {
        if (SteadyClock::now() > deadline) return false;
        std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
}

// GTEST_SKIP (or, with VG_REQUIRE_SERVERS, GTEST_FAIL) only returns from a void function.
void RequireRedis() { VG_REQUIRE_REDIS(); }

// ---- the conformance suite, one consuming node on a prefix of its own per test ----

class RedisHarness final : public conformance::BusHarness {
  public:
    static std::unique_ptr<conformance::BusHarness> Open(const Clock& clock, const conformance::BusParams& params) {
        RequireRedis();
        if (::testing::Test::IsSkipped() || ::testing::Test::HasFailure()) return nullptr;
        auto harness = std::unique_ptr<RedisHarness>(new RedisHarness());
        RedisStreamsBusOptions options;
        options.url = *::vg::testing::RedisUrl();
        options.prefix = harness->prefix_;
        options.shards = params.shards;
        options.tick_interval = params.tick_interval;
        auto bus = RedisStreamsBus::Open(clock, options);
        if (!bus.ok()) {
            ADD_FAILURE() << bus.status().ToString();
            return nullptr;
        }
        harness->bus_ = std::move(bus).value();
        return harness;
    }
    ~RedisHarness() override {
        bus_.reset();  // stops it before its keys go
        DeleteKeys(prefix_);
    }
    ReadingBus& bus() override { return *bus_; }

  private:
    RedisHarness() : prefix_(NewPrefix()) {}

    std::string prefix_;
    std::unique_ptr<RedisStreamsBus> bus_;
};

}  // namespace

namespace conformance {
INSTANTIATE_TEST_SUITE_P(Redis, BusConformance, ::testing::Values(BusImplementation{"redis", &RedisHarness::Open}),
                         ImplementationName);
}  // namespace conformance

namespace {

// ---- several nodes ----

constexpr int64_t kT0 = 1'700'000'000'000;

// What every node's consumer delivered, in the order it happened, and whether two nodes ever delivered one
// shard at the same time.
struct DeliveryLog {
    struct Delivery {
        int node;
        int shard;
        int64_t wearer;
        int64_t ms;
    };
    std::mutex mu;
    std::vector<Delivery> deliveries;  // GUARDED_BY(mu)
    std::array<std::atomic<int>, 64> in_delivery{};
    std::atomic<int> overlaps{0};
    // Shard hand-overs (OnShardAssigned / OnShardRevoked), per node (0..3) and shard.
    std::array<std::array<std::atomic<bool>, 64>, 4> holding{};
    std::array<std::atomic<int>, 4> assigned{};
    std::array<std::atomic<int>, 4> revoked{};
    std::atomic<int> delivered_unassigned{0};  // deliveries on a shard the node was not assigned (or was revoked)
    std::atomic<int> assigned_twice{0};        // OnShardAssigned for a shard the node already held

    std::map<int64_t, std::vector<int64_t>> PerWearer() {
        std::lock_guard lock(mu);
        std::map<int64_t, std::vector<int64_t>> per_wearer;
        for (const Delivery& d : deliveries) per_wearer[d.wearer].push_back(d.ms);
        return per_wearer;
    }
    size_t size() {
        std::lock_guard lock(mu);
        return deliveries.size();
    }
};

// Records into a DeliveryLog (after `delay`) and answers every on_detected with an empty Detection.
class NodeConsumer : public ReadingConsumer {
  public:
    NodeConsumer(DeliveryLog& log, int node, milliseconds delay = milliseconds(0))
        : log_(log), node_(node), delay_(delay) {}
    void OnShardAssigned(int shard, TimePoint, const bus::ShardBacklogReader&) override {
        if (log_.holding[static_cast<size_t>(node_)][static_cast<size_t>(shard)].exchange(true)) ++log_.assigned_twice;
        ++log_.assigned[static_cast<size_t>(node_)];
    }
    void OnShardRevoked(int shard) override {
        log_.holding[static_cast<size_t>(node_)][static_cast<size_t>(shard)] = false;
        ++log_.revoked[static_cast<size_t>(node_)];
    }
    void OnReadings(int shard, std::span<ReadingEnvelope> batch) override {
        if (!log_.holding[static_cast<size_t>(node_)][static_cast<size_t>(shard)].load()) ++log_.delivered_unassigned;
        if (log_.in_delivery[static_cast<size_t>(shard)]++ != 0) ++log_.overlaps;
        if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
        {
            std::lock_guard lock(log_.mu);
            for (const ReadingEnvelope& e : batch) {
                log_.deliveries.push_back({node_, shard, e.wearer, ToUnixMillis(e.reading.measured_at) - kT0});
            }
        }
        --log_.in_delivery[static_cast<size_t>(shard)];
        for (ReadingEnvelope& e : batch) {
            if (e.on_detected) e.on_detected(domain::Detection{});
        }
        delivered_ += static_cast<int>(batch.size());
    }
    void OnTick(int, TimePoint) override { ++ticks_; }

    std::atomic<int> delivered_{0};
    std::atomic<int> ticks_{0};

  private:
    DeliveryLog& log_;
    const int node_;
    const milliseconds delay_;
};

// Publishes, until stopped, batches holding one reading of every wearer 1..wearers at t = 0, 1, 2, ... (ms
// after kT0), each batch retried until accepted.
class Publisher {
  public:
    Publisher(ReadingBus& bus, int wearers) : thread_([this, &bus, wearers] { Run(bus, wearers); }) {}
    ~Publisher() { Stop(); }
    // The number of batches published.
    int64_t Stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        return published_.load();
    }
    int64_t published() const { return published_.load(); }
    int refusals() const { return refusals_.load(); }

  private:
    void Run(ReadingBus& bus, int wearers) {
        for (int64_t t = 0; !stop_; ++t) {
            for (;;) {
                std::vector<ReadingEnvelope> batch;
                for (int64_t w = 1; w <= wearers; ++w) batch.push_back(At(w, kT0 + t));
                Status s = bus.Publish(std::move(batch));
                if (s.ok()) break;
                ++refusals_;
                std::this_thread::sleep_for(milliseconds(5));
                if (stop_) return;
            }
            published_ = t + 1;
            std::this_thread::sleep_for(milliseconds(2));
        }
    }

    std::atomic<bool> stop_{false};
    std::atomic<int64_t> published_{0};
    std::atomic<int> refusals_{0};
    std::thread thread_;
};

class RedisStreamsBusTest : public ::testing::Test {
  protected:
    void SetUp() override {
        VG_REQUIRE_REDIS();
        prefix_ = NewPrefix();
    }
    void TearDown() override {
        if (!prefix_.empty()) DeleteKeys(prefix_);
    }
    // A node of this test's bus: 16 shards, lease 600 ms, ticks every 100 ms, unless `adjust` says otherwise.
    std::unique_ptr<RedisStreamsBus> Node(bool consume,
                                          const std::function<void(RedisStreamsBusOptions&)>& adjust = {}) {
        RedisStreamsBusOptions options;
        options.url = *::vg::testing::RedisUrl();
        options.prefix = prefix_;
        options.shards = 16;
        options.consume = consume;
        options.lease = milliseconds(600);
        options.tick_interval = milliseconds(100);
        if (adjust) adjust(options);
        auto bus = RedisStreamsBus::Open(clock_, options);
        EXPECT_TRUE(bus.ok()) << bus.status().ToString();
        return bus.ok() ? std::move(bus).value() : nullptr;
    }
    std::string StreamKey(int shard) const { return prefix_ + ":bus:" + std::to_string(shard); }

    SystemClock clock_;
    std::string prefix_;
};

// Every batch 0..batches-1 of every wearer 1..wearers was delivered exactly once and in order.
void ExpectEachWearerInOrderExactlyOnce(DeliveryLog& log, int wearers, int64_t batches) {
    auto per_wearer = log.PerWearer();
    ASSERT_EQ(per_wearer.size(), static_cast<size_t>(wearers));
    for (const auto& [wearer, times] : per_wearer) {
        ASSERT_EQ(times.size(), static_cast<size_t>(batches)) << "wearer " << wearer;
        for (size_t i = 0; i < times.size(); ++i) ASSERT_EQ(times[i], static_cast<int64_t>(i)) << "wearer " << wearer;
    }
}

// One prefix, one deployment: the first node records its owner and shard count; a node of another owner,
// or with another shard count, is refused with a message naming both, and a node like the first is not.
TEST_F(RedisStreamsBusTest, ANodeOfAnotherDeploymentOrShardCountIsRefused) {
    auto first = Node(false, [](RedisStreamsBusOptions& o) { o.owner = "postgresql vg/vitalguard"; });
    ASSERT_NE(first, nullptr);
    RedisStreamsBusOptions other;
    other.url = *::vg::testing::RedisUrl();
    other.prefix = prefix_;
    other.shards = 16;
    other.owner = "postgresql other/vitalguard";
    auto refused = RedisStreamsBus::Open(clock_, other);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kConflict);
    EXPECT_NE(refused.status().message().find("owner=postgresql vg/vitalguard shards=16"), std::string::npos)
        << refused.status().ToString();
    other.owner = "postgresql vg/vitalguard";
    other.shards = 8;
    EXPECT_EQ(RedisStreamsBus::Open(clock_, other).status().code(), ErrorCode::kConflict);
    other.shards = 16;
    auto same = RedisStreamsBus::Open(clock_, other);
    EXPECT_TRUE(same.ok()) << same.status().ToString();
}

// Live events between servers: what one publishes reaches the other's `deliver` (wearer and text intact),
// never its own; a server that is not subscribed yet misses it (pub/sub keeps nothing).
TEST_F(RedisStreamsBusTest, LiveEventsFanOutToTheOtherServersAndNotBack) {
    struct Received {
        std::mutex mu;
        std::vector<std::pair<int64_t, std::string>> messages;
        size_t size() {
            std::lock_guard lock(mu);
            return messages.size();
        }
    } at_a, at_b;
    auto open = [&](const std::string& node, Received& into) {
        RedisLiveFanoutOptions options;
        options.url = *::vg::testing::RedisUrl();
        options.prefix = prefix_;
        options.node_id = node;
        auto fanout = RedisLiveFanout::Open(options, [&into](int64_t wearer, const std::string& message) {
            std::lock_guard lock(into.mu);
            into.messages.emplace_back(wearer, message);
        });
        EXPECT_TRUE(fanout.ok()) << fanout.status().ToString();
        return fanout.ok() ? std::move(fanout).value() : nullptr;
    };
    auto a = open("node-a", at_a);
    auto b = open("node-b", at_b);
    ASSERT_TRUE(a && b);
    // The subscriber connects on its own thread: publish until b has one (earlier ones may be missed).
    const std::string text = R"({"type":"detection","explanation":"심박이 높아요\nline two"})";
    ASSERT_TRUE(WaitFor([&] {
        a->Publish(42, text);
        return at_b.size() > 0;
    }));
    {
        std::lock_guard lock(at_b.mu);
        EXPECT_EQ(at_b.messages.front(), (std::pair<int64_t, std::string>{42, text}));
    }
    EXPECT_EQ(at_a.size(), 0u) << "a server's own messages are not delivered to it twice";
    EXPECT_TRUE(WaitFor([&] { return a->stats().published > 0; }));
    EXPECT_EQ(a->stats().publish_dropped, 0u);
    // Publishing has stopped; messages still in flight may arrive meanwhile: every one counted is delivered.
    EXPECT_TRUE(WaitFor([&] { return b->stats().received == at_b.size(); }))
        << b->stats().received << " counted, " << at_b.size() << " delivered";

    // A burst (Publish only queues; the publisher pipelines) arrives whole and in the order published.
    // (Messages of the loop above may still be queued ahead of it: they are about wearer 42.)
    constexpr int kBurst = 5000;
    for (int i = 0; i < kBurst; ++i) EXPECT_TRUE(a->Publish(7, std::to_string(i)));
    auto burst = [&] {
        std::vector<std::string> texts;
        std::lock_guard lock(at_b.mu);
        for (const auto& [wearer, message] : at_b.messages) {
            if (wearer == 7) texts.push_back(message);
        }
        return texts;
    };
    EXPECT_TRUE(WaitFor([&] { return burst().size() >= kBurst; })) << burst().size() << " arrived";
    const std::vector<std::string> arrived = burst();
    ASSERT_EQ(arrived.size(), static_cast<size_t>(kBurst));
    for (int i = 0; i < kBurst; ++i) ASSERT_EQ(arrived[static_cast<size_t>(i)], std::to_string(i)) << i;
    EXPECT_EQ(a->stats().publish_dropped, 0u);
}

TEST_F(RedisStreamsBusTest, TwoConsumingNodesSplitTheShardsAndKeepEachWearerInOrder) {
    DeliveryLog log;
    NodeConsumer consumer_a(log, 0), consumer_b(log, 1);
    auto publisher_node = Node(false);
    auto a = Node(true);
    auto b = Node(true);
    ASSERT_TRUE(publisher_node && a && b);
    a->Start(consumer_a);
    EXPECT_EQ(a->OwnedShards().size(), 16u) << "the only node takes every shard at Start";
    std::map<int, uint64_t> fences_of_a;
    for (int s = 0; s < 16; ++s) {
        ASSERT_TRUE(a->FenceOf(s).has_value()) << s;
        fences_of_a[s] = *a->FenceOf(s);
    }
    constexpr int kWearers = 64;
    Publisher publisher(*publisher_node, kWearers);
    ASSERT_TRUE(WaitFor([&] { return consumer_a.delivered_.load() > 500; }));

    const auto split_started = SteadyClock::now();
    b->Start(consumer_b);
    ASSERT_TRUE(WaitFor([&] { return a->OwnedShards().size() == 8 && b->OwnedShards().size() == 8; }))
        << "a owns " << a->OwnedShards().size() << ", b " << b->OwnedShards().size();
    const auto split_ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - split_started).count();
    std::printf("two nodes split 16 shards 8/8 in %lld ms (lease 600 ms)\n", static_cast<long long>(split_ms));
    RecordProperty("split_ms", static_cast<int>(split_ms));
    for (int s : b->OwnedShards()) {
        EXPECT_FALSE(a->FenceOf(s).has_value()) << s;
        EXPECT_GT(*b->FenceOf(s), fences_of_a[s]) << "each taking raises the fencing token; shard " << s;
    }
    ASSERT_TRUE(WaitFor([&] { return consumer_b.delivered_.load() > 500; }));
    const int64_t batches = publisher.Stop();

    a->Stop();  // releases its shards: b takes them at once and delivers what is left
    EXPECT_TRUE(WaitFor([&] { return b->OwnedShards().size() == 16; }));
    b->Stop();
    EXPECT_EQ(log.overlaps.load(), 0) << "two nodes delivered one shard at the same time";
    EXPECT_EQ(publisher.refusals(), 0);
    ExpectEachWearerInOrderExactlyOnce(log, kWearers, batches);
    // Every delivery fell between its node's OnShardAssigned and OnShardRevoked for that shard: a takes all 16
    // and gives 8 back to b, which takes a's other 8 when a stops; every assignment ends revoked.
    EXPECT_EQ(log.delivered_unassigned.load(), 0);
    EXPECT_EQ(log.assigned_twice.load(), 0);
    EXPECT_EQ(log.assigned[0].load(), 16);
    EXPECT_EQ(log.assigned[1].load(), 16);
    EXPECT_EQ(log.revoked[0].load(), 16);
    EXPECT_EQ(log.revoked[1].load(), 16);
    EXPECT_EQ(a->Stats().poison + b->Stats().poison, 0u);
}

TEST_F(RedisStreamsBusTest, AnAbandonedNodesShardsAreReclaimedAndNothingIsLost) {
    DeliveryLog log;
    // A takes its time, so that it has read entries it has not acknowledged when it dies.
    NodeConsumer consumer_a(log, 0, milliseconds(15)), consumer_b(log, 1);
    auto publisher_node = Node(false);
    auto a = Node(true);
    auto b = Node(true);
    ASSERT_TRUE(publisher_node && a && b);
    a->Start(consumer_a);
    b->Start(consumer_b);
    ASSERT_TRUE(WaitFor([&] { return a->OwnedShards().size() == 8 && b->OwnedShards().size() == 8; }));
    constexpr int kWearers = 64;
    Publisher publisher(*publisher_node, kWearers);
    ASSERT_TRUE(WaitFor([&] { return consumer_a.delivered_.load() > 1000 && consumer_b.delivered_.load() > 1000; }));

    const std::vector<int> owned_by_a = a->OwnedShards();
    const std::set<int> shards_of_a(owned_by_a.begin(), owned_by_a.end());
    const auto killed_at = SteadyClock::now();
    a->Abandon();  // kill -9: nothing acknowledged, no lease released, the publisher keeps going
    ASSERT_TRUE(WaitFor([&] { return b->OwnedShards().size() == 16; }, milliseconds(10'000)));
    const auto reclaim_ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - killed_at).count();
    std::printf("the survivor owned all 16 shards %lld ms after the other node was killed (lease 600 ms)\n",
                static_cast<long long>(reclaim_ms));
    RecordProperty("reclaim_ms", static_cast<int>(reclaim_ms));
    EXPECT_LE(reclaim_ms, 2500) << "about a lease and a renewal period, plus scheduling";

    const int64_t before = consumer_b.delivered_.load();
    ASSERT_TRUE(WaitFor([&] { return consumer_b.delivered_.load() > before + 2000; }));
    const int64_t batches = publisher.Stop();
    b->Stop();
    EXPECT_EQ(log.overlaps.load(), 0);
    const RedisBusStats stats = b->Stats();
    std::printf("survivor: %llu entries reclaimed, %llu readings delivered\n",
                static_cast<unsigned long long>(stats.reclaimed), static_cast<unsigned long long>(stats.delivered));

    // What is asserted, per wearer, over the deliveries of both nodes in the order they happened:
    //  - every published reading was delivered at least once (nothing lost);
    //  - a reading delivered again was delivered before (a redelivery of what the dead node had read but not
    //    acknowledged), and only readings of shards the dead node owned are delivered twice;
    //  - leaving out such repeats, the deliveries are strictly increasing (in order).
    auto per_wearer = log.PerWearer();
    ASSERT_EQ(per_wearer.size(), static_cast<size_t>(kWearers));
    size_t repeats = 0;
    for (const auto& [wearer, times] : per_wearer) {
        std::set<int64_t> seen;
        int64_t newest = -1;
        for (int64_t t : times) {
            if (seen.count(t) != 0) {
                ++repeats;
                continue;
            }
            ASSERT_GT(t, newest) << "wearer " << wearer << " got " << t << " after " << newest;
            newest = t;
            seen.insert(t);
        }
        ASSERT_EQ(seen.size(), static_cast<size_t>(batches)) << "wearer " << wearer << " lost readings";
    }
    std::printf("%zu readings delivered twice (read by the dead node, not acknowledged)\n", repeats);
    std::lock_guard lock(log.mu);
    std::map<std::pair<int64_t, int64_t>, int> times_delivered;
    for (const auto& d : log.deliveries) ++times_delivered[{d.wearer, d.ms}];
    for (const auto& d : log.deliveries) {
        if (times_delivered[{d.wearer, d.ms}] > 1) {
            ASSERT_TRUE(shards_of_a.count(d.shard) == 1) << "shard " << d.shard << " was not the dead node's";
        }
    }
}

// ---- replies between nodes ----

class AnsweringConsumer : public ReadingConsumer {
  public:
    static domain::Detection FullDetection() {
        domain::Detection d;
        d.level = domain::Level::kCaution;
        d.causes = {domain::Metric::kSpo2};
        d.fired = {{"spo2.low.caution", "threshold", domain::Metric::kSpo2, domain::Level::kCaution, 91.5,
                    "SpO2 91.5 % < 92 %"},
                   {"heart_rate.trend", "trend", domain::Metric::kHeartRate, domain::Level::kNormal, 12.5, "상승"}};
        d.advice_only = true;
        d.explanation = "산소포화도가 낮습니다.";
        d.model_probabilities = std::array<float, 3>{0.5F, 0.375F, 0.125F};
        d.model_causes = {domain::Metric::kSpo2, domain::Metric::kRespirationRate};
        return d;
    }
    static std::vector<posture::WindowResult> FullWindowResults() {
        std::vector<posture::WindowResult> results(2);
        results[1].prediction.probabilities[7] = 0.875F;
        results[1].prediction.model_class = 7;
        results[1].prediction.posture = posture::Posture::kFall;
        results[1].posture = posture::Posture::kFall;
        results[1].fall = posture::FallState::kSuspected;
        results[1].incident_id = 4242;
        results[1].late = true;
        results[1].at = FromUnixMillis(kT0 + 2560);
        return results;
    }

    void OnReadings(int, std::span<ReadingEnvelope> batch) override {
        for (ReadingEnvelope& e : batch) {
            {
                std::lock_guard lock(mu_);
                received_.push_back(e);
                received_.back().on_detected = nullptr;
            }
            if (!e.on_detected) continue;
            if (e.wearer == 1) {
                e.on_detected(FullDetection());
            } else if (e.wearer == 2) {
                // never answered: the publisher times out
            } else if (e.wearer == 3) {
                std::lock_guard lock(mu_);
                late_.emplace_back([cb = std::move(e.on_detected)] {
                    std::this_thread::sleep_for(milliseconds(1500));  // after the publisher's reply_timeout
                    cb(FullDetection());
                });
            } else if (e.wearer == 4) {
                e.on_detected(Status::Error(ErrorCode::kUnavailable, "the store is down").WithRetryAfter(7));
            }
        }
    }
    void OnWindows(int, std::span<posture::WindowJob> jobs) override {
        for (posture::WindowJob& job : jobs) {
            {
                std::lock_guard lock(mu_);
                jobs_.push_back(job.windows.size());
            }
            job.answer(FullWindowResults());
        }
    }
    void OnTick(int, TimePoint) override {}
    void JoinLate() {
        std::vector<std::thread> late;
        {
            std::lock_guard lock(mu_);
            late.swap(late_);
        }
        for (auto& t : late) t.join();
    }
    ~AnsweringConsumer() override { JoinLate(); }

    std::mutex mu_;
    std::vector<ReadingEnvelope> received_;  // GUARDED_BY(mu_)
    std::vector<size_t> jobs_;               // GUARDED_BY(mu_)
    std::vector<std::thread> late_;          // GUARDED_BY(mu_)
};

struct Replies {
    std::mutex mu;
    std::map<int64_t, std::vector<Result<domain::Detection>>> by_wearer;  // GUARDED_BY(mu)
    size_t count(int64_t wearer) {
        std::lock_guard lock(mu);
        return by_wearer[wearer].size();
    }
};

TEST_F(RedisStreamsBusTest, RepliesTravelFromAPublisherOnlyNodeToTheDetectorAndBack) {
    AnsweringConsumer consumer;
    auto api = Node(false, [](RedisStreamsBusOptions& o) { o.reply_timeout = milliseconds(1000); });
    auto detector = Node(true);
    ASSERT_TRUE(api && detector);
    detector->Start(consumer);
    api->Start(consumer);  // a publisher-only node: Start does nothing
    EXPECT_TRUE(api->OwnedShards().empty());

    Replies replies;
    std::vector<ReadingEnvelope> batch;
    for (int64_t w = 1; w <= 4; ++w) {
        ReadingEnvelope e = At(w, kT0 + w);
        e.reading.set(domain::Metric::kSpo2, 91.5);
        e.reading.set(domain::Metric::kHeartRate, 64);
        e.received_at = FromUnixMillis(kT0 + 100 + w);
        e.record_status = true;
        e.store_with_verdict = w % 2 == 0;
        e.device_id = 1000 + w;
        e.on_detected = [&replies, w](const Result<domain::Detection>& r) {
            std::lock_guard lock(replies.mu);
            replies.by_wearer[w].push_back(r);
        };
        batch.push_back(std::move(e));
    }
    ASSERT_TRUE(api->Publish(std::move(batch)).ok());
    std::atomic<int> window_answers{0};
    std::vector<posture::WindowResult> window_results;
    std::mutex window_mu;
    posture::WindowJob job;
    job.wearer = 5;
    job.windows.resize(2);
    job.answer = [&](Result<std::vector<posture::WindowResult>> r) {
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        std::lock_guard lock(window_mu);
        window_results = r.value();
        ++window_answers;
    };
    ASSERT_TRUE(api->PublishWindows(std::move(job)).ok());

    ASSERT_TRUE(WaitFor([&] { return replies.count(1) == 1 && replies.count(4) == 1 && window_answers.load() == 1; }));
    {
        std::lock_guard lock(replies.mu);
        const Result<domain::Detection>& r = replies.by_wearer[1].front();
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        const domain::Detection want = AnsweringConsumer::FullDetection();
        EXPECT_EQ(r->level, want.level);
        EXPECT_EQ(r->causes, want.causes);
        EXPECT_EQ(r->fired, want.fired);
        EXPECT_EQ(r->advice_only, want.advice_only);
        EXPECT_EQ(r->explanation, want.explanation);
        EXPECT_EQ(r->model_probabilities, want.model_probabilities);
        EXPECT_EQ(r->model_causes, want.model_causes);
        const Result<domain::Detection>& failed = replies.by_wearer[4].front();
        ASSERT_FALSE(failed.ok());
        EXPECT_EQ(failed.status().code(), ErrorCode::kUnavailable);
        EXPECT_EQ(failed.status().message(), "the store is down");
        EXPECT_EQ(failed.status().retry_after_seconds(), 7);
    }
    {
        std::lock_guard lock(window_mu);
        const auto want = AnsweringConsumer::FullWindowResults();
        ASSERT_EQ(window_results.size(), 2u);
        EXPECT_EQ(window_results[1].prediction.probabilities, want[1].prediction.probabilities);
        EXPECT_EQ(window_results[1].prediction.model_class, want[1].prediction.model_class);
        EXPECT_EQ(window_results[1].posture, want[1].posture);
        EXPECT_EQ(window_results[1].fall, want[1].fall);
        EXPECT_EQ(window_results[1].incident_id, want[1].incident_id);
        EXPECT_EQ(window_results[1].late, want[1].late);
        EXPECT_EQ(window_results[1].at, want[1].at);
    }
    {
        std::lock_guard lock(consumer.mu_);
        ASSERT_EQ(consumer.received_.size(), 4u);
        for (const ReadingEnvelope& e : consumer.received_) {
            EXPECT_EQ(ToUnixMillis(e.reading.measured_at), kT0 + e.wearer);
            EXPECT_EQ(e.reading.get(domain::Metric::kSpo2), 91.5);
            EXPECT_EQ(e.reading.get(domain::Metric::kHeartRate), 64);
            EXPECT_FALSE(e.reading.get(domain::Metric::kGlucose).has_value());
            EXPECT_EQ(ToUnixMillis(e.received_at), kT0 + 100 + e.wearer);
            EXPECT_TRUE(e.record_status);
            EXPECT_EQ(e.store_with_verdict, e.wearer % 2 == 0);
            EXPECT_EQ(e.device_id, 1000 + e.wearer);
        }
        EXPECT_EQ(consumer.jobs_, std::vector<size_t>{2});
    }

    // Wearer 2 is never answered, wearer 3 too late: each callback is called once, with kUnavailable.
    ASSERT_TRUE(WaitFor([&] { return replies.count(2) == 1 && replies.count(3) == 1; }, milliseconds(5000)));
    consumer.JoinLate();                             // the late answer has been sent...
    std::this_thread::sleep_for(milliseconds(500));  // ...and had time to arrive: it must be dropped
    {
        std::lock_guard lock(replies.mu);
        for (int64_t w : {2, 3}) {
            ASSERT_EQ(replies.by_wearer[w].size(), 1u) << "wearer " << w << ": called exactly once";
            EXPECT_EQ(replies.by_wearer[w].front().status().code(), ErrorCode::kUnavailable);
            EXPECT_NE(replies.by_wearer[w].front().status().message().find("no detector answered within"),
                      std::string::npos);
        }
        EXPECT_EQ(replies.by_wearer[1].size(), 1u);
        EXPECT_EQ(replies.by_wearer[4].size(), 1u);
    }
    EXPECT_EQ(api->Stats().replies_timed_out, 2u);
    detector->Stop();
    api->Stop();
}

TEST_F(RedisStreamsBusTest, StopAnswersWhatIsStillWaitingAndNothingTwice) {
    AnsweringConsumer consumer;  // leaves wearer 2 unanswered
    auto api = Node(false);      // reply_timeout 10 s: Stop comes first
    auto detector = Node(true);
    ASSERT_TRUE(api && detector);
    detector->Start(consumer);
    std::atomic<int> calls{0}, unavailable{0};
    ReadingEnvelope e = At(2, kT0);
    e.on_detected = [&](const Result<domain::Detection>& r) {
        ++calls;
        if (!r.ok() && r.status().code() == ErrorCode::kUnavailable) ++unavailable;
    };
    std::vector<ReadingEnvelope> batch;
    batch.push_back(std::move(e));
    ASSERT_TRUE(api->Publish(std::move(batch)).ok());
    ASSERT_TRUE(WaitFor([&] {
        std::lock_guard lock(consumer.mu_);
        return consumer.received_.size() == 1;
    }));
    api->Stop();
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(unavailable.load(), 1);
    api->Stop();
    detector->Stop();
    EXPECT_EQ(calls.load(), 1);
}

// ---- back-pressure, trimming, poison ----

// Blocks deliveries until opened.
class GatedConsumer : public ReadingConsumer {
  public:
    void OnReadings(int, std::span<ReadingEnvelope> batch) override {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return open_; });
        delivered_ += static_cast<int>(batch.size());
    }
    void OnTick(int, TimePoint) override {}
    void Open() {
        {
            std::lock_guard lock(mu_);
            open_ = true;
        }
        cv_.notify_all();
    }
    std::atomic<int> delivered_{0};

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool open_ = false;  // GUARDED_BY(mu_)
};

TEST_F(RedisStreamsBusTest, PublishRefusesWhileAShardIsBehindAndAcceptsOnceItCatchesUp) {
    GatedConsumer consumer;
    auto node = Node(true, [](RedisStreamsBusOptions& o) { o.lag_limit = 20; });
    ASSERT_TRUE(node);
    struct OpenOnExit {  // a failed assertion must not leave the shard thread blocked (the node's Stop joins it)
        GatedConsumer& consumer;
        ~OpenOnExit() { consumer.Open(); }
    } open_on_exit{consumer};
    node->Start(consumer);
    int accepted = 0;
    Status refused;
    const auto deadline = SteadyClock::now() + milliseconds(10'000);
    for (int64_t t = 0; SteadyClock::now() < deadline; ++t) {
        Status s = node->Publish({At(1, kT0 + t)});
        if (!s.ok()) {
            refused = s;
            break;
        }
        ++accepted;
        std::this_thread::sleep_for(milliseconds(2));
    }
    ASSERT_FALSE(refused.ok()) << "never refused after " << accepted << " batches";
    EXPECT_EQ(refused.code(), ErrorCode::kRateLimited) << refused.ToString();
    EXPECT_EQ(refused.retry_after_seconds(), 1);
    EXPECT_GE(accepted, 20);
    EXPECT_GE(node->Stats().publish_refused, 1u);

    consumer.Open();
    ASSERT_TRUE(WaitFor([&] {
        if (!node->Publish({At(1, kT0 + 1'000'000)}).ok()) return false;
        ++accepted;
        return true;
    })) << "still refused after the consumer drained";
    node->Stop();
    EXPECT_EQ(consumer.delivered_.load(), accepted);
}

TEST_F(RedisStreamsBusTest, RetentionTrimsAStreamThatNobodyReads) {
    auto node = Node(false, [](RedisStreamsBusOptions& o) {
        o.shards = 1;
        o.retention = milliseconds(200);
    });
    ASSERT_TRUE(node);
    int published = 0;
    const auto until = SteadyClock::now() + milliseconds(2000);
    while (SteadyClock::now() < until) {
        std::vector<ReadingEnvelope> batch;
        for (int k = 0; k < 10; ++k) batch.push_back(At(1, kT0 + published * 10 + k));
        ASSERT_TRUE(node->Publish(std::move(batch)).ok());
        ++published;
    }
    const int64_t length = IntegerCommand({"XLEN", StreamKey(0)});
    std::printf("%d entries published over 2 s with a retention of 200 ms; the stream holds %lld\n", published,
                static_cast<long long>(length));
    ASSERT_GT(published, 400) << "too slow to show trimming";
    EXPECT_GE(length, 1);
    EXPECT_LT(length, published / 2) << "entries older than the retention are trimmed (in whole nodes of 100)";
    node->Stop();
}

TEST_F(RedisStreamsBusTest, GarbledEntriesAreAcknowledgedCountedAndTheShardKeepsGoing) {
    conformance::RecordingConsumer consumer;
    auto node = Node(true, [](RedisStreamsBusOptions& o) { o.shards = 2; });
    ASSERT_TRUE(node);
    node->Start(consumer);
    const int shard = node->ShardOf(7);
    auto redis = RawRedis();
    ASSERT_TRUE(redis);
    const std::string key = StreamKey(shard);
    const std::string junk("\x01r\xff\xff\xff\xff garbage", 14);
    for (const std::vector<std::string_view>& entry :
         std::vector<std::vector<std::string_view>>{{"XADD", key, "*", "t", "r", "m", junk},
                                                    {"XADD", key, "*", "t", "w", "m", "not a window job"},
                                                    {"XADD", key, "*", "t", "x", "m", "unknown type"},
                                                    {"XADD", key, "*", "foo", "bar"}}) {
        auto reply = redis->Command(entry);
        ASSERT_TRUE(reply.ok() && !redis::IsError(reply->get()));
    }
    ASSERT_TRUE(node->Publish({At(7, kT0)}).ok());
    ASSERT_TRUE(WaitFor([&] { return consumer.count_.load() == 1; }));
    ASSERT_TRUE(WaitFor([&] { return node->Stats().acked == 5; }));
    EXPECT_EQ(node->Stats().poison, 4u);
    auto pending = redis->Command({"XPENDING", key, "detectors"});
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(redis::IntegerOf(redis::ElementAt(pending->get(), 0)), 0) << "nothing left pending";
    ASSERT_TRUE(node->Publish({At(7, kT0 + 1)}).ok());
    node->Stop();
    EXPECT_EQ(consumer.count_.load(), 2);
}

// ---- lost connections ----

TEST_F(RedisStreamsBusTest, PublishingConsumingAndRepliesResumeAfterTheConnectionsAreKilled) {
    DeliveryLog log;
    NodeConsumer consumer(log, 0);
    auto api = Node(false);
    auto detector = Node(true);
    ASSERT_TRUE(api && detector);
    detector->Start(consumer);
    // Retried until accepted: a batch refused on a killed connection may have been written (at least once).
    auto publish = [&](int64_t t) {
        return WaitFor([&] {
            std::vector<ReadingEnvelope> batch;
            for (int64_t w = 1; w <= 8; ++w) batch.push_back(At(w, kT0 + t));
            return api->Publish(std::move(batch)).ok();
        });
    };
    for (int64_t t = 0; t < 50; ++t) ASSERT_TRUE(publish(t));
    ASSERT_TRUE(WaitFor([&] { return consumer.delivered_.load() == 50 * 8; }));

    const int killed = redis::testing::KillClientsNamed("vg-bus:" + prefix_ + ":");
    std::printf("killed %d connections of the two nodes\n", killed);
    EXPECT_GE(killed, 16 + 2) << "at least every shard thread's and the reply readers'";
    for (int64_t t = 50; t < 100; ++t) ASSERT_TRUE(publish(t));
    ASSERT_TRUE(WaitFor([&] {
        auto per_wearer = log.PerWearer();
        if (per_wearer.size() != 8) return false;
        for (auto& [wearer, times] : per_wearer) {
            if (std::set<int64_t>(times.begin(), times.end()).size() != 100) return false;
        }
        return true;
    })) << "every reading published after the kill is delivered";
    EXPECT_TRUE(WaitFor([&] { return detector->OwnedShards().size() == 16; }));

    // Replies too: both reply readers reconnected.
    std::atomic<int> answered{0};
    ASSERT_TRUE(WaitFor([&] {
        ReadingEnvelope e = At(1, kT0 + 1000);
        e.on_detected = [&](const Result<domain::Detection>& r) {
            if (r.ok()) ++answered;
        };
        std::vector<ReadingEnvelope> batch;
        batch.push_back(std::move(e));
        return api->Publish(std::move(batch)).ok();
    }));
    EXPECT_TRUE(WaitFor([&] { return answered.load() == 1; }));
    const int ticks = consumer.ticks_.load();
    EXPECT_TRUE(WaitFor([&] { return consumer.ticks_.load() > ticks + 16; })) << "ticks go on";
    detector->Stop();
    api->Stop();
    EXPECT_EQ(log.overlaps.load(), 0);
}

TEST_F(RedisStreamsBusTest, TickAllTicksEveryOwnedShardAndWaits) {
    DeliveryLog log;
    NodeConsumer consumer(log, 0);
    auto node = Node(true, [](RedisStreamsBusOptions& o) {
        o.shards = 4;
        o.tick_interval = std::chrono::hours(1);
    });
    ASSERT_TRUE(node);
    node->TickAll();  // not started: nothing owned, returns at once
    node->Start(consumer);
    ASSERT_EQ(node->OwnedShards().size(), 4u);
    const int before = consumer.ticks_.load();
    node->TickAll();
    EXPECT_EQ(consumer.ticks_.load(), before + 4);
    node->Stop();
    node->TickAll();  // stopped: returns at once
}

// ---- what a new owner must still judge ----

// Records what it was told at each assignment (the bus's backlog) and every delivery; Settle checks that what
// it delivered is still pending in Redis, i.e. the bus settles before it acknowledges.
class BacklogConsumer : public ReadingConsumer {
  public:
    BacklogConsumer(std::string stream_prefix, milliseconds delay)
        : stream_prefix_(std::move(stream_prefix)), delay_(delay), redis_(redis::testing::Connect("backlog-check")) {}
    void OnShardAssigned(int shard, TimePoint, const bus::ShardBacklogReader& backlog) override {
        auto b = backlog();
        std::lock_guard lock(mu_);
        if (!b.ok()) {
            ++backlog_failures_;
            return;
        }
        for (const auto& [wearer, at] : b->earliest_unjudged) earliest_unjudged_[wearer] = ToUnixMillis(at) - kT0;
        (void)shard;
    }
    void OnReadings(int shard, std::span<ReadingEnvelope> batch) override {
        if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
        std::lock_guard lock(mu_);
        for (const ReadingEnvelope& e : batch)
            delivered_[e.wearer].push_back(ToUnixMillis(e.reading.measured_at) - kT0);
        delivered_since_settle_[shard] = true;
        count_ += static_cast<int>(batch.size());
    }
    void OnTick(int, TimePoint) override {}
    void Settle(int shard) override {
        std::lock_guard lock(mu_);
        if (!delivered_since_settle_[shard] || !redis_) return;
        delivered_since_settle_[shard] = false;
        ++settles_;
        auto pending = redis_->Command({"XPENDING", stream_prefix_ + std::to_string(shard), "detectors"});
        if (!pending.ok() || redis::IntegerOf(redis::ElementAt(pending->get(), 0)).value_or(0) == 0) {
            ++settled_after_acknowledgement_;
        }
    }

    std::mutex mu_;
    std::map<int64_t, int64_t> earliest_unjudged_;       // GUARDED_BY(mu_)
    std::map<int64_t, std::vector<int64_t>> delivered_;  // GUARDED_BY(mu_)
    std::map<int, bool> delivered_since_settle_;         // GUARDED_BY(mu_)
    int backlog_failures_ = 0;                           // GUARDED_BY(mu_)
    int settles_ = 0;                                    // GUARDED_BY(mu_)
    int settled_after_acknowledgement_ = 0;              // GUARDED_BY(mu_)
    std::atomic<int> count_{0};

  private:
    const std::string stream_prefix_;
    const milliseconds delay_;
    std::unique_ptr<redis::RedisConnection> redis_;
};

// A detector killed mid-stream leaves entries it read but never acknowledged, and entries nobody read. The
// next owner is told, per wearer, the earliest reading among exactly those — the readings it must judge rather
// than rebuild from the store as judged — and they are exactly what it is then delivered. Every
// acknowledgement waits for the consumer's Settle (its verdicts durable): at Settle, what it delivered is still
// pending in Redis.
TEST_F(RedisStreamsBusTest, ANewOwnerIsToldWhatIsStillOnTheBusAndAcknowledgementsWaitForSettle) {
    constexpr int kWearers = 32;
    const std::string stream_prefix = prefix_ + ":bus:";
    // A reads slowly, so that when it dies it has read entries it has not acknowledged, and others are unread.
    BacklogConsumer consumer_a(stream_prefix, milliseconds(20));
    auto publisher_node = Node(false);
    auto a = Node(true);
    ASSERT_TRUE(publisher_node && a);
    a->Start(consumer_a);
    ASSERT_TRUE(WaitFor([&] { return a->OwnedShards().size() == 16; }));
    Publisher publisher(*publisher_node, kWearers);
    ASSERT_TRUE(WaitFor([&] { return consumer_a.count_.load() > 600; }, milliseconds(20'000)));
    a->Abandon();  // kill -9: what it read stays pending, unacknowledged
    const int64_t batches = publisher.Stop();
    {
        std::lock_guard lock(consumer_a.mu_);
        EXPECT_GT(consumer_a.settles_, 0);
        EXPECT_EQ(consumer_a.settled_after_acknowledgement_, 0) << "an entry was acknowledged before Settle";
        // A first owner may come after the first publications: then they are all still to judge.
        for (const auto& [wearer, first] : consumer_a.earliest_unjudged_) EXPECT_EQ(first, 0) << "wearer " << wearer;
    }

    BacklogConsumer consumer_b(stream_prefix, milliseconds(0));
    auto b = Node(true);
    ASSERT_TRUE(b);
    b->Start(consumer_b);
    ASSERT_TRUE(WaitFor([&] { return b->OwnedShards().size() == 16; }, milliseconds(10'000)));
    // Everything A did not acknowledge reaches B, up to each wearer's last reading.
    ASSERT_TRUE(WaitFor(
        [&] {
            std::lock_guard lock(consumer_b.mu_);
            if (consumer_b.delivered_.size() < static_cast<size_t>(kWearers)) return false;
            for (const auto& [wearer, times] : consumer_b.delivered_) {
                if (times.empty() || times.back() != batches - 1) return false;
            }
            return true;
        },
        milliseconds(20'000)));
    b->Stop();

    std::lock_guard lock_a(consumer_a.mu_);
    std::lock_guard lock_b(consumer_b.mu_);
    EXPECT_EQ(consumer_b.backlog_failures_, 0);
    size_t read_by_a = 0, left_to_b = 0;
    for (int64_t w = 1; w <= kWearers; ++w) {
        const std::vector<int64_t>& got = consumer_b.delivered_[w];
        ASSERT_FALSE(got.empty()) << "wearer " << w;
        ASSERT_EQ(consumer_b.earliest_unjudged_.count(w), 1u) << "wearer " << w << " has readings left to judge";
        const int64_t told = consumer_b.earliest_unjudged_[w];
        // B is delivered exactly the readings from `told` on: each once, in order; nothing A acknowledged.
        ASSERT_EQ(got.size(), static_cast<size_t>(batches - told)) << "wearer " << w << ", told " << told;
        for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], told + static_cast<int64_t>(i)) << "wearer " << w;
        // A read everything before `told` (and acknowledged it, or B would have been told earlier).
        const std::vector<int64_t>& by_a = consumer_a.delivered_[w];
        EXPECT_GE(by_a.size(), static_cast<size_t>(told)) << "wearer " << w;
        read_by_a += by_a.size();
        left_to_b += got.size();
    }
    std::printf("A read %zu readings before it died (%lld batches published); B was told of and delivered %zu\n",
                read_by_a, static_cast<long long>(batches), left_to_b);
    EXPECT_GT(read_by_a, 0u);
    EXPECT_GT(left_to_b, 0u);
}

}  // namespace
}  // namespace vg::bus
