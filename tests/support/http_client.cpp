// Synchronous test clients over Beast.
//
// Each blocking call runs one asynchronous operation on a private io_context
// with a deadline (run_until). When the deadline passes the operation is
// cancelled; a raw single read leaves the socket usable, while an HttpClient
// request in an unknown state closes its connection.

#include "vg/testing/http_client.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <optional>

namespace vg::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool HasHeader(const Headers& headers, std::string_view name) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return EqualsIgnoreCase(h.first, name); });
}

// Runs the operation that `start` initiates until it completes or `deadline`
// passes. On the deadline the operation is cancelled and asio::error::timed_out
// returned. A composed operation whose next step was already queued may miss
// the cancel; it gets a short grace, then the socket is closed.
template <class Start>
error_code RunWithDeadline(asio::io_context& ioc, tcp::socket& socket, Clock::time_point deadline, Start&& start) {
    bool done = false;
    error_code result;
    start([&done, &result](error_code ec, auto&&...) {
        result = ec;
        done = true;
    });
    ioc.restart();
    ioc.run_until(deadline);
    if (done) return result;
    error_code ignored;
    socket.cancel(ignored);
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(200));
    if (!done) {
        socket.close(ignored);
        ioc.restart();
        ioc.run();
    }
    return asio::error::timed_out;
}

tcp::endpoint ResolveEndpoint(asio::io_context& ioc, const std::string& host, uint16_t port) {
    error_code ec;
    asio::ip::address address = asio::ip::make_address(host, ec);
    if (!ec) return tcp::endpoint(address, port);
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) throw HttpClientError("cannot resolve " + host + ": " + ec.message());
    return results.begin()->endpoint();
}

void Connect(asio::io_context& ioc, tcp::socket& socket, const tcp::endpoint& endpoint,
             std::chrono::milliseconds timeout) {
    error_code ec = RunWithDeadline(ioc, socket, Clock::now() + timeout,
                                    [&](auto handler) { socket.async_connect(endpoint, std::move(handler)); });
    if (ec) {
        error_code ignored;
        socket.close(ignored);
        throw HttpClientError("cannot connect to " + endpoint.address().to_string() + ":" +
                              std::to_string(endpoint.port()) + ": " + ec.message());
    }
    socket.set_option(tcp::no_delay(true), ec);
}

struct CompleteResponse {
    size_t length = 0;  // 0: not complete yet
    bool keep_alive = true;
};

// Whether `data` starts with one complete HTTP response, and how long it is.
// `eof`: no more data will come (a body delimited by the close is then complete).
CompleteResponse FindCompleteResponse(std::string_view data, bool head, bool eof) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.skip(head);
    parser.body_limit(boost::none);
    parser.header_limit(std::numeric_limits<std::uint32_t>::max());
    size_t used = 0;
    error_code ec;
    while (used < data.size() && !parser.is_done()) {
        size_t n = parser.put(asio::buffer(data.data() + used, data.size() - used), ec);
        used += n;
        if (ec == bhttp::error::need_more) {
            ec = {};
            break;
        }
        if (ec || n == 0) break;
    }
    if (!parser.is_done() && eof && !ec && parser.got_some()) {
        parser.put_eof(ec);
        if (!ec && parser.is_done()) used = data.size();
    }
    if (!parser.is_done()) return {};
    return {used, parser.get().keep_alive()};
}

std::optional<std::time_t> ParseHttpDate(std::string_view text) {
    std::string s(Trim(text));
    for (const char* format : {"%a, %d %b %Y %H:%M:%S", "%a, %d-%b-%Y %H:%M:%S", "%a, %d-%b-%y %H:%M:%S"}) {
        std::tm tm{};
        if (::strptime(s.c_str(), format, &tm) != nullptr) return ::timegm(&tm);
    }
    return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------
// HttpResult

std::string HttpResult::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (EqualsIgnoreCase(key, name)) return value;
    }
    return {};
}

std::vector<std::string> HttpResult::headers_named(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [key, value] : headers) {
        if (EqualsIgnoreCase(key, name)) out.push_back(value);
    }
    return out;
}

boost::json::value HttpResult::json() const {
    error_code ec;
    boost::json::value value = boost::json::parse(body, ec);
    if (ec) {
        throw std::runtime_error("response body (status " + std::to_string(status) + ") is not JSON (" + ec.message() +
                                 "): " + body.substr(0, 500));
    }
    return value;
}

// ---------------------------------------------------------------------------
// RawConnection

