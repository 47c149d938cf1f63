// ReadingStore (readings.hpp): the vitals time series.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "vg/store/limits.hpp"
#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

TEST_P(StoreConformance, ReadingsAreStoredAndRetriedSequencesAreIgnored) {
    const int64_t user = CreateUserOrDie("vitals_user");
    auto device = store().CreateDevice(SampleDevice(user, "token-v"));
    ASSERT_TRUE(device.ok());
    std::vector<IncomingReading> batch = {ReadingAt(1000, 1, 70), ReadingAt(2000, 2, 71), ReadingAt(3000, 3, 72)};
    auto first = store().AppendReadings(user, device->device_id, batch, kT0);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(*first, (std::vector<bool>{true, true, true}));
    // A retry with an overlap: 2 and 3 again, plus a new 4.
    std::vector<IncomingReading> retry = {ReadingAt(2000, 2, 71), ReadingAt(3000, 3, 72), ReadingAt(4000, 4, 73)};
    auto second = store().AppendReadings(user, device->device_id, retry, kT0);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(*second, (std::vector<bool>{false, false, true}));
    auto recent = store().RecentReadings(user, 10);
    ASSERT_TRUE(recent.ok());
    ASSERT_EQ(recent->size(), 4u);
    EXPECT_EQ(ToUnixMillis((*recent)[0].reading.measured_at), 4000);
    EXPECT_EQ((*recent)[0].reading.get(domain::Metric::kHeartRate), 73);
    EXPECT_EQ((*recent)[0].reading.get(domain::Metric::kSpo2), 97.5);
    EXPECT_FALSE((*recent)[0].reading.get(domain::Metric::kGlucose).has_value());
    EXPECT_EQ((*recent)[0].device_seq, 4);
    EXPECT_EQ((*recent)[0].device_id, device->device_id);
    EXPECT_EQ((*recent)[0].received_at, kT0);
}

TEST_P(StoreConformance, ReadingsWithoutSequenceAreAlwaysStored) {
    const int64_t user = CreateUserOrDie("session_user");
    std::vector<IncomingReading> batch = {ReadingAt(1000, std::nullopt, 70), ReadingAt(1000, std::nullopt, 70)};
    auto stored = store().AppendReadings(user, std::nullopt, batch, kT0);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(*stored, (std::vector<bool>{true, true}));
    EXPECT_EQ(store().AppendReadings(user + 1000, std::nullopt, batch, kT0).status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().RecentReadings(user, 10)->size(), 2u);
}

// A sequence number means something only with its device: without one it is not kept, and nothing is
// deduplicated.
TEST_P(StoreConformance, SequenceWithoutDeviceIsNotKept) {
    const int64_t user = CreateUserOrDie("page_user");
    std::vector<IncomingReading> batch = {ReadingAt(1000, 7, 70), ReadingAt(2000, 7, 71)};
    auto stored = store().AppendReadings(user, std::nullopt, batch, kT0);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_EQ(*stored, (std::vector<bool>{true, true}));
    auto recent = store().RecentReadings(user, 10);
    ASSERT_TRUE(recent.ok());
    ASSERT_EQ(recent->size(), 2u);
    for (const StoredReading& r : *recent) {
        EXPECT_EQ(r.device_id, std::nullopt);
        EXPECT_EQ(r.device_seq, std::nullopt);
    }
}

TEST_P(StoreConformance, DuplicateSequenceWithinOneBatchIsStoredOnce) {
    const int64_t user = CreateUserOrDie("vitals_user");
    auto device = store().CreateDevice(SampleDevice(user, "token-v"));
    ASSERT_TRUE(device.ok());
    std::vector<IncomingReading> batch = {ReadingAt(1000, 1, 70), ReadingAt(1000, 1, 70), ReadingAt(2000, 2, 71),
                                          ReadingAt(3000, std::nullopt, 72)};
    auto stored = store().AppendReadings(user, device->device_id, batch, kT0);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_EQ(*stored, (std::vector<bool>{true, false, true, true}));
    EXPECT_EQ(store().RecentReadings(user, 10)->size(), 3u);
}

// Sequence numbers are per device: another watch of the same wearer counts from 1 too.
TEST_P(StoreConformance, SameSequenceOnAnotherDeviceIsStored) {
    const int64_t user = CreateUserOrDie("two_watches");
    auto left = store().CreateDevice(SampleDevice(user, "left"));
    auto right = store().CreateDevice(SampleDevice(user, "right"));
    ASSERT_TRUE(left.ok() && right.ok());
    std::vector<IncomingReading> batch = {ReadingAt(1000, 1, 70)};
    EXPECT_EQ(store().AppendReadings(user, left->device_id, batch, kT0).value(), std::vector<bool>{true});
    EXPECT_EQ(store().AppendReadings(user, right->device_id, batch, kT0).value(), std::vector<bool>{true});
    EXPECT_EQ(store().AppendReadings(user, left->device_id, batch, kT0).value(), std::vector<bool>{false});
    EXPECT_EQ(store().RecentReadings(user, 10)->size(), 2u);
}

