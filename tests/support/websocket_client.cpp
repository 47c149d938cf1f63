// Synchronous WebSocket test client over Beast.
//
// Each blocking call runs the private io_context until its own operation has
// completed or its deadline passed. A read is different: when Receive times out
// the read simply stays pending (cancelling it would fail the websocket stream)
// and whatever it brings lands in the inbox, during this or a later call.
// A write or handshake that misses its deadline closes the connection.

#include "vg/testing/websocket_client.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <cctype>
#include <deque>
#include <stdexcept>
#include <utility>

namespace vg::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// How long an abandoned operation may take to finish once its socket is closed.
constexpr std::chrono::seconds kAbandonGrace{5};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

}  // namespace

std::string WebSocketHandshake::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (EqualsIgnoreCase(key, name)) return value;
    }
    return {};
}

class WebSocketClient::Impl {
  public:
    explicit Impl(std::chrono::milliseconds timeout) : timeout_(timeout) {}

    ~Impl() {
        // Let a pending read finish (aborted) while the state its handler refers to still exists.
        CloseSocket();
        if (read_pending_) RunUntil(Clock::now() + kAbandonGrace, [&] { return !read_pending_; });
    }

    WebSocketHandshake Connect(uint16_t port, std::string_view target, const Headers& headers,
                               const std::string& host) {
        if (ws_) throw HttpClientError("WebSocketClient::Connect called twice");
        ws_.emplace(ioc_);
        const tcp::endpoint endpoint = Resolve(host, port);
        const std::string where = "ws://" + host + ":" + std::to_string(port) + std::string(target);
        const auto deadline = Clock::now() + timeout_;

        error_code ec;
        bool done = false;
        socket().async_connect(endpoint, [&](error_code e) {
            ec = e;
            done = true;
        });
        if (!RunUntil(deadline, [&] { return done; })) {
            Abandon([&] { return done; });
            throw HttpClientError("timed out connecting to " + where);
        }
        if (ec) {
            CloseSocket();
            throw HttpClientError("cannot connect to " + where + ": " + ec.message());
        }
        socket().set_option(tcp::no_delay(true), ec);

        ws_->set_option(websocket::stream_base::decorator([headers](websocket::request_type& request) {
            request.set(beast::http::field::user_agent, "vg-testing");
            for (const auto& [name, value] : headers) request.set(name, value);
        }));
        websocket::response_type response;
        done = false;
        ws_->async_handshake(response, host + ":" + std::to_string(port), target, [&](error_code e) {
            ec = e;
            done = true;
        });
        if (!RunUntil(deadline, [&] { return done; })) {
            Abandon([&] { return done; });
            throw HttpClientError("timed out waiting for the handshake with " + where);
        }

        WebSocketHandshake result;
        result.status = static_cast<int>(response.result_int());
        for (const auto& field : response) {
            result.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }
        result.body = std::move(response.body());
        if (ec == websocket::error::upgrade_declined) {
            CloseSocket();  // refused: an ordinary HTTP answer, reported as such
            return result;
        }
        if (ec) {
            CloseSocket();
            throw HttpClientError("WebSocket handshake with " + where + " failed: " + ec.message() +
                                  (result.status != 0 ? " (status " + std::to_string(result.status) + ")" : ""));
        }
        open_ = true;
        return result;
    }

    bool Send(std::string_view data, bool text) {
        if (!open_ || closed_) return false;
        ws_->text(text);
        error_code ec;
        bool done = false;
        ws_->async_write(asio::buffer(data.data(), data.size()), [&](error_code e, size_t) {
            ec = e;
            done = true;
        });
        if (!RunUntil(Clock::now() + timeout_, [&] { return done; })) {
            Abandon([&] { return done; });
            return false;
        }
        return !ec;
    }

    std::optional<std::string> Receive(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (inbox_.empty() && !closed_ && open_) {
            StartRead();
            if (!RunUntil(deadline, [&] { return !inbox_.empty() || closed_; })) break;
        }
        if (inbox_.empty()) return std::nullopt;
        std::string message = std::move(inbox_.front());
        inbox_.pop_front();
        return message;
    }

    bool WaitClosed(std::chrono::milliseconds within) {
        const auto deadline = Clock::now() + within;
        while (!closed_ && open_) {
            StartRead();
            if (!RunUntil(deadline, [&] { return closed_ || !read_pending_; })) break;
        }
        return closed_;
    }

    void Close(int code) {
        if (!open_ || closed_) return;
        bool done = false;
        ws_->async_close(websocket::close_reason(static_cast<std::uint16_t>(code)), [&](error_code) { done = true; });
        // A read left pending by Receive receives the server's answer; otherwise the close operation reads it.
        if (!RunUntil(Clock::now() + timeout_, [&] { return done && !read_pending_; })) {
            Abandon([&] { return done && !read_pending_; });
        }
        if (!closed_) Ended(error_code(websocket::error::closed));
        CloseSocket();
    }

