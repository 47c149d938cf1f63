#include "vg/notify/channel.hpp"

namespace vg::notify {

bool IsRetryable(const Status& status) {
    switch (status.code()) {
        case ErrorCode::kUnavailable:
        case ErrorCode::kRequestTimeout:
        case ErrorCode::kRateLimited:
        case ErrorCode::kInternal:
            return true;
        default:
            return false;
    }
}

Status ClassifyHttpStatus(long http_status, int retry_after_seconds, const std::string& body_excerpt) {
    if (http_status >= 200 && http_status < 300) return Status::Ok();
    std::string message = "receiver answered HTTP " + std::to_string(http_status);
    if (!body_excerpt.empty()) message += ": " + body_excerpt.substr(0, 200);
    auto retryable = [&](ErrorCode code) {
        Status status = Status::Error(code, message);
        if (retry_after_seconds >= 0) status.WithRetryAfter(retry_after_seconds);
        return status;
    };
    if (http_status == 408) return retryable(ErrorCode::kRequestTimeout);
    if (http_status == 429) return retryable(ErrorCode::kRateLimited);
    if (http_status >= 500) return retryable(ErrorCode::kUnavailable);
    switch (http_status) {
        case 400:
        case 422:
            return Status::Error(ErrorCode::kValidationFailed, message);
        case 401:
            return Status::Error(ErrorCode::kUnauthenticated, message);
        case 403:
            return Status::Error(ErrorCode::kForbidden, message);
        case 404:
        case 410:
            return Status::Error(ErrorCode::kNotFound, message);
        case 413:
            return Status::Error(ErrorCode::kPayloadTooLarge, message);
        case 415:
            return Status::Error(ErrorCode::kUnsupportedMediaType, message);
        default:
            return Status::Error(ErrorCode::kBadRequest, message);  // 1xx as final, 3xx, other 4xx
    }
}

}  // namespace vg::notify
