#include "shard_consumer.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "vg/rules/rules.hpp"
#include "vg/store/memory_store.hpp"

namespace vg::app {
namespace {

using domain::Level;
using domain::Metric;

constexpr int64_t kT0 = 1'700'000'000'000;

class RecordingListener : public detector::DetectionListener {
  public:
    void OnDetection(int64_t, bus::ReadingEnvelope*, const domain::Detection& d, Level) override {
        levels.push_back(d.level);
    }
    void OnLateReading(int64_t, bus::ReadingEnvelope&, const domain::Detection&) override { ++late; }
    std::vector<Level> levels;
    int late = 0;
};

domain::VitalsReading At(int minute, double heart_rate) {
    domain::VitalsReading r;
    r.measured_at = FromUnixMillis(kT0 + int64_t{minute} * 60'000);
    r.set(Metric::kHeartRate, heart_rate);
    r.set(Metric::kSpo2, 97);
    r.set(Metric::kRespirationRate, 15);
    return r;
}

// A shard changes hands while a wearer's heart races: minutes 0–6 were judged by the node that died, minutes
// 7–9 (175 bpm) were stored and published, and are still on the bus. The new owner rebuilds from the store,
// and then the bus delivers 7–9.
class ShardConsumerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(registry_.LoadDirectory(VG_PROFILES_DIR).ok());
        detector_ = std::make_unique<detector::Detector>(1, registry_, "adult-default", nullptr, listener_);
        consumer_ = std::make_unique<ShardConsumer>(*detector_, nullptr, store_, 1, std::chrono::hours(26));
        store::NewUser u;
        u.profile.id = "grandpa_lee";
        u.profile.name = "이순재";
        u.profile.age = 84;
        u.password_hash = "x";
        u.created_at = FromUnixMillis(kT0);
        auto created = store_.CreateUser(u);
        ASSERT_TRUE(created.ok()) << created.status().ToString();
        wearer_ = created->unique_num;
        std::vector<store::IncomingReading> stored;
        for (int m = 0; m < 10; ++m) stored.push_back({std::nullopt, At(m, m < 7 ? 72 : 175)});
        ASSERT_TRUE(store_.AppendReadings(wearer_, std::nullopt, stored, FromUnixMillis(kT0)).ok());
    }
    // The bus delivers minutes `from`..`to` to the new owner.
    void Deliver(int from, int to = 9) {
        std::vector<bus::ReadingEnvelope> batch;
        for (int m = from; m <= to; ++m) {
            bus::ReadingEnvelope e;
            e.wearer = wearer_;
            e.reading = At(m, m < 7 ? 72 : 175);
            batch.push_back(std::move(e));
        }
        consumer_->OnReadings(0, batch);
    }

    rules::ProfileRegistry registry_;
    RecordingListener listener_;
    store::MemoryStore store_;
    std::unique_ptr<detector::Detector> detector_;
    std::unique_ptr<ShardConsumer> consumer_;
    const TimePoint now_ = FromUnixMillis(kT0 + 11 * 60'000);
    int64_t wearer_ = 0;
};

TEST_F(ShardConsumerTest, ReadingsStillOnTheBusAreJudgedOnDeliveryNotSwallowedByTheRebuild) {
    consumer_->OnShardAssigned(0, now_, [&]() -> Result<bus::ShardBacklog> {
        bus::ShardBacklog backlog;
        backlog.earliest_unjudged[wearer_] = At(7, 0).measured_at;
        return backlog;
    });
    EXPECT_TRUE(listener_.levels.empty()) << "the rebuild itself tells nobody";
    Deliver(7);
    EXPECT_EQ(listener_.late, 0) << "the readings the dead node never judged are not late";
    ASSERT_EQ(listener_.levels.size(), 3u);
    EXPECT_EQ(listener_.levels.back(), Level::kDanger) << "the sustained 175 bpm is an alert, not lost";
    // What the rebuild did cover (minutes 0–6) is state: a reading from then is late.
    Deliver(5, 5);
    EXPECT_EQ(listener_.late, 1);
}

TEST_F(ShardConsumerTest, WithoutTheBacklogTheRebuildStartsColdRatherThanSwallowReadings) {
    consumer_->OnShardAssigned(0, now_, []() -> Result<bus::ShardBacklog> {
        return Status::Error(ErrorCode::kUnavailable, "Redis went away");
    });
    Deliver(7);
    EXPECT_EQ(listener_.late, 0);
    ASSERT_EQ(listener_.levels.size(), 3u);
}

TEST_F(ShardConsumerTest, AWearerWithNothingOnTheBusIsRebuiltFromEveryStoredReading) {
    consumer_->OnShardAssigned(0, now_, []() -> Result<bus::ShardBacklog> { return bus::ShardBacklog{}; });
    Deliver(7, 8);  // a redelivery of what was judged and stored: late, no second verdict
    EXPECT_EQ(listener_.late, 2);
    EXPECT_TRUE(listener_.levels.empty());
}

}  // namespace
}  // namespace vg::app
