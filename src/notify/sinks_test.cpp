// The test receivers of sinks.hpp, and tests of the receivers themselves.
#include "sinks.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <thread>

#include "vg/http/server.hpp"

namespace vg::notify::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

// ---- HttpSink ----

struct HttpSink::Impl {
    mutable std::mutex mu;
    mutable std::condition_variable changed;
    std::vector<RecordedRequest> requests;  // GUARDED_BY(mu)
    std::deque<PlannedResponse> plan;       // GUARDED_BY(mu)
    PlannedResponse fallback;               // GUARDED_BY(mu)
    bool closing = false;                   // GUARDED_BY(mu)
    std::unique_ptr<http::Server> server;

    http::Response Handle(const http::Request& request) {
        RecordedRequest recorded;
        recorded.method = request.method;
        recorded.target = request.target;
        for (const auto& header : request.headers) recorded.headers[header.name] = header.value;
        recorded.body = request.body;
        PlannedResponse planned;
        {
            std::unique_lock lock(mu);
            requests.push_back(std::move(recorded));
            if (!plan.empty()) {
                planned = plan.front();
                plan.pop_front();
            } else {
                planned = fallback;
            }
            changed.notify_all();
            if (planned.hang.count() > 0) changed.wait_for(lock, planned.hang, [this] { return closing; });
        }
        http::Response response;
        response.status = planned.status;
        response.set_header("Content-Type", "text/plain");
        if (!planned.retry_after.empty()) response.set_header("Retry-After", planned.retry_after);
        response.body = planned.body;
        return response;
    }
};

HttpSink::HttpSink() : impl_(std::make_unique<Impl>()) {
    http::ServerOptions options;
    options.port = 0;
    options.worker_threads = 4;
    options.shutdown_grace = std::chrono::seconds(2);
    options.error_response = [](ErrorCode code, std::string message) {
        http::Response response;
        response.status = code == ErrorCode::kPayloadTooLarge ? 413 : 400;
        response.body = std::move(message);
        return response;
    };
    Impl* impl = impl_.get();
    impl_->server = std::make_unique<http::Server>(
        std::move(options), [impl](const http::Request& request) { return impl->Handle(request); });
    Status status = impl_->server->Start();
    if (!status.ok()) {
        std::fprintf(stderr, "HttpSink cannot start: %s\n", status.ToString().c_str());
        std::abort();
    }
}

HttpSink::~HttpSink() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->closing = true;
    }
    impl_->changed.notify_all();
    impl_->server->Stop();
    impl_->server->Wait();
}

uint16_t HttpSink::port() const { return impl_->server->port(); }

std::string HttpSink::Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port()) + path; }

void HttpSink::Plan(std::vector<PlannedResponse> plan) {
    std::lock_guard lock(impl_->mu);
    impl_->plan.assign(plan.begin(), plan.end());
}

void HttpSink::SetDefault(PlannedResponse response) {
    std::lock_guard lock(impl_->mu);
    impl_->fallback = std::move(response);
}

std::vector<RecordedRequest> HttpSink::requests() const {
    std::lock_guard lock(impl_->mu);
    return impl_->requests;
}

size_t HttpSink::count() const {
    std::lock_guard lock(impl_->mu);
    return impl_->requests.size();
}

bool HttpSink::WaitForCount(size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mu);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

// ---- SmtpSink ----

struct SmtpSink::Impl {
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::thread thread;
    mutable std::mutex mu;
    mutable std::condition_variable changed;
    std::vector<RecordedMail> mails;  // GUARDED_BY(mu)
    int reject_rcpt = 0;              // GUARDED_BY(mu)
    int fail_messages = 0;            // GUARDED_BY(mu)

