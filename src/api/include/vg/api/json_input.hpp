#pragma once
// Strict JSON request bodies.
//
// ParseJsonObjectBody checks the content type (415 otherwise), that the body is
// well-formed JSON (invalid_json, with the position) and that it is an object.
// ObjectReader then takes fields one by one, checking their JSON types; every
// problem is collected as a FieldError, and Finish() also reports every field
// that was sent but never read ("is not a known field"), so a typo such as
// "phone_number" is an error rather than silently ignored. Nothing is written
// unless Finish() returns OK.
// Thread-safety: an ObjectReader is used by one thread.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/common/time_text.hpp"
#include "vg/http/server.hpp"

namespace vg::api {

// REQUIRES: request carries a body that should be JSON.
Result<boost::json::object> ParseJsonObjectBody(const http::Request& request);

class ObjectReader {
  public:
    explicit ObjectReader(const boost::json::object& object) : object_(object) {}

    // A string field. Missing: "is required" when required, else nullopt. Wrong type: "must be a string".
    std::optional<std::string> String(std::string_view name, bool required);
    // A whole-number field (42 or 42.0). Wrong type: "must be a whole number".
    std::optional<int64_t> Integer(std::string_view name, bool required);
    // A number field (integer or decimal). Wrong type: "must be a number".
    std::optional<double> Number(std::string_view name, bool required);
    // A boolean field (true/false only). Wrong type: "must be true or false".
    std::optional<bool> Boolean(std::string_view name, bool required);
    // A list field, returned in place (valid as long as the object). Wrong type: "must be a list".
    const boost::json::array* Array(std::string_view name, bool required);
    // A point in time: an ISO 8601 string read by vg::ParseIso8601 ("2026-11-23T16:30:00Z", "…+09:00",
    // fractions allowed; a date or time that does not exist is refused saying which) or milliseconds
    // since the Unix epoch.
    std::optional<TimePoint> Timestamp(std::string_view name, bool required);
    // Marks a field as known-but-not-accepted from clients (e.g. server-owned), with the reason.
    void Refuse(std::string_view name, std::string problem);
    // Adds a problem found by other validation.
    void AddProblem(std::string field, std::string problem);

    // OK, or kValidationFailed listing every problem (type errors, missing and unknown fields).
    Status Finish(std::string message = "Some fields need to be corrected.");

  private:
    const boost::json::object& object_;
    std::set<std::string, std::less<>> seen_;
    std::vector<FieldError> problems_;
};

}  // namespace vg::api
