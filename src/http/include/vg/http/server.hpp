#pragma once
// HTTP/1.1 server (Boost.Beast over Asio) that hands each request to one Handler.
//
// What it does: accepts TCP connections on one address, reads requests with a
// header size limit, a body size limit and timeouts, runs the Handler on a
// worker thread pool (handlers may block: password hashing, database commits),
// writes the Response, and keeps connections alive per HTTP/1.1 rules.
// It knows nothing about routes, JSON or authentication.
//
// Errors the server answers itself (never reaching the Handler) are built by
// ServerOptions::error_response so the body format stays in one place:
//   header too large / malformed request -> kBadRequest, body too large ->
//   kPayloadTooLarge, too slow -> kRequestTimeout, draining -> kUnavailable.
//
// Graceful shutdown (Stop): stop accepting, close idle keep-alive connections,
// let requests in flight finish and answer them with "Connection: close", wait
// at most shutdown_grace, then close whatever remains.
//
// Thread-safety: Start/Stop/Wait may be called from any thread, Stop more than
// once. The Handler is called concurrently from worker threads.
// Ownership: the Server owns its threads; it must outlive Wait().

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vg/common/status.hpp"

namespace vg::http {

struct Header {
    std::string name;  // lower-case for requests; as given for responses
    std::string value;
};

struct Request {
    std::string method;  // "GET", "POST", ... as sent
    std::string target;  // raw request-target, e.g. "/api/check_id?id=kim"
    std::string path;    // percent-decoded path without the query, e.g. "/api/check_id"
    std::vector<std::pair<std::string, std::string>> query;  // decoded query parameters in order
    std::vector<Header> headers;                             // names lower-cased
    std::string body;
    std::string remote_address;  // peer IP address as text ("127.0.0.1", "::1")
    bool tls = false;            // always false for now; a reverse proxy terminates TLS

    // First header with this (case-insensitive) name, or empty view when absent.
    std::string_view header(std::string_view name) const;
    // First query parameter with this name, or nullptr when absent.
    const std::string* query_param(std::string_view name) const;
};

struct Response {
    int status = 200;
    std::vector<Header> headers;  // "Content-Type" etc.; the server adds Content-Length, Date, Connection
    std::string body;

    void set_header(std::string name, std::string value);  // replaces a header of the same name
};

using Handler = std::function<Response(const Request&)>;
using ErrorResponder = std::function<Response(ErrorCode code, std::string message)>;

// ---- WebSocket (RFC 6455) ----
//
// A GET request asking to upgrade to WebSocket is given to the WebSocketUpgrader (on a worker
// thread, like a Handler, so it may authenticate against the store). It either refuses with an
// ordinary Response (e.g. 401), or accepts by returning callbacks; the server then completes the
// handshake and calls on_open with the connection.
//
// Callbacks run on the worker pool (never on an io thread), one at a time per connection, in the
// order on_open, on_message..., on_close. The next message is read only after on_message returned,
// so a slow on_message slows its own client down (and one blocking for more than twice
// websocket_ping_interval gets its connection timed out).
// Close codes the server sends: 1000 Close(), 1001 during Stop(), 1003 binary message,
// 1008 send queue overflow, 1009 message over websocket_message_limit_bytes, 1011 a callback threw.
// A close the server begins is bounded (a few seconds); then the TCP connection is just closed.
// Stop() closes open WebSockets with 1001 after writing what was queued; Wait() returns after
// every on_close has run. A refused or malformed handshake calls none of the callbacks.

// The application's handle on an open WebSocket.
// Thread-safety: SendText and Close may be called from any thread, concurrently.
class WebSocketConnection {
  public:
    virtual ~WebSocketConnection() = default;
    // Queues one text message and returns at once. False when the connection is closed, or when
    // its queue of unsent messages exceeds the limit (a consumer too slow to keep up): then the
    // connection is closed, since a live view that lags minutes behind is worse than a reconnect.
    virtual bool SendText(std::string message) = 0;
    // Starts a normal close (code 1000, or 1001 "going away" during shutdown) after the messages
    // already queued have been written. SendText returns false from now on. Idempotent.
    virtual void Close() = 0;
    // True until Close() or the end of the connection (then SendText returns false).
    virtual bool is_open() const = 0;
};

struct WebSocketCallbacks {
    // Called once, after the handshake, before any message. May call SendText.
    std::function<void(std::shared_ptr<WebSocketConnection>)> on_open;
    // Each complete text message from the client, in order, one at a time.
    std::function<void(std::string message)> on_message;
    // Called once when the connection has ended, for whatever reason (never before on_open).
    std::function<void()> on_close;
};

struct WebSocketDecision {
    std::optional<Response> refusal;  // set: answer this instead of upgrading
    WebSocketCallbacks callbacks;     // used when refusal is empty
};

using WebSocketUpgrader = std::function<WebSocketDecision(const Request&)>;

struct ServerOptions {
    std::string address = "127.0.0.1";
    uint16_t port = 8080;  // 0 picks a free port; see Server::port()
    size_t header_limit_bytes = 16 * 1024;
    size_t body_limit_bytes = 1024 * 1024;
    std::chrono::milliseconds header_timeout{10'000};  // to receive a complete request head
    std::chrono::milliseconds body_timeout{30'000};    // to receive the body after the head
    std::chrono::milliseconds idle_timeout{60'000};    // keep-alive connection with no request
    std::chrono::milliseconds shutdown_grace{10'000};  // how long Stop waits for requests in flight
    int io_threads = 1;
    int worker_threads = 4;
    ErrorResponder error_response;  // REQUIRED
    // Optional. Without it, upgrade requests reach the Handler like any other request.
    WebSocketUpgrader websocket_upgrader;
    size_t websocket_message_limit_bytes = 64 * 1024;  // larger incoming messages close the connection (1009)
    size_t websocket_send_queue_limit = 1024;          // unsent messages before a consumer counts as stuck (min 1)
    // Keep-alive: after this long without data from the client a ping goes out; nothing back
    // within another interval closes the connection. 0 disables pings and the idle timeout.
    std::chrono::milliseconds websocket_ping_interval{20'000};
};

class Server {
  public:
    Server(ServerOptions options, Handler handler);
    ~Server();  // Stops (gracefully) if still running.
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and starts accepting. kUnavailable with the OS's reason when binding fails.
    Status Start();
    // The bound port (useful with port 0). REQUIRES: Start() returned OK.
    uint16_t port() const;
    // Begins graceful shutdown; returns at once.
    void Stop();
    // Blocks until the server has stopped and its threads have ended.
    void Wait();
    // Number of connections currently open (for metrics and tests).
    size_t open_connections() const;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::http
