#pragma once
// The one place where error codes become HTTP.
//
// Every error VitalGuard answers has this JSON body:
//   {"error":{"code":"validation_failed","message":"…","fields":[{"field":"age","problem":"…"}]}}
// `code` is ErrorCodeName(), stable for clients; `message` is for a person;
// `fields` lists the offending input fields (empty when none is to blame).
// Thread-safety: pure functions.

#include <boost/json/value.hpp>

#include "vg/common/status.hpp"
#include "vg/http/server.hpp"

namespace vg::api {

// 400, 401, 403, 404, 405, 409, 413, 415, 429, 408, 503 or 500.
int HttpStatusFor(ErrorCode code);

// The error response for `status` (REQUIRES: !status.ok()), with Retry-After when the status has one.
http::Response ErrorResponse(const Status& status);

// A JSON response with the given status code.
http::Response JsonResponse(int http_status, const boost::json::value& body);

}  // namespace vg::api
