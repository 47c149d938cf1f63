// vg::http::Server over Boost.Beast.
//
// Structure: `io_threads` io_contexts, each run by exactly one thread (so each
// context's executor is an implicit strand: no two of its handlers run at the
// same time). The acceptor lives on the first; each accepted connection
// (Session) goes to the next context in turn and stays there, so a Session's
// state is only touched from its context's thread. Handlers run by lane: kInline
// right there on the io thread; kWorker and kSlow on their own thread_pools,
// whose Response is posted back to the Session's context to be written.
// One loop per thread rather than one loop shared by all: no lock on a shared
// reactor, no wake-ups of other threads per event (measured: src/http/README.md).
//
// Timeouts use a per-Session steady_timer rather than beast::tcp_stream's
// expiry, because tcp_stream closes the socket on expiry and we want to answer
// a slow request with 408 first. On a read timeout the timer cancels the
// pending read and shuts down the receive side, so a composed Beast read that
// is between two read_some calls cannot miss the timeout.
//
// Session lifetime: every pending operation holds a shared_ptr to its Session;
// the Impl only keeps weak_ptrs (for Stop and for counting). A Session is
// "open" from accept until Close(), which closes the socket and unregisters it.
//
// WebSocket: a Session that reads an upgrade request (and has an upgrader) runs
// the upgrader on the worker pool; on acceptance it hands its socket and its
// registry slot (same id, so open_connections() never dips) to a WsSession,
// which completes the handshake and lives on the same context. See WsSession.

#include "vg/http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "request_reader.hpp"

namespace vg::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// After a response that closes the connection we shut down our sending side
// and read (and discard) what the client still sends for at most this long
// before closing. Closing a socket with unread data makes the kernel send RST,
// which can destroy the response before the client has read it (e.g. a 413
// sent while the client is still uploading the body).
constexpr std::chrono::milliseconds kLingerTimeout{1000};

// WebSocket: the opening handshake (writing the 101) and the closing handshake
// must each finish within this long, or the TCP connection is simply closed.
// It also bounds how long a graceful close waits for queued messages to drain.
constexpr std::chrono::milliseconds kWebSocketHandshakeTimeout{5000};

// What an idle connection's first read asks for: a typical request head fits, and Beast's
// parser reads the rest of a larger one.
constexpr size_t kFirstReadBytes = 4096;

// A WebSocket read buffer that grew beyond this for a large message is given
// back afterwards, so that many idle connections stay small.
constexpr size_t kWebSocketKeptReadBuffer = 8 * 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

bool ContainsTokenIgnoreCase(std::string_view list, std::string_view token) {
    // Connection: "keep-alive, close" style comma-separated token lists.
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t end = list.find(',', pos);
        if (end == std::string_view::npos) end = list.size();
        std::string_view item = list.substr(pos, end - pos);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (EqualsIgnoreCase(item, token)) return true;
        pos = end + 1;
    }
    return false;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". Formatted once a second per thread.
std::string HttpDate() {
    thread_local std::time_t cached_second = -1;
    thread_local std::string cached;
    const std::time_t now = std::time(nullptr);
    if (now == cached_second) return cached;
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    // Formatted by hand: strftime's %a/%b follow the process locale.
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[static_cast<size_t>(tm.tm_wday)],
                  tm.tm_mday, kMonths[static_cast<size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    cached = buf;
    cached_second = now;
    return cached;
}

std::string AddressText(const tcp::endpoint& endpoint) {
    asio::ip::address address = endpoint.address();
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; report them as IPv4.
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
    }
    return address.to_string();
}

int ResolveIoThreads(int configured) {
    if (configured > 0) return configured;
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Used only when the configured ErrorResponder itself throws.
int FallbackStatus(ErrorCode code) {
    switch (code) {
        case ErrorCode::kBadRequest:
            return 400;
        case ErrorCode::kPayloadTooLarge:
            return 413;
        case ErrorCode::kRequestTimeout:
            return 408;
        case ErrorCode::kUnavailable:
            return 503;
        default:
            return 500;
    }
}

}  // namespace

class Server::Impl {
  public:
    Impl(ServerOptions options, Handler handler)
        : options_(std::move(options)),
          handler_(std::move(handler)),
          contexts_(MakeContexts(ResolveIoThreads(options_.io_threads))),
          acceptor_(contexts_.front()->get_executor()),
          grace_timer_(acceptor_.get_executor()),
          accept_retry_timer_(acceptor_.get_executor()) {}

    ~Impl() {
        Stop();
        Wait();
    }

    Status Start();
    uint16_t port() const { return port_; }
    void Stop();
    void Wait();
    size_t open_connections() const {
        std::lock_guard lock(mu_);
        return sessions_.size();
    }

  private:
    class Connection;
    class Session;
    class WsSession;
    class WsHandle;

    void DoAccept();
    void OnAccept(error_code ec, tcp::socket socket);
    void OnSessionClosed(uint64_t id);
    // Whether one more connection from `address` fits max_connections and max_connections_per_address;
    // counts it when it does. REQUIRES: mu_ held.
    bool AdmitConnection(const std::string& address);
    // Answers a connection over the limits with one 503 and closes it (blocking; the socket is fresh).
    void RefuseConnection(tcp::socket socket) noexcept;
    // A Session that upgraded to a WebSocket passes its registry slot on.
    void ReplaceSession(uint64_t id, std::weak_ptr<Connection> connection);
    void ForceCloseAll();
    std::vector<std::shared_ptr<Connection>> LiveSessions();  // REQUIRES: mu_ held
    bool stopping() const { return stopping_flag_.load(std::memory_order_acquire); }
    Lane Classify(const Request& request) noexcept;
    Response CallHandler(const Request& request) noexcept;
    // Admits one more slow request unless slow_threads + slow_queue_limit are in; Release when done.
    bool AdmitSlow() noexcept;
    void ReleaseSlow() noexcept { slow_admitted_.fetch_sub(1, std::memory_order_acq_rel); }
    Response SlowLaneFull() noexcept;
    // The same for the worker lane (worker_queue_limit).
    bool AdmitWorker() noexcept;
    void ReleaseWorker() noexcept { worker_admitted_.fetch_sub(1, std::memory_order_acq_rel); }
    // The same for the urgent lane (urgent_queue_limit).
    bool AdmitUrgent() noexcept;
    void ReleaseUrgent() noexcept { urgent_admitted_.fetch_sub(1, std::memory_order_acq_rel); }
    Response Busy(const std::string& what) noexcept;

