#include "vg/notify/webhook.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sinks.hpp"

namespace vg::notify {
namespace {

using namespace std::chrono_literals;
using testing::HttpSink;
using testing::PlannedResponse;

constexpr const char* kSecret = "test-secret-0123456789abcdef";

OutboxItem WebhookItem(const std::string& url) {
    OutboxItem item;
    item.id = 7;
    item.channel = std::string(kWebhookChannel);
    item.recipient = url;
    item.subject = "Danger: 김영희";
    item.body = "심박 140, SpO2 86%";
    item.payload_json = R"({"incident_id":"inc-1","level":"danger","name":"김영희"})";
    item.idempotency_key = "incident-inc-1-guardian-3";
    item.attempts = 1;
    return item;
}

std::unique_ptr<WebhookChannel> MakeChannel(const Clock& clock, Milliseconds timeout = 2s) {
    WebhookOptions options;
    options.secret = kSecret;
    options.http.timeout = timeout;
    auto channel = WebhookChannel::Create(options, clock);
    EXPECT_TRUE(channel.ok()) << channel.status().ToString();
    return std::move(channel).value();
}

TEST(WebhookSignatureTest, VerifiesAndRejectsTamperingAndReplays) {
    const TimePoint now = FromUnixMillis(1'700'000'000'000);
    const std::string body = R"({"a":1})";
    const std::string signature = WebhookSignature(kSecret, 1'700'000'000, body);
    ASSERT_EQ(signature.size(), 7u + 64u);
    EXPECT_EQ(signature.substr(0, 7), "sha256=");

    EXPECT_TRUE(VerifyWebhookSignature(kSecret, "1700000000", body, signature, now).ok());
    // Tampered body, wrong secret, timestamp moved: all refused as unauthenticated.
    EXPECT_EQ(VerifyWebhookSignature(kSecret, "1700000000", R"({"a":2})", signature, now).code(),
              ErrorCode::kUnauthenticated);
    EXPECT_EQ(VerifyWebhookSignature("another-secret-0123456789", "1700000000", body, signature, now).code(),
              ErrorCode::kUnauthenticated);
    EXPECT_EQ(VerifyWebhookSignature(kSecret, "1700000001", body, signature, now).code(), ErrorCode::kUnauthenticated);
    // A correct signature that is too old (replay) or too far ahead.
    EXPECT_EQ(VerifyWebhookSignature(kSecret, "1700000000", body, signature, now + 301s).code(),
              ErrorCode::kUnauthenticated);
    EXPECT_TRUE(VerifyWebhookSignature(kSecret, "1700000000", body, signature, now + 299s).ok());
    EXPECT_EQ(VerifyWebhookSignature(kSecret, "1700000000", body, signature, now - 301s).code(),
              ErrorCode::kUnauthenticated);
    // Malformed headers.
    EXPECT_EQ(VerifyWebhookSignature(kSecret, "17e8", body, signature, now).code(), ErrorCode::kBadRequest);
    EXPECT_EQ(VerifyWebhookSignature(kSecret, "1700000000", body, "sha1=abcd", now).code(), ErrorCode::kBadRequest);
    std::string not_hex = signature;
    not_hex.back() = 'z';
    EXPECT_EQ(VerifyWebhookSignature(kSecret, "1700000000", body, not_hex, now).code(), ErrorCode::kBadRequest);
}

TEST(WebhookSignatureTest, MatchesAKnownHmacSha256Vector) {
    // Computed independently: printf '1.The quick brown fox jumps over the lazy dog' |
    //   openssl dgst -sha256 -hmac key
    EXPECT_EQ(WebhookSignature("key", 1, "The quick brown fox jumps over the lazy dog"),
              "sha256=3ff4d3cc115b639a16dc5b217aa5c89be41d1e4b54efc356d63d0cd2a65b30f1");
}

TEST(WebhookChannelTest, SendsSignedJsonWithIdempotencyKey) {
    HttpSink sink;
    ManualClock clock(FromUnixMillis(1'700'000'123'456));
    auto channel = MakeChannel(clock);
    const OutboxItem item = WebhookItem(sink.Url("/hooks/vg"));

    auto receipt = channel->Deliver(item);
    ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
    EXPECT_EQ(receipt->detail, "HTTP 200");
    ASSERT_EQ(sink.count(), 1u);
    const auto request = sink.requests()[0];
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.target, "/hooks/vg");
    EXPECT_EQ(request.header("content-type"), "application/json");
    EXPECT_EQ(request.header("idempotency-key"), "incident-inc-1-guardian-3");
    EXPECT_EQ(request.header("x-vitalguard-timestamp"), "1700000123");
    // The key is inside the signed body (the header alone is not signed: a replay could change it).
    const auto sent = boost::json::parse(request.body).as_object();
    EXPECT_EQ(sent.at("idempotency_key").as_string(), "incident-inc-1-guardian-3");
    auto without_key = sent;
    without_key.erase("idempotency_key");
    EXPECT_EQ(without_key, boost::json::parse(item.payload_json).as_object()) << "the payload is otherwise unchanged";
    // What a receiver does: verify the signature over the exact bytes received.
    EXPECT_TRUE(VerifyWebhookSignature(kSecret, request.header("x-vitalguard-timestamp"), request.body,
                                       request.header("x-vitalguard-signature"), clock.Now())
                    .ok());
    EXPECT_FALSE(VerifyWebhookSignature(kSecret, request.header("x-vitalguard-timestamp"), request.body + " ",
                                        request.header("x-vitalguard-signature"), clock.Now())
                     .ok());
}

TEST(WebhookChannelTest, BuildsAJsonBodyWhenThereIsNoPayload) {
    OutboxItem item = WebhookItem("http://127.0.0.1:1/");
    item.payload_json.clear();
    item.body = "line \"one\"\nline two";
    auto body = WebhookBody(item);
    ASSERT_TRUE(body.ok());
    const auto parsed = boost::json::parse(body.value()).as_object();
    EXPECT_EQ(parsed.at("text").as_string(), "line \"one\"\nline two");
    EXPECT_EQ(parsed.at("subject").as_string(), "Danger: 김영희");
    EXPECT_EQ(parsed.at("idempotency_key").as_string(), "incident-inc-1-guardian-3");

    item.payload_json = "{not json";
    EXPECT_EQ(WebhookBody(item).status().code(), ErrorCode::kInvalidJson);
    item.payload_json = R"([1,2])";  // not an object: wrapped, the key beside it
    const auto wrapped = boost::json::parse(WebhookBody(item).value()).as_object();
    EXPECT_EQ(wrapped.at("idempotency_key").as_string(), "incident-inc-1-guardian-3");
    EXPECT_EQ(wrapped.at("payload"), boost::json::parse("[1,2]"));
}

TEST(WebhookChannelTest, ClassifiesAnswers) {
    HttpSink sink;
    ManualClock clock;
    auto channel = MakeChannel(clock);
    const OutboxItem item = WebhookItem(sink.Url());

    sink.Plan({{.status = 400},
               {.status = 404},
               {.status = 500},
               {.status = 503, .retry_after = "30"},
               {.status = 429, .retry_after = "7"},
               {.status = 408},
               {.status = 302},
               {.status = 202}});
    auto r400 = channel->Deliver(item);
    EXPECT_EQ(r400.status().code(), ErrorCode::kValidationFailed);
    EXPECT_FALSE(IsRetryable(r400.status()));
    EXPECT_NE(r400.status().message().find("HTTP 400"), std::string::npos);
    EXPECT_FALSE(IsRetryable(channel->Deliver(item).status()));  // 404
    auto r500 = channel->Deliver(item);
    EXPECT_EQ(r500.status().code(), ErrorCode::kUnavailable);
    EXPECT_TRUE(IsRetryable(r500.status()));
    auto r503 = channel->Deliver(item);
    EXPECT_TRUE(IsRetryable(r503.status()));
    EXPECT_EQ(r503.status().retry_after_seconds(), 30);
    auto r429 = channel->Deliver(item);
    EXPECT_EQ(r429.status().code(), ErrorCode::kRateLimited);
    EXPECT_EQ(r429.status().retry_after_seconds(), 7);
    EXPECT_TRUE(IsRetryable(channel->Deliver(item).status()));   // 408
    EXPECT_FALSE(IsRetryable(channel->Deliver(item).status()));  // 302: redirects are not followed
    auto r202 = channel->Deliver(item);
    ASSERT_TRUE(r202.ok());
    EXPECT_EQ(r202->detail, "HTTP 202");
}

TEST(WebhookChannelTest, TimeoutAndRefusedConnectionAreRetryable) {
    HttpSink sink;
    ManualClock clock;
    auto channel = MakeChannel(clock, 250ms);
    sink.Plan({{.status = 200, .hang = 5s}});
    const auto started = std::chrono::steady_clock::now();
    auto timed_out = channel->Deliver(WebhookItem(sink.Url()));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(timed_out.status().code(), ErrorCode::kUnavailable) << timed_out.status().ToString();
    EXPECT_NE(timed_out.status().message().find("timed out"), std::string::npos);
    EXPECT_LT(elapsed, 2s);

    // A port nobody listens on: take one from a sink, then stop the sink.
    std::string closed_url;
    {
        HttpSink gone;
        closed_url = gone.Url();
    }
    auto refused = channel->Deliver(WebhookItem(closed_url));
    EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
    EXPECT_TRUE(IsRetryable(refused.status()));
}

TEST(WebhookChannelTest, RefusesUnusableUrlsAndOptionsPermanently) {
    ManualClock clock;
    auto channel = MakeChannel(clock);
    EXPECT_EQ(channel->Deliver(WebhookItem("file:///etc/passwd")).status().code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(channel->Deliver(WebhookItem("ftp://127.0.0.1/x")).status().code(), ErrorCode::kValidationFailed);

    WebhookOptions short_secret;
    short_secret.secret = "short";
    EXPECT_EQ(WebhookChannel::Create(short_secret, clock).status().code(), ErrorCode::kValidationFailed);
    WebhookOptions bad_header;
    bad_header.secret = kSecret;
    bad_header.extra_headers = {{"X-Evil", "a\r\nInjected: yes"}};
    EXPECT_EQ(WebhookChannel::Create(bad_header, clock).status().code(), ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace vg::notify