    static std::string DecodeBase64(const std::string& text) {
        std::string out(text.size(), '\0');
        size_t length = 0;
        if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                              nullptr, &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
            return "<bad base64>";
        }
        out.resize(length);
        return out;
    }

    static bool StartsWithNoCase(const std::string& line, const char* prefix) {
        for (size_t i = 0; prefix[i] != '\0'; ++i) {
            if (i >= line.size() || std::toupper(static_cast<unsigned char>(line[i])) != prefix[i]) return false;
        }
        return true;
    }

    asio::awaitable<void> Session(tcp::socket socket) {
        std::string buffer;
        auto send = [&](std::string reply) -> asio::awaitable<void> {
            co_await asio::async_write(socket, asio::buffer(reply), asio::use_awaitable);
        };
        auto read_line = [&]() -> asio::awaitable<std::string> {
            const size_t n =
                co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), "\r\n", asio::use_awaitable);
            std::string line = buffer.substr(0, n - 2);
            buffer.erase(0, n);
            co_return line;
        };
        RecordedMail mail;
        co_await send("220 sink.test ESMTP VitalGuard test sink\r\n");
        while (true) {
            const std::string line = co_await read_line();
            if (StartsWithNoCase(line, "EHLO")) {
                mail.helo = line.size() > 5 ? line.substr(5) : "";
                co_await send("250-sink.test\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n");
            } else if (StartsWithNoCase(line, "HELO")) {
                mail.helo = line.size() > 5 ? line.substr(5) : "";
                co_await send("250 sink.test\r\n");
            } else if (StartsWithNoCase(line, "AUTH PLAIN")) {
                std::string credentials = line.size() > 11 ? line.substr(11) : "";
                if (credentials.empty()) {
                    co_await send("334 \r\n");
                    credentials = co_await read_line();
                }
                mail.auth_plain = DecodeBase64(credentials);
                co_await send("235 2.7.0 Authentication successful\r\n");
            } else if (StartsWithNoCase(line, "MAIL FROM:")) {
                mail.mail_from = line.substr(10);
                mail.rcpt_to.clear();
                co_await send("250 2.1.0 OK\r\n");
            } else if (StartsWithNoCase(line, "RCPT TO:")) {
                int reject = 0;
                {
                    std::lock_guard lock(mu);
                    reject = reject_rcpt;
                }
                if (reject != 0) {
                    co_await send(std::to_string(reject) + " 5.1.1 No such user\r\n");
                } else {
                    mail.rcpt_to.push_back(line.substr(8));
                    co_await send("250 2.1.5 OK\r\n");
                }
            } else if (StartsWithNoCase(line, "DATA")) {
                co_await send("354 End data with <CR><LF>.<CR><LF>\r\n");
                std::string data;
                while (true) {
                    std::string data_line = co_await read_line();
                    if (data_line == ".") break;
                    if (!data_line.empty() && data_line[0] == '.') data_line.erase(0, 1);  // dot-unstuffing
                    data += data_line + "\r\n";
                }
                bool fail = false;
                {
                    std::lock_guard lock(mu);
                    if (fail_messages > 0) {
                        --fail_messages;
                        fail = true;
                    } else {
                        mail.data = std::move(data);
                        mails.push_back(mail);
                        changed.notify_all();
                    }
                }
                co_await send(fail ? "451 4.3.0 Try again later\r\n" : "250 2.0.0 Queued\r\n");
            } else if (StartsWithNoCase(line, "RSET")) {
                mail.mail_from.clear();
                mail.rcpt_to.clear();
                co_await send("250 OK\r\n");
            } else if (StartsWithNoCase(line, "NOOP")) {
                co_await send("250 OK\r\n");
            } else if (StartsWithNoCase(line, "QUIT")) {
                co_await send("221 Bye\r\n");
                co_return;
            } else {
                co_await send("502 5.5.2 Command not recognised\r\n");
            }
        }
    }

    asio::awaitable<void> Accept() {
        while (true) {
            tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
            asio::co_spawn(io, Session(std::move(socket)), [](std::exception_ptr) {});  // a client hung up
        }
    }
};

SmtpSink::SmtpSink() : impl_(std::make_unique<Impl>()) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
    asio::co_spawn(impl_->io, impl_->Accept(), [](std::exception_ptr) {});
    impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

SmtpSink::~SmtpSink() {
    impl_->io.stop();
    impl_->thread.join();
}

uint16_t SmtpSink::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string SmtpSink::Url() const { return "smtp://127.0.0.1:" + std::to_string(port()); }

void SmtpSink::RejectRecipientsWith(int code) {
    std::lock_guard lock(impl_->mu);
    impl_->reject_rcpt = code;
}

void SmtpSink::FailNextMessages(int n) {
    std::lock_guard lock(impl_->mu);
    impl_->fail_messages = n;
}

std::vector<RecordedMail> SmtpSink::mails() const {
    std::lock_guard lock(impl_->mu);
    return impl_->mails;
}

bool SmtpSink::WaitForCount(size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mu);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->mails.size() >= n; });
}

namespace {

// The SMTP sink is itself checked with a raw client, so that a sink bug cannot hide a channel bug.
TEST(SmtpSinkTest, RecordsAMessageAndUnstuffsDots) {
    SmtpSink sink;
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), sink.port()));
    asio::streambuf buffer;
    auto expect = [&](const std::string& code) {
        std::string line;
        do {
            asio::read_until(socket, buffer, "\r\n");
            std::istream in(&buffer);
            std::getline(in, line);
        } while (line.size() > 3 && line[3] == '-');
        EXPECT_EQ(line.substr(0, 3), code) << line;
    };
    auto say = [&](const std::string& text) { asio::write(socket, asio::buffer(text)); };
    expect("220");
    say("EHLO client\r\n");
    expect("250");
    say("MAIL FROM:<a@example.org>\r\n");
    expect("250");
    say("RCPT TO:<b@example.org>\r\n");
    expect("250");
    say("DATA\r\n");
    expect("354");
    say("Subject: x\r\n\r\n..leading dot\r\nplain\r\n.\r\n");
    expect("250");
    say("QUIT\r\n");
    expect("221");
    ASSERT_TRUE(sink.WaitForCount(1, std::chrono::seconds(2)));
    const auto mails = sink.mails();
    EXPECT_EQ(mails[0].mail_from, "<a@example.org>");
    EXPECT_EQ(mails[0].rcpt_to, std::vector<std::string>{"<b@example.org>"});
    EXPECT_EQ(mails[0].data, "Subject: x\r\n\r\n.leading dot\r\nplain\r\n");
}

}  // namespace
}  // namespace vg::notify::testing
