// Hermetic tests of the Redis Streams bus: the entry and reply encoding (every field round-trips; truncated,
// garbled and random input is refused, never undefined behaviour) and Open's errors without a server (the
// URL is vg_redis's: src/redis/connection_test.cpp). The behaviour over a live Redis is in
// redis_streams_bus_redistest.cpp.
#include "vg/bus/redis_streams_bus.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "bus_codec.hpp"

namespace vg::bus::codec {
namespace {

ReadingEnvelope FullEnvelope(int64_t wearer, int64_t ms) {
    ReadingEnvelope e;
    e.wearer = wearer;
    e.reading.measured_at = FromUnixMillis(ms);
    e.reading.set(domain::Metric::kHeartRate, 72.5);
    e.reading.set(domain::Metric::kSpo2, 97.25);
    e.reading.set(domain::Metric::kCalories, -0.0);
    e.reading.set(domain::Metric::kGlucose, std::numeric_limits<double>::infinity());
    e.received_at = FromUnixMillis(ms + 35);
    e.record_status = true;
    e.store_with_verdict = true;
    e.device_id = -77;
    return e;
}

TEST(BusCodecTest, ReadingsRoundTripEveryField) {
    std::vector<ReadingEnvelope> readings;
    readings.push_back(FullEnvelope(std::numeric_limits<int64_t>::max(), 1'700'000'000'123));
    ReadingEnvelope bare;  // nothing optional set, negative times
    bare.wearer = -5;
    bare.reading.measured_at = FromUnixMillis(-1);
    bare.received_at = FromUnixMillis(std::numeric_limits<int64_t>::min());
    readings.push_back(bare);
    ReadingEnvelope every = FullEnvelope(3, 4);
    for (size_t m = 0; m < domain::kMetricCount; ++m) every.reading.values[m] = 1.5 * static_cast<double>(m + 1);
    every.record_status = false;
    every.device_id.reset();
    readings.push_back(every);
    const std::vector<std::optional<uint64_t>> seqs{42, std::nullopt, std::numeric_limits<uint64_t>::max()};

    auto decoded = DecodeReadings(EncodeReadings("node-1", readings, seqs));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->reply_node, "node-1");
    ASSERT_EQ(decoded->readings.size(), readings.size());
    for (size_t i = 0; i < readings.size(); ++i) {
        const ReadingEnvelope& want = readings[i];
        const ReadingEnvelope& got = decoded->readings[i].envelope;
        EXPECT_EQ(got.wearer, want.wearer) << i;
        EXPECT_EQ(got.reading.measured_at, want.reading.measured_at) << i;
        for (size_t m = 0; m < domain::kMetricCount; ++m) {
            ASSERT_EQ(got.reading.values[m].has_value(), want.reading.values[m].has_value()) << i << "/" << m;
            if (want.reading.values[m]) {
                EXPECT_EQ(std::bit_cast<uint64_t>(*got.reading.values[m]),
                          std::bit_cast<uint64_t>(*want.reading.values[m]))
                    << i << "/" << m;
            }
        }
        EXPECT_EQ(got.received_at, want.received_at) << i;
        EXPECT_EQ(got.record_status, want.record_status) << i;
        EXPECT_EQ(got.store_with_verdict, want.store_with_verdict) << i;
        EXPECT_EQ(got.device_id, want.device_id) << i;
        EXPECT_FALSE(got.on_detected) << "callbacks do not travel";
        EXPECT_EQ(decoded->readings[i].reply_seq, seqs[i]) << i;
    }
}

posture::WindowJob FullJob() {
    posture::WindowJob job;
    job.wearer = 9'000'000'001;
    job.policy = posture::RecordPolicy::kEveryCall;
    job.received = FromUnixMillis(1'700'000'000'999);
    for (int w = 0; w < 3; ++w) {
        posture::TimedWindow tw;
        tw.window.placement = w == 1 ? posture::Placement::kWaist : posture::Placement::kWrist;
        tw.window.gravity_removed = w == 2;
        for (size_t i = 0; i < tw.window.values.size(); ++i) {
            tw.window.values[i] = static_cast<float>(i) * 0.25F - static_cast<float>(w);
        }
        tw.window.values[5] = std::numeric_limits<float>::quiet_NaN();
        tw.timing.end = FromUnixMillis(1'700'000'000'000 + 2560 * (w + 1));
        tw.timing.first = tw.timing.end - Milliseconds(2540);
        tw.timing.period = Milliseconds(20);
        job.windows.push_back(tw);
    }
    return job;
}

TEST(BusCodecTest, WindowJobsRoundTripEveryField) {
    const posture::WindowJob job = FullJob();
    for (std::optional<uint64_t> seq : {std::optional<uint64_t>(7), std::optional<uint64_t>()}) {
        auto decoded = DecodeWindowJob(EncodeWindowJob("n", job, seq));
        ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
        EXPECT_EQ(decoded->reply_node, "n");
        EXPECT_EQ(decoded->reply_seq, seq);
        const posture::WindowJob& got = decoded->job;
        EXPECT_EQ(got.wearer, job.wearer);
        EXPECT_EQ(got.policy, job.policy);
        EXPECT_EQ(got.received, job.received);
        EXPECT_FALSE(got.answer);
        ASSERT_EQ(got.windows.size(), job.windows.size());
        for (size_t w = 0; w < job.windows.size(); ++w) {
            EXPECT_EQ(got.windows[w].window.placement, job.windows[w].window.placement);
            EXPECT_EQ(got.windows[w].window.gravity_removed, job.windows[w].window.gravity_removed);
            EXPECT_EQ(got.windows[w].timing.end, job.windows[w].timing.end);
            EXPECT_EQ(got.windows[w].timing.first, job.windows[w].timing.first);
            EXPECT_EQ(got.windows[w].timing.period, job.windows[w].timing.period);
            for (size_t i = 0; i < job.windows[w].window.values.size(); ++i) {
                ASSERT_EQ(std::bit_cast<uint32_t>(got.windows[w].window.values[i]),
                          std::bit_cast<uint32_t>(job.windows[w].window.values[i]))
                    << w << "/" << i;
            }
        }
    }
}

domain::Detection FullDetection() {
    domain::Detection d;
    d.level = domain::Level::kDanger;
    d.causes = {domain::Metric::kHeartRate, domain::Metric::kSpo2};
    d.fired = {{"heart_rate.high.danger", "threshold", domain::Metric::kHeartRate, domain::Level::kDanger, 151.5,
                "heart rate 151 bpm ≥ 131 bpm for 2 readings"},
               {"spo2.low.caution", "sustained", domain::Metric::kSpo2, domain::Level::kCaution, 91, ""}};
    d.advice_only = true;
    d.explanation = "심박수가 높습니다. Heart rate 151 bpm.";
    d.model_probabilities = std::array<float, 3>{0.125F, 0.25F, 0.625F};
    d.model_causes = {domain::Metric::kRespirationRate};
    return d;
}

void ExpectSameDetection(const domain::Detection& got, const domain::Detection& want) {
    EXPECT_EQ(got.level, want.level);
    EXPECT_EQ(got.causes, want.causes);
    EXPECT_EQ(got.fired, want.fired);
    EXPECT_EQ(got.advice_only, want.advice_only);
    EXPECT_EQ(got.explanation, want.explanation);
    EXPECT_EQ(got.model_probabilities, want.model_probabilities);
    EXPECT_EQ(got.model_causes, want.model_causes);
}

TEST(BusCodecTest, DetectionRepliesRoundTripEveryField) {
    auto decoded = DecodeReply(EncodeDetectionReply(99, FullDetection()));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->seq, 99u);
    ASSERT_EQ(decoded->kind, ReplyKind::kDetection);
    ASSERT_TRUE(decoded->detection.has_value());
    ASSERT_TRUE(decoded->detection->ok());
    ExpectSameDetection(decoded->detection->value(), FullDetection());