class RawConnection::Impl {
  public:
    Impl(uint16_t port, const std::string& host, std::chrono::milliseconds timeout) : socket_(ioc_), timeout_(timeout) {
        Connect(ioc_, socket_, ResolveEndpoint(ioc_, host, port), timeout_);
    }

    bool Write(std::string_view bytes) {
        if (bytes.substr(0, 5) == "HEAD ") {
            head_ = true;
        } else if (!bytes.empty()) {
            head_ = false;
        }
        error_code ec = RunWithDeadline(ioc_, socket_, Clock::now() + timeout_, [&](auto handler) {
            asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()), std::move(handler));
        });
        return !ec;
    }

    RawResponse ReadResponse() {
        const auto deadline = Clock::now() + timeout_;
        for (;;) {
            CompleteResponse complete = FindCompleteResponse(pending_, head_, eof_);
            if (complete.length > 0) {
                RawResponse response;
                response.text = pending_.substr(0, complete.length);
                pending_.erase(0, complete.length);
                response.closed = eof_ && pending_.empty();
                return response;
            }
            if (eof_) return RawResponse{std::exchange(pending_, {}), true, false};
            if (!ReadSome(deadline)) return RawResponse{std::exchange(pending_, {}), eof_, !eof_};
        }
    }

    RawResponse ReadUntilClosed() {
        const auto deadline = Clock::now() + timeout_;
        while (!eof_) {
            if (!ReadSome(deadline)) break;
        }
        return RawResponse{std::exchange(pending_, {}), eof_, !eof_};
    }

    bool WaitClosed(std::chrono::milliseconds within) {
        const auto deadline = Clock::now() + within;
        while (!eof_) {
            pending_.clear();
            if (!ReadSome(deadline)) break;
        }
        pending_.clear();
        return eof_;
    }

    void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  private:
    // Appends what arrives to pending_. False on close (eof_ set) or deadline.
    bool ReadSome(Clock::time_point deadline) {
        if (eof_) return false;
        size_t received = 0;
        error_code ec = RunWithDeadline(ioc_, socket_, deadline, [&](auto handler) {
            socket_.async_read_some(asio::buffer(chunk_), [&received, handler](error_code e, size_t n) mutable {
                received = n;
                handler(e);
            });
        });
        pending_.append(chunk_.data(), received);
        if (!ec) return true;
        if (ec != asio::error::timed_out) eof_ = true;  // EOF, reset: the server closed
        return false;
    }

    asio::io_context ioc_;
    tcp::socket socket_;
    std::chrono::milliseconds timeout_;
    std::string pending_;  // received, not yet returned
    std::array<char, 16 * 1024> chunk_{};
    bool eof_ = false;
    bool head_ = false;
};

RawConnection::RawConnection(uint16_t port, std::string host, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(port, host, timeout)) {}
RawConnection::~RawConnection() = default;
RawConnection::RawConnection(RawConnection&&) noexcept = default;
RawConnection& RawConnection::operator=(RawConnection&&) noexcept = default;
bool RawConnection::Write(std::string_view bytes) { return impl_->Write(bytes); }
RawResponse RawConnection::ReadResponse() { return impl_->ReadResponse(); }
RawResponse RawConnection::ReadUntilClosed() { return impl_->ReadUntilClosed(); }
bool RawConnection::WaitClosed(std::chrono::milliseconds within) { return impl_->WaitClosed(within); }
void RawConnection::set_timeout(std::chrono::milliseconds timeout) { impl_->set_timeout(timeout); }

bool CanConnect(uint16_t port, std::string_view host, std::chrono::milliseconds timeout) {
    try {
        RawConnection connection(port, std::string(host), timeout);
        return true;
    } catch (const HttpClientError&) {
        return false;
    }
}

// ---------------------------------------------------------------------------
// HttpClient

class HttpClient::Impl {
  public:
    Impl(uint16_t port, std::string host) : port_(port), host_(std::move(host)), socket_(ioc_) {}

