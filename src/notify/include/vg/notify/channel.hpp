#pragma once
// Channel: one way of delivering an outbox message (webhook, SMS gateway, SMTP, 119 dispatch).
//
// Deliver makes one attempt and blocks until the receiver answered or the channel's timeout
// ran out. Its Status says whether to try again:
//   OK                                       delivered (the receiver accepted it)
//   kUnavailable, kRequestTimeout,           retryable: the receiver or the network failed, or
//   kRateLimited, kInternal                  asked us to come back (retry_after_seconds if it said when)
//   anything else (kValidationFailed, ...)   permanent: the receiver refused this message; sending
//                                            it again would be refused again
// Thread-safety: Deliver may be called from several threads at once.

#include <string>
#include <utility>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/notify/outbox.hpp"

namespace vg::notify {

// How the receiver accepted a message; kept with the message for audit.
struct DeliveryReceipt {
    std::string detail;  // e.g. "HTTP 202" or "SMTP 250"
};

class Channel {
  public:
    virtual ~Channel() = default;
    // One delivery attempt (see the classification above).
    virtual Result<DeliveryReceipt> Deliver(const OutboxItem& item) = 0;
};

// How HTTP-based channels (webhook, SMS gateway) talk to their receivers (libcurl).
struct HttpClientOptions {
    Milliseconds timeout{10'000};         // the whole attempt: connect, send, wait, receive
    Milliseconds connect_timeout{3'000};  // TCP (and TLS) connection set-up
    bool verify_tls = true;               // verify the receiver's certificate and host name
    std::string ca_file;                  // a CA bundle to trust instead of the system's; empty: system
    std::string user_agent = "VitalGuard-Notifier/1";
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;  // (name, value), in order

// Whether a failed attempt may succeed later (see the classification above).
bool IsRetryable(const Status& status);

// The retry classification of an HTTP response status, shared by every HTTP-based channel:
// 2xx OK; 408 kRequestTimeout, 429 kRateLimited and 5xx kUnavailable (retryable, with
// `retry_after_seconds` from a Retry-After header when given, else -1 for none); 400/422
// kValidationFailed, 401 kUnauthenticated, 403 kForbidden, 404/410 kNotFound, 413 kPayloadTooLarge,
// 415 kUnsupportedMediaType, other 3xx/4xx kBadRequest (permanent). `body_excerpt` goes into the message.
Status ClassifyHttpStatus(long http_status, int retry_after_seconds, const std::string& body_excerpt);

}  // namespace vg::notify
