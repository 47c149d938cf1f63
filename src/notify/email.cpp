#include "vg/notify/email.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "encoding.hpp"
#include "http_transport.hpp"

namespace vg::notify {
namespace {

// 36 bytes -> 48 base64 chars -> a 60-character encoded word: with "Subject: " the first line stays
// under RFC 2047's 76 characters.
constexpr size_t kMaxEncodedWordBytes = 36;
constexpr size_t kMaxLineOctets = 998;  // RFC 5322 2.1.1

bool IsPrintableAscii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

// A plain ASCII addr-spec: local@domain, no spaces, brackets, quotes, commas or line breaks.
bool IsPlainAddress(std::string_view address) {
    const auto at = address.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 >= address.size()) return false;
    if (address.find('@', at + 1) != std::string_view::npos || address.size() > 254) return false;
    return std::all_of(address.begin(), address.end(), [](char c) {
        return c > 0x20 && c < 0x7F && c != '<' && c != '>' && c != '(' && c != ')' && c != ',' && c != ';' &&
               c != ':' && c != '"' && c != '\\' && c != '[' && c != ']';
    });
}

// "Tue, 14 Nov 2023 22:13:20 +0000"
std::string FormatRfc5322Date(TimePoint t) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto days = std::chrono::floor<std::chrono::days>(t);
    const std::chrono::year_month_day ymd(days);
    const std::chrono::weekday weekday(days);
    const auto seconds_of_day = std::chrono::duration_cast<std::chrono::seconds>(t - days).count();
    char out[64];
    std::snprintf(out, sizeof(out), "%s, %u %s %d %02lld:%02lld:%02lld +0000", kDays[weekday.c_encoding()],
                  static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                  static_cast<int>(ymd.year()), static_cast<long long>(seconds_of_day / 3600),
                  static_cast<long long>(seconds_of_day / 60 % 60), static_cast<long long>(seconds_of_day % 60));
    return out;
}

// Length of the UTF-8 sequence that starts with `lead` (1 for stray continuation bytes).
size_t Utf8SequenceLength(unsigned char lead) {
    if (lead >= 0xF0) return 4;
    if (lead >= 0xE0) return 3;
    if (lead >= 0xC0) return 2;
    return 1;
}