    static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int count) {
        std::vector<std::unique_ptr<asio::io_context>> contexts;
        for (int i = 0; i < count; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
        return contexts;
    }
    WebSocketDecision CallUpgrader(const Request& request) noexcept;
    Response MakeError(ErrorCode code, std::string message) noexcept;

    const ServerOptions options_;
    const Handler handler_;

    // Bookkeeping is declared before contexts_ so that it outlives them: destroying
    // an io_context destroys queued handlers, and with them Sessions.
    mutable std::mutex mu_;
    std::condition_variable drained_cv_;  // signalled when stopping_ and sessions_ is empty
    std::unordered_map<uint64_t, std::weak_ptr<Connection>> sessions_;  // guarded by mu_; HTTP and WebSocket
    uint64_t next_session_id_ = 0;                                      // guarded by mu_
    std::unordered_map<uint64_t, std::string> session_address_;         // guarded by mu_: counted per address
    std::unordered_map<std::string, size_t> per_address_;               // guarded by mu_: open, by address
    bool started_ = false;                                              // guarded by mu_
    bool stopping_ = false;                                             // guarded by mu_
    std::atomic<bool> stopping_flag_{false};  // mirror of stopping_ for lock-free checks on io threads
    std::mutex start_mu_;                     // serializes Start()
    std::mutex join_mu_;                      // serializes the joining part of Wait()
    bool joined_ = false;                     // guarded by join_mu_
    uint16_t port_ = 0;                       // written by Start() before it returns

    // One per io thread, each run by that thread alone. The acceptor and its timers use the first.
    std::vector<std::unique_ptr<asio::io_context>> contexts_;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    size_t next_context_ = 0;                // touched only on the acceptor's context: where the next connection goes
    tcp::acceptor acceptor_;                 // on contexts_[0], with the two timers below
    asio::steady_timer grace_timer_;         // Stop(): force-closes what is left after shutdown_grace
    asio::steady_timer accept_retry_timer_;  // back-off after accept errors such as EMFILE
    std::optional<asio::thread_pool> workers_;  // kWorker, WebSocket upgrades and callbacks
    std::optional<asio::thread_pool> slow_;     // kSlow
    std::optional<asio::thread_pool> urgent_;   // kUrgent
    std::atomic<size_t> slow_admitted_{0};      // slow requests queued or running
    std::atomic<size_t> worker_admitted_{0};    // worker-lane requests queued or running
    std::atomic<size_t> urgent_admitted_{0};    // urgent-lane requests queued or running
    std::vector<std::thread> io_threads_;
};

// What the registry knows of an open connection (HTTP or WebSocket). Both
// member functions are called on the connection's context.
class Server::Impl::Connection {
  public:
    virtual ~Connection() = default;
    virtual asio::any_io_executor executor() = 0;
    // Stop() began: close what can be closed now, let the rest finish.
    virtual void Drain() = 0;
    // shutdown_grace has passed: close the socket now.
    virtual void ForceClose() = 0;
};

// One TCP connection: reads requests one after the other, runs each on its
// lane, writes the response. All members are touched only on the socket's
// context (one thread).
class Server::Impl::Session final : public Connection, public std::enable_shared_from_this<Session> {
  public:
    Session(Impl& impl, uint64_t id, tcp::socket socket)
        : impl_(impl), id_(id), socket_(std::move(socket)), timer_(socket_.get_executor()) {
        error_code ec;
        tcp::endpoint peer = socket_.remote_endpoint(ec);
        if (!ec) remote_address_ = AddressText(peer);
        socket_.set_option(tcp::no_delay(true), ec);  // responses are complete messages; don't delay them
    }

    asio::any_io_executor executor() override { return socket_.get_executor(); }

    void Start() {
        first_request_ = true;
        BeginRequest();
    }

    // Stop() began: a connection waiting for a request is closed now; one that
    // is reading, handling or writing a request notices stopping() later.
    void Drain() override {
        if (phase_ == Phase::kIdle) Close();
    }

    void ForceClose() override { Close(); }

    void Close() {
        if (phase_ == Phase::kClosed) return;
        phase_ = Phase::kClosed;
        if (pending_) {
            // An answer still to come is dropped; the pending state lets go of this session.
            pending_->Abandon();
            pending_.reset();
        }
        StopTimer();
        error_code ec;
        socket_.shutdown(tcp::socket::shutdown_both, ec);
        socket_.close(ec);
        impl_.OnSessionClosed(id_);
    }

  private:
    enum class Phase {
        kIdle,       // waiting for the first byte of a request
        kHeader,     // reading the request head
        kBody,       // reading the request body
        kHandling,   // the Handler runs (inline, or on a worker or slow thread)
        kWriting,    // writing a response
        kLingering,  // response sent, waiting for the client to close
        kClosed,
    };

    bool closed() const { return phase_ == Phase::kClosed; }

    void BeginRequest() {
        if (closed()) return;
        if (impl_.stopping() && buffer_.size() == 0) {
            Close();  // draining: no request has started on this connection
            return;
        }
        parser_.emplace();
        internal::ConfigureRequestParser(*parser_, impl_.options_);
        timed_out_ = false;
        // Until a head is parsed, an error reply is a plain HTTP/1.1 response with a body.
        is_head_ = false;
        version_ = 11;

        if (buffer_.size() > 0) {  // a pipelined request is already here
            phase_ = Phase::kHeader;
            ArmTimer(impl_.options_.header_timeout);
            ReadHeader();
            return;
        }
        // Read the first bytes on their own so that the time a keep-alive connection
        // sits idle is measured by idle_timeout, and only an actually started
        // request by header_timeout. A new connection gets header_timeout for both.
        // (A read rather than a wait for readability: a read tries the socket at once
        // and leaves its epoll registration alone, where each wait costs an epoll_ctl.)
        phase_ = Phase::kIdle;
        ArmTimer(first_request_ ? impl_.options_.header_timeout : impl_.options_.idle_timeout);
        socket_.async_read_some(buffer_.prepare(kFirstReadBytes),
                                [self = shared_from_this()](error_code ec, size_t bytes) {
                                    if (self->closed()) return;
                                    if (ec) {
                                        // Idle timeout, EOF or an error before any byte of a request: just close.
                                        self->Close();
                                        return;
                                    }
                                    self->buffer_.commit(bytes);
                                    self->phase_ = Phase::kHeader;
                                    // The head timer starts with the first byte; a head that came whole
                                    // (the usual case) needs none, and idle_timeout still bounds it.
                                    if (!self->first_request_ && !self->HeadInBuffer()) {
                                        self->ArmTimer(self->impl_.options_.header_timeout);
                                    }
                                    self->ReadHeader();
                                });
    }

    // Whether the buffered bytes hold the end of a request head.
    bool HeadInBuffer() const {
        const auto data = buffer_.data();
        const std::string_view text(static_cast<const char*>(data.data()), data.size());
        return text.find("\r\n\r\n") != std::string_view::npos;
    }

