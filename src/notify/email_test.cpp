#include "vg/notify/email.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <map>

#include "sinks.hpp"

namespace vg::notify {
namespace {

using namespace std::chrono_literals;
using testing::SmtpSink;

const char* const kKoreanSubject =
    "[VitalGuard] 김영희님이 위험 상태입니다 — 즉시 확인해 주세요 (심박 140회/분, 산소포화도 86%)";
const char* const kKoreanBody = "김영희님의 상태가 '위험'입니다.\n.점으로 시작하는 줄\n바로 전화해 주세요.";

// A decoder written separately from the encoder: unfolds headers and decodes RFC 2047 "B" words.
std::string DecodeBase64(std::string_view text) {
    std::string out(text.size(), '\0');
    size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), "\r\n",
                          &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
        ADD_FAILURE() << "bad base64: " << text;
        return {};
    }
    out.resize(length);
    return out;
}

std::string DecodeEncodedWords(std::string value) {
    std::string out;
    size_t i = 0;
    while (i < value.size()) {
        const size_t start = value.find("=?UTF-8?B?", i);
        if (start == std::string::npos) {
            out += value.substr(i);
            break;
        }
        std::string between = value.substr(i, start - i);
        // Whitespace between two encoded words is not part of the text (RFC 2047 6.2).
        if (between.find_first_not_of(" \t\r\n") != std::string::npos) out += between;
        const size_t end = value.find("?=", start + 10);
        out += DecodeBase64(value.substr(start + 10, end - start - 10));
        i = end + 2;
    }
    return out;
}

struct ParsedMail {
    std::map<std::string, std::string> headers;  // unfolded
    std::vector<std::string> raw_header_lines;
    std::string body;
};

ParsedMail Parse(const std::string& message) {
    ParsedMail mail;
    const size_t split = message.find("\r\n\r\n");
    EXPECT_NE(split, std::string::npos);
    const std::string head = message.substr(0, split);
    mail.body = message.substr(split + 4);
    std::string current;
    size_t i = 0;
    while (i <= head.size()) {
        size_t end = head.find("\r\n", i);
        if (end == std::string::npos) end = head.size();
        const std::string line = head.substr(i, end - i);
        mail.raw_header_lines.push_back(line);
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
            current += line;  // folded continuation
        } else {
            if (!current.empty()) {
                const size_t colon = current.find(':');
                mail.headers[current.substr(0, colon)] = current.substr(colon + 2);
            }
            current = line;
        }
        i = end + 2;
    }
    if (!current.empty()) {
        const size_t colon = current.find(':');
        mail.headers[current.substr(0, colon)] = current.substr(colon + 2);
    }
    return mail;
}

OutboxItem MailItem() {
    OutboxItem item;
    item.id = 11;
    item.channel = std::string(kEmailChannel);
    item.recipient = "guardian@example.org";
    item.subject = kKoreanSubject;
    item.body = kKoreanBody;
    item.idempotency_key = "inc-42.email.guardian-7";
    item.attempts = 1;
    return item;
}

TEST(EmailMessageTest, HeadersAreRfc5322AndKoreanIsEncoded) {
    auto message = BuildEmailMessage("alerts@vitalguard.example", "VitalGuard 알림", MailItem(),
                                     FromUnixMillis(1'700'000'000'000));
    ASSERT_TRUE(message.ok()) << message.status().ToString();
    const ParsedMail mail = Parse(message.value());
    EXPECT_EQ(mail.headers.at("Date"), "Tue, 14 Nov 2023 22:13:20 +0000");
    EXPECT_EQ(mail.headers.at("To"), "<guardian@example.org>");
    EXPECT_EQ(DecodeEncodedWords(mail.headers.at("From")), "VitalGuard 알림 <alerts@vitalguard.example>");
    EXPECT_EQ(mail.headers.at("Message-ID"), "<vg.inc-42.email.guardian-7@vitalguard.example>");
    EXPECT_EQ(mail.headers.at("MIME-Version"), "1.0");
    EXPECT_EQ(mail.headers.at("Content-Type"), "text/plain; charset=UTF-8");
    EXPECT_EQ(mail.headers.at("Content-Transfer-Encoding"), "base64");
    EXPECT_EQ(DecodeEncodedWords(mail.headers.at("Subject")), kKoreanSubject);
    // Every header line is 7-bit and within 78 characters (encoded words are folded).
    for (const std::string& line : mail.raw_header_lines) {
        EXPECT_LE(line.size(), 78u) << line;
        for (char c : line) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << line;
    }
    EXPECT_EQ(DecodeBase64(mail.body), "김영희님의 상태가 '위험'입니다.\r\n.점으로 시작하는 줄\r\n바로 전화해 주세요.");
}