std::string NormaliseLineEnds(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            out += "\r\n";
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else if (text[i] == '\n') {
            out += "\r\n";
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

bool FitsSevenBit(std::string_view crlf_text) {
    size_t line = 0;
    for (size_t i = 0; i < crlf_text.size(); ++i) {
        const char c = crlf_text[i];
        if (c == '\r' || c == '\n') {
            line = 0;
            continue;
        }
        if (c == '\0' || static_cast<unsigned char>(c) >= 0x80 || ++line > kMaxLineOctets) return false;
    }
    return true;
}

std::string MessageIdFor(std::string_view idempotency_key, std::string_view from_address) {
    const std::string_view domain = from_address.substr(from_address.find('@') + 1);
    const bool usable = !idempotency_key.empty() && idempotency_key.size() <= 64 &&
                        std::all_of(idempotency_key.begin(), idempotency_key.end(),
                                    [](char c) {
                                        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                               (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
                                    }) &&
                        idempotency_key.front() != '.' && idempotency_key.back() != '.' &&
                        idempotency_key.find("..") == std::string_view::npos;
    // A key that is not a valid dot-atom is hashed: the same key still gives the same id.
    const std::string local =
        usable ? std::string(idempotency_key) : internal::Sha256Hex(idempotency_key).substr(0, 32);
    return "<vg." + local + "@" + std::string(domain) + ">";
}

struct UploadSource {
    const std::string* data;
    size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
    auto* source = static_cast<UploadSource*>(user);
    const size_t n = std::min(size * count, source->data->size() - source->offset);
    std::copy_n(source->data->data() + source->offset, n, buffer);
    source->offset += n;
    return n;
}

size_t DiscardOutput(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

std::string EncodeHeaderWord(std::string_view text) {
    if (IsPrintableAscii(text)) return std::string(text);
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
        size_t end = i;
        while (end < text.size()) {
            const size_t next = std::min(text.size(), end + Utf8SequenceLength(static_cast<unsigned char>(text[end])));
            if (next - i > kMaxEncodedWordBytes) break;
            end = next;
        }
        if (end == i) end = std::min(text.size(), i + kMaxEncodedWordBytes);  // cannot happen with valid UTF-8
        if (!out.empty()) out += "\r\n ";
        out += "=?UTF-8?B?" + internal::Base64(text.substr(i, end - i)) + "?=";
        i = end;
    }
    return out;
}

Result<std::string> BuildEmailMessage(std::string_view from_address, std::string_view from_name, const OutboxItem& item,
                                      TimePoint date) {
    if (!IsPlainAddress(item.recipient)) {
        return Status::Error(ErrorCode::kValidationFailed, "not an e-mail address: " + item.recipient);
    }
    if (!IsPlainAddress(from_address)) {
        return Status::Error(ErrorCode::kValidationFailed, "not an e-mail address: " + std::string(from_address));
    }
    // Line breaks in a subject would start new headers; a subject is one line.
    std::string subject = item.subject;
    std::replace_if(
        subject.begin(), subject.end(), [](char c) { return c == '\r' || c == '\n' || c == '\t' || c == '\0'; }, ' ');
    std::string name(from_name);
    std::replace_if(
        name.begin(), name.end(), [](char c) { return c == '\r' || c == '\n' || c == '"' || c == '\\'; }, ' ');

    std::string message;
    message += "Date: " + FormatRfc5322Date(date) + "\r\n";
    message += "From: ";
    if (!name.empty()) message += (IsPrintableAscii(name) ? "\"" + name + "\"" : EncodeHeaderWord(name)) + " ";
    message += "<" + std::string(from_address) + ">\r\n";
    message += "To: <" + item.recipient + ">\r\n";
    message += "Subject: " + EncodeHeaderWord(subject) + "\r\n";
    message += "Message-ID: " + MessageIdFor(item.idempotency_key, from_address) + "\r\n";
    message += "MIME-Version: 1.0\r\n";
    message += "Content-Type: text/plain; charset=UTF-8\r\n";
    const std::string body = NormaliseLineEnds(item.body);
    if (FitsSevenBit(body)) {
        message += "Content-Transfer-Encoding: 7bit\r\n\r\n";
        message += body;
        message += "\r\n";
    } else {
        message += "Content-Transfer-Encoding: base64\r\n\r\n";
        const std::string encoded = internal::Base64(body);
        for (size_t i = 0; i < encoded.size(); i += 76) message += encoded.substr(i, 76) + "\r\n";
    }
    return message;
}

struct SmtpChannel::Impl {
    SmtpOptions options;
    const Clock& clock;
    internal::CurlHandlePool pool;
};

SmtpChannel::SmtpChannel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SmtpChannel::~SmtpChannel() = default;

Result<std::unique_ptr<SmtpChannel>> SmtpChannel::Create(SmtpOptions options, const Clock& clock) {
    const std::string url = internal::AsciiLower(options.url.substr(0, 8));
    if (url.rfind("smtp://", 0) != 0 && url.rfind("smtps://", 0) != 0) {
        return Status::Error(ErrorCode::kValidationFailed, "SMTP URL must be smtp:// or smtps://",
                             {{"url", "must start with smtp:// or smtps://"}});
    }
    if (!IsPlainAddress(options.from_address)) {
        return Status::Error(ErrorCode::kValidationFailed, "SMTP from address is not an e-mail address",
                             {{"from_address", "must be a plain address such as alerts@example.org"}});
    }
    // A password never crosses the network in clear: smtp:// with a login needs STARTTLS, required.
    if (!options.username.empty() && url.rfind("smtp://", 0) == 0 && !options.require_starttls &&
        !options.allow_login_without_tls) {
        return Status::Error(ErrorCode::kValidationFailed,
                             "an SMTP login over smtp:// needs require_starttls (or an smtps:// URL)",
                             {{"require_starttls", "must be set when a username is given with smtp://"}});
    }
    if (options.username.empty() != options.password.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "an SMTP login needs both a username and a password",
                             {{options.username.empty() ? "username" : "password", "is required with the other one"}});
    }
    internal::EnsureCurlInitialised();
    internal::EnsureSodiumInitialised();
    return std::unique_ptr<SmtpChannel>(
        new SmtpChannel(std::unique_ptr<Impl>(new Impl{std::move(options), clock, {}})));
}

Result<DeliveryReceipt> SmtpChannel::Deliver(const OutboxItem& item) {
    const SmtpOptions& options = impl_->options;
    auto message = BuildEmailMessage(options.from_address, options.from_name, item, impl_->clock.Now());
    if (!message.ok()) return message.status();

    CURL* curl = impl_->pool.Acquire();
    if (curl == nullptr) return Status::Error(ErrorCode::kInternal, "libcurl could not create a handle");
    struct Return {
        internal::CurlHandlePool& pool;
        CURL* curl;
        ~Return() { pool.Release(curl); }
    } give_back{impl_->pool, curl};
    curl_slist* recipients = curl_slist_append(nullptr, ("<" + item.recipient + ">").c_str());
    if (recipients == nullptr) return Status::Error(ErrorCode::kInternal, "out of memory");
    struct FreeList {
        curl_slist* list;
        ~FreeList() { curl_slist_free_all(list); }
    } free_recipients{recipients};

    UploadSource source{&message.value()};
    char error_buffer[CURL_ERROR_SIZE] = {};
    const std::string mail_from = "<" + options.from_address + ">";
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
    if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
    if (options.require_starttls) curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!options.username.empty()) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, options.username.c_str());
        curl_easy_setopt(curl, CURLOPT_PASSWORD, options.password.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &source);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message->size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardOutput);

    const CURLcode code = curl_easy_perform(curl);
    long reply = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
    if (code == CURLE_OK) return DeliveryReceipt{"SMTP " + std::to_string(reply)};
    const std::string reason = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
        return Status::Error(ErrorCode::kValidationFailed, "bad SMTP URL: " + reason);
    }
    if (reply >= 500 && reply < 600 && code != CURLE_LOGIN_DENIED) {
        return Status::Error(ErrorCode::kValidationFailed,
                             "SMTP server refused the message (" + std::to_string(reply) + "): " + reason);
    }
    return Status::Error(ErrorCode::kUnavailable, "SMTP delivery failed: " + reason +
                                                      (reply > 0 ? " (last reply " + std::to_string(reply) + ")" : ""));
}

}  // namespace vg::notify
