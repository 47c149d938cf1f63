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
