#include "vg/api/errors.hpp"

#include <boost/json/serialize.hpp>

namespace vg::api {

int HttpStatusFor(ErrorCode code) {
    switch (code) {
        case ErrorCode::kOk:
            return 200;
        case ErrorCode::kInvalidJson:
        case ErrorCode::kValidationFailed:
        case ErrorCode::kBadRequest:
            return 400;
        case ErrorCode::kUnauthenticated:
        case ErrorCode::kInvalidCredentials:
        case ErrorCode::kSessionExpired:
            return 401;
        case ErrorCode::kCsrfFailed:
        case ErrorCode::kForbidden:
        case ErrorCode::kAccountLocked:
            return 403;
        case ErrorCode::kNotFound:
            return 404;
        case ErrorCode::kMethodNotAllowed:
            return 405;
        case ErrorCode::kRequestTimeout:
            return 408;
        case ErrorCode::kConflict:
            return 409;
        case ErrorCode::kPayloadTooLarge:
            return 413;
        case ErrorCode::kUnsupportedMediaType:
            return 415;
        case ErrorCode::kRateLimited:
            return 429;
        case ErrorCode::kUnavailable:
            return 503;
        case ErrorCode::kInternal:
            return 500;
    }
    return 500;
}

http::Response JsonResponse(int http_status, const boost::json::value& body) {
    http::Response r;
    r.status = http_status;
    r.set_header("Content-Type", "application/json; charset=utf-8");
    r.body = boost::json::serialize(body);
    return r;
}

http::Response ErrorResponse(const Status& status) {
    boost::json::array fields;
    for (const FieldError& f : status.fields()) {
        fields.push_back(boost::json::object{{"field", f.field}, {"problem", f.problem}});
    }
    boost::json::object error{{"code", std::string(ErrorCodeName(status.code()))},
                              {"message", status.message()},
                              {"fields", std::move(fields)}};
    http::Response r = JsonResponse(HttpStatusFor(status.code()), boost::json::object{{"error", std::move(error)}});
    if (auto retry = status.retry_after_seconds()) r.set_header("Retry-After", std::to_string(*retry));
    if (status.code() == ErrorCode::kUnauthenticated || status.code() == ErrorCode::kSessionExpired ||
        status.code() == ErrorCode::kInvalidCredentials) {
        r.set_header("WWW-Authenticate", "Cookie realm=\"vitalguard\"");
    }
    return r;
}

}  // namespace vg::api
