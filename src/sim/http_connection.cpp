#include "http_connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

namespace vg::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

Result<ServerAddress> ParseServerUrl(std::string_view url) {
    const auto bad = [&](std::string problem) {
        return Status::Error(ErrorCode::kValidationFailed, "The server address is not valid.",
                             {{"server", std::move(problem)}});
    };
    constexpr std::string_view kScheme = "http://";
    if (url.substr(0, kScheme.size()) != kScheme) {
        return bad(
            "must start with http:// (e.g. http://127.0.0.1:8080); for HTTPS put the simulator next to "
            "the server, behind the proxy");
    }
    std::string_view rest = url.substr(kScheme.size());
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) return bad("must not have a path (http://host:port)");
    const size_t colon = rest.rfind(':');
    ServerAddress a;
    if (colon == std::string_view::npos) {
        a.host = std::string(rest);
        a.port = 80;
    } else {
        a.host = std::string(rest.substr(0, colon));
        const std::string_view port = rest.substr(colon + 1);
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
            return bad("has no valid port (1–65535)");
        }
        a.port = static_cast<uint16_t>(value);
    }
    if (a.host.empty()) return bad("has no host");
    return a;
}

class HttpConnection::Impl {
  public:
    Impl(ServerAddress server, Milliseconds timeout) : server_(std::move(server)), timeout_(timeout) {}

    Result<HttpReply> Send(std::string_view method, std::string_view target, std::string body,
                           const std::vector<std::pair<std::string, std::string>>& headers) {
        http::request<http::string_body> req;
        req.method_string(method);
        req.target(target);
        req.version(11);
        req.set(http::field::host, server_.host + ":" + std::to_string(server_.port));
        req.set(http::field::user_agent, "vitalguard-simulate");
        for (const auto& [name, value] : headers) req.set(name, value);
        if (!body.empty()) req.set(http::field::content_type, "application/json");
        req.body() = std::move(body);
        req.prepare_payload();

        for (int attempt = 0; attempt < 2; ++attempt) {
            const bool reused = connected_;
            if (!connected_) {
                if (Status s = Connect(); !s.ok()) return s;
            }
            beast::error_code ec = Run([&](auto handler) { http::async_write(stream_, req, handler); });
            http::response_parser<http::string_body> parser;
            parser.body_limit(64 * 1024 * 1024);
            if (!ec) {
                ec = Run([&](auto handler) { http::async_read(stream_, buffer_, parser, handler); });
            }
            if (ec) {
                Close();
                // A kept-alive connection the server closed meanwhile: reconnect and resend once.
                if (reused && attempt == 0 && !parser.got_some()) continue;
                return Status::Error(ErrorCode::kUnavailable, std::string(method) + " " + std::string(target) + " to " +
                                                                  server_.origin() + " failed: " + ec.message());
            }
            http::response<http::string_body> res = parser.release();
            HttpReply reply;
            reply.status = static_cast<int>(res.result_int());
            reply.body = std::move(res.body());
            for (const auto& field : res) {
                if (field.name() == http::field::set_cookie) reply.set_cookies.emplace_back(field.value());
                if (field.name() == http::field::retry_after) {
                    int seconds = 0;
                    const auto v = field.value();
                    auto [end, fec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
                    if (fec == std::errc()) reply.retry_after_s = seconds;
                }
            }
            if (!res.keep_alive()) Close();
            return reply;
        }
        return Status::Error(ErrorCode::kUnavailable, "unreachable");
    }

  private:
    // Runs one asynchronous operation to completion under the deadline.
    template <typename Start>
    beast::error_code Run(Start&& start) {
        beast::error_code result = asio::error::would_block;
        stream_.expires_after(timeout_);
        start([&](beast::error_code ec, auto&&...) { result = ec; });
        ioc_.restart();
        ioc_.run();
        return result;
    }

    Status Connect() {
        beast::error_code ec;
        tcp::resolver resolver(ioc_);
        auto endpoints = resolver.resolve(server_.host, std::to_string(server_.port), ec);
        if (!ec) ec = Run([&](auto handler) { stream_.async_connect(endpoints, handler); });
        if (ec) {
            Close();
            return Status::Error(ErrorCode::kUnavailable,
                                 "Cannot connect to the server at " + server_.origin() + ": " + ec.message());
        }
        stream_.socket().set_option(tcp::no_delay(true), ec);
        connected_ = true;
        return Status::Ok();
    }

    void Close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
        buffer_.clear();
        connected_ = false;
    }

    ServerAddress server_;
    Milliseconds timeout_;
    asio::io_context ioc_;
    beast::tcp_stream stream_{ioc_};
    beast::flat_buffer buffer_;
    bool connected_ = false;
};

HttpConnection::HttpConnection(ServerAddress server, Milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(server), timeout)) {}
HttpConnection::~HttpConnection() = default;

Result<HttpReply> HttpConnection::Send(std::string_view method, std::string_view target, std::string body,
                                       const std::vector<std::pair<std::string, std::string>>& headers) {
    return impl_->Send(method, target, std::move(body), headers);
}

}  // namespace vg::sim
