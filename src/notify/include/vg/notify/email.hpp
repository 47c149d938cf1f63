#pragma once
// SmtpChannel: sends a message as a plain-text e-mail through an SMTP server (libcurl).
//
// The message is RFC 5322 with MIME (RFC 2045): Date (from the injected clock), From, To,
// Subject (RFC 2047 "=?UTF-8?B?...?=" encoded words when it is not plain ASCII, so Korean
// subjects survive), Message-ID derived from the idempotency key (a retry carries the same id,
// so mail systems and readers can see duplicates), MIME-Version, Content-Type text/plain;
// charset=UTF-8, and Content-Transfer-Encoding 7bit for short-lined ASCII or base64 otherwise.
// Classification: the SMTP server's 5xx reply (bad mailbox, refused content) is permanent
// (kValidationFailed); 4xx replies, connection, TLS and login failures and timeouts are
// retryable (kUnavailable) — a login failure is a configuration fault that an operator fixes.
// Credentials: with a username, an smtp:// URL must have require_starttls (Create refuses otherwise),
// so libcurl sends AUTH only inside TLS and fails, sending nothing, when the server offers no STARTTLS.
// The password is never logged (it is not part of any error text).
// Thread-safety: Deliver may be called from any thread. Ownership: the clock must outlive the
// channel.

#include <memory>
#include <string>
#include <string_view>

#include "vg/common/clock.hpp"
#include "vg/notify/channel.hpp"
#include "vg/notify/outbox.hpp"

namespace vg::notify {

struct SmtpOptions {
    std::string url;                // REQUIRED: "smtp://host:587" or "smtps://host:465" (TLS from the start)
    bool require_starttls = false;  // smtp:// only: upgrade with STARTTLS or fail (never send in clear)
    std::string username;           // empty: no AUTH; set: needs password, and require_starttls with smtp://
    std::string password;           // AUTH PLAIN / LOGIN (libcurl picks what the server offers)
    // Lets a login go over smtp:// without STARTTLS: only for a test sink on the loopback. Never set by
    // the server's options.
    bool allow_login_without_tls = false;
    std::string from_address;  // REQUIRED: envelope sender and From, e.g. "alerts@vitalguard.example"
    std::string from_name = "VitalGuard";
    Milliseconds timeout{20'000};
    Milliseconds connect_timeout{5'000};
    bool verify_tls = true;
    std::string ca_file;  // a CA bundle instead of the system's; empty: system
};

// The RFC 5322 message (CRLF line ends) that SmtpChannel sends for `item` at `date`.
// kValidationFailed when the recipient is not a plain ASCII address (no display name, no line
// breaks) — that is also what guards against header injection.
Result<std::string> BuildEmailMessage(std::string_view from_address, std::string_view from_name, const OutboxItem& item,
                                      TimePoint date);

// "=?UTF-8?B?...?=" encoded words (at most 75 characters each, split between UTF-8 characters,
// folded with CRLF SPACE) when `text` is not printable ASCII; otherwise `text` unchanged.
std::string EncodeHeaderWord(std::string_view text);

class SmtpChannel final : public Channel {
  public:
    // kValidationFailed when the URL is not smtp(s):// or the from address is unusable, or a username is
    // given without a password (or the reverse) or over smtp:// without require_starttls.
    static Result<std::unique_ptr<SmtpChannel>> Create(SmtpOptions options, const Clock& clock);
    ~SmtpChannel() override;

    Result<DeliveryReceipt> Deliver(const OutboxItem& item) override;

  private:
    struct Impl;
    explicit SmtpChannel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::notify
