#include "vg/notify/sms.hpp"

#include <boost/json.hpp>
#include <cctype>

#include "http_transport.hpp"

namespace vg::notify {
namespace {

bool IsUnreserved(unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~'; }

std::string PercentEncode(std::string_view value, bool space_as_plus) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(value.size() * 3);
    for (unsigned char c : value) {
        if (IsUnreserved(c)) {
            out.push_back(static_cast<char>(c));
        } else if (c == ' ' && space_as_plus) {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
        }
    }
    return out;
}

std::string Escape(std::string_view value, TemplateEscaping escaping) {
    switch (escaping) {
        case TemplateEscaping::kVerbatim:
            return std::string(value);
        case TemplateEscaping::kJson: {
            std::string quoted = boost::json::serialize(boost::json::string(value));
            return quoted.substr(1, quoted.size() - 2);
        }
        case TemplateEscaping::kForm:
            return PercentEncode(value, true);
        case TemplateEscaping::kUrl:
            return PercentEncode(value, false);
    }
    return std::string(value);
}

bool IsPlaceholderChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

bool IsPhoneNumber(std::string_view number) {
    int digits = 0;
    for (size_t i = 0; i < number.size(); ++i) {
        const char c = number[i];
        if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
            ++digits;
        } else if (!(c == '+' && i == 0) && c != ' ' && c != '-') {
            return false;
        }
    }
    return digits >= 3 && digits <= 15;  // 119 .. E.164's longest
}

TemplateValues ValuesFor(const OutboxItem& item) {
    return {{"to", item.recipient},
            {"text", item.body},
            {"subject", item.subject},
            {"idempotency_key", item.idempotency_key}};
}

}  // namespace

Result<std::string> RenderTemplate(std::string_view text, TemplateEscaping escaping, const TemplateValues& values) {
    std::string out;
    out.reserve(text.size() + 64);
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '{') {
            size_t j = i + 1;
            while (j < text.size() && IsPlaceholderChar(text[j])) ++j;
            if (j > i + 1 && j < text.size() && text[j] == '}') {
                const std::string_view name = text.substr(i + 1, j - i - 1);
                auto it = values.find(name);
                if (it == values.end()) {
                    return Status::Error(ErrorCode::kValidationFailed,
                                         "unknown placeholder {" + std::string(name) + "}",
                                         {{"template", "unknown placeholder {" + std::string(name) + "}"}});
                }
                out += Escape(it->second, escaping);
                i = j + 1;
                continue;
            }
        }
        out.push_back(text[i]);
        ++i;
    }
    return out;
}

TemplateEscaping EscapingForContentType(std::string_view content_type) {
    const std::string lower = internal::AsciiLower(content_type.substr(0, content_type.find(';')));
    if (lower == "application/json" || (lower.size() > 5 && lower.ends_with("+json"))) return TemplateEscaping::kJson;
    if (lower == "application/x-www-form-urlencoded") return TemplateEscaping::kForm;
    return TemplateEscaping::kVerbatim;
}

struct SmsGatewayChannel::Impl {
    SmsGatewayOptions options;
    TemplateEscaping body_escaping;
    internal::CurlHandlePool pool;
};

SmsGatewayChannel::SmsGatewayChannel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SmsGatewayChannel::~SmsGatewayChannel() = default;

Result<std::unique_ptr<SmsGatewayChannel>> SmsGatewayChannel::Create(SmsGatewayOptions options) {
    const std::string url = internal::AsciiLower(options.url.substr(0, 8));
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return Status::Error(ErrorCode::kValidationFailed, "SMS gateway URL must be http(s)",
                             {{"url", "must start with http:// or https://"}});
    }
    const std::string method = internal::AsciiLower(options.method);
    if (method != "get" && method != "post" && method != "put") {
        return Status::Error(ErrorCode::kValidationFailed, "SMS gateway method must be GET, POST or PUT",
                             {{"method", "must be GET, POST or PUT"}});
    }
    for (const auto& [name, value] : options.headers) {
        if (name.empty() || internal::HasLineBreak(name) || internal::HasLineBreak(value)) {
            return Status::Error(ErrorCode::kValidationFailed, "invalid SMS gateway header",
                                 {{"headers", "names must be non-empty; no line breaks"}});
        }
    }
    // Render once with awkward sample values: catches unknown placeholders, and JSON templates
    // that would not produce JSON, before the first wearer needs a message.
    const TemplateValues sample = {{"to", "+82 10-0000-0000"},
                                   {"text", "\"quoted\" \\ line\nbreak 한국어"},
                                   {"subject", "subject"},
                                   {"idempotency_key", "key-1"}};
    auto rendered_url = RenderTemplate(options.url, TemplateEscaping::kUrl, sample);
    if (!rendered_url.ok()) return rendered_url.status();
    const TemplateEscaping escaping = EscapingForContentType(options.content_type);
    if (method != "get") {
        auto body = RenderTemplate(options.body_template, escaping, sample);
        if (!body.ok()) return body.status();
        if (escaping == TemplateEscaping::kJson) {
            boost::system::error_code ec;
            (void)boost::json::parse(body.value(), ec);
            if (ec) {
                return Status::Error(ErrorCode::kValidationFailed, "SMS body template does not render to JSON",
                                     {{"body_template", "not JSON once filled in: " + ec.message()}});
            }
        }
    }
    internal::EnsureCurlInitialised();
    return std::unique_ptr<SmsGatewayChannel>(
        new SmsGatewayChannel(std::unique_ptr<Impl>(new Impl{std::move(options), escaping, {}})));
}

Result<DeliveryReceipt> SmsGatewayChannel::Deliver(const OutboxItem& item) {
    if (!IsPhoneNumber(item.recipient)) {
        return Status::Error(ErrorCode::kValidationFailed, "not a phone number: " + item.recipient);
    }
    if (item.body.empty()) return Status::Error(ErrorCode::kValidationFailed, "SMS text is empty");
    const TemplateValues values = ValuesFor(item);
    const SmsGatewayOptions& options = impl_->options;
    internal::HttpCall call;
    call.method = options.method;
    auto url = RenderTemplate(options.url, TemplateEscaping::kUrl, values);
    if (!url.ok()) return url.status();
    call.url = std::move(url).value();
    call.headers = options.headers;
    if (internal::AsciiLower(options.method) != "get") {
        auto body = RenderTemplate(options.body_template, impl_->body_escaping, values);
        if (!body.ok()) return body.status();
        call.body = std::move(body).value();
        call.headers.emplace_back("Content-Type", options.content_type);
    }
    if (!item.idempotency_key.empty() && !internal::HasLineBreak(item.idempotency_key)) {
        call.headers.emplace_back("Idempotency-Key", item.idempotency_key);
    }
    return internal::DeliverHttp(impl_->pool, options.http, call);
}

}  // namespace vg::notify