    auto empty = DecodeReply(EncodeDetectionReply(1, domain::Detection{}));
    ASSERT_TRUE(empty.ok());
    ExpectSameDetection(empty->detection->value(), domain::Detection{});

    Status error = Status::Error(ErrorCode::kValidationFailed, "Some values need to be corrected.",
                                 {{"heart_rate", "must be a number"}, {"spo2", ""}});
    error.WithRetryAfter(3);
    auto failed = DecodeReply(EncodeDetectionReply(2, error));
    ASSERT_TRUE(failed.ok()) << failed.status().ToString();
    ASSERT_FALSE(failed->detection->ok());
    const Status& got = failed->detection->status();
    EXPECT_EQ(got.code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(got.message(), error.message());
    EXPECT_EQ(got.fields(), error.fields());
    EXPECT_EQ(got.retry_after_seconds(), 3);
}

TEST(BusCodecTest, WindowRepliesRoundTripEveryField) {
    std::vector<posture::WindowResult> results(2);
    for (size_t i = 0; i < posture::kNumModelClasses; ++i)
        results[0].prediction.probabilities[i] = 0.01F * static_cast<float>(i + 1);
    results[0].prediction.model_class = posture::kOtherClass;
    results[0].prediction.posture = posture::Posture::kLying;
    results[0].prediction.other = true;
    results[0].posture = posture::Posture::kFall;
    results[0].fall = posture::FallState::kConfirmed;
    results[0].incident_id = 123456789012;
    results[0].late = true;
    results[0].at = FromUnixMillis(1'700'000'002'560);
    auto decoded = DecodeReply(EncodeWindowsReply(5, results));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ASSERT_EQ(decoded->kind, ReplyKind::kWindows);
    ASSERT_TRUE(decoded->windows->ok());
    const auto& got = decoded->windows->value();
    ASSERT_EQ(got.size(), 2u);
    for (size_t k = 0; k < 2; ++k) {
        EXPECT_EQ(got[k].prediction.probabilities, results[k].prediction.probabilities);
        EXPECT_EQ(got[k].prediction.model_class, results[k].prediction.model_class);
        EXPECT_EQ(got[k].prediction.posture, results[k].prediction.posture);
        EXPECT_EQ(got[k].prediction.other, results[k].prediction.other);
        EXPECT_EQ(got[k].posture, results[k].posture);
        EXPECT_EQ(got[k].fall, results[k].fall);
        EXPECT_EQ(got[k].incident_id, results[k].incident_id);
        EXPECT_EQ(got[k].late, results[k].late);
        EXPECT_EQ(got[k].at, results[k].at);
    }
    auto failed = DecodeReply(EncodeWindowsReply(6, Status::Error(ErrorCode::kUnavailable, "busy")));
    ASSERT_TRUE(failed.ok());
    EXPECT_EQ(failed->windows->status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(failed->windows->status().message(), "busy");
    EXPECT_FALSE(failed->windows->status().retry_after_seconds().has_value());
}

std::vector<std::string> ValidEncodings() {
    std::vector<ReadingEnvelope> readings{FullEnvelope(1, 2), FullEnvelope(3, 4)};
    const std::vector<std::optional<uint64_t>> seqs{1, std::nullopt};
    posture::WindowJob job = FullJob();
    job.windows.resize(1);
    return {EncodeReadings("node", readings, seqs), EncodeWindowJob("node", job, 3),
            EncodeDetectionReply(4, FullDetection()),
            EncodeDetectionReply(5, Status::Error(ErrorCode::kConflict, "x", {{"a", "b"}})),
            EncodeWindowsReply(6, std::vector<posture::WindowResult>(2))};
}

// Every decoder on `bytes`: none may crash; returns how many accepted it.
int DecodeWithAll(std::string_view bytes) {
    int accepted = 0;
    accepted += DecodeReadings(bytes).ok() ? 1 : 0;
    accepted += DecodeWindowJob(bytes).ok() ? 1 : 0;
    accepted += DecodeReply(bytes).ok() ? 1 : 0;
    return accepted;
}

TEST(BusCodecTest, TruncatedOrExtendedInputIsRefused) {
    for (const std::string& valid : ValidEncodings()) {
        ASSERT_EQ(DecodeWithAll(valid), 1);
        for (size_t n = 0; n < valid.size(); ++n) {
            ASSERT_EQ(DecodeWithAll(std::string_view(valid).substr(0, n)), 0) << "a prefix of " << n << " bytes";
        }
        EXPECT_EQ(DecodeWithAll(valid + '\0'), 0) << "a trailing byte";
    }
    auto wrong_version = ValidEncodings()[0];
    wrong_version[0] = 2;
    auto refused = DecodeReadings(wrong_version);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("version 2"), std::string::npos) << refused.status().message();
}

TEST(BusCodecTest, HugeCountsAreRefusedWithoutAllocating) {
    // version, kind 'r', empty node, then a count of 2^32 - 1 readings in a 14-byte entry.
    const std::string entry{'\x01', 'r',    '\0',   '\0', '\0', '\0', '\xff',
                            '\xff', '\xff', '\xff', '\0', '\0', '\0', '\0'};
    auto refused = DecodeReadings(entry);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kInternal);
    EXPECT_NE(refused.status().message().find("larger than the entry"), std::string::npos)
        << refused.status().message();
}

