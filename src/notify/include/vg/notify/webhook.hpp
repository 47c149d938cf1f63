#pragma once
// WebhookChannel: POSTs a message's JSON payload to the recipient URL, signed.
//
// Request: POST <recipient>, body = OutboxItem::payload_json (or, when empty,
// {"idempotency_key","subject","text"} built from the item), headers
//   Content-Type: application/json
//   Idempotency-Key: <item.idempotency_key>            the same on every attempt
//   X-VitalGuard-Timestamp: <unix seconds>             the time of this attempt
//   X-VitalGuard-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
// Receivers check the signature and the timestamp (VerifyWebhookSignature) and deduplicate on
// the Idempotency-Key. Answers are classified as in channel.hpp (2xx delivered; 408, 429, 5xx,
// timeouts and connection failures retryable; other 4xx permanent).
// Thread-safety: Deliver may be called from any thread. Ownership: the clock must outlive the
// channel.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "vg/common/clock.hpp"
#include "vg/notify/channel.hpp"
#include "vg/notify/outbox.hpp"

namespace vg::notify {

inline constexpr std::string_view kTimestampHeader = "X-VitalGuard-Timestamp";
inline constexpr std::string_view kSignatureHeader = "X-VitalGuard-Signature";
inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";

struct WebhookOptions {
    std::string secret;  // REQUIRED: the shared HMAC key (at least 16 bytes; 32 random bytes advised)
    HttpClientOptions http;
    HttpHeaders extra_headers;  // sent with every request, e.g. an Authorization the receiver wants
};

class WebhookChannel final : public Channel {
  public:
    // kValidationFailed when the options are unusable (short secret, bad header).
    static Result<std::unique_ptr<WebhookChannel>> Create(WebhookOptions options, const Clock& clock);
    ~WebhookChannel() override;

    Result<DeliveryReceipt> Deliver(const OutboxItem& item) override;

  private:
    struct Impl;
    explicit WebhookChannel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The body the channel sends for `item`: its payload_json, or a JSON object made of its
// idempotency key, subject and body. kInvalidJson when payload_json is not JSON.
Result<std::string> WebhookBody(const OutboxItem& item);

// "sha256=<64 lower-case hex digits>" for HMAC-SHA256(secret, "<unix_seconds>.<body>").
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);

// For receivers (and tests): OK when `signature_header` is the signature of `body` at
// `timestamp_header` under `secret`, and that timestamp is within `tolerance` of `now` (replays
// of old requests fail). Compares in constant time. kUnauthenticated when the signature does not
// match or the timestamp is too old or too far ahead; kBadRequest when a header is malformed.
Status VerifyWebhookSignature(std::string_view secret, std::string_view timestamp_header, std::string_view body,
                              std::string_view signature_header, TimePoint now,
                              std::chrono::seconds tolerance = std::chrono::seconds(300));

}  // namespace vg::notify
