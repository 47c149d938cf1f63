#include "vg/api/json_input.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "vg/api/errors.hpp"

namespace vg::api {
namespace {

http::Request JsonRequest(std::string body, std::string content_type = "application/json") {
    http::Request r;
    r.method = "POST";
    r.path = "/api/x";
    r.headers.push_back({"content-type", std::move(content_type)});
    r.body = std::move(body);
    return r;
}

TEST(ParseJsonObjectBodyTest, RequiresJsonContentType) {
    EXPECT_EQ(ParseJsonObjectBody(JsonRequest("{}", "text/plain")).status().code(), ErrorCode::kUnsupportedMediaType);
    EXPECT_EQ(ParseJsonObjectBody(JsonRequest("{}", "")).status().code(), ErrorCode::kUnsupportedMediaType);
    EXPECT_TRUE(ParseJsonObjectBody(JsonRequest("{}", "Application/JSON; charset=utf-8")).ok());
}

TEST(ParseJsonObjectBodyTest, RejectsMalformedAndNonObjects) {
    for (const char* bad : {"", "{", "{\"a\":}", "[1,2]", "\"text\"", "42", "{\"a\":1} trailing"}) {
        EXPECT_EQ(ParseJsonObjectBody(JsonRequest(bad)).status().code(), ErrorCode::kInvalidJson) << bad;
    }
    std::string deep(100, '[');
    EXPECT_EQ(ParseJsonObjectBody(JsonRequest("{\"a\":" + deep + "}")).status().code(), ErrorCode::kInvalidJson);
}

TEST(ObjectReaderTest, CollectsTypeMissingAndUnknownFieldProblems) {
    auto body = ParseJsonObjectBody(JsonRequest(R"({"name": 5, "age": "old", "phone_number": "010"})"));
    ASSERT_TRUE(body.ok());
    ObjectReader reader(*body);
    EXPECT_FALSE(reader.String("name", true));
    EXPECT_FALSE(reader.Integer("age", true));
    EXPECT_FALSE(reader.String("address", true));
    EXPECT_FALSE(reader.String("detailed_address", false));
    Status s = reader.Finish();
    ASSERT_EQ(s.code(), ErrorCode::kValidationFailed);
    std::vector<FieldError> expected{{"name", "must be a string"},
                                     {"age", "must be a whole number"},
                                     {"address", "is required"},
                                     {"phone_number", "is not a known field"}};
    EXPECT_EQ(s.fields(), expected);
}

TEST(ObjectReaderTest, BooleansAndLists) {
    auto body = ParseJsonObjectBody(JsonRequest(R"({"a": true, "b": 1, "c": [1, 2], "d": {"x": 1}, "e": null})"));
    ASSERT_TRUE(body.ok());
    ObjectReader reader(*body);
    EXPECT_EQ(reader.Boolean("a", true), true);
    EXPECT_FALSE(reader.Boolean("b", false));
    const boost::json::array* c = reader.Array("c", true);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->size(), 2u);
    EXPECT_EQ(reader.Array("d", true), nullptr);
    EXPECT_EQ(reader.Array("e", false), nullptr);  // null is absent
    EXPECT_EQ(reader.Boolean("f", false), std::nullopt);
    Status s = reader.Finish();
    std::vector<FieldError> expected{{"b", "must be true or false"}, {"d", "must be a list"}};
    EXPECT_EQ(s.fields(), expected);
}

TEST(ObjectReaderTest, IntegersAcceptWholeNumbersOnly) {
    auto body = ParseJsonObjectBody(JsonRequest(R"({"a": 78, "b": 78.0, "c": 78.5, "d": 1e300, "e": true})"));
    ASSERT_TRUE(body.ok());
    ObjectReader reader(*body);
    EXPECT_EQ(reader.Integer("a", true), 78);
    EXPECT_EQ(reader.Integer("b", true), 78);
    EXPECT_FALSE(reader.Integer("c", true));
    EXPECT_FALSE(reader.Integer("d", true));
    EXPECT_FALSE(reader.Integer("e", true));
    EXPECT_EQ(reader.Finish().fields().size(), 3u);
}

// Issue 15 item 11: a day that is not on the calendar was accepted and stored as another day.
TEST(ObjectReaderTest, TimestampRefusesTimesThatDoNotExistNamingTheField) {
    struct Case {
        const char* text;
        const char* problem;
    };
    const Case cases[] = {
        {"2026-11-31T10:00:00Z", "2026-11-31 is not a calendar date"},
        {"2026-02-29T10:00:00Z", "2026-02-29 is not a calendar date"},
        {"2026-13-01T10:00:00Z", "2026-13-01 is not a calendar date"},
        {"2026-11-00T10:00:00Z", "2026-11-00 is not a calendar date"},
        {"2026-11-23T24:00:00Z", "24:00:00 is not a time of day (00:00:00 to 23:59:59)"},
        {"2026-11-23T23:59:60Z", "23:59:60 is not a time of day (00:00:00 to 23:59:59; leap seconds are not accepted)"},
        {"2026-11-23T10:00:00+14:01", "the offset +14:01 is outside -14:00 to +14:00"},
    };
    for (const Case& c : cases) {
        auto body = ParseJsonObjectBody(JsonRequest(std::string(R"({"timestamp": ")") + c.text + "\"}"));
        ASSERT_TRUE(body.ok());
        ObjectReader reader(*body);
        EXPECT_FALSE(reader.Timestamp("timestamp", true)) << c.text;
        Status s = reader.Finish();
        std::vector<FieldError> expected{{"timestamp", c.problem}};
        EXPECT_EQ(s.fields(), expected) << c.text;
    }
}

TEST(ObjectReaderTest, TimestampAcceptsTheFormatsItAlwaysDid) {
    struct Case {
        const char* text;
        int64_t millis;
    };
    const Case cases[] = {
        {"2026-11-23T16:30:00Z", 1'795'451'400'000},    {"2026-11-23t16:30:00z", 1'795'451'400'000},
        {"2026-11-23 16:30:00Z", 1'795'451'400'000},    {"2026-11-24T01:30:00+09:00", 1'795'451'400'000},
        {"2026-11-23T16:30:00.25Z", 1'795'451'400'250}, {"2026-11-23T16:30:00.123456789Z", 1'795'451'400'123},
        {"2024-02-29T00:00:00Z", 1'709'164'800'000},    {"2026-11-23T02:30:00-14:00", 1'795'451'400'000},
    };
    for (const Case& c : cases) {
        auto body = ParseJsonObjectBody(JsonRequest(std::string(R"({"timestamp": ")") + c.text + "\"}"));
        ASSERT_TRUE(body.ok());
        ObjectReader reader(*body);
        EXPECT_EQ(reader.Timestamp("timestamp", true), FromUnixMillis(c.millis)) << c.text;
        EXPECT_TRUE(reader.Finish().ok()) << c.text;
    }
}

TEST(ErrorResponseTest, HasTheDocumentedShapeAndStatus) {
    Status s = Status::Error(ErrorCode::kValidationFailed, "Some fields need to be corrected.", {{"age", "too old"}});
    http::Response r = ErrorResponse(s);
    EXPECT_EQ(r.status, 400);
    auto v = boost::json::parse(r.body);
    EXPECT_EQ(v.at("error").at("code").as_string(), "validation_failed");
    EXPECT_EQ(v.at("error").at("fields").at(0).at("field").as_string(), "age");
    EXPECT_EQ(v.at("error").at("fields").at(0).at("problem").as_string(), "too old");

    Status limited = Status::Error(ErrorCode::kRateLimited, "wait");
    limited.WithRetryAfter(30);
    http::Response r2 = ErrorResponse(limited);
    EXPECT_EQ(r2.status, 429);
    bool has_retry_after = false;
    for (const auto& h : r2.headers) has_retry_after |= h.name == "Retry-After" && h.value == "30";
    EXPECT_TRUE(has_retry_after);
}

TEST(ErrorResponseTest, EveryCodeMapsToAnErrorStatus) {
    for (int c = 1; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
        int status = HttpStatusFor(static_cast<ErrorCode>(c));
        EXPECT_GE(status, 400) << ErrorCodeName(static_cast<ErrorCode>(c));
        EXPECT_LT(status, 600);
    }
}

}  // namespace
}  // namespace vg::api