    HttpResult Send(std::string_view method, std::string_view target, std::string body, const Headers& headers) {
        bhttp::request<bhttp::string_body> request;
        request.version(11);
        const bhttp::verb verb = bhttp::string_to_verb(method);
        if (verb == bhttp::verb::unknown) {
            request.method_string(method);
        } else {
            request.method(verb);
        }
        request.target(target);
        request.set(bhttp::field::host, host_ + ":" + std::to_string(port_));
        request.set(bhttp::field::user_agent, "vg-testing");
        for (const auto& [name, value] : default_headers_) {
            if (!HasHeader(headers, name)) request.set(name, value);
        }
        if (!cookies_.empty() && !HasHeader(headers, "cookie")) {
            std::string cookie;
            for (const auto& [name, value] : cookies_) {
                if (!cookie.empty()) cookie += "; ";
                cookie += name + "=" + value;
            }
            request.set(bhttp::field::cookie, cookie);
        }
        for (const auto& [name, value] : headers) request.insert(name, value);
        if (!body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put || verb == bhttp::verb::patch) {
            request.body() = std::move(body);
            request.prepare_payload();
        }
        const std::string what = std::string(method) + " " + std::string(target);

        for (int attempt = 0;; ++attempt) {
            const bool reused = socket_.is_open() && requests_on_connection_ > 0;
            if (!socket_.is_open()) Open();
            const auto deadline = Clock::now() + timeout_;
            error_code write_ec = RunWithDeadline(ioc_, socket_, deadline, [&](auto handler) {
                bhttp::async_write(socket_, request, std::move(handler));
            });
            if (write_ec == asio::error::timed_out) {
                Disconnect();
                throw HttpClientError("timed out after " + std::to_string(timeout_.count()) + " ms sending " + what);
            }
            // Even when the write failed, read: the server may have answered (413) and closed early.
            bhttp::response_parser<bhttp::string_body> parser;
            parser.body_limit(boost::none);
            parser.header_limit(std::numeric_limits<std::uint32_t>::max());
            parser.skip(verb == bhttp::verb::head);
            error_code read_ec = RunWithDeadline(ioc_, socket_, deadline, [&](auto handler) {
                bhttp::async_read(socket_, buffer_, parser, std::move(handler));
            });
            if (!read_ec) {
                ++requests_on_connection_;
                const bool keep_alive = parser.keep_alive();
                HttpResult result = ToResult(parser.release());
                AbsorbCookies(result);
                if (!keep_alive) Disconnect();
                return result;
            }
            const bool nothing_received = !parser.got_some();
            Disconnect();
            if (read_ec == asio::error::timed_out) {
                throw HttpClientError("timed out after " + std::to_string(timeout_.count()) +
                                      " ms waiting for the response to " + what);
            }
            // A keep-alive connection the server closed while idle: the request never reached it.
            if (reused && nothing_received && attempt == 0) continue;
            throw HttpClientError("no response to " + what + ": " + read_ec.message() +
                                  (write_ec ? " (sending failed: " + write_ec.message() + ")" : ""));
        }
    }

    RawResponse SendRaw(std::string_view bytes) {
        RawConnection connection(port_, host_, timeout_);
        (void)connection.Write(bytes);  // a failed write may still leave an answer to read
        RawResponse response = connection.ReadResponse();
        if (response.closed || response.timed_out) return response;
        CompleteResponse complete = FindCompleteResponse(response.text, bytes.substr(0, 5) == "HEAD ", false);
        if (complete.keep_alive) return response;
        RawResponse rest = connection.ReadUntilClosed();
        response.text += rest.text;
        response.closed = rest.closed;
        response.timed_out = rest.timed_out;
        return response;
    }

    void Disconnect() {
        error_code ignored;
        if (socket_.is_open()) {
            socket_.shutdown(tcp::socket::shutdown_both, ignored);
            socket_.close(ignored);
        }
        buffer_.clear();
        requests_on_connection_ = 0;
    }