    void ReadHeader() {
        bhttp::async_read_header(socket_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
            if (self->closed()) return;
            if (ec) {
                self->OnReadError(ec);
                return;
            }
            self->OnHeader();
        });
    }

    void OnHeader() {
        // Refuse before reading a byte of the body. (Beast's parser already fails the head with
        // error::body_limit in this case; checking here keeps the rule visible and version-proof.)
        const auto& fields = parser_->get();
        if (internal::DeclaredBodyTooLarge(fields, impl_.options_.body_limit_bytes)) {
            ReplyErrorAndClose(ErrorCode::kPayloadTooLarge, BodyLimitMessage());
            return;
        }
        if (parser_->is_done()) {  // no body
            OnRequestComplete();
            return;
        }
        phase_ = Phase::kBody;
        ArmTimer(impl_.options_.body_timeout);
        if (fields.version() >= 11 && EqualsIgnoreCase(fields[bhttp::field::expect], "100-continue")) {
            // The client waits for this before sending the body (curl does for larger bodies).
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                              [self = shared_from_this()](error_code ec, size_t) {
                                  if (self->closed()) return;
                                  if (ec) {
                                      self->OnReadError(ec);
                                      return;
                                  }
                                  self->ReadBody();
                              });
            return;
        }
        ReadBody();
    }

    void ReadBody() {
        bhttp::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
            if (self->closed()) return;
            if (ec) {
                self->OnReadError(ec);
                return;
            }
            self->OnRequestComplete();
        });
    }

    std::string BodyLimitMessage() const {
        return "request body too large; the limit is " + std::to_string(impl_.options_.body_limit_bytes) + " bytes";
    }

    void OnReadError(error_code ec) {
        DisarmTimer();
        if (timed_out_) {
            if (phase_ == Phase::kIdle) {
                Close();
                return;
            }
            const bool head = phase_ == Phase::kHeader;
            const auto limit = head ? impl_.options_.header_timeout : impl_.options_.body_timeout;
            ReplyErrorAndClose(ErrorCode::kRequestTimeout, std::string(head ? "request head" : "request body") +
                                                               " not received within " + std::to_string(limit.count()) +
                                                               " ms");
            return;
        }
        std::optional<internal::ErrorReply> reply = internal::ReplyToReadError(ec, impl_.options_);
        if (!reply) {
            // The client went away (or the network failed): nobody to answer.
            Close();
            return;
        }
        ReplyErrorAndClose(reply->code, std::move(reply->message));
    }

    void OnRequestComplete() {
        DisarmTimer();
        first_request_ = false;
        bhttp::request<bhttp::string_body> message = parser_->release();
        parser_.reset();
        keep_alive_ = message.keep_alive();
        version_ = message.version();
        is_head_ = message.method() == bhttp::verb::head;

        std::optional<Request> parsed = internal::ToRequest(message, remote_address_);
        if (!parsed) {
            // The message itself was framed correctly, so the connection may be reused.
            WriteResponse(impl_.MakeError(ErrorCode::kBadRequest, "malformed request target"), false);
            return;
        }
        if (impl_.stopping()) {
            WriteResponse(impl_.MakeError(ErrorCode::kUnavailable, "server is shutting down"), true);
            return;
        }

        const bool upgrade = impl_.options_.websocket_upgrader && websocket::is_upgrade(message);
        Request request = std::move(*parsed);

        phase_ = Phase::kHandling;
        if (upgrade) {
            // Kept for the handshake (Beast answers it from the request's fields).
            upgrade_request_.emplace(std::move(message));
            asio::post(*impl_.workers_, [self = shared_from_this(), request = std::move(request)]() mutable {
                WebSocketDecision decision = self->impl_.CallUpgrader(request);
                asio::post(self->executor(), [self, decision = std::move(decision)]() mutable {
                    self->OnUpgradeDecision(std::move(decision));
                });
            });
            return;
        }
        const Lane lane = impl_.Classify(request);
        switch (lane) {
            case Lane::kInline: {
                request.lane = Lane::kInline;
                Response response = impl_.CallHandler(request);
                if (!response.run_on_worker) {
                    Answer(std::move(response));
                    return;
                }
                RunOnLane(std::move(request), response.run_on);
                return;
            }
            case Lane::kSlow:
            case Lane::kWorker:
            case Lane::kUrgent:
                RunOnLane(std::move(request), lane);
                return;
        }
    }

    // Admits the request to `lane`'s pool (kSlow, kWorker or kUrgent) and runs it there, or answers 503.
    void RunOnLane(Request request, Lane lane) {
        switch (lane) {
            case Lane::kSlow:
                if (!impl_.AdmitSlow()) {
                    WriteResponse(impl_.SlowLaneFull(), false);
                    return;
                }
                RunOnPool(*impl_.slow_, std::move(request), Lane::kSlow, true);
                return;
            case Lane::kUrgent:
                if (!impl_.AdmitUrgent()) {
                    WriteResponse(impl_.Busy("The server is busy."), false);
                    return;
                }
                RunOnPool(*impl_.urgent_, std::move(request), Lane::kUrgent, true);
                return;
            case Lane::kInline:
            case Lane::kWorker:
                if (!impl_.AdmitWorker()) {
                    WriteResponse(impl_.Busy("The server is busy."), false);
                    return;
                }
                RunOnPool(*impl_.workers_, std::move(request), Lane::kWorker, true);
                return;
        }
    }

    // Runs the Handler on `pool` and posts its Response back to be written. `admitted`: the lane's
    // admission (AdmitSlow or AdmitWorker) to give back when the Handler has returned.
    void RunOnPool(asio::thread_pool& pool, Request request, Lane lane, bool admitted) {
        request.lane = lane;
        asio::post(pool, [self = shared_from_this(), request = std::move(request), admitted, lane]() mutable {
            Response response = self->impl_.CallHandler(request);
            if (admitted) {
                if (lane == Lane::kSlow) {
                    self->impl_.ReleaseSlow();
                } else if (lane == Lane::kUrgent) {
                    self->impl_.ReleaseUrgent();
                } else {
                    self->impl_.ReleaseWorker();
                }
            }
            if (response.run_on_worker) response = self->impl_.MakeError(ErrorCode::kInternal, "internal error");
            asio::post(self->executor(),
                       [self, response = std::move(response)]() mutable { self->Answer(std::move(response)); });
        });
    }

    // On the session's context: writes the Handler's answer, or, for a pending one (Response::Later),
    // waits for it without holding any thread, the session's timer bounding the wait.
    void Answer(Response response) {
        if (!response.pending) {
            WriteResponse(std::move(response), false);
            return;
        }
        std::shared_ptr<internal::PendingResponse> pending = std::move(response.pending);
        if (closed()) {
            pending->Abandon();  // force-closed while the handler ran
            return;
        }
        pending_ = pending;
        ArmTimer(pending->timeout());
        // The delivery may run at once (the answer is already here) or on the thread that answers; it
        // only posts. The pending state holds this session until then or until Close() abandons it.
        pending->OnDelivery([self = shared_from_this()](Response answer) {
            asio::post(self->executor(), [self, answer = std::move(answer)]() mutable {
                if (self->closed()) return;
                self->pending_.reset();
                self->WriteResponse(std::move(answer), false);
            });
        });
    }

    // On the session's context, after the upgrader ran on a worker.
    void OnUpgradeDecision(WebSocketDecision decision);

    void ReplyErrorAndClose(ErrorCode code, std::string message) {
        WriteResponse(impl_.MakeError(code, std::move(message)), true);
    }

    void WriteResponse(Response response, bool close) {
        if (closed()) return;  // force-closed while the handler ran
        phase_ = Phase::kWriting;
        close = close || !keep_alive_ || impl_.stopping();

        // The head is formatted here, as Beast's serializer would (same order, same framing rules),
        // into one string: no per-field allocations, and head and body leave in one sendmsg.
        const int status = response.status >= 100 && response.status <= 599 ? response.status : 500;
        std::string& head = out_head_;
        head.clear();
        head.append(version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
        head.append(std::to_string(status)).append(" ");
        head.append(bhttp::obsolete_reason(static_cast<bhttp::status>(status))).append("\r\n");
        bool has_date = false;
        for (const Header& h : response.headers) {
            // The server owns framing; a header with a line break would split the response.
            if (EqualsIgnoreCase(h.name, "content-length") || EqualsIgnoreCase(h.name, "transfer-encoding") ||
                HasLineBreak(h.name) || HasLineBreak(h.value) || h.name.empty()) {
                continue;
            }
            if (EqualsIgnoreCase(h.name, "connection")) {
                if (ContainsTokenIgnoreCase(h.value, "close")) close = true;
                continue;
            }
            if (EqualsIgnoreCase(h.name, "date")) has_date = true;
            head.append(h.name).append(": ").append(h.value).append("\r\n");
        }
        if (!has_date) head.append("Date: ").append(HttpDate()).append("\r\n");
        out_body_.clear();
        const bool bodyless_status = status < 200 || status == 204 || status == 304;
        if (!bodyless_status) {
            // HEAD: announce the length the GET would have, send no body.
            head.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
            if (!is_head_) out_body_ = std::move(response.body);
        }
        // HTTP/1.1 is persistent unless it says close; HTTP/1.0 only when it says keep-alive.
        if (version_ != 10 && close) head.append("Connection: close\r\n");
        if (version_ == 10 && !close) head.append("Connection: keep-alive\r\n");
        head.append("\r\n");

        ArmTimer(impl_.options_.body_timeout);  // a client that never reads must not pin the connection
        const std::array<asio::const_buffer, 2> buffers{asio::buffer(out_head_), asio::buffer(out_body_)};
        asio::async_write(socket_, buffers, [self = shared_from_this(), close](error_code ec, size_t) {
            if (self->closed()) return;
            self->DisarmTimer();
            std::string().swap(self->out_body_);  // an idle connection keeps no body (a dashboard file may be large)
            if (ec) {
                self->Close();
            } else if (close) {
                self->LingeringClose();
            } else {
                self->BeginRequest();
            }
        });
    }

    void LingeringClose() {
        phase_ = Phase::kLingering;
        error_code ec;
        socket_.shutdown(tcp::socket::shutdown_send, ec);
        if (ec) {
            Close();
            return;
        }
        ArmTimer(kLingerTimeout);
        DiscardUntilEof();
    }

    void DiscardUntilEof() {
        socket_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](error_code ec, size_t) {
            if (self->closed()) return;
            if (ec) {
                self->Close();  // EOF: the client has read our response and closed
                return;
            }
            self->DiscardUntilEof();
        });
    }

    // One timer per Session, armed lazily: arming sets the deadline, and the asio wait is
    // restarted only when none is pending or the pending one would fire after the new deadline.
    // A wait that fires before the deadline (it moved later since) waits again; one that fires
    // while disarmed does nothing. So the arm/disarm of every request costs no timer operation
    // in the steady state of a keep-alive connection (write deadlines come before idle ones).
    // Each started wait gets a generation number so that a wait that completes after being
    // superseded does nothing.
    void ArmTimer(std::chrono::steady_clock::duration timeout) {
        armed_ = true;
        deadline_ = std::chrono::steady_clock::now() + timeout;
        if (!wait_pending_ || wait_expiry_ > deadline_) StartWait();
    }

    void DisarmTimer() { armed_ = false; }

    // Cancels the pending wait at once (it holds a reference to the Session).
    void StopTimer() {
        armed_ = false;
        wait_pending_ = false;
        ++timer_generation_;
        timer_.cancel();
    }

    void StartWait() {
        const uint64_t generation = ++timer_generation_;
        wait_pending_ = true;
        wait_expiry_ = deadline_;
        timer_.expires_at(deadline_);  // a pending wait completes with operation_aborted, superseded
        timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
            if (generation != self->timer_generation_) return;
            self->wait_pending_ = false;
            if (ec || self->closed() || !self->armed_) return;
            if (std::chrono::steady_clock::now() < self->deadline_) {
                self->StartWait();
                return;
            }
            self->armed_ = false;
            self->OnTimeout();
        });
    }

    void OnTimeout() {
        switch (phase_) {
            case Phase::kIdle:
            case Phase::kHeader:
            case Phase::kBody: {
                // Make the pending read fail; keep the send side open for a 408.
                timed_out_ = true;
                error_code ec;
                socket_.cancel(ec);
                socket_.shutdown(tcp::socket::shutdown_receive, ec);
                break;
            }
            case Phase::kHandling:
                // Armed only while a pending answer (Response::Later) is awaited: give the fallback.
                if (pending_) pending_->Answer(pending_->timeout_response());
                break;
            case Phase::kWriting:
            case Phase::kLingering:
            case Phase::kClosed:
                Close();
                break;
        }
    }

    Impl& impl_;
    const uint64_t id_;
    tcp::socket socket_;
    asio::steady_timer timer_;
    uint64_t timer_generation_ = 0;                      // of the latest started wait
    bool armed_ = false;                                 // a deadline applies
    bool wait_pending_ = false;                          // an asio wait is outstanding
    std::chrono::steady_clock::time_point deadline_;     // when armed_: OnTimeout from then on
    std::chrono::steady_clock::time_point wait_expiry_;  // when wait_pending_: when it fires
    std::string remote_address_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    std::string out_head_;  // the response being written: head, then body
    std::string out_body_;
    std::optional<bhttp::request<bhttp::string_body>> upgrade_request_;  // while the upgrader runs
    std::shared_ptr<internal::PendingResponse> pending_;                 // while a Response::Later is awaited
    std::array<char, 4096> discard_{};
    Phase phase_ = Phase::kIdle;
    bool first_request_ = true;
    bool timed_out_ = false;
    bool keep_alive_ = false;
    bool is_head_ = false;
    unsigned version_ = 11;
};

