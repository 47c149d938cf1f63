#include "vg/common/error_code.hpp"

namespace vg {

std::string_view ErrorCodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::kOk:
            return "ok";
        case ErrorCode::kInvalidJson:
            return "invalid_json";
        case ErrorCode::kValidationFailed:
            return "validation_failed";
        case ErrorCode::kBadRequest:
            return "bad_request";
        case ErrorCode::kUnauthenticated:
            return "unauthenticated";
        case ErrorCode::kInvalidCredentials:
            return "invalid_credentials";
        case ErrorCode::kSessionExpired:
            return "session_expired";
        case ErrorCode::kCsrfFailed:
            return "csrf_failed";
        case ErrorCode::kForbidden:
            return "forbidden";
        case ErrorCode::kAccountLocked:
            return "account_locked";
        case ErrorCode::kNotFound:
            return "not_found";
        case ErrorCode::kMethodNotAllowed:
            return "method_not_allowed";
        case ErrorCode::kConflict:
            return "conflict";
        case ErrorCode::kPayloadTooLarge:
            return "payload_too_large";
        case ErrorCode::kUnsupportedMediaType:
            return "unsupported_media_type";
        case ErrorCode::kRateLimited:
            return "rate_limited";
        case ErrorCode::kRequestTimeout:
            return "request_timeout";
        case ErrorCode::kUnavailable:
            return "unavailable";
        case ErrorCode::kInternal:
            return "internal";
    }
    return "internal";
}

}  // namespace vg
