#pragma once
// Test receivers on 127.0.0.1 with ephemeral ports (for *_test.cpp only):
// HttpSink records HTTP requests and answers them as planned (status, Retry-After, hanging past
// the client's timeout); SmtpSink is a minimal SMTP server (greeting, EHLO/HELO, AUTH PLAIN,
// MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT) that records the messages.
// Both are defined in sinks_test.cpp. Thread-safety: every method may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vg::notify::testing {

struct RecordedRequest {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;

    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

// How the sink answers one request.
struct PlannedResponse {
    int status = 200;
    std::chrono::milliseconds hang{0};  // wait this long (or until the sink stops) before answering
    std::string retry_after{};          // Retry-After header value when not empty
    std::string body = "ok";
};

class HttpSink {
  public:
    HttpSink();  // listening when constructed; aborts the test binary if it cannot bind
    ~HttpSink();
    HttpSink(const HttpSink&) = delete;
    HttpSink& operator=(const HttpSink&) = delete;

    uint16_t port() const;
    std::string Url(const std::string& path = "/hook") const;

    // The i-th request from now on is answered with plan[i]; later ones with the default (200).
    void Plan(std::vector<PlannedResponse> plan);
    void SetDefault(PlannedResponse response);

    std::vector<RecordedRequest> requests() const;
    size_t count() const;
    // Waits until at least `n` requests arrived; false on timeout.
    bool WaitForCount(size_t n, std::chrono::milliseconds timeout) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct RecordedMail {
    std::string helo;
    std::string auth_plain;  // decoded "\0user\0password" of AUTH PLAIN; empty without AUTH
    std::string mail_from;   // as in "MAIL FROM:<...>", brackets included
    std::vector<std::string> rcpt_to;
    std::string data;  // the message after dot-unstuffing, CRLF line ends, without the final "."
};

class SmtpSink {
  public:
    SmtpSink();
    ~SmtpSink();
    SmtpSink(const SmtpSink&) = delete;
    SmtpSink& operator=(const SmtpSink&) = delete;

    uint16_t port() const;
    std::string Url() const;  // "smtp://127.0.0.1:<port>"

    // RCPT TO is answered with this code (e.g. 550) instead of 250; 0 restores 250.
    void RejectRecipientsWith(int code);
    // The next `n` DATA transfers are answered 451 (temporary failure) and not recorded.
    void FailNextMessages(int n);

    std::vector<RecordedMail> mails() const;
    bool WaitForCount(size_t n, std::chrono::milliseconds timeout) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::notify::testing