// ---------------------------------------------------------------------------
// WebSocket
//
// A WsSession owns the websocket::stream (on the context the Session had) and
// is referenced by its pending operations, like a Session. The application
// never holds it: it holds a WsHandle, which owns only a mutex, the queue of
// unsent messages and a weak_ptr to the WsSession. A handle may thus outlive
// the socket, the Server and its io_context; once the connection has ended its
// SendText returns false without touching anything of the server.
//
// Callbacks (on_open, on_message, on_close) run on the worker pool, never on an
// io thread, one at a time per connection and in order: the context starts the
// next read only after on_message returned, and posts on_close only when no
// callback is running. Not reading while on_message runs also pushes back on
// a client that sends faster than the application consumes (TCP flow control).
// The flip side: pings and the peer's close frame are noticed only after the
// callback returns, so a callback that blocks longer than twice the ping
// interval gets the connection timed out.
//
// Sending: SendText appends to the handle's queue and, when the context is not
// already draining it, posts one wake-up; the context writes one message at a
// time until the queue is empty. More than websocket_send_queue_limit unsent
// messages (the one being written not counted) fail the connection with 1008
// and drop the queue. A graceful close (Close(), Stop()) first writes what was
// queued, then sends the close frame; failures (1003, 1008, 1009, 1011) drop
// what was queued. Every close we begin is bounded by kWebSocketHandshakeTimeout,
// after which the TCP connection is closed regardless.
//
// Keep-alive: Beast's stream timeout with keep_alive_pings; idle_timeout is
// twice websocket_ping_interval, so a ping goes out after one interval without
// any data from the peer, and the connection is closed after the next one.
//
// Bytes the client sent after the upgrade request and before our 101 are
// discarded (RFC 6455 4.1: a client must wait for the 101 before sending frames).

