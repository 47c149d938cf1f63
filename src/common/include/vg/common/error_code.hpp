#pragma once
// ErrorCode: the closed set of expected failures in VitalGuard.
//
// Every fallible operation reports one of these codes. Each code has a stable
// snake_case name that clients may rely on (it is part of the HTTP API), and
// exactly one place (api/error_mapping) maps codes to HTTP status codes.
// Thread-safety: plain values and pure functions.

#include <string_view>

namespace vg {

enum class ErrorCode {
    kOk = 0,
    kInvalidJson,           // the body is not well-formed JSON, or not a JSON object
    kValidationFailed,      // well-formed, but one or more fields are wrong (see FieldError)
    kBadRequest,            // a request that is wrong in a way no field explains
    kUnauthenticated,       // no credentials, or credentials that do not identify anyone
    kInvalidCredentials,    // a login with a wrong id or password
    kSessionExpired,        // a session that existed but ran out (idle or absolute expiry)
    kCsrfFailed,            // a cookie-authenticated change without a matching CSRF token
    kForbidden,             // authenticated, but not allowed to do this
    kAccountLocked,         // the account was locked by the service operator (`vitalguard user lock`)
    kNotFound,              // the thing (or the route) does not exist
    kMethodNotAllowed,      // the route exists, but not with this method
    kConflict,              // the request contradicts what is stored (e.g. id already taken)
    kPayloadTooLarge,       // body larger than the configured limit
    kUnsupportedMediaType,  // body that is not application/json where JSON is required
    kRateLimited,           // too many attempts; retry later
    kRequestTimeout,        // the client was too slow sending the request
    kUnavailable,           // the service cannot take requests now (starting, stopping, store down)
    kInternal,              // a bug or an unexpected failure of a dependency
};

// The stable wire name, e.g. "validation_failed".
std::string_view ErrorCodeName(ErrorCode code);

}  // namespace vg
