#pragma once
// HTTP/1.1 server (Boost.Beast over Asio) that hands each request to one Handler.
//
// What it does: accepts TCP connections on one address, reads requests with a
// header size limit, a body size limit and timeouts, runs the Handler on the
// request's lane (below), writes the Response, and keeps connections alive per
// HTTP/1.1 rules. It knows nothing about routes, JSON or authentication.
//
// Lanes: ServerOptions::classify looks at each complete request (on the io
// thread that read it) and picks where its Handler runs:
//   kInline  on that io thread, with no hop to another thread: for handlers that
//            never block (no password hashing, no database commit). An inline
//            handler that finds it must block after all answers
//            Response::RunOnWorker() and is run again on the worker lane.
//   kWorker  the worker pool (worker_threads): handlers that may wait on a
//            commit (~0.4 ms) or other short blocking work. The default.
//   kSlow    the slow pool (slow_threads): long CPU-bound work (Argon2id, ~90 ms
//            and 64 MiB per hash), so that a login storm never delays the
//            worker lane. At most slow_threads + slow_queue_limit slow requests
//            are admitted at a time; beyond that the server answers 503 with
//            Retry-After (slow_retry_after) without calling the Handler.
//   kUrgent  the urgent pool (urgent_threads, its own admission limit
//            urgent_queue_limit): work that must never wait behind anything
//            else, such as a watch's readings and an SOS. It works like the
//            worker lane, but a flood of other worker-lane requests (or of
//            slow ones) cannot take its threads or its queue.
//
// Answers given later (Response::Later): a Handler whose answer waits on work elsewhere (a group
// commit on another thread) returns a placeholder at once and answers through its Responder from
// whichever thread finishes that work. No thread is held meanwhile, so the number of requests waiting
// is bounded by the connections, not by a pool's threads; the server writes a fallback answer when
// none comes in time, and drops an answer whose connection has gone.
//
// Errors the server answers itself (never reaching the Handler) are built by
// ServerOptions::error_response so the body format stays in one place:
//   header too large / malformed request -> kBadRequest, body too large ->
//   kPayloadTooLarge, too slow -> kRequestTimeout, draining, a lane full or too
//   many connections -> kUnavailable.
//
// Graceful shutdown (Stop): stop accepting, close idle keep-alive connections,
// let requests in flight finish and answer them with "Connection: close", wait
// at most shutdown_grace, then close whatever remains.
//
// Thread-safety: Start/Stop/Wait may be called from any thread, Stop more than
// once. The Handler and the classifier are called concurrently: the Handler
// from io threads (kInline), worker threads and slow threads, the classifier
// from io threads.
// Ownership: the Server owns its threads; it must outlive Wait().

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vg/common/ip_range.hpp"
#include "vg/common/status.hpp"

namespace vg::http {

struct Header {
    std::string name;  // lower-case for requests; as given for responses
    std::string value;
};

// Where a request's Handler runs; see the file comment.
enum class Lane {
    kInline,  // on the io thread that read the request; must not block
    kWorker,  // the worker pool; may wait on a commit
    kSlow,    // the slow pool; long CPU-bound work such as password hashing
    kUrgent,  // the urgent pool; like kWorker, with threads and a queue of its own
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
    Lane lane = Lane::kWorker;   // the lane the Handler is running on (set by the server)

    // First header with this (case-insensitive) name, or empty view when absent.
    std::string_view header(std::string_view name) const;
    // First query parameter with this name, or nullptr when absent.
    const std::string* query_param(std::string_view name) const;
};

namespace internal {
class PendingResponse;
}
class Responder;

struct Response {
    int status = 200;
    std::vector<Header> headers;  // "Content-Type" etc.; the server adds Content-Length, Date, Connection
    std::string body;
    // Set by RunOnWorker() and RunOn(): not an answer; the server runs the Handler again on run_on.
    bool run_on_worker = false;
    Lane run_on = Lane::kWorker;

    void set_header(std::string name, std::string value);  // replaces a header of the same name

    // For a Handler running on Lane::kInline that finds it must block after all (e.g. a session's
    // last use is due to be written): the server runs the Handler again, for the same Request with
    // lane == kWorker, and writes that answer. Return it before doing anything with an effect.
    // Returned from the worker or slow lane it is a bug, answered with kInternal (500).
    static Response RunOnWorker() { return RunOn(Lane::kWorker); }
    // The same on another lane (kWorker, kUrgent or kSlow; kInline means kWorker), with that lane's
    // admission: for a hot path that answers inline when it can, and otherwise on the lane it belongs to.
    static Response RunOn(Lane lane) {
        Response response;
        response.run_on_worker = true;
        response.run_on = lane == Lane::kInline ? Lane::kWorker : lane;
        return response;
    }

    // Set by Later(): not an answer yet; the server writes the one given to the Responder.
    std::shared_ptr<internal::PendingResponse> pending = nullptr;