// The application's handle. Thread-safe (mu_).
class Server::Impl::WsHandle final : public WebSocketConnection {
  public:
    enum class Event { kSend, kClose, kOverflow };

    WsHandle(std::weak_ptr<WsSession> session, size_t queue_limit)
        : session_(std::move(session)), queue_limit_(std::max<size_t>(1, queue_limit)) {}

    bool SendText(std::string message) override {
        std::lock_guard lock(mu_);
        if (!open_) return false;
        if (queue_.size() >= queue_limit_) {
            open_ = false;
            std::deque<std::string>().swap(queue_);  // give the memory back now
            Notify(Event::kOverflow);
            return false;
        }
        queue_.push_back(std::move(message));
        if (!pump_scheduled_) {
            pump_scheduled_ = true;
            Notify(Event::kSend);
        }
        return true;
    }

    void Close() override {
        std::lock_guard lock(mu_);
        if (!open_) return;
        open_ = false;
        Notify(Event::kClose);
    }

    void Close(uint16_t code, std::string reason) override {
        std::lock_guard lock(mu_);
        if (!open_) return;
        open_ = false;
        if (reason.size() > 123) reason.resize(123);  // a control frame's payload is at most 125 bytes
        close_code_ = code;
        close_reason_ = std::move(reason);
        Notify(Event::kClose);
    }

    // The code and reason Close(code, reason) asked for; 1000 and none after Close().
    std::pair<uint16_t, std::string> RequestedClose() const {
        std::lock_guard lock(mu_);
        return {close_code_, close_reason_};
    }

    bool is_open() const override {
        std::lock_guard lock(mu_);
        return open_;
    }

    // ---- for the WsSession, on its context ----

    // The next message to write; nullopt (and the next SendText posts a wake-up) when none is queued.
    std::optional<std::string> Pop() {
        std::lock_guard lock(mu_);
        if (queue_.empty()) {
            pump_scheduled_ = false;
            return std::nullopt;
        }
        std::string message = std::move(queue_.front());
        queue_.pop_front();
        return message;
    }

    // A close has begun: SendText fails from now on; `discard` drops what is queued.
    void StopAccepting(bool discard) {
        std::lock_guard lock(mu_);
        open_ = false;
        if (discard) std::deque<std::string>().swap(queue_);
    }

    // The connection has ended. After this the handle never touches the server again.
    void MarkEnded() {
        std::lock_guard lock(mu_);
        open_ = false;
        std::deque<std::string>().swap(queue_);
        session_.reset();
    }

  private:
    // REQUIRES: mu_ held and open_ was true when the caller took it. open_ turns false for good in
    // MarkEnded (or earlier) under mu_, and MarkEnded happens before on_close, which happens before
    // Server::Wait can return; so the io_context is alive here. Nothing of the server is left on
    // this thread afterwards: the strong reference travels inside the posted handler.
    void Notify(Event event);

    mutable std::mutex mu_;
    std::weak_ptr<WsSession> session_;  // guarded by mu_
    const size_t queue_limit_;
    bool open_ = true;               // guarded by mu_: SendText accepted
    uint16_t close_code_ = 1000;     // guarded by mu_: what the application's Close asked for
    std::string close_reason_;       // guarded by mu_
    bool pump_scheduled_ = false;    // guarded by mu_: the context will look at the queue again
    std::deque<std::string> queue_;  // guarded by mu_: unsent messages, oldest first
};

class Server::Impl::WsSession final : public Connection, public std::enable_shared_from_this<WsSession> {
  public:
    WsSession(Impl& impl, uint64_t id, tcp::socket socket, bhttp::request<bhttp::string_body> upgrade_request,
              WebSocketCallbacks callbacks)
        : impl_(impl),
          id_(id),
          ws_(std::move(socket)),
          close_timer_(ws_.get_executor()),
          upgrade_request_(std::move(upgrade_request)),
          callbacks_(std::make_shared<const WebSocketCallbacks>(std::move(callbacks))) {}

    asio::any_io_executor executor() override { return ws_.get_executor(); }

    // On its context: completes the handshake with the request the Session read.
    void Start() {
        auto timeout = websocket::stream_base::timeout::suggested(beast::role_type::server);
        timeout.handshake_timeout = kWebSocketHandshakeTimeout;  // also bounds the closing handshake
        const auto ping = impl_.options_.websocket_ping_interval;
        if (ping.count() > 0) {
            timeout.idle_timeout = 2 * ping;  // Beast pings at idle_timeout / 2 of silence
            timeout.keep_alive_pings = true;
        } else {
            timeout.idle_timeout = websocket::stream_base::none();
            timeout.keep_alive_pings = false;
        }
        ws_.set_option(timeout);
        internal::ConfigureWebSocket(ws_, impl_.options_);  // the decorator, message limit, no auto-fragment
        ws_.async_accept(*upgrade_request_, [self = shared_from_this()](error_code ec) { self->OnAccept(ec); });
    }

    void Drain() override {
        // During the handshake: OnAccept sees stopping() and closes right after on_open.
        if (opened_) RequestClose(websocket::close_code::going_away);
    }

    void ForceClose() override { Finalize(); }

