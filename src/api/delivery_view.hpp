#pragma once
// What people are shown of a notification's delivery (GET /api/incidents/{id}): the recipient masked,
// and a failure as a stable code and a sentence, never the receiver's own error text.
//
// The raw error (curl's words, a gateway's reply, internal host names and ports) stays where operators
// look: the outbox table's last_error and the server log. The code is the ErrorCode wire name the
// delivery worker recorded in front of that text ("unavailable: could not reach ..."), or "internal"
// when the text has none.
// Thread-safety: pure functions.

#include <optional>
#include <string>
#include <string_view>

namespace vg::api {

// A phone number with its middle digits hidden ("010-****-5678"), an e-mail address with its local
// part hidden after the first character ("k***@example.com"), an HTTP(S) receiver as what it is for
// ("119 dispatch" for the emergency channel, "webhook" otherwise; no host, no path).
std::string MaskedRecipient(std::string_view channel, std::string_view recipient);

struct DeliveryFailure {
    std::string code;     // "unavailable", "rate_limited", "validation_failed", ...
    std::string message;  // for people; names no host, address or receiver text
};

// nullopt when the last attempt did not fail (empty last_error).
std::optional<DeliveryFailure> DeliveryFailureOf(std::string_view last_error);

}  // namespace vg::api