// The device authenticated the upload: an unknown one is a caller's bug, and nothing of the batch is kept.
TEST_P(StoreConformance, ReadingsFromAnUnknownDeviceAreInternalAndNotStored) {
    const int64_t user = CreateUserOrDie("vitals_user");
    std::vector<IncomingReading> batch = {ReadingAt(1000, 1, 70), ReadingAt(2000, 2, 71)};
    EXPECT_EQ(store().AppendReadings(user, 424242, batch, kT0).status().code(), ErrorCode::kInternal);
    EXPECT_TRUE(store().RecentReadings(user, 10)->empty());
    // A revoked device's readings are still stored: revocation is the caller's decision.
    auto device = store().CreateDevice(SampleDevice(user, "revoked"));
    ASSERT_TRUE(device.ok());
    ASSERT_TRUE(store().RevokeDevice(user, device->device_id, kT0).ok());
    EXPECT_TRUE(store().AppendReadings(user, device->device_id, batch, kT0).ok());
}

TEST_P(StoreConformance, RecentReadingsAreNewestMeasuredFirstWithTiesToTheLastStored) {
    const int64_t user = CreateUserOrDie("vitals_user");
    const int64_t other = CreateUserOrDie("other_user");
    // Stored out of time order, with a tie at 2000 ms.
    std::vector<IncomingReading> batch = {ReadingAt(3000, std::nullopt, 73), ReadingAt(1000, std::nullopt, 71),
                                          ReadingAt(2000, std::nullopt, 72), ReadingAt(2000, std::nullopt, 74)};
    ASSERT_TRUE(store().AppendReadings(user, std::nullopt, batch, kT0).ok());
    ASSERT_TRUE(store().AppendReadings(other, std::nullopt, batch, kT0).ok());
    auto recent = store().RecentReadings(user, 10);
    ASSERT_TRUE(recent.ok()) << recent.status().ToString();
    ASSERT_EQ(recent->size(), 4u);
    std::vector<double> hr;
    for (const StoredReading& r : *recent) hr.push_back(*r.reading.get(domain::Metric::kHeartRate));
    EXPECT_EQ(hr, (std::vector<double>{73, 74, 72, 71}));
    EXPECT_GT((*recent)[1].id, (*recent)[2].id) << "ids increase in storage order";
    EXPECT_EQ(store().RecentReadings(user, 2)->size(), 2u);
    for (int limit : {0, -3}) {
        auto one = store().RecentReadings(user, limit);
        ASSERT_TRUE(one.ok());
        ASSERT_EQ(one->size(), 1u) << limit;
        EXPECT_EQ(ToUnixMillis(one->front().reading.measured_at), 3000);
    }
    auto none = store().RecentReadings(424242, 10);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformance, ForEachWearerReadingsSinceGivesEachWearerOldestFirst) {
    const int64_t a = CreateUserOrDie("wearer_a");
    const int64_t quiet = CreateUserOrDie("wearer_quiet");  // has readings, all too old
    const int64_t b = CreateUserOrDie("wearer_b");
    CreateUserOrDie("wearer_none");  // has none
    const int64_t since = 10'000;
    // b first, out of order, with a tie at 12000 ms (storage order decides) and one at exactly `since`.
    ASSERT_TRUE(store()
                    .AppendReadings(b, std::nullopt,
                                    std::vector<IncomingReading>{
                                        ReadingAt(12000, std::nullopt, 81), ReadingAt(since, std::nullopt, 80),
                                        ReadingAt(12000, std::nullopt, 82), ReadingAt(9999, std::nullopt, 79)},
                                    kT0)
                    .ok());
    ASSERT_TRUE(
        store()
            .AppendReadings(a, std::nullopt, std::vector<IncomingReading>{ReadingAt(11000, std::nullopt, 70)}, kT0)
            .ok());
    ASSERT_TRUE(
        store()
            .AppendReadings(quiet, std::nullopt, std::vector<IncomingReading>{ReadingAt(5000, std::nullopt, 60)}, kT0)
            .ok());

    std::vector<std::pair<int64_t, std::vector<double>>> seen;
    Status status = store().ForEachWearerReadingsSince(
        FromUnixMillis(since), [&](int64_t wearer, std::vector<domain::VitalsReading>&& readings) {
            std::vector<double> hr;
            for (const auto& r : readings) {
                hr.push_back(*r.get(domain::Metric::kHeartRate));
                EXPECT_EQ(r.get(domain::Metric::kSpo2), 97.5);
            }
            seen.emplace_back(wearer, std::move(hr));
            // `fn` runs outside the store's locks: it may call the store.
            EXPECT_TRUE(store().FindUserByUniqueNum(wearer).ok());
        });
    ASSERT_TRUE(status.ok()) << status.ToString();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].first, a);
    EXPECT_EQ(seen[0].second, std::vector<double>{70});
    EXPECT_EQ(seen[1].first, b);
    EXPECT_EQ(seen[1].second, (std::vector<double>{80, 81, 82}));
}

