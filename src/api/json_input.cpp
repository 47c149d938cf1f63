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
        if (auto t = ParseIso8601(v.as_string())) return t;
    }
    problems_.push_back(
        {std::string(name),
         "must be an ISO 8601 time with a zone, like \"2026-11-23T16:30:00Z\", or milliseconds since 1970"});
    return std::nullopt;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

}  // namespace

std::optional<TimePoint> ParseIso8601(std::string_view s) {
    int year, month, day, hour, minute, second;
    if (!Digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, month) || s[7] != '-' ||
        !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, hour) ||
        s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' || !Digits(s, 17, 2, second)) {
        return std::nullopt;
    }
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    size_t pos = 19;
    int64_t millis = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 3) millis = millis * 10 + (s[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (int d = digits; d < 3; ++d) millis *= 10;
    }
    int64_t offset_minutes = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, om) ||
            oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset_minutes = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
        pos += 6;
    } else {
        return std::nullopt;  // a time without a zone is ambiguous
    }
    if (pos != s.size()) return std::nullopt;
    const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + std::min(second, 59) - offset_minutes * 60;
    return FromUnixMillis(secs * 1000 + millis);
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
