#pragma once
// Test-side HTTP/1.1 clients for driving a real server over real sockets.
//
// HttpClient: synchronous, one keep-alive connection (reconnects when the
// server has closed it), a cookie jar and default headers, so a test reads
// like a browser session: Post("/api/login", {...}) then Get("/api/me").
// RawConnection / HttpClient::SendRaw: bytes in, bytes out, for malformed or
// slow requests that a well-behaved client cannot produce.
//
// Every network operation has a deadline (default 10 s): a hung server makes
// the call throw HttpClientError, which GoogleTest reports as a failed test,
// instead of hanging the test run.
// Thread-safety: an HttpClient or RawConnection is used by one thread at a
// time; use one client per thread for concurrent requests.

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vg::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Transport failure: cannot connect, timed out, connection lost without a response.
class HttpClientError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct HttpResult {
    int status = 0;
    Headers headers;  // as received, in order, names as the server spelled them
    std::string body;

    // First header with this (case-insensitive) name; empty when absent.
    [[nodiscard]] std::string header(std::string_view name) const;
    // Every header with this name, in order (e.g. several Set-Cookie).
    [[nodiscard]] std::vector<std::string> headers_named(std::string_view name) const;
    // The body parsed as JSON. Throws std::runtime_error (with the body) when it is not JSON.
    [[nodiscard]] boost::json::value json() const;
};

// What a raw exchange produced.
struct RawResponse {
    std::string text;        // every byte the server sent, as received (may be empty)
    bool closed = false;     // the server closed the connection (EOF or reset)
    bool timed_out = false;  // the deadline passed before a complete response (or the close) arrived
};

// One TCP connection carrying arbitrary bytes.
class RawConnection {
  public:
    // Connects at once. Throws HttpClientError when the connection is refused or times out.
    explicit RawConnection(uint16_t port, std::string host = "127.0.0.1",
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~RawConnection();
    RawConnection(RawConnection&&) noexcept;
    RawConnection& operator=(RawConnection&&) noexcept;

    // Sends all bytes. False when the server has closed the connection (or the deadline passed).
    [[nodiscard]] bool Write(std::string_view bytes);
    // Reads until one complete HTTP response has arrived, the server closes, or the deadline passes.
    // A request that started with "HEAD " expects no body. Bytes beyond that response stay buffered
    // for the next call.
    [[nodiscard]] RawResponse ReadResponse();
    // Reads (and returns) everything until the server closes or the deadline passes.
    [[nodiscard]] RawResponse ReadUntilClosed();
    // Whether the server closes the connection within `within` (data sent meanwhile is discarded).
    [[nodiscard]] bool WaitClosed(std::chrono::milliseconds within);

    void set_timeout(std::chrono::milliseconds timeout);

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

class HttpClient {
  public:
    // Does not connect yet; the first request does.
    explicit HttpClient(uint16_t port, std::string host = "127.0.0.1");
    ~HttpClient();
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;

    // Deadline for each connect, write and read (default 10 s).
    void set_timeout(std::chrono::milliseconds timeout);

    // Sends one request and reads the response. Headers given here override default headers of the
    // same name; a "Cookie" given here replaces the jar's. The jar absorbs the response's Set-Cookie.
    // A reused keep-alive connection that turns out to be closed is reopened and the request resent
    // once. Throws HttpClientError on transport failure (refused, timeout, closed without response).
    HttpResult Send(std::string_view method, std::string_view target, std::string body = {},
                    const Headers& headers = {});
    HttpResult Get(std::string_view target, const Headers& headers = {});
    HttpResult Head(std::string_view target, const Headers& headers = {});
    HttpResult Delete(std::string_view target, const Headers& headers = {});
    // JSON body, Content-Type: application/json.
    HttpResult Post(std::string_view target, const boost::json::value& body, const Headers& headers = {});
    HttpResult Put(std::string_view target, const boost::json::value& body, const Headers& headers = {});
    // Raw body sent exactly as given (e.g. broken JSON), Content-Type: application/json unless
    // `headers` has one. (Three overloads so that a string literal is not taken for a JSON value,
    // while Post(target, {{"id", "kim"}}) still builds JSON.)
    HttpResult Post(std::string_view target, std::string_view raw_body, const Headers& headers = {});
    HttpResult Post(std::string_view target, const char* raw_body, const Headers& headers = {});
    HttpResult Post(std::string_view target, const std::string& raw_body, const Headers& headers = {});
    // Raw body with this Content-Type (none when empty).
    HttpResult PostRaw(std::string_view target, std::string body, std::string content_type = "application/json",
                       const Headers& headers = {});

    // Sends bytes on a fresh connection (not the keep-alive one) and returns the raw answer: reads
    // until a complete response; when it says "Connection: close" (or none is complete) also until
    // the server closes. Uses this client's timeout.
    RawResponse SendRaw(std::string_view bytes);

    // Headers sent with every request, e.g. X-CSRF-Token after login. Setting replaces.
    void SetDefaultHeader(std::string name, std::string value);
    void RemoveDefaultHeader(std::string_view name);

    // Cookie jar: name -> value. Set-Cookie with Max-Age<=0 or an Expires in the past deletes.
    // Domain and Path are ignored: the jar talks to one server.
    [[nodiscard]] std::optional<std::string> cookie(std::string_view name) const;
    [[nodiscard]] const std::map<std::string, std::string, std::less<>>& cookies() const;
    void SetCookie(std::string name, std::string value);
    void ClearCookies();

    // Closes the keep-alive connection; the next request opens a new one.
    void Disconnect();
    // How many TCP connections this client has opened (to check keep-alive reuse).
    [[nodiscard]] int connections_opened() const;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

// Whether a TCP connection to host:port can be opened within `timeout` (closed again at once).
[[nodiscard]] bool CanConnect(uint16_t port, std::string_view host = "127.0.0.1",
                              std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace vg::testing
