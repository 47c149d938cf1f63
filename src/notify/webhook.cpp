#include "vg/notify/webhook.hpp"

#include <sodium.h>

#include <array>
#include <boost/json.hpp>
#include <charconv>

#include "encoding.hpp"
#include "http_transport.hpp"

namespace vg::notify {
namespace {

constexpr size_t kMinSecretBytes = 16;

std::array<unsigned char, crypto_auth_hmacsha256_BYTES> Hmac(std::string_view secret, int64_t unix_seconds,
                                                             std::string_view body) {
    internal::EnsureSodiumInitialised();
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
    const std::string prefix = std::to_string(unix_seconds) + ".";
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(prefix.data()), prefix.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()), body.size());
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
    crypto_auth_hmacsha256_final(&state, mac.data());
    sodium_memzero(&state, sizeof(state));
    return mac;
}

}  // namespace

struct WebhookChannel::Impl {
    WebhookOptions options;
    const Clock& clock;
    internal::CurlHandlePool pool;
};

WebhookChannel::WebhookChannel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebhookChannel::~WebhookChannel() = default;

Result<std::unique_ptr<WebhookChannel>> WebhookChannel::Create(WebhookOptions options, const Clock& clock) {
    if (options.secret.size() < kMinSecretBytes) {
        return Status::Error(ErrorCode::kValidationFailed, "webhook secret too short",
                             {{"secret", "must be at least 16 bytes"}});
    }
    for (const auto& [name, value] : options.extra_headers) {
        if (name.empty() || internal::HasLineBreak(name) || internal::HasLineBreak(value)) {
            return Status::Error(ErrorCode::kValidationFailed, "invalid webhook header",
                                 {{"extra_headers", "names must be non-empty; no line breaks"}});
        }
    }
    internal::EnsureCurlInitialised();
    internal::EnsureSodiumInitialised();
    return std::unique_ptr<WebhookChannel>(
        new WebhookChannel(std::unique_ptr<Impl>(new Impl{std::move(options), clock, {}})));
}

Result<DeliveryReceipt> WebhookChannel::Deliver(const OutboxItem& item) {
    auto body = WebhookBody(item);
    if (!body.ok()) return body.status();
    if (internal::HasLineBreak(item.idempotency_key)) {
        return Status::Error(ErrorCode::kValidationFailed, "idempotency key has a line break");
    }
    const int64_t now_seconds = ToUnixMillis(impl_->clock.Now()) / 1000;
    internal::HttpCall call;
    call.method = "POST";
    call.url = item.recipient;
    call.headers = impl_->options.extra_headers;
    call.headers.emplace_back("Content-Type", "application/json");
    call.headers.emplace_back(std::string(kIdempotencyKeyHeader), item.idempotency_key);
    call.headers.emplace_back(std::string(kTimestampHeader), std::to_string(now_seconds));
    call.headers.emplace_back(std::string(kSignatureHeader),
                              WebhookSignature(impl_->options.secret, now_seconds, body.value()));
    call.body = std::move(body).value();
    return internal::DeliverHttp(impl_->pool, impl_->options.http, call);
}

Result<std::string> WebhookBody(const OutboxItem& item) {
    if (!item.payload_json.empty()) {
        boost::system::error_code ec;
        boost::json::value payload = boost::json::parse(item.payload_json, ec);
        if (ec) return Status::Error(ErrorCode::kInvalidJson, "outbox payload is not JSON: " + ec.message());
        // The key receivers deduplicate on goes inside the signed body: the Idempotency-Key header is not
        // signed, so a replayed request with a fresh header would otherwise pass as a new message.
        if (payload.is_object()) {
            payload.as_object()["idempotency_key"] = item.idempotency_key;
            return boost::json::serialize(payload);
        }
        return boost::json::serialize(
            boost::json::object{{"idempotency_key", item.idempotency_key}, {"payload", std::move(payload)}});
    }
    boost::json::object object;
    object["idempotency_key"] = item.idempotency_key;
    object["subject"] = item.subject;
    object["text"] = item.body;
    return boost::json::serialize(object);
}

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body) {
    const auto mac = Hmac(secret, unix_seconds, body);
    char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof(hex), mac.data(), mac.size());
    return "sha256=" + std::string(hex);
}

Status VerifyWebhookSignature(std::string_view secret, std::string_view timestamp_header, std::string_view body,
                              std::string_view signature_header, TimePoint now, std::chrono::seconds tolerance) {
    int64_t timestamp = 0;
    auto [end, ec] =
        std::from_chars(timestamp_header.data(), timestamp_header.data() + timestamp_header.size(), timestamp);
    if (ec != std::errc() || end != timestamp_header.data() + timestamp_header.size() || timestamp_header.empty()) {
        return Status::Error(ErrorCode::kBadRequest, "X-VitalGuard-Timestamp is not a number of seconds");
    }
    constexpr std::string_view kPrefix = "sha256=";
    if (signature_header.substr(0, kPrefix.size()) != kPrefix ||
        signature_header.size() != kPrefix.size() + crypto_auth_hmacsha256_BYTES * 2) {
        return Status::Error(ErrorCode::kBadRequest, "X-VitalGuard-Signature is not sha256=<64 hex digits>");
    }
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> given{};
    const std::string_view hex = signature_header.substr(kPrefix.size());
    size_t decoded = 0;
    const char* hex_end = nullptr;
    if (sodium_hex2bin(given.data(), given.size(), hex.data(), hex.size(), nullptr, &decoded, &hex_end) != 0 ||
        decoded != given.size() || hex_end != hex.data() + hex.size()) {
        return Status::Error(ErrorCode::kBadRequest, "X-VitalGuard-Signature is not sha256=<64 hex digits>");
    }
    const auto expected = Hmac(secret, timestamp, body);
    // Signature first, in constant time, so that timing says nothing about which check failed.
    const bool signature_ok = sodium_memcmp(given.data(), expected.data(), given.size()) == 0;
    const int64_t age_seconds = ToUnixMillis(now) / 1000 - timestamp;
    if (!signature_ok) return Status::Error(ErrorCode::kUnauthenticated, "webhook signature does not match");
    if (age_seconds > tolerance.count() || -age_seconds > tolerance.count()) {
        return Status::Error(ErrorCode::kUnauthenticated, "webhook timestamp is outside the allowed window");
    }
    return Status::Ok();
}

}  // namespace vg::notify