    void OnHandleEvent(WsHandle::Event event) {
        switch (event) {
            case WsHandle::Event::kSend:
                PumpWrites();
                break;
            case WsHandle::Event::kClose: {
                auto [code, reason] = handle_->RequestedClose();
                RequestClose(static_cast<websocket::close_code>(code), std::move(reason));
                break;
            }
            case WsHandle::Event::kOverflow:
                FailClose(websocket::close_code::policy_error, "send queue overflow: consumer too slow");
                break;
        }
    }

  private:
    void OnAccept(error_code ec) {
        upgrade_request_.reset();
        if (ended_) return;
        if (ec) {
            // A malformed handshake (Beast has answered it with 400 or 426) or a lost client: the
            // application never saw the connection, so neither on_open nor on_close.
            Finalize();
            return;
        }
        opened_ = true;
        handle_ = std::make_shared<WsHandle>(weak_from_this(), impl_.options_.websocket_send_queue_limit);
        callback_running_ = true;
        asio::post(*impl_.workers_, [self = shared_from_this(), handle = handle_] {
            bool ok = true;
            try {
                if (self->callbacks_->on_open) self->callbacks_->on_open(handle);
            } catch (...) {
                ok = false;
            }
            asio::post(self->executor(), [self, ok] { self->OnCallbackDone(ok); });
        });
        if (impl_.stopping()) RequestClose(websocket::close_code::going_away);
    }

    // on_open or on_message has returned (ok: without throwing).
    void OnCallbackDone(bool ok) {
        callback_running_ = false;
        if (ended_) {
            PostOnClose();  // deferred by Finalize until now
            return;
        }
        if (!ok) {
            FailClose(websocket::close_code::internal_error, "internal error");
            return;
        }
        StartRead();
    }