    // For a Handler (on any lane) whose answer depends on work that finishes on another thread: returns
    // the placeholder to return from the Handler now, and the Responder that gives the real answer later,
    // from any thread. When no answer has come `timeout` after the Handler returned, the server writes
    // `on_timeout` instead; only the first answer counts, later ones are dropped, as is an answer whose
    // connection has closed meanwhile.
    static std::pair<Response, Responder> Later(std::chrono::milliseconds timeout, Response on_timeout);

    // For the layers around a Handler (common headers, metrics, logs) that get back a pending
    // response: `finish` runs on the eventual answer (the timeout's included) before it is written,
    // after the finishers added before it. It runs on an unspecified thread, at most once, and only
    // while the request's connection is open. REQUIRES: pending is set, the Handler has not returned
    // to the server yet.
    void OnAnswer(std::function<void(Response&)> finish);
};

// The answering side of Response::Later. Copyable; thread-safe.
class Responder {
  public:
    // Gives the answer; the first call (or the server's timeout) wins, later ones do nothing.
    void Send(Response response) const;

  private:
    friend struct Response;
    explicit Responder(std::shared_ptr<internal::PendingResponse> pending) : pending_(std::move(pending)) {}
    std::shared_ptr<internal::PendingResponse> pending_;
};

namespace internal {
// The state shared by a pending Response, its Responder and the server. Thread-safe.
class PendingResponse {
  public:
    PendingResponse(std::chrono::milliseconds timeout, Response on_timeout)
        : timeout_(timeout), on_timeout_(std::move(on_timeout)) {}

    void AddFinisher(std::function<void(Response&)> finish);
    // The first answer wins (the Responder's or, with timeout_response(), the server's).
    void Answer(Response response);
    // Server: called once, after the Handler returned. `deliver` gets the finished answer as soon as
    // there is one (at once, on this thread, when it is already here), under this object's lock.
    void OnDelivery(std::function<void(Response)> deliver);
    // Server: the connection is gone; no delivery will start after this returns (one in progress has
    // finished).
    void Abandon();
    std::chrono::milliseconds timeout() const { return timeout_; }
    Response timeout_response() const { return on_timeout_; }

  private:
    void DeliverLocked();

    const std::chrono::milliseconds timeout_;
    const Response on_timeout_;
    std::mutex mu_;
    std::optional<Response> answer_;  // until delivered
    bool answered_ = false;
    bool abandoned_ = false;
    std::function<void(Response)> deliver_;
    std::vector<std::function<void(Response&)>> finishers_;
};
}  // namespace internal

using Handler = std::function<Response(const Request&)>;
// Picks a request's lane. Called on an io thread for every complete request (WebSocket upgrades
// excepted: they always go to the worker lane), so it must be cheap and must not block. A
// classifier that throws sends the request to kWorker.
using LaneClassifier = std::function<Lane(const Request&)>;
using ErrorResponder = std::function<Response(ErrorCode code, std::string message)>;

// ---- WebSocket (RFC 6455) ----
//
// A GET request asking to upgrade to WebSocket is given to the WebSocketUpgrader (on a worker
// thread, like a kWorker Handler, so it may authenticate against the store). It either refuses with an
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
    // The same with the application's own close code (1008, or 4000-4999 such as 4401) and reason
    // (at most 123 bytes, cut there): the client learns why, e.g. that its session ended. Idempotent.
    virtual void Close(uint16_t code, std::string reason) = 0;
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
    // Threads doing network I/O and running kInline handlers, each with its own event loop; a
    // connection stays on one of them. 0: one per core (std::thread::hardware_concurrency()).
    int io_threads = 0;
    int worker_threads = 4;  // the kWorker pool (and WebSocket upgrades and callbacks)
    int slow_threads = 2;    // the kSlow pool (min 1)
    // Slow requests admitted beyond those running; more are refused with 503 and Retry-After.
    size_t slow_queue_limit = 64;
    std::chrono::seconds slow_retry_after{2};  // the Retry-After of that 503
    // Connections open at once (HTTP and WebSocket), in all and from one address. Beyond either the
    // new connection gets one 503 with Retry-After (busy_retry_after) and is closed, so a thousand idle
    // keep-alive connections from one place cannot starve everyone else. Addresses in
    // connection_limit_exempt (a reverse proxy on this host, whose connections carry many clients)
    // count only towards max_connections.
    size_t max_connections = 20'000;
    size_t max_connections_per_address = 256;
    std::vector<IpRange> connection_limit_exempt;
    // Worker-lane requests queued or running at once; more are answered 503 with Retry-After
    // (busy_retry_after) without calling the Handler, so a burst cannot grow the queue without bound.
    size_t worker_queue_limit = 4096;
    // The kUrgent pool (min 1) and its admission limit, counted apart from the worker lane's.
    int urgent_threads = 8;
    size_t urgent_queue_limit = 1024;
    std::chrono::seconds busy_retry_after{1};
    // Optional. Without it every request runs on the worker lane.
    LaneClassifier classify;
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
