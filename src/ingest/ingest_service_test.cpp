#include "vg/ingest/ingest_service.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "vg/bus/inproc_bus.hpp"
#include "vg/store/sqlite_store.hpp"

namespace vg::ingest {
namespace {

using domain::Level;
using domain::Metric;

// Stands in for the detector and the verdict stage: records what arrives, answers danger when heart
// rate >= 150, and — as the verdict stage does — stores a reading sent to be stored with its verdict
// together with its status row before answering.
class RecordingConsumer : public bus::ReadingConsumer {
  public:
    void OnReadings(int, std::span<bus::ReadingEnvelope> batch) override {
        std::lock_guard lock(mu);
        for (auto& e : batch) {
            times.push_back(ToUnixMillis(e.reading.measured_at));
            domain::Detection d;
            d.level = e.reading.get(Metric::kHeartRate).value_or(0) >= 150 ? Level::kDanger : Level::kNormal;
            if (e.store_with_verdict) {
                ++stored_with_verdict;
                store::VerdictRecord record;
                record.user_unique_num = e.wearer;
                record.reading = store::IncomingReading{std::nullopt, e.reading};
                record.device_id = e.device_id;
                record.received_at = e.received_at;
                record.row = store::StatusRow{e.wearer, static_cast<int>(d.level), e.received_at, {}, {}, {}};
                auto recorded = store->RecordVerdicts(std::span(&record, 1));
                if (!recorded.ok() || !(*recorded)[0].ok()) {
                    if (e.on_detected) e.on_detected(Status::Error(ErrorCode::kUnavailable, "not recorded"));
                    continue;
                }
            }
            if (e.on_detected) e.on_detected(d);
        }
    }
    void OnTick(int, TimePoint) override {}
    store::Store* store = nullptr;
    std::mutex mu;
    std::vector<int64_t> times;
    int stored_with_verdict = 0;
};

class IngestServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("vg_ingest_test_" + std::to_string(getpid()) + "_" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        store::SqliteStoreOptions options;
        options.path = (dir_ / "test.db").string();
        store_ = std::move(store::SqliteStore::Open(options)).value();
        store::NewUser user;
        user.profile = {"wearer_one", "Kim", 78, "Seoul", "", "010-1234-5678", "", "", ""};
        user.password_hash = "x";
        user.created_at = clock_.Now();
        wearer_ = store_->CreateUser(user)->unique_num;
        device_ = store_->CreateDevice({wearer_, "watch", "hash", clock_.Now()})->device_id;
        bus_ = std::make_unique<bus::InProcBus>(clock_, bus::InProcBusOptions{2, 10000, std::chrono::milliseconds(50)});
        consumer_.store = store_.get();
        bus_->Start(consumer_);
        service_ = std::make_unique<IngestService>(*store_, *bus_, clock_, IngestOptions{});
    }
    void TearDown() override {
        bus_->Stop();
        service_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    store::IncomingReading At(int64_t seconds_ago, std::optional<int64_t> seq, double hr = 72) {
        store::IncomingReading r;
        r.device_seq = seq;
        r.reading.measured_at = clock_.Now() - std::chrono::seconds(seconds_ago);
        r.reading.set(Metric::kHeartRate, hr);
        return r;
    }

    std::filesystem::path dir_;
    ManualClock clock_;
    std::unique_ptr<store::SqliteStore> store_;
    std::unique_ptr<bus::InProcBus> bus_;
    RecordingConsumer consumer_;
    std::unique_ptr<IngestService> service_;
    int64_t wearer_ = 0;
    int64_t device_ = 0;
};

// The seed's update_status: the reading travels to detection unstored and is stored with its status row
// by the verdict's recorder (one commit); the caller is answered after that.
TEST_F(IngestServiceTest, SubmitAndWaitHasTheReadingStoredWithItsVerdictThenReturnsIt) {
    auto verdict = service_->SubmitAndWait(wearer_, At(0, std::nullopt, 160).reading, device_);
    ASSERT_TRUE(verdict.ok()) << verdict.status().ToString();
    EXPECT_EQ(verdict->level, Level::kDanger);
    EXPECT_EQ(consumer_.stored_with_verdict, 1);
    auto stored = store_->RecentReadings(wearer_, 10);
    ASSERT_EQ(stored->size(), 1u);  // once: ingest did not store it itself
    EXPECT_EQ((*stored)[0].device_id, device_);
    EXPECT_EQ(store_->RecentStatuses(wearer_, 10)->size(), 1u);
    EXPECT_EQ(service_->readings_accepted(), 1u);
}

TEST_F(IngestServiceTest, SubmitAndWaitReportsAVerdictThatCouldNotBeRecorded) {
    auto verdict = service_->SubmitAndWait(wearer_ + 100, At(0, std::nullopt).reading, std::nullopt);
    ASSERT_FALSE(verdict.ok());
    EXPECT_EQ(verdict.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(service_->readings_accepted(), 0u) << "an unanswered reading is not counted as ingested";
}

TEST_F(IngestServiceTest, SubmitAnswersOnceThroughItsCallbackAfterTheCommitAndRefusesBadInputAtOnce) {
    std::promise<Result<domain::Detection>> answered;
    std::atomic<int> calls{0};
    Status submitted = service_->Submit(wearer_, At(0, std::nullopt, 160).reading, device_,
                                        [&](const Result<domain::Detection>& verdict) {
                                            if (calls.fetch_add(1) == 0) answered.set_value(verdict);
                                        });
    ASSERT_TRUE(submitted.ok()) << submitted.ToString();
    Result<domain::Detection> verdict = answered.get_future().get();
    ASSERT_TRUE(verdict.ok()) << verdict.status().ToString();
    EXPECT_EQ(verdict->level, Level::kDanger);
    EXPECT_EQ(store_->RecentStatuses(wearer_, 10)->size(), 1u) << "durable before the answer";
    EXPECT_EQ(service_->readings_accepted(), 1u);

    auto bad = At(0, std::nullopt);
    bad.reading.set(Metric::kSpo2, 0.97);
    Status refused = service_->Submit(wearer_, bad.reading, std::nullopt,
                                      [&](const Result<domain::Detection>&) { calls.fetch_add(1); });
    EXPECT_EQ(refused.code(), ErrorCode::kValidationFailed);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(calls.load(), 1) << "a refused reading never reaches its callback, and the first only once";
}

TEST_F(IngestServiceTest, ImpossibleValuesAreRejectedAndNothingIsStored) {
    auto r = At(0, std::nullopt);
    r.reading.set(Metric::kSpo2, 0.97);
    auto verdict = service_->SubmitAndWait(wearer_, r.reading, std::nullopt);
    ASSERT_EQ(verdict.status().code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(verdict.status().fields().at(0).field, "spo2");
    EXPECT_TRUE(store_->RecentReadings(wearer_, 10)->empty());
}

TEST_F(IngestServiceTest, BatchIsIdempotentOnRetry) {
    std::vector<store::IncomingReading> batch = {At(30, 1), At(20, 2), At(10, 3)};
    auto first = service_->SubmitBatch(wearer_, device_, batch);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(first->stored, 3u);
    batch.push_back(At(5, 4));
    auto retry = service_->SubmitBatch(wearer_, device_, batch);
    ASSERT_TRUE(retry.ok());
    EXPECT_EQ(retry->stored, 1u);
    EXPECT_EQ(retry->duplicates, 3u);
    EXPECT_EQ(service_->readings_accepted(), 4u) << "duplicates are not counted twice";
    EXPECT_EQ(store_->RecentReadings(wearer_, 10)->size(), 4u);
    bus_->Stop();
    EXPECT_EQ(consumer_.times.size(), 4u);  // duplicates are not evaluated twice
}

TEST_F(IngestServiceTest, ABadReadingRejectsTheWholeBatchNamingIt) {
    std::vector<store::IncomingReading> batch = {At(30, 1), At(20, 2), At(10, 3)};
    batch[1].reading.set(Metric::kSkinTemp, 98.6);
    batch[2].reading.measured_at = clock_.Now() + std::chrono::hours(1);
    auto result = service_->SubmitBatch(wearer_, device_, batch);
    ASSERT_EQ(result.status().code(), ErrorCode::kValidationFailed);
    ASSERT_EQ(result.status().fields().size(), 2u);
    EXPECT_EQ(result.status().fields()[0].field, "readings[1].skin_temp");
    EXPECT_EQ(result.status().fields()[1].field, "readings[2].timestamp");
    EXPECT_TRUE(store_->RecentReadings(wearer_, 10)->empty());
}

TEST_F(IngestServiceTest, BatchLimitsAndDuplicateSequences) {
    EXPECT_EQ(service_->SubmitBatch(wearer_, device_, {}).status().code(), ErrorCode::kValidationFailed);
    std::vector<store::IncomingReading> big(1001, At(1, std::nullopt));
    EXPECT_EQ(service_->SubmitBatch(wearer_, device_, big).status().fields().at(0).field, "readings");
    std::vector<store::IncomingReading> dup = {At(3, 7), At(2, 7)};
    EXPECT_EQ(service_->SubmitBatch(wearer_, device_, dup).status().fields().at(0).field, "readings[1].seq");
    std::vector<store::IncomingReading> old = {At(31LL * 24 * 3600, 1)};
    EXPECT_EQ(service_->SubmitBatch(wearer_, device_, old).status().fields().at(0).field, "readings[0].timestamp");
}

TEST_F(IngestServiceTest, ABacklogIsSentToDetectionInTimeOrder) {
    // A watch flushing after an outage may send its buffer out of time order.
    std::vector<store::IncomingReading> batch = {At(10, 3), At(30, 1), At(20, 2)};
    ASSERT_TRUE(service_->SubmitBatch(wearer_, device_, batch).ok());
    bus_->Stop();
    ASSERT_EQ(consumer_.times.size(), 3u);
    EXPECT_LT(consumer_.times[0], consumer_.times[1]);
    EXPECT_LT(consumer_.times[1], consumer_.times[2]);
}

}  // namespace
}  // namespace vg::ingest