    void StartRead() {
        // Once our close has begun without a read pending, Beast's close operation reads the rest.
        if (ended_ || close_started_) return;
        reading_ = true;
        ws_.async_read(read_buffer_, [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
    }

    void OnRead(error_code ec) {
        reading_ = false;
        if (ended_) return;
        if (ec) {
            // websocket::error::closed (the closing handshake is done), message_too_big (Beast has
            // sent 1009), beast::error::timeout (no pong), or the TCP connection was lost.
            Finalize();
            return;
        }
        if (close_started_) {
            read_buffer_.clear();  // late message after our close frame; the close operation reads on
            return;
        }
        if (!ws_.got_text()) {
            read_buffer_.clear();
            FailClose(websocket::close_code::unknown_data, "binary messages are not accepted");
            return;
        }
        std::string message = beast::buffers_to_string(read_buffer_.data());
        read_buffer_.clear();
        if (read_buffer_.capacity() > kWebSocketKeptReadBuffer) read_buffer_.shrink_to_fit();
        callback_running_ = true;
        asio::post(*impl_.workers_, [self = shared_from_this(), message = std::move(message)]() mutable {
            bool ok = true;
            try {
                if (self->callbacks_->on_message) self->callbacks_->on_message(std::move(message));
            } catch (...) {
                ok = false;
            }
            asio::post(self->executor(), [self, ok] { self->OnCallbackDone(ok); });
        });
    }

    void PumpWrites() {
        if (ended_ || close_started_ || writing_) return;
        std::optional<std::string> next = handle_->Pop();
        if (!next) {
            if (pending_close_) StartClose(*pending_close_, pending_close_reason_);  // the queue is flushed
            return;
        }
        writing_ = true;
        current_ = std::move(*next);
        ws_.text(true);
        ws_.async_write(asio::buffer(current_),
                        [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
    }

    void OnWrite(error_code ec) {
        writing_ = false;
        current_ = std::string();
        if (ended_) return;
        if (ec) {
            Finalize();
            return;
        }
        PumpWrites();
    }

    // Graceful: what is queued is written first, then the close frame.
    void RequestClose(websocket::close_code code, std::string reason = {}) {
        if (ended_ || close_started_ || pending_close_) return;
        pending_close_ = code;
        pending_close_reason_ = std::move(reason);
        handle_->StopAccepting(/*discard=*/false);
        ArmCloseDeadline();
        PumpWrites();
    }

    // Failure: what is queued is dropped; the close frame follows the message being written, if any.
    void FailClose(websocket::close_code code, std::string_view reason) {
        if (ended_) return;
        handle_->StopAccepting(/*discard=*/true);
        StartClose(code, reason);
    }

    void StartClose(websocket::close_code code, std::string_view reason = {}) {
        if (ended_ || close_started_) return;
        close_started_ = true;
        pending_close_.reset();
        ArmCloseDeadline();
        if (code == websocket::close_code::normal && impl_.stopping()) code = websocket::close_code::going_away;
        if (!ws_.is_open()) {
            // The peer's close frame has arrived and the pending read is answering it, or the stream
            // has failed (timed out) and the pending read will say so. Without a read, nobody will.
            if (!reading_) Finalize();
            return;
        }
        ws_.async_close(websocket::close_reason(code, reason),
                        [self = shared_from_this()](error_code) { self->Finalize(); });
    }

    void ArmCloseDeadline() {
        if (close_deadline_armed_) return;
        close_deadline_armed_ = true;
        close_timer_.expires_after(kWebSocketHandshakeTimeout);
        close_timer_.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec) self->Finalize();
        });
    }

    // The connection has ended, for whatever reason. Idempotent. Operations still pending complete
    // with an error and find ended_ set.
    void Finalize() {
        if (ended_) return;
        ended_ = true;
        close_timer_.cancel();
        error_code ignored;
        beast::get_lowest_layer(ws_).close(ignored);
        if (handle_) handle_->MarkEnded();
        if (!opened_) {
            impl_.OnSessionClosed(id_);
        } else if (!callback_running_) {
            PostOnClose();
        }  // else OnCallbackDone posts it
    }

    // on_close, then the connection leaves the registry: Wait() returns only after every on_close.
    void PostOnClose() {
        asio::post(*impl_.workers_, [callbacks = callbacks_, impl = &impl_, id = id_] {
            try {
                if (callbacks->on_close) callbacks->on_close();
            } catch (...) {
            }
            impl->OnSessionClosed(id);
        });
    }

    Impl& impl_;
    const uint64_t id_;
    websocket::stream<tcp::socket> ws_;
    asio::steady_timer close_timer_;                                     // bounds a close we began
    std::optional<bhttp::request<bhttp::string_body>> upgrade_request_;  // until the handshake is done
    const std::shared_ptr<const WebSocketCallbacks> callbacks_;          // shared with callback tasks
    std::shared_ptr<WsHandle> handle_;                                   // set when the handshake is done
    beast::flat_buffer read_buffer_;
    std::string current_;                                 // the message being written
    std::optional<websocket::close_code> pending_close_;  // graceful close waiting for the queue to drain
    std::string pending_close_reason_;                    // sent with pending_close_
    bool opened_ = false;                                 // handshake done, on_open posted
    bool callback_running_ = false;                       // on_open or on_message is running on a worker
    bool reading_ = false;
    bool writing_ = false;
    bool close_started_ = false;  // our close frame is (about to be) sent
    bool close_deadline_armed_ = false;
    bool ended_ = false;
};

void Server::Impl::WsHandle::Notify(Event event) {
    std::shared_ptr<WsSession> session = session_.lock();
    if (!session) return;
    asio::any_io_executor executor = session->executor();
    asio::post(executor, [session = std::move(session), event] { session->OnHandleEvent(event); });
}

void Server::Impl::Session::OnUpgradeDecision(WebSocketDecision decision) {
    if (closed()) {  // force-closed while the upgrader ran: the application never sees this connection
        upgrade_request_.reset();
        return;
    }
    if (decision.refusal) {
        upgrade_request_.reset();
        Response refusal = std::move(*decision.refusal);
        if (refusal.status < 200) refusal = impl_.MakeError(ErrorCode::kInternal, "internal error");
        WriteResponse(std::move(refusal), false);
        return;
    }
    if (impl_.stopping()) {
        upgrade_request_.reset();
        WriteResponse(impl_.MakeError(ErrorCode::kUnavailable, "server is shutting down"), true);
        return;
    }
    auto ws = std::make_shared<WsSession>(impl_, id_, std::move(socket_), std::move(*upgrade_request_),
                                          std::move(decision.callbacks));
    upgrade_request_.reset();
    // This Session is done without closing anything: the socket and the registry slot move on.
    phase_ = Phase::kClosed;
    StopTimer();
    impl_.ReplaceSession(id_, ws);
    ws->Start();
}

Status Server::Impl::Start() {
    std::lock_guard start_lock(start_mu_);  // two concurrent Start() calls: the second sees started_
    {
        std::lock_guard lock(mu_);
        if (started_) return Status::Error(ErrorCode::kInternal, "server already started");
        if (stopping_) return Status::Error(ErrorCode::kUnavailable, "server was stopped before it started");
    }
    if (!options_.error_response) {
        return Status::Error(ErrorCode::kInternal, "ServerOptions::error_response is required");
    }
    if (!handler_) return Status::Error(ErrorCode::kInternal, "a Handler is required");

    const std::string where = options_.address + ":" + std::to_string(options_.port);
    error_code ec;
    tcp::endpoint endpoint;
    asio::ip::address address = asio::ip::make_address(options_.address, ec);
    if (!ec) {
        endpoint = tcp::endpoint(address, options_.port);
    } else {
        // Not a literal address: resolve a host name such as "localhost".
        tcp::resolver resolver(*contexts_.front());
        auto results = resolver.resolve(options_.address, std::to_string(options_.port), ec);
        if (ec || results.empty()) {
            return Status::Error(ErrorCode::kUnavailable, "cannot resolve " + where + ": " + ec.message());
        }
        endpoint = results.begin()->endpoint();
    }

    auto fail = [&](std::string_view what) {
        error_code ignored;
        acceptor_.close(ignored);
        return Status::Error(ErrorCode::kUnavailable, std::string(what) + " " + where + ": " + ec.message());
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return fail("open socket for");
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return fail("set SO_REUSEADDR on");
    acceptor_.bind(endpoint, ec);
    if (ec) return fail("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen on");
    port_ = acceptor_.local_endpoint(ec).port();
    if (ec) return fail("query the bound port of");

    // Everything Stop()/Wait() rely on is in place before started_ becomes true,
    // under the same lock, so a concurrent Stop() or Wait() sees all or nothing.
    // (The io threads only take mu_ later, in OnAccept.)
    std::lock_guard lock(mu_);
    if (stopping_) {  // Stop() raced with Start()
        error_code ignored;
        acceptor_.close(ignored);
        return Status::Error(ErrorCode::kUnavailable, "server was stopped while starting");
    }
    workers_.emplace(static_cast<size_t>(std::max(1, options_.worker_threads)));
    slow_.emplace(static_cast<size_t>(std::max(1, options_.slow_threads)));
    urgent_.emplace(static_cast<size_t>(std::max(1, options_.urgent_threads)));
    asio::post(acceptor_.get_executor(), [this] { DoAccept(); });
    io_threads_.reserve(contexts_.size());
    for (auto& context : contexts_) {
        work_.push_back(asio::make_work_guard(*context));
        io_threads_.emplace_back([context = context.get()] {
            // An exception escaping a completion handler must not end the process;
            // run() may be resumed after it.
            for (;;) {
                try {
                    context->run();
                    return;
                } catch (...) {
                }
            }
        });
    }
    started_ = true;
    return Status::Ok();
}

void Server::Impl::DoAccept() {
    // Round robin over the io contexts; a connection stays on the one it got.
    asio::io_context& context = *contexts_[next_context_];
    next_context_ = (next_context_ + 1) % contexts_.size();
    acceptor_.async_accept(context.get_executor(),
                           [this](error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void Server::Impl::OnAccept(error_code ec, tcp::socket socket) {
    if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open() || stopping()) return;
        // Out of file descriptors and the like: back off instead of spinning.
        accept_retry_timer_.expires_after(std::chrono::milliseconds(50));
        accept_retry_timer_.async_wait([this](error_code wait_ec) {
            if (!wait_ec && acceptor_.is_open() && !stopping()) DoAccept();
        });
        return;
    }
    std::shared_ptr<Session> session;
    {
        error_code peer_ec;
        const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
        const std::string address = peer_ec ? std::string() : AddressText(peer);
        std::unique_lock lock(mu_);
        if (stopping_) {
            error_code ignored;
            socket.close(ignored);
            return;
        }
        if (!AdmitConnection(address)) {
            lock.unlock();
            RefuseConnection(std::move(socket));
            DoAccept();
            return;
        }
        const uint64_t id = next_session_id_++;
        session = std::make_shared<Session>(*this, id, std::move(socket));
        sessions_.emplace(id, session);
        session_address_.emplace(id, address);
    }
    asio::dispatch(session->executor(), [session] { session->Start(); });
    DoAccept();
}

bool Server::Impl::AdmitConnection(const std::string& address) {
    if (sessions_.size() >= options_.max_connections) return false;
    bool exempt = address.empty();
    if (!exempt && !options_.connection_limit_exempt.empty()) {
        if (auto parsed = ParseIpAddress(address)) {
            exempt = std::any_of(options_.connection_limit_exempt.begin(), options_.connection_limit_exempt.end(),
                                 [&](const IpRange& r) { return r.Contains(*parsed); });
        }
    }
    if (exempt) return true;
    size_t& open = per_address_[address];
    if (open >= options_.max_connections_per_address) {
        if (open == 0) per_address_.erase(address);
        return false;
    }
    ++open;
    return true;
}

void Server::Impl::RefuseConnection(tcp::socket socket) noexcept {
    try {
        const auto seconds = std::max<std::chrono::seconds::rep>(1, options_.busy_retry_after.count());
        Response response = MakeError(ErrorCode::kUnavailable, "Too many connections. Please try again in " +
                                                                   std::to_string(seconds) + " seconds.");
        std::string text =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + std::to_string(seconds) + "\r\nConnection: close\r\n";
        for (const Header& h : response.headers) {
            if (EqualsIgnoreCase(h.name, "content-type")) text += "Content-Type: " + h.value + "\r\n";
        }
        text += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n" + response.body;
        // A fresh socket's send buffer is empty: this small write does not block in practice; a peer that
        // never reads cannot hold the acceptor for long either (SO_SNDTIMEO-free, but one buffer's worth).
        error_code ec;
        asio::write(socket, asio::buffer(text), ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
    } catch (...) {
    }
}

void Server::Impl::OnSessionClosed(uint64_t id) {
    std::lock_guard lock(mu_);
    sessions_.erase(id);
    if (auto it = session_address_.find(id); it != session_address_.end()) {
        if (auto count = per_address_.find(it->second); count != per_address_.end() && --count->second == 0) {
            per_address_.erase(count);
        }
        session_address_.erase(it);
    }
    if (stopping_ && sessions_.empty()) drained_cv_.notify_all();
}

void Server::Impl::ReplaceSession(uint64_t id, std::weak_ptr<Connection> connection) {
    std::lock_guard lock(mu_);
    sessions_[id] = std::move(connection);
}

std::vector<std::shared_ptr<Server::Impl::Connection>> Server::Impl::LiveSessions() {
    std::vector<std::shared_ptr<Connection>> live;
    live.reserve(sessions_.size());
    for (auto& [id, weak] : sessions_) {
        if (auto session = weak.lock()) live.push_back(std::move(session));
    }
    return live;
}

void Server::Impl::Stop() {
    std::vector<std::shared_ptr<Connection>> live;
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
        stopping_flag_.store(true, std::memory_order_release);
        drained_cv_.notify_all();  // wakes Wait() when nothing was started or nothing is open
        if (!started_) return;
        live = LiveSessions();
    }
    asio::post(acceptor_.get_executor(), [this] {
        error_code ignored;
        acceptor_.close(ignored);
        accept_retry_timer_.cancel();
        grace_timer_.expires_after(options_.shutdown_grace);
        grace_timer_.async_wait([this](error_code ec) {
            if (!ec) ForceCloseAll();
        });
    });
    for (auto& session : live) {
        asio::post(session->executor(), [session] { session->Drain(); });
    }
}

void Server::Impl::ForceCloseAll() {
    std::vector<std::shared_ptr<Connection>> live;
    {
        std::lock_guard lock(mu_);
        live = LiveSessions();
    }
    for (auto& session : live) {
        asio::post(session->executor(), [session] { session->ForceClose(); });
    }
}

// REQUIRES: not called from a Handler, a WebSocket callback or an io thread (it joins those threads).
void Server::Impl::Wait() {
    {
        std::unique_lock lock(mu_);
        // Never started (or Start failed): there is nothing to wait for.
        drained_cv_.wait(lock, [this] { return !started_ || (stopping_ && sessions_.empty()); });
        if (!started_) return;
    }
    std::lock_guard join_lock(join_mu_);
    if (joined_) return;
    // Handlers still running after a forced close finish here; their responses
    // find their Session closed and are dropped.
    workers_->join();
    slow_->join();
    urgent_->join();
    work_.clear();
    // Everything that matters has completed; what may still be queued (a
    // cancelled timer's completion) is destroyed with the io_contexts.
    for (auto& context : contexts_) context->stop();
    for (std::thread& t : io_threads_) t.join();
    joined_ = true;
}

Lane Server::Impl::Classify(const Request& request) noexcept {
    if (!options_.classify) return Lane::kWorker;
    try {
        const Lane lane = options_.classify(request);
        if (lane == Lane::kInline || lane == Lane::kSlow || lane == Lane::kUrgent) return lane;
    } catch (...) {
    }
    return Lane::kWorker;
}

bool Server::Impl::AdmitSlow() noexcept {
    const size_t capacity = static_cast<size_t>(std::max(1, options_.slow_threads)) + options_.slow_queue_limit;
    if (slow_admitted_.fetch_add(1, std::memory_order_acq_rel) < capacity) return true;
    slow_admitted_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
}

bool Server::Impl::AdmitWorker() noexcept {
    const size_t capacity = std::max<size_t>(1, options_.worker_queue_limit);
    if (worker_admitted_.fetch_add(1, std::memory_order_acq_rel) < capacity) return true;
    worker_admitted_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
}

bool Server::Impl::AdmitUrgent() noexcept {
    const size_t capacity = std::max<size_t>(1, options_.urgent_queue_limit);
    if (urgent_admitted_.fetch_add(1, std::memory_order_acq_rel) < capacity) return true;
    urgent_admitted_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
}

Response Server::Impl::Busy(const std::string& what) noexcept {
    const auto seconds = std::max<std::chrono::seconds::rep>(1, options_.busy_retry_after.count());
    Response response =
        MakeError(ErrorCode::kUnavailable, what + " Please try again in " + std::to_string(seconds) + " seconds.");
    response.set_header("Retry-After", std::to_string(seconds));
    return response;
}

Response Server::Impl::SlowLaneFull() noexcept {
    const auto seconds = std::max<std::chrono::seconds::rep>(1, options_.slow_retry_after.count());
    Response response = MakeError(ErrorCode::kUnavailable,
                                  "The server is busy. Please try again in " + std::to_string(seconds) + " seconds.");
    response.set_header("Retry-After", std::to_string(seconds));
    return response;
}

Response Server::Impl::CallHandler(const Request& request) noexcept {
    try {
        return handler_(request);
    } catch (...) {
        // Deliberately no detail: the message may reach the client.
        return MakeError(ErrorCode::kInternal, "internal error");
    }
}

WebSocketDecision Server::Impl::CallUpgrader(const Request& request) noexcept {
    try {
        return options_.websocket_upgrader(request);
    } catch (...) {
        WebSocketDecision decision;
        decision.refusal = MakeError(ErrorCode::kInternal, "internal error");
        return decision;
    }
}

Response Server::Impl::MakeError(ErrorCode code, std::string message) noexcept {
    try {
        return options_.error_response(code, std::move(message));
    } catch (...) {
        Response response;
        response.status = FallbackStatus(code);
        response.headers.push_back(Header{"Content-Type", "text/plain"});
        response.body = std::string(ErrorCodeName(code));
        return response;
    }
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() = default;  // ~Impl stops and waits

Status Server::Start() { return impl_->Start(); }
uint16_t Server::port() const { return impl_->port(); }
void Server::Stop() { impl_->Stop(); }
void Server::Wait() { impl_->Wait(); }
size_t Server::open_connections() const { return impl_->open_connections(); }

}  // namespace vg::http
