#include "vg/api/json_input.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>

namespace vg::api {
namespace {

bool IsJsonContentType(std::string_view content_type) {
    // "application/json" with optional parameters such as "; charset=utf-8".
    std::string_view media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    std::string lower(media);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower == "application/json";
}

}  // namespace

Result<boost::json::object> ParseJsonObjectBody(const http::Request& request) {
    if (!IsJsonContentType(request.header("content-type"))) {
        return Status::Error(ErrorCode::kUnsupportedMediaType,
                             "The request body must be JSON, sent with 'Content-Type: application/json'.");
    }
    if (request.body.empty()) {
        return Status::Error(ErrorCode::kInvalidJson, "The request body is empty; a JSON object is expected.");
    }
    boost::json::parse_options options;
    options.max_depth = 16;
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(request.body, ec, {}, options);
    if (ec) {
        return Status::Error(ErrorCode::kInvalidJson, "The request body is not valid JSON (" + ec.message() + ").");
    }
    if (!value.is_object()) {
        return Status::Error(ErrorCode::kInvalidJson, "The request body must be a JSON object.");
    }
    return std::move(value.as_object());
}

std::optional<std::string> ObjectReader::String(std::string_view name, bool required) {
    seen_.emplace(name);
    auto it = object_.find(name);
    if (it == object_.end() || it->value().is_null()) {
        if (required) problems_.push_back({std::string(name), "is required"});
        return std::nullopt;
    }
    if (!it->value().is_string()) {
        problems_.push_back({std::string(name), "must be a string"});
        return std::nullopt;
    }
    return std::string(it->value().as_string());
}

std::optional<int64_t> ObjectReader::Integer(std::string_view name, bool required) {
    seen_.emplace(name);
    auto it = object_.find(name);
    if (it == object_.end() || it->value().is_null()) {
        if (required) problems_.push_back({std::string(name), "is required"});
        return std::nullopt;
    }
    const boost::json::value& v = it->value();
    if (v.is_int64()) return v.as_int64();
    if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.as_uint64());
    if (v.is_double()) {
        double d = v.as_double();
        if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
    }
    problems_.push_back({std::string(name), "must be a whole number"});
    return std::nullopt;
}

std::optional<double> ObjectReader::Number(std::string_view name, bool required) {
    seen_.emplace(name);
    auto it = object_.find(name);
    if (it == object_.end() || it->value().is_null()) {
        if (required) problems_.push_back({std::string(name), "is required"});
        return std::nullopt;
    }
    const boost::json::value& v = it->value();
    if (v.is_double()) return v.as_double();
    if (v.is_int64()) return static_cast<double>(v.as_int64());
    if (v.is_uint64()) return static_cast<double>(v.as_uint64());
    problems_.push_back({std::string(name), "must be a number"});
    return std::nullopt;
}

std::optional<bool> ObjectReader::Boolean(std::string_view name, bool required) {
    seen_.emplace(name);
    auto it = object_.find(name);
    if (it == object_.end() || it->value().is_null()) {
        if (required) problems_.push_back({std::string(name), "is required"});
        return std::nullopt;
    }
    if (!it->value().is_bool()) {
        problems_.push_back({std::string(name), "must be true or false"});
        return std::nullopt;
    }
    return it->value().as_bool();
}

const boost::json::array* ObjectReader::Array(std::string_view name, bool required) {
    seen_.emplace(name);
    auto it = object_.find(name);
    if (it == object_.end() || it->value().is_null()) {
        if (required) problems_.push_back({std::string(name), "is required"});
        return nullptr;
    }
    if (!it->value().is_array()) {
        problems_.push_back({std::string(name), "must be a list"});
        return nullptr;
    }
    return &it->value().as_array();
}

std::optional<TimePoint> ObjectReader::Timestamp(std::string_view name, bool required) {
    seen_.emplace(name);
    auto it = object_.find(name);
    if (it == object_.end() || it->value().is_null()) {
        if (required) problems_.push_back({std::string(name), "is required"});
        return std::nullopt;
    }
    const boost::json::value& v = it->value();
    if (v.is_int64() && v.as_int64() > 0) return FromUnixMillis(v.as_int64());
    if (v.is_string()) {
        auto t = ParseIso8601(v.as_string());
        if (t.ok()) return *t;
        // In the right form but not a time that exists: say what is wrong with it.
        if (t.status().message() != kIso8601FormHelp) {
            problems_.push_back({std::string(name), t.status().message()});
            return std::nullopt;
        }
    }
    problems_.push_back({std::string(name), std::string(kIso8601FormHelp) + ", or milliseconds since 1970"});
    return std::nullopt;
}

void ObjectReader::Refuse(std::string_view name, std::string problem) {
    seen_.emplace(name);
    if (object_.contains(name)) problems_.push_back({std::string(name), std::move(problem)});
}

void ObjectReader::AddProblem(std::string field, std::string problem) {
    for (const auto& p : problems_) {
        if (p.field == field) return;  // one problem per field is enough to act on
    }
    problems_.push_back({std::move(field), std::move(problem)});
}

Status ObjectReader::Finish(std::string message) {
    for (const auto& kv : object_) {
        if (!seen_.contains(kv.key())) problems_.push_back({std::string(kv.key()), "is not a known field"});
    }
    if (problems_.empty()) return Status::Ok();
    return Status::Error(ErrorCode::kValidationFailed, std::move(message), std::move(problems_));
}

}  // namespace vg::api