TEST(BusCodecTest, RandomAndMutatedBytesNeverCrashTheDecoders) {
    std::mt19937_64 random(20261207);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int i = 0; i < 20'000; ++i) {
        std::string junk(static_cast<size_t>(random() % 200), '\0');
        for (char& c : junk) c = static_cast<char>(byte(random));
        if (i % 2 == 0 && junk.size() >= 2) {  // a plausible header, so that decoding goes further
            junk[0] = kCodecVersion;
            junk[1] = "rwdv"[random() % 4];
        }
        DecodeWithAll(junk);
    }
    // Valid entries with a few bytes flipped: decoded (to something) or refused, never undefined behaviour.
    const auto valid = ValidEncodings();
    for (int i = 0; i < 20'000; ++i) {
        std::string mutated = valid[static_cast<size_t>(i) % valid.size()];
        for (int k = 0; k < 1 + i % 3; ++k) mutated[random() % mutated.size()] = static_cast<char>(byte(random));
        DecodeWithAll(mutated);
    }
}

// ---- Open's errors (the URL itself: src/redis/connection_test.cpp) ----

TEST(RedisStreamsBusOpenTest, ABadUrlIsRefusedNamingTheOption) {
    ManualClock clock;
    RedisStreamsBusOptions options;
    options.url = "redis://:pa55word@host:notaport";
    auto bus = RedisStreamsBus::Open(clock, options);
    ASSERT_FALSE(bus.ok());
    EXPECT_EQ(bus.status().code(), ErrorCode::kInternal);
    EXPECT_NE(bus.status().message().find("RedisStreamsBusOptions.url"), std::string::npos) << bus.status().message();
    EXPECT_EQ(bus.status().message().find("pa55word"), std::string::npos) << bus.status().message();

    options.url = "redis://127.0.0.1:1";
    options.shards = 0;
    auto no_shards = RedisStreamsBus::Open(clock, options);
    ASSERT_FALSE(no_shards.ok());
    EXPECT_NE(no_shards.status().message().find("shards"), std::string::npos) << no_shards.status().message();
}

TEST(RedisStreamsBusOpenTest, AnUnreachableRedisIsUnavailableWithItsAddressButNotItsPassword) {
    ManualClock clock;
    RedisStreamsBusOptions options;
    options.url = "redis://:pa55word@127.0.0.1:1";  // nothing listens on port 1
    options.command_timeout = std::chrono::milliseconds(500);
    auto bus = RedisStreamsBus::Open(clock, options);
    ASSERT_FALSE(bus.ok());
    EXPECT_EQ(bus.status().code(), ErrorCode::kUnavailable);
    EXPECT_NE(bus.status().message().find("127.0.0.1:1"), std::string::npos) << bus.status().message();
    EXPECT_EQ(bus.status().message().find("pa55word"), std::string::npos) << bus.status().message();
}

}  // namespace
}  // namespace vg::bus::codec