// Trend charts: buckets of [from, to), only those with readings, a metric summarized over the readings that
// carry it, the edges exact (from inclusive, to exclusive), other wearers never mixed in.
TEST_P(StoreConformance, ReadingsAreSummarizedInBucketsOfTheRange) {
    const int64_t user = CreateUserOrDie("trend_user");
    const int64_t other = CreateUserOrDie("trend_other");
    std::vector<IncomingReading> batch = {
        ReadingAt(59'999, std::nullopt, 200),  // before `from`
        ReadingAt(60'000, std::nullopt, 60),   // bucket 0 starts at from = 60 s
        ReadingAt(70'000, std::nullopt, 80),   //
        ReadingAt(80'000, std::nullopt, 70),   //
        ReadingAt(200'000, std::nullopt, 90),  // bucket 2 (bucket 1 has none)
        ReadingAt(240'000, std::nullopt, 10),  // == to: excluded
    };
    batch[2].reading.values[static_cast<size_t>(domain::Metric::kSpo2)].reset();
    batch[3].reading.set(domain::Metric::kGlucose, 110);
    ASSERT_TRUE(store().AppendReadings(user, std::nullopt, batch, kT0).ok());
    std::vector<IncomingReading> theirs = {ReadingAt(61'000, std::nullopt, 150)};
    ASSERT_TRUE(store().AppendReadings(other, std::nullopt, theirs, kT0).ok());

    auto buckets =
        store().SummarizeReadings(user, FromUnixMillis(60'000), FromUnixMillis(240'000), std::chrono::minutes(1));
    ASSERT_TRUE(buckets.ok()) << buckets.status().ToString();
    ASSERT_EQ(buckets->size(), 2u);
    const ReadingBucket& first = (*buckets)[0];
    EXPECT_EQ(ToUnixMillis(first.start), 60'000);
    EXPECT_EQ(first.readings, 3);
    const MetricSummary& hr = first.metrics[static_cast<size_t>(domain::Metric::kHeartRate)];
    EXPECT_EQ(hr.count, 3);
    EXPECT_DOUBLE_EQ(hr.min, 60);
    EXPECT_DOUBLE_EQ(hr.max, 80);
    EXPECT_DOUBLE_EQ(hr.mean, 70);
    EXPECT_EQ(first.metrics[static_cast<size_t>(domain::Metric::kSpo2)].count, 2);
    const MetricSummary& glucose = first.metrics[static_cast<size_t>(domain::Metric::kGlucose)];
    EXPECT_EQ(glucose.count, 1);
    EXPECT_DOUBLE_EQ(glucose.mean, 110);
    EXPECT_EQ(first.metrics[static_cast<size_t>(domain::Metric::kSteps)].count, 0);
    const ReadingBucket& third = (*buckets)[1];
    EXPECT_EQ(ToUnixMillis(third.start), 180'000);
    EXPECT_EQ(third.readings, 1);
    EXPECT_DOUBLE_EQ(third.metrics[static_cast<size_t>(domain::Metric::kHeartRate)].max, 90);

    auto none =
        store().SummarizeReadings(user + 1000, FromUnixMillis(0), FromUnixMillis(600'000), std::chrono::minutes(1));
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    // The caller validates the request; a wrong one is its bug, never a silently empty chart.
    EXPECT_EQ(
        store().SummarizeReadings(user, FromUnixMillis(0), FromUnixMillis(0), std::chrono::minutes(1)).status().code(),
        ErrorCode::kInternal);
    EXPECT_EQ(store()
                  .SummarizeReadings(user, FromUnixMillis(0), FromUnixMillis(kMaxSummaryBuckets * 1000 + 1000),
                                     std::chrono::seconds(1))
                  .status()
                  .code(),
              ErrorCode::kInternal);
}

}  // namespace
}  // namespace vg::store::conformance
