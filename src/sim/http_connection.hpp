#pragma once
// HttpConnection (private to vg_sim): one keep-alive HTTP/1.1 connection to the
// server under test, on Boost.Beast, with a deadline on every operation.
//
// Send() connects on first use and reconnects when the server has closed a
// kept-alive connection (the request is then sent once more: every request the
// simulator sends is safe to repeat — ingest is idempotent by seq).
// Transport failures (refused, timed out, reset) are kUnavailable; an HTTP
// answer of any status is a reply, not an error.
// Thread-safety: one thread at a time per object.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg::sim {

struct HttpReply {
    int status = 0;
    std::string body;
    std::vector<std::string> set_cookies;
    std::optional<int> retry_after_s;
};

// "http://host:port[/]" → host and port. kValidationFailed (field "server") otherwise.
struct ServerAddress {
    std::string host;
    uint16_t port = 0;
    std::string origin() const { return "http://" + host + ":" + std::to_string(port); }
};
Result<ServerAddress> ParseServerUrl(std::string_view url);

class HttpConnection {
  public:
    HttpConnection(ServerAddress server, Milliseconds timeout);
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    // `headers` are added as given; a non-empty body is sent as application/json.
    Result<HttpReply> Send(std::string_view method, std::string_view target, std::string body,
                           const std::vector<std::pair<std::string, std::string>>& headers = {});

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::sim
