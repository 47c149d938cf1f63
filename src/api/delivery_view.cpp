#include "delivery_view.hpp"

#include <cctype>

#include "vg/common/error_code.hpp"

namespace vg::api {

std::string MaskedRecipient(std::string_view channel, std::string_view recipient) {
    if (recipient.rfind("http://", 0) == 0 || recipient.rfind("https://", 0) == 0) {
        return channel == "emergency" ? "119 dispatch" : "webhook";
    }
    if (const size_t at = recipient.rfind('@'); at != std::string_view::npos) {
        const std::string_view local = recipient.substr(0, at);
        return (local.empty() ? std::string() : std::string(local.substr(0, 1))) + "***" +
               std::string(recipient.substr(at));
    }
    std::string out(recipient);
    int total_digits = 0;
    for (char c : out) total_digits += std::isdigit(static_cast<unsigned char>(c)) ? 1 : 0;
    int digits_seen = 0;
    for (char& c : out) {
        if (!std::isdigit(static_cast<unsigned char>(c))) continue;
        ++digits_seen;
        if (digits_seen > 3 && digits_seen <= total_digits - 4) c = '*';
    }
    return out;
}

std::optional<DeliveryFailure> DeliveryFailureOf(std::string_view last_error) {
    if (last_error.empty()) return std::nullopt;
    ErrorCode code = ErrorCode::kInternal;
    const std::string_view prefix = last_error.substr(0, last_error.find(':'));
    for (int c = 1; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
        if (ErrorCodeName(static_cast<ErrorCode>(c)) == prefix) code = static_cast<ErrorCode>(c);
    }
    DeliveryFailure out{std::string(ErrorCodeName(code)), ""};
    switch (code) {
        case ErrorCode::kUnavailable:
        case ErrorCode::kRequestTimeout:
        case ErrorCode::kRateLimited:
            out.message = "Not delivered yet: the delivery service did not take the message. It is tried again.";
            break;
        case ErrorCode::kInternal:
            out.message = "Not delivered because of a fault in VitalGuard. The operator can see the details.";
            break;
        default:
            out.message = "Not delivered: the delivery service refused the message. The operator can see the details.";
            break;
    }
    return out;
}

}  // namespace vg::api
