// ReadRequests / ReadWebSocketMessages: the server's request and frame readers over a buffer (the seam the
// http_head and websocket_frame fuzz targets use). The live server's behaviour is in server_test.cpp.
#include "request_reader.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace vg::http::internal {
namespace {

ServerOptions SmallLimits() {
    ServerOptions options;
    options.header_limit_bytes = 256;
    options.body_limit_bytes = 16;
    options.websocket_message_limit_bytes = 32;
    return options;
}

TEST(ReadRequestsTest, ReadsPipelinedRequestsUntilConnectionClose) {
    const std::string bytes =
        "GET /a?x=%20y&z HTTP/1.1\r\nHost: h\r\nX-Mixed-Case: v\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        "GET /never HTTP/1.1\r\n\r\n";
    for (size_t chunk : {0, 1, 7}) {
        SCOPED_TRACE(chunk);
        const ReadOutcome outcome = ReadRequests(bytes, SmallLimits(), chunk);
        ASSERT_EQ(outcome.requests.size(), 2u);
        EXPECT_FALSE(outcome.error.has_value());
        EXPECT_EQ(outcome.requests[0].path, "/a");
        ASSERT_EQ(outcome.requests[0].query.size(), 2u);
        EXPECT_EQ(outcome.requests[0].query[0].second, " y");
        EXPECT_EQ(outcome.requests[0].header("x-mixed-case"), "v");
        EXPECT_EQ(outcome.requests[0].headers[1].name, "x-mixed-case");  // names lower-cased
        EXPECT_EQ(outcome.requests[1].method, "POST");
        EXPECT_EQ(outcome.requests[1].body, "hello");
    }
}

TEST(ReadRequestsTest, ReadsAChunkedBody) {
    const ReadOutcome outcome = ReadRequests(
        "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        SmallLimits());
    ASSERT_EQ(outcome.requests.size(), 1u);
    EXPECT_EQ(outcome.requests[0].body, "abcde");
}

TEST(ReadRequestsTest, RefusesADeclaredBodyOverTheLimitBeforeReadingIt) {
    const ReadOutcome outcome =
        ReadRequests("POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n", SmallLimits());
    EXPECT_TRUE(outcome.requests.empty());
    ASSERT_TRUE(outcome.error.has_value());
    EXPECT_EQ(outcome.error->code, ErrorCode::kPayloadTooLarge);
    EXPECT_EQ(outcome.error->message, "request body too large; the limit is 16 bytes");
}

TEST(ReadRequestsTest, RefusesAChunkedBodyOverTheLimit) {
    const ReadOutcome outcome = ReadRequests(
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n12345678901234567\r\n0\r\n\r\n", SmallLimits());
    ASSERT_TRUE(outcome.error.has_value());
    EXPECT_EQ(outcome.error->code, ErrorCode::kPayloadTooLarge);
}

TEST(ReadRequestsTest, RefusesAHeadOverTheLimit) {
    const ReadOutcome outcome =
        ReadRequests("GET / HTTP/1.1\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n", SmallLimits());
    ASSERT_TRUE(outcome.error.has_value());
    EXPECT_EQ(outcome.error->code, ErrorCode::kBadRequest);
    EXPECT_EQ(outcome.error->message, "request head too large; the limit is 256 bytes");
}

TEST(ReadRequestsTest, AnswersAMalformedHeadAndCloses) {
    const ReadOutcome outcome =
        ReadRequests("GET / HTTP/1.1\r\nBad Header\r\n\r\nGET / HTTP/1.1\r\n\r\n", SmallLimits());
    EXPECT_TRUE(outcome.requests.empty());
    ASSERT_TRUE(outcome.error.has_value());
    EXPECT_EQ(outcome.error->code, ErrorCode::kBadRequest);
    EXPECT_EQ(outcome.error->message.rfind("malformed HTTP request: ", 0), 0u);
}

TEST(ReadRequestsTest, AnAbsoluteTargetIsAnsweredButKeepsTheConnection) {
    const ReadOutcome outcome =
        ReadRequests("GET http://example.com/ HTTP/1.1\r\nHost: h\r\n\r\nGET /ok HTTP/1.1\r\n\r\n", SmallLimits());
    EXPECT_EQ(outcome.bad_targets, 1u);
    ASSERT_EQ(outcome.requests.size(), 1u);
    EXPECT_EQ(outcome.requests[0].path, "/ok");
}

TEST(ReadRequestsTest, AClientThatStopsMidRequestGetsNoAnswer) {
    const ReadOutcome outcome = ReadRequests("POST /c HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", SmallLimits());
    EXPECT_TRUE(outcome.requests.empty());
    EXPECT_FALSE(outcome.error.has_value());
}

std::string Frame(uint8_t first, std::string_view payload) {
    const char mask[4] = {0x11, 0x22, 0x33, 0x44};
    std::string out;
    out += static_cast<char>(first);
    out += static_cast<char>(0x80 | payload.size());  // payloads under 126 bytes here
    out.append(mask, 4);
    for (size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ mask[i % 4]);
    return out;
}

TEST(ReadWebSocketMessagesTest, ReadsTextMessagesAcrossFragmentsAndPings) {
    const std::string bytes = Frame(0x01, "hel") + Frame(0x89, "p") + Frame(0x80, "lo") + Frame(0x81, "second") +
                              Frame(0x88, std::string("\x03\xe8", 2));
    EXPECT_EQ(ReadWebSocketMessages(bytes, SmallLimits()), (std::vector<std::string>{"hello", "second"}));
}

TEST(ReadWebSocketMessagesTest, StopsAtABinaryMessageAnUnmaskedFrameBadUtf8OrAnOversizedMessage) {
    const ServerOptions options = SmallLimits();
    EXPECT_EQ(ReadWebSocketMessages(Frame(0x81, "a") + Frame(0x82, "b") + Frame(0x81, "c"), options),
              std::vector<std::string>{"a"});
    EXPECT_TRUE(ReadWebSocketMessages(std::string("\x81\x01x", 3), options).empty());  // a client must mask
    EXPECT_TRUE(ReadWebSocketMessages(Frame(0x81, "\xff\xfe"), options).empty());
    EXPECT_TRUE(ReadWebSocketMessages(Frame(0x81, std::string(33, 'x')), options).empty());
}

}  // namespace
}  // namespace vg::http::internal