    void Abort() {
        if (!ws_) return;
        if (!closed_) {
            closed_ = true;
            close_code_ = kAbnormal;
        }
        CloseSocket();
        Abandon([&] { return !read_pending_; });
    }

    std::chrono::milliseconds timeout_;
    bool closed_ = false;
    int close_code_ = 0;
    std::string close_reason_;

  private:
    tcp::socket& socket() { return beast::get_lowest_layer(*ws_); }

    tcp::endpoint Resolve(const std::string& host, uint16_t port) {
        error_code ec;
        asio::ip::address address = asio::ip::make_address(host, ec);
        if (!ec) return tcp::endpoint(address, port);
        tcp::resolver resolver(ioc_);
        auto results = resolver.resolve(host, std::to_string(port), ec);
        if (ec || results.empty()) throw HttpClientError("cannot resolve " + host + ": " + ec.message());
        return results.begin()->endpoint();
    }

    // Runs handlers until `done()` or the deadline. False on the deadline (or when nothing is left
    // to run and `done()` still does not hold).
    template <class Done>
    bool RunUntil(Clock::time_point deadline, Done done) {
        while (!done()) {
            if (ioc_.stopped()) ioc_.restart();
            if (ioc_.run_one_until(deadline) == 0) {
                if (done()) return true;
                if (Clock::now() >= deadline || ioc_.stopped()) return false;
            }
        }
        return true;
    }

    // An operation missed its deadline: close the socket so that everything pending completes
    // (with an error) while the state its handlers refer to still exists.
    template <class Done>
    void Abandon(Done done) {
        CloseSocket();
        RunUntil(Clock::now() + kAbandonGrace, done);
        if (!closed_) {
            closed_ = true;
            close_code_ = kAbnormal;
        }
    }

    void CloseSocket() {
        if (!ws_) return;
        error_code ignored;
        socket().close(ignored);
    }

    void StartRead() {
        if (read_pending_ || closed_ || !open_) return;
        read_pending_ = true;
        ws_->async_read(buffer_, [this](error_code ec, size_t) {
            read_pending_ = false;
            if (ec) {
                Ended(ec);
                return;
            }
            inbox_.push_back(beast::buffers_to_string(buffer_.data()));
            buffer_.clear();
        });
    }

    void Ended(error_code ec) {
        if (closed_) return;
        closed_ = true;
        if (ec == websocket::error::closed) {
            const websocket::close_reason& reason = ws_->reason();
            close_code_ = reason.code == websocket::close_code::none ? kNoStatus : static_cast<int>(reason.code);
            close_reason_ = std::string(reason.reason.data(), reason.reason.size());
        } else {
            close_code_ = kAbnormal;
        }
    }

    asio::io_context ioc_;  // declared first: destroyed last, after the stream that uses it
    std::optional<websocket::stream<tcp::socket>> ws_;
    beast::flat_buffer buffer_;
    std::deque<std::string> inbox_;  // received, not yet returned
    bool open_ = false;              // the handshake succeeded
    bool read_pending_ = false;
};

WebSocketClient::WebSocketClient(std::chrono::milliseconds timeout) : impl_(std::make_unique<Impl>(timeout)) {}
WebSocketClient::~WebSocketClient() = default;
WebSocketClient::WebSocketClient(WebSocketClient&&) noexcept = default;
WebSocketClient& WebSocketClient::operator=(WebSocketClient&&) noexcept = default;

WebSocketHandshake WebSocketClient::Connect(uint16_t port, std::string_view target, const Headers& headers,
                                            std::string host) {
    return impl_->Connect(port, target, headers, host);
}

bool WebSocketClient::Send(std::string_view text) { return impl_->Send(text, true); }
bool WebSocketClient::SendBinary(std::string_view data) { return impl_->Send(data, false); }

std::optional<std::string> WebSocketClient::Receive(std::chrono::milliseconds timeout) {
    return impl_->Receive(timeout);
}
std::optional<std::string> WebSocketClient::Receive() { return impl_->Receive(impl_->timeout_); }

std::optional<boost::json::value> WebSocketClient::ReceiveJson(std::chrono::milliseconds timeout) {
    std::optional<std::string> text = impl_->Receive(timeout);
    if (!text) return std::nullopt;
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(*text, ec);
    if (ec) throw std::runtime_error("WebSocket message is not JSON (" + ec.message() + "): " + text->substr(0, 500));
    return value;
}
std::optional<boost::json::value> WebSocketClient::ReceiveJson() { return ReceiveJson(impl_->timeout_); }

bool WebSocketClient::WaitClosed(std::chrono::milliseconds within) { return impl_->WaitClosed(within); }
void WebSocketClient::Close(int code) { impl_->Close(code); }
void WebSocketClient::Abort() { impl_->Abort(); }
bool WebSocketClient::closed() const { return impl_->closed_; }
int WebSocketClient::close_code() const { return impl_->close_code_; }
std::string WebSocketClient::close_reason() const { return impl_->close_reason_; }
void WebSocketClient::set_timeout(std::chrono::milliseconds timeout) { impl_->timeout_ = timeout; }

}  // namespace vg::testing
