#pragma once
// SmsGatewayChannel: sends a message's text through an HTTP SMS gateway.
//
// Gateways differ, so the request is configured: URL, method, headers (e.g. Authorization) and a
// body template. Templates use the placeholders {to} (the recipient's number), {text} (the
// message body), {subject} and {idempotency_key}; every other character is copied as it is, so a
// JSON template is written naturally: {"to":"{to}","text":"{text}"}. Values are escaped for where
// they land: JSON-string-escaped when content_type is application/json (the placeholder goes
// inside the quotes), form-encoded for application/x-www-form-urlencoded, percent-encoded in the
// URL, and copied verbatim for any other content type. Answers are classified as in channel.hpp.
// Thread-safety: Deliver may be called from any thread.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "vg/notify/channel.hpp"
#include "vg/notify/outbox.hpp"

namespace vg::notify {

struct SmsGatewayOptions {
    std::string url;                                // REQUIRED; may hold placeholders (percent-encoded)
    std::string method = "POST";                    // GET, POST or PUT
    std::string content_type = "application/json";  // sent as Content-Type when there is a body
    HttpHeaders headers;                            // e.g. {"Authorization", "Bearer ..."}
    std::string body_template = R"({"to":"{to}","text":"{text}","reference":"{idempotency_key}"})";
    HttpClientOptions http;
};

enum class TemplateEscaping {
    kVerbatim,  // as it is
    kJson,      // JSON string contents (no surrounding quotes): \" \\ \n \u0001 ...; UTF-8 kept
    kForm,      // application/x-www-form-urlencoded: unreserved kept, space as '+', the rest %XX
    kUrl,       // RFC 3986 percent-encoding of everything but unreserved characters
};

using TemplateValues = std::map<std::string, std::string, std::less<>>;

// Replaces each {name} whose name is in `values` with the escaped value. A {word} whose word is
// not a value name is an error (a typo in a template must not send "{txt}" to a wearer); braces
// around anything else (JSON objects) are copied. kValidationFailed names the placeholder.
Result<std::string> RenderTemplate(std::string_view text, TemplateEscaping escaping, const TemplateValues& values);

// The escaping SmsGatewayChannel uses for a body of this content type.
TemplateEscaping EscapingForContentType(std::string_view content_type);

class SmsGatewayChannel final : public Channel {
  public:
    // kValidationFailed when the URL, method, headers or template are unusable (e.g. a JSON
    // template that does not render to JSON, an unknown placeholder).
    static Result<std::unique_ptr<SmsGatewayChannel>> Create(SmsGatewayOptions options);
    ~SmsGatewayChannel() override;

    // kValidationFailed (permanent) when the recipient is not a phone number (digits, with an
    // optional leading '+' and ' ', '-' separators) or the text is empty.
    Result<DeliveryReceipt> Deliver(const OutboxItem& item) override;

  private:
    struct Impl;
    explicit SmsGatewayChannel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::notify