    uint16_t port_;
    std::string host_;
    std::chrono::milliseconds timeout_{10'000};
    Headers default_headers_;
    std::map<std::string, std::string, std::less<>> cookies_;
    int connections_opened_ = 0;

  private:
    void Open() {
        if (!endpoint_) endpoint_ = ResolveEndpoint(ioc_, host_, port_);
        socket_ = tcp::socket(ioc_);
        Connect(ioc_, socket_, *endpoint_, timeout_);
        buffer_.clear();
        requests_on_connection_ = 0;
        ++connections_opened_;
    }

    static HttpResult ToResult(bhttp::response<bhttp::string_body> message) {
        HttpResult result;
        result.status = static_cast<int>(message.result_int());
        for (const auto& field : message) {
            result.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }
        result.body = std::move(message.body());
        return result;
    }

    void AbsorbCookies(const HttpResult& result) {
        for (const std::string& set_cookie : result.headers_named("set-cookie")) {
            std::string_view rest(set_cookie);
            size_t semicolon = rest.find(';');
            std::string_view pair = Trim(rest.substr(0, semicolon));
            size_t eq = pair.find('=');
            if (eq == std::string_view::npos || eq == 0) continue;  // not a cookie
            std::string name(Trim(pair.substr(0, eq)));
            std::string value(Trim(pair.substr(eq + 1)));
            bool expired = false;
            bool has_max_age = false;
            while (semicolon != std::string_view::npos) {
                rest.remove_prefix(semicolon + 1);
                semicolon = rest.find(';');
                std::string_view attribute = Trim(rest.substr(0, semicolon));
                size_t attr_eq = attribute.find('=');
                std::string_view key = Trim(attribute.substr(0, attr_eq));
                std::string_view attr_value =
                    attr_eq == std::string_view::npos ? std::string_view() : Trim(attribute.substr(attr_eq + 1));
                if (EqualsIgnoreCase(key, "max-age")) {
                    // Max-Age wins over Expires (RFC 6265 5.3).
                    has_max_age = true;
                    long seconds = std::strtol(std::string(attr_value).c_str(), nullptr, 10);
                    expired = seconds <= 0;
                } else if (EqualsIgnoreCase(key, "expires") && !has_max_age) {
                    if (auto when = ParseHttpDate(attr_value)) expired = *when <= std::time(nullptr);
                }
            }
            if (expired) {
                cookies_.erase(name);
            } else {
                cookies_[name] = value;
            }
        }
    }

    asio::io_context ioc_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
    std::optional<tcp::endpoint> endpoint_;
    int requests_on_connection_ = 0;
};

HttpClient::HttpClient(uint16_t port, std::string host) : impl_(std::make_unique<Impl>(port, std::move(host))) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

void HttpClient::set_timeout(std::chrono::milliseconds timeout) { impl_->timeout_ = timeout; }

HttpResult HttpClient::Send(std::string_view method, std::string_view target, std::string body,
                            const Headers& headers) {
    return impl_->Send(method, target, std::move(body), headers);
}

HttpResult HttpClient::Get(std::string_view target, const Headers& headers) { return Send("GET", target, {}, headers); }

HttpResult HttpClient::Head(std::string_view target, const Headers& headers) {
    return Send("HEAD", target, {}, headers);
}

HttpResult HttpClient::Delete(std::string_view target, const Headers& headers) {
    return Send("DELETE", target, {}, headers);
}

HttpResult HttpClient::Post(std::string_view target, const boost::json::value& body, const Headers& headers) {
    return PostRaw(target, boost::json::serialize(body), "application/json", headers);
}

HttpResult HttpClient::Post(std::string_view target, std::string_view raw_body, const Headers& headers) {
    return PostRaw(target, std::string(raw_body), "application/json", headers);
}

HttpResult HttpClient::Post(std::string_view target, const char* raw_body, const Headers& headers) {
    return PostRaw(target, std::string(raw_body), "application/json", headers);
}

HttpResult HttpClient::Post(std::string_view target, const std::string& raw_body, const Headers& headers) {
    return PostRaw(target, raw_body, "application/json", headers);
}

HttpResult HttpClient::Put(std::string_view target, const boost::json::value& body, const Headers& headers) {
    Headers all = headers;
    if (!HasHeader(all, "content-type")) all.emplace_back("Content-Type", "application/json");
    return Send("PUT", target, boost::json::serialize(body), all);
}

HttpResult HttpClient::PostRaw(std::string_view target, std::string body, std::string content_type,
                               const Headers& headers) {
    Headers all = headers;
    if (!content_type.empty() && !HasHeader(all, "content-type")) all.emplace_back("Content-Type", content_type);
    return Send("POST", target, std::move(body), all);
}

RawResponse HttpClient::SendRaw(std::string_view bytes) { return impl_->SendRaw(bytes); }

void HttpClient::SetDefaultHeader(std::string name, std::string value) {
    RemoveDefaultHeader(name);
    impl_->default_headers_.emplace_back(std::move(name), std::move(value));
}

void HttpClient::RemoveDefaultHeader(std::string_view name) {
    auto& headers = impl_->default_headers_;
    headers.erase(
        std::remove_if(headers.begin(), headers.end(), [&](const auto& h) { return EqualsIgnoreCase(h.first, name); }),
        headers.end());
}

std::optional<std::string> HttpClient::cookie(std::string_view name) const {
    auto it = impl_->cookies_.find(name);
    if (it == impl_->cookies_.end()) return std::nullopt;
    return it->second;
}

const std::map<std::string, std::string, std::less<>>& HttpClient::cookies() const { return impl_->cookies_; }

void HttpClient::SetCookie(std::string name, std::string value) { impl_->cookies_[std::move(name)] = std::move(value); }

void HttpClient::ClearCookies() { impl_->cookies_.clear(); }

void HttpClient::Disconnect() { impl_->Disconnect(); }

int HttpClient::connections_opened() const { return impl_->connections_opened_; }

}  // namespace vg::testing