TEST(EmailMessageTest, AsciiStaysReadableAndKeysBecomeStableIds) {
    OutboxItem item = MailItem();
    item.subject = "Status: caution";
    item.body = "All fine.\nNothing to do.";
    item.idempotency_key = "key with spaces/and:colons";
    auto first = BuildEmailMessage("a@b.example", "VitalGuard", item, FromUnixMillis(0));
    auto again = BuildEmailMessage("a@b.example", "VitalGuard", item, FromUnixMillis(60'000));
    ASSERT_TRUE(first.ok() && again.ok());
    const ParsedMail mail = Parse(first.value());
    EXPECT_EQ(mail.headers.at("Subject"), "Status: caution");
    EXPECT_EQ(mail.headers.at("From"), "\"VitalGuard\" <a@b.example>");
    EXPECT_EQ(mail.headers.at("Content-Transfer-Encoding"), "7bit");
    EXPECT_EQ(mail.body, "All fine.\r\nNothing to do.\r\n");
    EXPECT_EQ(mail.headers.at("Date"), "Thu, 1 Jan 1970 00:00:00 +0000");
    // Not a dot-atom: hashed, and the same key gives the same Message-ID on a retry.
    const std::string id = mail.headers.at("Message-ID");
    EXPECT_EQ(id.size(), std::string("<vg.@b.example>").size() + 32) << id;
    EXPECT_EQ(Parse(again.value()).headers.at("Message-ID"), id);
}

TEST(EmailMessageTest, RefusesHeaderInjection) {
    OutboxItem item = MailItem();
    item.recipient = "victim@example.org\r\nBcc: everyone@example.org";
    EXPECT_EQ(BuildEmailMessage("a@b.example", "", item, FromUnixMillis(0)).status().code(),
              ErrorCode::kValidationFailed);
    item.recipient = "Name <x@example.org>";
    EXPECT_EQ(BuildEmailMessage("a@b.example", "", item, FromUnixMillis(0)).status().code(),
              ErrorCode::kValidationFailed);
    item = MailItem();
    item.subject = "hello\r\nBcc: everyone@example.org";
    auto message = BuildEmailMessage("a@b.example", "", item, FromUnixMillis(0));
    ASSERT_TRUE(message.ok());
    EXPECT_EQ(Parse(message.value()).headers.count("Bcc"), 0u);
    EXPECT_EQ(Parse(message.value()).headers.at("Subject"), "hello  Bcc: everyone@example.org");
}

TEST(EmailMessageTest, EncodedWordsSplitBetweenCharacters) {
    const std::string text = std::string(100, 'a') + "한글";  // non-ASCII somewhere: the whole value is encoded
    const std::string encoded = EncodeHeaderWord(text);
    EXPECT_EQ(DecodeEncodedWords(encoded), text);
    size_t words = 0;
    for (size_t at = encoded.find("=?UTF-8?B?"); at != std::string::npos; at = encoded.find("=?UTF-8?B?", at + 1)) {
        const size_t end = encoded.find("?=", at);
        EXPECT_LE(end + 2 - at, 75u);
        // Each word decodes on its own to valid UTF-8 (no character cut in two).
        const std::string part = DecodeBase64(encoded.substr(at + 10, end - at - 10));
        const unsigned char last = static_cast<unsigned char>(part.back());
        EXPECT_TRUE(last < 0x80 || (last & 0xC0) == 0x80);
        ++words;
    }
    EXPECT_EQ(words, 3u);
    EXPECT_EQ(EncodeHeaderWord("plain ascii"), "plain ascii");
}

std::unique_ptr<SmtpChannel> MakeChannel(const SmtpSink& sink, const Clock& clock, std::string user = "") {
    SmtpOptions options;
    options.url = sink.Url();
    options.from_address = "alerts@vitalguard.example";
    options.username = std::move(user);
    options.password = options.username.empty() ? "" : "p@ss word";
    options.allow_login_without_tls = true;  // the sink speaks no TLS (tests/e2e/email_e2e_test.cpp does)
    options.timeout = 3s;
    auto channel = SmtpChannel::Create(options, clock);
    EXPECT_TRUE(channel.ok()) << channel.status().ToString();
    return std::move(channel).value();
}

TEST(SmtpChannelTest, KoreanSubjectArrivesDecodedAtTheServer) {
    SmtpSink sink;
    ManualClock clock(FromUnixMillis(1'700'000'000'000));
    auto channel = MakeChannel(sink, clock, "vitalguard");
    auto receipt = channel->Deliver(MailItem());
    ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
    EXPECT_EQ(receipt->detail, "SMTP 250");
    ASSERT_TRUE(sink.WaitForCount(1, 2s));
    const auto mail = sink.mails()[0];
    EXPECT_EQ(mail.mail_from, "<alerts@vitalguard.example>");
    EXPECT_EQ(mail.rcpt_to, std::vector<std::string>{"<guardian@example.org>"});
    EXPECT_EQ(mail.auth_plain, std::string("\0vitalguard\0p@ss word", 21));
    const ParsedMail parsed = Parse(mail.data);
    EXPECT_EQ(DecodeEncodedWords(parsed.headers.at("Subject")), kKoreanSubject);
    EXPECT_EQ(DecodeBase64(parsed.body),
              "김영희님의 상태가 '위험'입니다.\r\n.점으로 시작하는 줄\r\n바로 전화해 주세요.");
}

TEST(SmtpChannelTest, DotsAtLineStartSurviveIn7Bit) {
    SmtpSink sink;
    ManualClock clock;
    auto channel = MakeChannel(sink, clock);
    OutboxItem item = MailItem();
    item.subject = "ascii";
    item.body = "first\n.\n..two dots\nlast";  // a lone "." line would end DATA if not stuffed
    ASSERT_TRUE(channel->Deliver(item).ok());
    ASSERT_TRUE(sink.WaitForCount(1, 2s));
    EXPECT_EQ(Parse(sink.mails()[0].data).body, "first\r\n.\r\n..two dots\r\nlast\r\n");
}

TEST(SmtpChannelTest, ClassifiesServerAnswers) {
    SmtpSink sink;
    ManualClock clock;
    auto channel = MakeChannel(sink, clock);
    sink.RejectRecipientsWith(550);
    auto rejected = channel->Deliver(MailItem());
    EXPECT_EQ(rejected.status().code(), ErrorCode::kValidationFailed) << rejected.status().ToString();
    EXPECT_FALSE(IsRetryable(rejected.status()));
    sink.RejectRecipientsWith(0);
    sink.FailNextMessages(1);
    auto busy = channel->Deliver(MailItem());
    EXPECT_EQ(busy.status().code(), ErrorCode::kUnavailable) << busy.status().ToString();
    EXPECT_TRUE(channel->Deliver(MailItem()).ok());
    EXPECT_EQ(sink.mails().size(), 1u);

    OutboxItem bad = MailItem();
    bad.recipient = "not-an-address";
    EXPECT_EQ(channel->Deliver(bad).status().code(), ErrorCode::kValidationFailed);

    std::string closed_url;
    {
        SmtpSink gone;
        closed_url = gone.Url();
    }
    SmtpOptions options;
    options.url = closed_url;
    options.from_address = "alerts@vitalguard.example";
    auto unreachable = SmtpChannel::Create(options, clock);
    ASSERT_TRUE(unreachable.ok());
    auto refused = unreachable.value()->Deliver(MailItem());
    EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable) << refused.status().ToString();
}

TEST(SmtpChannelTest, CreateValidatesOptions) {
    ManualClock clock;
    SmtpOptions options;
    options.url = "http://mail.example";
    options.from_address = "a@b.example";
    EXPECT_EQ(SmtpChannel::Create(options, clock).status().code(), ErrorCode::kValidationFailed);
    options.url = "smtps://mail.example:465";
    options.from_address = "nobody";
    EXPECT_EQ(SmtpChannel::Create(options, clock).status().code(), ErrorCode::kValidationFailed);
}

TEST(SmtpChannelTest, ALoginOverSmtpNeedsStartTlsRequired) {
    ManualClock clock;
    SmtpOptions options;
    options.url = "smtp://mail.example:587";
    options.from_address = "alerts@vitalguard.example";
    options.username = "vitalguard";
    options.password = "secret";
    auto refused = SmtpChannel::Create(options, clock);
    ASSERT_EQ(refused.status().code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(refused.status().fields().at(0).field, "require_starttls");
    EXPECT_EQ(refused.status().ToString().find("secret"), std::string::npos);
    options.require_starttls = true;
    EXPECT_TRUE(SmtpChannel::Create(options, clock).ok());
    options.url = "smtps://mail.example:465";
    options.require_starttls = false;
    EXPECT_TRUE(SmtpChannel::Create(options, clock).ok());
    options.password.clear();
    EXPECT_EQ(SmtpChannel::Create(options, clock).status().code(), ErrorCode::kValidationFailed);
}

// The sink offers no STARTTLS: with it required, the channel fails (retryable) and sends nothing, no
// AUTH, no message (tests/e2e/email_e2e_test.cpp checks the same against a real server with TLS).
TEST(SmtpChannelTest, NoStartTlsOfferedMeansNothingIsSent) {
    SmtpSink sink;
    ManualClock clock;
    SmtpOptions options;
    options.url = sink.Url();
    options.from_address = "alerts@vitalguard.example";
    options.username = "vitalguard";
    options.password = "p@ss word";
    options.require_starttls = true;
    options.timeout = 3s;
    auto channel = SmtpChannel::Create(options, clock);
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    auto result = channel.value()->Deliver(MailItem());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable) << result.status().ToString();
    EXPECT_EQ(result.status().ToString().find("p@ss"), std::string::npos);
    EXPECT_TRUE(sink.mails().empty());
}

}  // namespace
}  // namespace vg::notify
