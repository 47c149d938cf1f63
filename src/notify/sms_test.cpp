#include "vg/notify/sms.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sinks.hpp"

namespace vg::notify {
namespace {

using namespace std::chrono_literals;
using testing::HttpSink;

const char* const kKoreanText = "[VitalGuard] 김영희님 \"위험\" 상태입니다.\n심박 140 \\ SpO2 86%";

OutboxItem SmsItem(const std::string& to) {
    OutboxItem item;
    item.id = 3;
    item.channel = std::string(kSmsChannel);
    item.recipient = to;
    item.body = kKoreanText;
    item.idempotency_key = "inc-9/sms/guardian-1";
    item.attempts = 1;
    return item;
}

TEST(SmsTemplateTest, EscapesJsonKeepingKoreanAndQuotes) {
    auto rendered = RenderTemplate(R"({"to":"{to}","text":"{text}","ref":"{idempotency_key}","n":{"x":1}})",
                                   TemplateEscaping::kJson,
                                   {{"to", "010-1234-5678"}, {"text", kKoreanText}, {"idempotency_key", "k\"1"}});
    ASSERT_TRUE(rendered.ok()) << rendered.status().ToString();
    // Korean stays UTF-8 as it is; quotes, backslashes and newlines are escaped.
    EXPECT_NE(rendered->find("김영희님 \\\"위험\\\" 상태입니다.\\n심박 140 \\\\ SpO2"), std::string::npos)
        << rendered.value();
    const auto parsed = boost::json::parse(rendered.value()).as_object();
    EXPECT_EQ(parsed.at("to").as_string(), "010-1234-5678");
    EXPECT_EQ(parsed.at("text").as_string(), kKoreanText);
    EXPECT_EQ(parsed.at("ref").as_string(), "k\"1");
    EXPECT_EQ(parsed.at("n").as_object().at("x").as_int64(), 1);  // braces that are not placeholders stay
}

TEST(SmsTemplateTest, FormAndUrlEncoding) {
    auto form = RenderTemplate("to={to}&msg={text}", TemplateEscaping::kForm,
                               {{"to", "+82 10-1234-5678"}, {"text", "a b&c=d 한"}});
    ASSERT_TRUE(form.ok());
    EXPECT_EQ(form.value(), "to=%2B82+10-1234-5678&msg=a+b%26c%3Dd+%ED%95%9C");
    auto url = RenderTemplate("https://sms.example/send?to={to}", TemplateEscaping::kUrl, {{"to", "+82 10"}});
    ASSERT_TRUE(url.ok());
    EXPECT_EQ(url.value(), "https://sms.example/send?to=%2B82%2010");
}

TEST(SmsTemplateTest, UnknownPlaceholderIsAnError) {
    auto rendered = RenderTemplate(R"({"text":"{txt}"})", TemplateEscaping::kJson, {{"text", "x"}});
    ASSERT_FALSE(rendered.ok());
    EXPECT_EQ(rendered.status().code(), ErrorCode::kValidationFailed);
    EXPECT_NE(rendered.status().message().find("{txt}"), std::string::npos);
}

TEST(SmsGatewayChannelTest, CreateRejectsBadConfiguration) {
    SmsGatewayOptions not_json;
    not_json.url = "http://127.0.0.1:1/send";
    not_json.body_template = R"({"text":{text}})";  // unquoted placeholder: not JSON once filled in
    EXPECT_EQ(SmsGatewayChannel::Create(not_json).status().code(), ErrorCode::kValidationFailed);
    SmsGatewayOptions typo;
    typo.url = "http://127.0.0.1:1/send";
    typo.body_template = R"({"text":"{txet}"})";
    EXPECT_EQ(SmsGatewayChannel::Create(typo).status().code(), ErrorCode::kValidationFailed);
    SmsGatewayOptions bad_url;
    bad_url.url = "ftp://sms.example/";
    EXPECT_EQ(SmsGatewayChannel::Create(bad_url).status().code(), ErrorCode::kValidationFailed);
    SmsGatewayOptions bad_method;
    bad_method.url = "http://127.0.0.1:1/send";
    bad_method.method = "DELETE";
    EXPECT_EQ(SmsGatewayChannel::Create(bad_method).status().code(), ErrorCode::kValidationFailed);
}

TEST(SmsGatewayChannelTest, PostsTheRenderedJsonTemplate) {
    HttpSink sink;
    SmsGatewayOptions options;
    options.url = sink.Url("/v1/messages");
    options.headers = {{"Authorization", "Bearer gateway-token"}};
    options.body_template = R"({"from":"1588-0000","to":"{to}","text":"{text}","ref":"{idempotency_key}"})";
    auto channel = SmsGatewayChannel::Create(options);
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();

    auto receipt = channel.value()->Deliver(SmsItem("010-1234-5678"));
    ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
    ASSERT_EQ(sink.count(), 1u);
    const auto request = sink.requests()[0];
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.target, "/v1/messages");
    EXPECT_EQ(request.header("authorization"), "Bearer gateway-token");
    EXPECT_EQ(request.header("content-type"), "application/json");
    EXPECT_EQ(request.header("idempotency-key"), "inc-9/sms/guardian-1");
    const auto body = boost::json::parse(request.body).as_object();
    EXPECT_EQ(body.at("to").as_string(), "010-1234-5678");
    EXPECT_EQ(body.at("text").as_string(), kKoreanText);
    EXPECT_EQ(body.at("ref").as_string(), "inc-9/sms/guardian-1");
    EXPECT_EQ(body.at("from").as_string(), "1588-0000");
}

TEST(SmsGatewayChannelTest, FormEncodedGatewayWithPlaceholdersInTheUrl) {
    HttpSink sink;
    SmsGatewayOptions options;
    options.url = sink.Url("/send?dest={to}");
    options.content_type = "application/x-www-form-urlencoded";
    options.body_template = "msg={text}&ref={idempotency_key}";
    auto channel = SmsGatewayChannel::Create(options);
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    OutboxItem item = SmsItem("+82 10-1234-5678");
    item.body = "위험 & \"help\"";
    ASSERT_TRUE(channel.value()->Deliver(item).ok());
    const auto request = sink.requests().at(0);
    EXPECT_EQ(request.target, "/send?dest=%2B82%2010-1234-5678");
    EXPECT_EQ(request.body, "msg=%EC%9C%84%ED%97%98+%26+%22help%22&ref=inc-9%2Fsms%2Fguardian-1");
}

TEST(SmsGatewayChannelTest, ClassifiesFailures) {
    HttpSink sink;
    SmsGatewayOptions options;
    options.url = sink.Url("/send");
    options.http.timeout = 250ms;
    auto channel = SmsGatewayChannel::Create(options);
    ASSERT_TRUE(channel.ok());
    // Not a phone number: permanent, and nothing is sent.
    EXPECT_EQ(channel.value()->Deliver(SmsItem("call me maybe")).status().code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(sink.count(), 0u);
    sink.Plan({{.status = 401}, {.status = 502}, {.status = 200, .hang = 5s}});
    EXPECT_FALSE(IsRetryable(channel.value()->Deliver(SmsItem("01012345678")).status()));
    EXPECT_TRUE(IsRetryable(channel.value()->Deliver(SmsItem("01012345678")).status()));
    EXPECT_TRUE(IsRetryable(channel.value()->Deliver(SmsItem("01012345678")).status()));  // timed out
}

}  // namespace
}  // namespace vg::notify
