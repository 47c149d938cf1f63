#include "vg/http/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vg/testing/http_client.hpp"

namespace vg::http {
namespace {

using namespace std::chrono_literals;
using vg::testing::HttpClient;
using vg::testing::HttpClientError;
using vg::testing::RawConnection;

int StatusFor(ErrorCode code) {
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

// What the api module will do, minus JSON: status from the code, the code's name and the message.
Response TestErrorResponse(ErrorCode code, std::string message) {
    Response response;
    response.status = StatusFor(code);
    response.set_header("Content-Type", "text/plain");
    response.body = std::string(ErrorCodeName(code)) + ": " + message;
    return response;
}

ServerOptions TestOptions() {
    ServerOptions options;
    options.port = 0;
    options.error_response = TestErrorResponse;
    options.shutdown_grace = 5s;
    return options;
}

// "METHOD path body" — enough to see that the request arrived intact.
Response Echo(const Request& request) {
    Response response;
    response.set_header("Content-Type", "text/plain");
    response.set_header("X-Echo-Header", std::string(request.header("X-Test")));
    response.body = request.method + " " + request.path + " " + request.body;
    return response;
}

// Polls until `condition` holds or 5 s pass: for effects the test cannot wait on directly.
template <class Condition>
bool Eventually(Condition condition) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

bool StartsWith(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

class ServerTest : public ::testing::Test {
  protected:
    void StartServer(ServerOptions options, Handler handler) {
        server_ = std::make_unique<Server>(std::move(options), std::move(handler));
        Status status = server_->Start();
        ASSERT_TRUE(status.ok()) << status.ToString();
        ASSERT_NE(server_->port(), 0);
    }
    uint16_t port() const { return server_->port(); }

    std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, GetAndPostRoundTrip) {
    Request seen;
    std::mutex mu;
    StartServer(TestOptions(), [&](const Request& request) {
        std::lock_guard lock(mu);
        seen = request;
        return Echo(request);
    });
    HttpClient client(port());

    auto get = client.Get("/hello", {{"X-Test", "abc"}});
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, "GET /hello ");
    EXPECT_EQ(get.header("x-echo-header"), "abc");
    EXPECT_EQ(get.header("Content-Type"), "text/plain");
    EXPECT_EQ(get.header("Content-Length"), "11");
    EXPECT_FALSE(get.header("Date").empty());

    auto post = client.PostRaw("/api/items", R"({"a":1})");
    EXPECT_EQ(post.status, 200);
    EXPECT_EQ(post.body, R"(POST /api/items {"a":1})");

    std::lock_guard lock(mu);
    EXPECT_EQ(seen.method, "POST");
    EXPECT_EQ(seen.target, "/api/items");
    EXPECT_EQ(seen.remote_address, "127.0.0.1");
    EXPECT_FALSE(seen.tls);
    EXPECT_EQ(seen.header("content-type"), "application/json");
    EXPECT_EQ(seen.header("CONTENT-TYPE"), "application/json");
    EXPECT_EQ(seen.header("absent"), "");
    for (const Header& h : seen.headers) {
        for (char c : h.name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << h.name;
    }
}

TEST_F(ServerTest, DecodesPathAndQuery) {
    Request seen;
    std::mutex mu;
    StartServer(TestOptions(), [&](const Request& request) {
        std::lock_guard lock(mu);
        seen = request;
        return Response{};
    });
    HttpClient client(port());
    ASSERT_EQ(client.Get("/api/check%5Fid?id=kim%20y&x=1&flag&plus=a+b&x=2").status, 200);

    std::lock_guard lock(mu);
    EXPECT_EQ(seen.target, "/api/check%5Fid?id=kim%20y&x=1&flag&plus=a+b&x=2");
    EXPECT_EQ(seen.path, "/api/check_id");
    std::vector<std::pair<std::string, std::string>> expected = {
        {"id", "kim y"}, {"x", "1"}, {"flag", ""}, {"plus", "a b"}, {"x", "2"}};
    EXPECT_EQ(seen.query, expected);
    ASSERT_NE(seen.query_param("id"), nullptr);
    EXPECT_EQ(*seen.query_param("id"), "kim y");
    EXPECT_EQ(*seen.query_param("x"), "1");  // the first of several
    EXPECT_EQ(seen.query_param("missing"), nullptr);
}

TEST_F(ServerTest, UnparseableTargetIsBadRequest) {
    std::atomic<int> calls{0};
    StartServer(TestOptions(), [&](const Request&) {
        ++calls;
        return Response{};
    });
    HttpClient client(port());
    auto result = client.Get("/bad%zz");
    EXPECT_EQ(result.status, 400);
    EXPECT_TRUE(StartsWith(result.body, "bad_request")) << result.body;
    EXPECT_EQ(calls.load(), 0);
}

TEST_F(ServerTest, KeepAliveReusesOneConnection) {
    StartServer(TestOptions(), Echo);
    HttpClient client(port());
    EXPECT_EQ(client.Get("/one").body, "GET /one ");
    EXPECT_EQ(client.Get("/two").body, "GET /two ");
    EXPECT_EQ(client.connections_opened(), 1);
    EXPECT_EQ(server_->open_connections(), 1u);
    client.Disconnect();
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
    StartServer(TestOptions(), Echo);
    RawConnection connection(port());
    ASSERT_TRUE(connection.Write("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto first = connection.ReadResponse();
    auto second = connection.ReadResponse();
    EXPECT_NE(first.text.find("GET /a "), std::string::npos) << first.text;
    EXPECT_NE(second.text.find("GET /b "), std::string::npos) << second.text;
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveAsked) {
    StartServer(TestOptions(), Echo);
    HttpClient client(port());
    auto closed = client.SendRaw("GET /old HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(StartsWith(closed.text, "HTTP/1.0 200")) << closed.text;
    EXPECT_TRUE(closed.closed);

    RawConnection connection(port());
    ASSERT_TRUE(connection.Write("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto kept = connection.ReadResponse();
    EXPECT_NE(kept.text.find("Connection: keep-alive"), std::string::npos) << kept.text;
    EXPECT_FALSE(kept.closed);
}

TEST_F(ServerTest, HeadKeepsContentLengthButDropsBody) {
    StartServer(TestOptions(), Echo);
    RawConnection connection(port());
    ASSERT_TRUE(connection.Write("HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto head = connection.ReadResponse();
    EXPECT_NE(head.text.find("Content-Length: 8\r\n"), std::string::npos) << head.text;  // "HEAD /x "
    EXPECT_TRUE(head.text.ends_with("\r\n\r\n")) << head.text;
    // The connection is still in sync: the next response is not preceded by stray body bytes.
    ASSERT_TRUE(connection.Write("GET /y HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto get = connection.ReadResponse();
    EXPECT_TRUE(StartsWith(get.text, "HTTP/1.1 200")) << get.text;

    HttpClient client(port());
    auto result = client.Head("/abc");
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.header("Content-Length"), "10");
    EXPECT_EQ(result.body, "");
}

TEST_F(ServerTest, ServerOwnsFramingHeaders) {
    StartServer(TestOptions(), [](const Request&) {
        Response response;
        response.status = 201;
        response.headers.push_back({"Content-Length", "999"});
        response.headers.push_back({"X-Injected", "a\r\nX-Evil: 1"});
        response.headers.push_back({"X-Custom-Case", "v"});
        response.body = "created";
        return response;
    });
    RawConnection connection(port());
    ASSERT_TRUE(connection.Write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto raw = connection.ReadResponse();
    EXPECT_TRUE(StartsWith(raw.text, "HTTP/1.1 201 Created\r\n")) << raw.text;
    EXPECT_NE(raw.text.find("Content-Length: 7\r\n"), std::string::npos) << raw.text;
    EXPECT_EQ(raw.text.find("999"), std::string::npos) << raw.text;
    EXPECT_EQ(raw.text.find("X-Evil"), std::string::npos) << raw.text;
    EXPECT_NE(raw.text.find("X-Custom-Case: v\r\n"), std::string::npos) << raw.text;
}

TEST_F(ServerTest, HandlerAskingForCloseClosesTheConnection) {
    StartServer(TestOptions(), [](const Request&) {
        Response response;
        response.set_header("Connection", "close");
        return response;
    });
    HttpClient client(port());
    auto result = client.Get("/");
    EXPECT_EQ(result.header("Connection"), "close");
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
}

TEST_F(ServerTest, BodyOverLimitIs413AndHandlerNotCalled) {
    std::atomic<int> calls{0};
    ServerOptions options = TestOptions();
    options.body_limit_bytes = 1024;
    StartServer(options, [&](const Request& request) {
        ++calls;
        return Echo(request);
    });
    HttpClient client(port());
    auto result = client.PostRaw("/upload", std::string(4096, 'x'), "text/plain");
    EXPECT_EQ(result.status, 413);
    EXPECT_TRUE(StartsWith(result.body, "payload_too_large")) << result.body;
    EXPECT_NE(result.body.find("1024 bytes"), std::string::npos) << result.body;
    EXPECT_EQ(result.header("Connection"), "close");

    // Exactly at the limit is fine.
    auto at_limit = client.PostRaw("/upload", std::string(1024, 'y'), "text/plain");
    EXPECT_EQ(at_limit.status, 200);
    EXPECT_EQ(calls.load(), 1);
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
    std::atomic<int> calls{0};
    ServerOptions options = TestOptions();
    options.body_limit_bytes = 1024;
    StartServer(options, [&](const Request& request) {
        ++calls;
        return Echo(request);
    });
    HttpClient client(port());
    std::string request = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) request += "200\r\n" + std::string(512, 'z') + "\r\n";
    request += "0\r\n\r\n";
    auto raw = client.SendRaw(request);
    EXPECT_TRUE(StartsWith(raw.text, "HTTP/1.1 413")) << raw.text;
    EXPECT_TRUE(raw.closed);

    // A chunked body within the limit reaches the handler.
    auto ok = client.SendRaw(
        "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n");
    EXPECT_NE(ok.text.find("POST /small hello"), std::string::npos) << ok.text;
    EXPECT_EQ(calls.load(), 1);
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
    StartServer(TestOptions(), Echo);
    RawConnection connection(port());
    ASSERT_TRUE(connection.Write("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
    auto interim = connection.ReadResponse();
    EXPECT_TRUE(StartsWith(interim.text, "HTTP/1.1 100 Continue")) << interim.text;
    ASSERT_TRUE(connection.Write("hello"));
    auto final_response = connection.ReadResponse();
    EXPECT_NE(final_response.text.find("POST /e hello"), std::string::npos) << final_response.text;
}

TEST_F(ServerTest, HeaderTooLargeIsBadRequest) {
    std::atomic<int> calls{0};
    ServerOptions options = TestOptions();
    options.header_limit_bytes = 1024;
    StartServer(options, [&](const Request& request) {
        ++calls;
        return Echo(request);
    });
    HttpClient client(port());
    auto result = client.Get("/", {{"X-Big", std::string(4096, 'h')}});
    EXPECT_EQ(result.status, 400);
    EXPECT_NE(result.body.find("1024 bytes"), std::string::npos) << result.body;
    EXPECT_EQ(calls.load(), 0);
}

TEST_F(ServerTest, MalformedRequestIsBadRequestAndCloses) {
    StartServer(TestOptions(), Echo);
    HttpClient client(port());
    auto raw = client.SendRaw("THIS IS NOT HTTP\r\n\r\n");
    EXPECT_TRUE(StartsWith(raw.text, "HTTP/1.1 400")) << raw.text;
    EXPECT_NE(raw.text.find("bad_request"), std::string::npos) << raw.text;
    EXPECT_TRUE(raw.closed);

    auto bad_length = client.SendRaw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
    EXPECT_TRUE(StartsWith(bad_length.text, "HTTP/1.1 400")) << bad_length.text;
    EXPECT_TRUE(bad_length.closed);
}

TEST_F(ServerTest, SlowClientHitsHeaderTimeout) {
    ServerOptions options = TestOptions();
    options.header_timeout = 200ms;
    StartServer(options, Echo);

    RawConnection partial(port());
    ASSERT_TRUE(partial.Write("GET / HTTP/1.1\r\nHost: x\r\n"));  // head never finished
    auto raw = partial.ReadUntilClosed();
    EXPECT_TRUE(raw.closed);
    EXPECT_TRUE(StartsWith(raw.text, "HTTP/1.1 408")) << raw.text;

    RawConnection silent(port());  // sends nothing at all: closed without an answer
    EXPECT_TRUE(silent.WaitClosed(5s));
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
}

TEST_F(ServerTest, SlowBodyHitsBodyTimeout) {
    std::atomic<int> calls{0};
    ServerOptions options = TestOptions();
    options.body_timeout = 200ms;
    StartServer(options, [&](const Request& request) {
        ++calls;
        return Echo(request);
    });
    RawConnection connection(port());
    ASSERT_TRUE(connection.Write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
    auto raw = connection.ReadUntilClosed();
    EXPECT_TRUE(raw.closed);
    EXPECT_TRUE(StartsWith(raw.text, "HTTP/1.1 408")) << raw.text;
    EXPECT_EQ(calls.load(), 0);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
    ServerOptions options = TestOptions();
    options.idle_timeout = 200ms;
    StartServer(options, Echo);

    RawConnection connection(port());
    ASSERT_TRUE(connection.Write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto response = connection.ReadResponse();
    EXPECT_TRUE(StartsWith(response.text, "HTTP/1.1 200")) << response.text;
    EXPECT_FALSE(response.closed);
    EXPECT_TRUE(connection.WaitClosed(5s));
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));

    // The client notices the closed connection and reconnects on its own.
    HttpClient client(port());
    EXPECT_EQ(client.Get("/a").status, 200);
    ASSERT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
    EXPECT_EQ(client.Get("/b").status, 200);
    EXPECT_EQ(client.connections_opened(), 2);
}

TEST_F(ServerTest, KeepAliveTimeoutsFollowEachPhase) {
    ServerOptions options = TestOptions();
    options.header_timeout = 300ms;
    options.idle_timeout = 20s;
    options.body_timeout = 300ms;
    StartServer(options, Echo);

    RawConnection connection(port());
    // Requests spread over longer than every short deadline: each phase's deadline is its own.
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(connection.Write("GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
        auto response = connection.ReadResponse();
        ASSERT_TRUE(StartsWith(response.text, "HTTP/1.1 200")) << response.text;
        ASSERT_FALSE(response.closed);
        std::this_thread::sleep_for(200ms);
    }
    // The next request's head starts but never ends: header_timeout applies, not idle_timeout.
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(connection.Write("GET /late HTTP/1.1\r\nHost: x\r\n"));
    auto raw = connection.ReadUntilClosed();
    EXPECT_TRUE(raw.closed);
    EXPECT_TRUE(StartsWith(raw.text, "HTTP/1.1 408")) << raw.text;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);  // far below the 20 s idle timeout
}

TEST_F(ServerTest, HandlerExceptionIs500AndServerKeepsServing) {
    StartServer(TestOptions(), [](const Request& request) -> Response {
        if (request.path == "/throw") throw std::runtime_error("secret detail");
        if (request.path == "/throw-int") throw 42;
        return Echo(request);
    });
    HttpClient client(port());
    auto result = client.Get("/throw");
    EXPECT_EQ(result.status, 500);
    EXPECT_EQ(result.body, "internal: internal error");
    EXPECT_EQ(client.Get("/throw-int").status, 500);
    EXPECT_EQ(client.Get("/fine").status, 200);
    EXPECT_EQ(client.connections_opened(), 1);  // a handler failure does not cost the connection
}

TEST_F(ServerTest, ThrowingErrorResponderFallsBack) {
    ServerOptions options = TestOptions();
    options.error_response = [](ErrorCode, std::string) -> Response { throw std::runtime_error("broken"); };
    StartServer(options, [](const Request&) -> Response { throw std::runtime_error("x"); });
    HttpClient client(port());
    EXPECT_EQ(client.Get("/").status, 500);
}

TEST_F(ServerTest, GracefulStopFinishesRequestInFlight) {
    std::promise<void> entered;
    std::atomic<bool> entered_once{false};
    StartServer(TestOptions(), [&](const Request& request) {
        if (request.path == "/slow") {
            if (!entered_once.exchange(true)) entered.set_value();
            std::this_thread::sleep_for(300ms);
        }
        return Echo(request);
    });

    // An idle keep-alive connection: closed as soon as Stop begins.
    RawConnection idle(port());
    ASSERT_TRUE(idle.Write("GET /warmup HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(StartsWith(idle.ReadResponse().text, "HTTP/1.1 200"));

    auto slow = std::async(std::launch::async, [&] {
        HttpClient client(port());
        return client.Get("/slow");
    });
    entered.get_future().wait();
    server_->Stop();
    server_->Stop();  // idempotent

    EXPECT_TRUE(idle.WaitClosed(2s));
    vg::testing::HttpResult result = slow.get();
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.body, "GET /slow ");
    EXPECT_EQ(result.header("Connection"), "close");

    server_->Wait();
    EXPECT_EQ(server_->open_connections(), 0u);
    EXPECT_FALSE(vg::testing::CanConnect(port()));
    HttpClient late(port());
    EXPECT_THROW(late.Get("/"), HttpClientError);
}

TEST_F(ServerTest, RequestArrivingDuringDrainGets503) {
    std::promise<void> entered;
    StartServer(TestOptions(), [&](const Request& request) {
        if (request.path == "/slow") {
            entered.set_value();
            std::this_thread::sleep_for(300ms);
        }
        return Echo(request);
    });
    auto slow = std::async(std::launch::async, [&] {
        HttpClient client(port());
        return client.Get("/slow");
    });
    entered.get_future().wait();

    // A request that has started (its first bytes were read) when Stop begins is read to the end
    // and refused; a connection with nothing started would be closed instead.
    RawConnection late(port());
    ASSERT_TRUE(late.Write("GET /late HTTP/1.1\r\n"));
    std::this_thread::sleep_for(100ms);  // let the server see the first bytes
    server_->Stop();
    ASSERT_TRUE(late.Write("Host: x\r\n\r\n"));
    auto refused = late.ReadUntilClosed();
    EXPECT_TRUE(StartsWith(refused.text, "HTTP/1.1 503")) << refused.text;
    EXPECT_NE(refused.text.find("Connection: close"), std::string::npos) << refused.text;
    EXPECT_TRUE(refused.closed);

    EXPECT_EQ(slow.get().status, 200);
    server_->Wait();
}

TEST_F(ServerTest, ShutdownGraceForceClosesStuckRequests) {
    ServerOptions options = TestOptions();
    options.shutdown_grace = 100ms;
    std::promise<void> entered;
    StartServer(options, [&](const Request&) {
        entered.set_value();
        std::this_thread::sleep_for(1s);
        return Response{};
    });
    RawConnection connection(port());
    ASSERT_TRUE(connection.Write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    entered.get_future().wait();
    server_->Stop();
    EXPECT_TRUE(connection.WaitClosed(5s));  // closed by the grace timeout, not after the handler's 1 s
    server_->Wait();                         // joins the worker once the handler returns
    EXPECT_EQ(server_->open_connections(), 0u);
}

TEST_F(ServerTest, ConcurrentClients) {
    ServerOptions options = TestOptions();
    options.io_threads = 2;
    options.worker_threads = 4;
    std::atomic<int> calls{0};
    StartServer(options, [&](const Request& request) {
        ++calls;
        return Echo(request);
    });
    constexpr int kThreads = 8;
    constexpr int kRequests = 25;
    std::vector<std::future<int>> results;
    for (int t = 0; t < kThreads; ++t) {
        results.push_back(std::async(std::launch::async, [&, t] {
            HttpClient client(port());
            int good = 0;
            for (int i = 0; i < kRequests; ++i) {
                std::string body = "t" + std::to_string(t) + "-" + std::to_string(i);
                auto result = client.PostRaw("/c", body, "text/plain");
                if (result.status == 200 && result.body == "POST /c " + body) ++good;
            }
            return good;
        }));
    }
    int good = 0;
    for (auto& f : results) good += f.get();
    EXPECT_EQ(good, kThreads * kRequests);
    EXPECT_EQ(calls.load(), kThreads * kRequests);
}

// ---- Lanes ----

std::string LaneName(Lane lane) {
    switch (lane) {
        case Lane::kInline:
            return "inline";
        case Lane::kWorker:
            return "worker";
        case Lane::kSlow:
            return "slow";
        case Lane::kUrgent:
            return "urgent";
    }
    return "?";
}

// "/inline..." -> kInline, "/slow..." -> kSlow, "/urgent..." -> kUrgent, "/throw" -> a throwing
// classifier, else kWorker.
Lane ClassifyByPrefix(const Request& request) {
    if (StartsWith(request.path, "/inline")) return Lane::kInline;
    if (StartsWith(request.path, "/slow")) return Lane::kSlow;
    if (StartsWith(request.path, "/urgent")) return Lane::kUrgent;
    if (request.path == "/throw") throw std::runtime_error("classifier failed");
    return Lane::kWorker;
}

TEST_F(ServerTest, InlineHandlerRunsOnTheIoThreadWithoutTheWorkers) {
    ServerOptions options = TestOptions();
    options.io_threads = 1;
    options.worker_threads = 1;
    options.classify = ClassifyByPrefix;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::promise<void> blocked;
    std::mutex mu;
    std::vector<std::thread::id> inline_threads;  // guarded by mu
    std::thread::id worker_thread;                // guarded by mu
    StartServer(options, [&](const Request& request) {
        if (request.lane == Lane::kInline) {
            std::lock_guard lock(mu);
            inline_threads.push_back(std::this_thread::get_id());
        } else if (request.path == "/block") {
            {
                std::lock_guard lock(mu);
                worker_thread = std::this_thread::get_id();
            }
            blocked.set_value();
            released.wait();  // the only worker thread is now busy until the test releases it
        }
        Response response = Echo(request);
        response.body += LaneName(request.lane);
        return response;
    });

    auto block = std::async(std::launch::async, [&] { return HttpClient(port()).Get("/block"); });
    blocked.get_future().wait();
    // With the worker pool stuck, inline requests are still answered: they never queue for it.
    HttpClient client(port());
    for (int i = 0; i < 3; ++i) {
        auto result = client.Get("/inline/" + std::to_string(i));
        EXPECT_EQ(result.status, 200);
        EXPECT_EQ(result.body, "GET /inline/" + std::to_string(i) + " inline");
    }
    release.set_value();
    EXPECT_EQ(block.get().body, "GET /block worker");

    std::lock_guard lock(mu);
    ASSERT_EQ(inline_threads.size(), 3u);
    // One io thread: every inline request ran on it, and it is not the worker.
    EXPECT_EQ(inline_threads[0], inline_threads[1]);
    EXPECT_EQ(inline_threads[0], inline_threads[2]);
    EXPECT_NE(inline_threads[0], worker_thread);
    EXPECT_NE(inline_threads[0], std::this_thread::get_id());
}

TEST_F(ServerTest, InlineHandlerCanHandTheRequestToTheWorkerLane) {
    ServerOptions options = TestOptions();
    options.classify = ClassifyByPrefix;
    std::atomic<int> calls{0};
    StartServer(options, [&](const Request& request) {
        ++calls;
        if (request.lane == Lane::kInline && request.path == "/inline/defer") return Response::RunOnWorker();
        // From the worker lane, RunOnWorker is a bug: answered with 500.
        if (request.path == "/worker/defer") return Response::RunOnWorker();
        Response response = Echo(request);
        response.body += LaneName(request.lane);
        return response;
    });
    HttpClient client(port());
    auto deferred = client.PostRaw("/inline/defer", "body/", "text/plain");
    EXPECT_EQ(deferred.status, 200);
    EXPECT_EQ(deferred.body, "POST /inline/defer body/worker");
    EXPECT_EQ(calls.load(), 2);  // once inline, once on the worker lane, for the same request

    EXPECT_EQ(client.Get("/inline/stay").body, "GET /inline/stay inline");
    EXPECT_EQ(client.Get("/worker/defer").status, 500);
    EXPECT_EQ(client.Get("/throw").body, "GET /throw worker");  // a throwing classifier: worker lane
    EXPECT_EQ(client.Get("/other").body, "GET /other worker");
    EXPECT_EQ(client.Get("/slow").body, "GET /slow slow");
}

TEST_F(ServerTest, SlowLaneStormDoesNotDelayTheWorkerLane) {
    ServerOptions options = TestOptions();
    options.worker_threads = 4;
    options.slow_threads = 2;
    options.classify = ClassifyByPrefix;
    constexpr int kStorm = 20;
    constexpr auto kSlowWork = 300ms;  // 20 requests on 2 slow threads: about 3 s in all
    std::atomic<int> slow_started{0};
    std::atomic<int> slow_done{0};
    StartServer(options, [&](const Request& request) {
        if (request.lane == Lane::kSlow) {
            ++slow_started;
            std::this_thread::sleep_for(kSlowWork);  // stands for Argon2id
            ++slow_done;
        }
        return Echo(request);
    });
    std::vector<std::future<int>> storm;
    for (int i = 0; i < kStorm; ++i) {
        storm.push_back(std::async(std::launch::async, [&] {
            HttpClient client(port());
            client.set_timeout(30s);
            return client.PostRaw("/slow/login", "{}").status;
        }));
    }
    ASSERT_TRUE(Eventually([&] { return slow_started.load() >= 2; }));

    HttpClient client(port());
    const auto started = std::chrono::steady_clock::now();
    auto fast = client.PostRaw("/api/update_status", "{}");
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(fast.status, 200);
    // Generous: the storm takes about 3 s; sharing its pool would put this request behind most of it.
    EXPECT_LT(waited, 1s);
    EXPECT_LT(slow_done.load(), kStorm - 2) << "the storm was over before the request was timed";

    for (auto& f : storm) EXPECT_EQ(f.get(), 200);  // within slow_queue_limit: all admitted
    EXPECT_EQ(slow_done.load(), kStorm);
}

// A watch's readings and an SOS (the urgent lane) are answered while every worker thread is stuck and
// the worker lane's queue is full; the urgent lane's own limit answers 503 like the others.
TEST_F(ServerTest, FullWorkerLaneDoesNotStopTheUrgentLane) {
    ServerOptions options = TestOptions();
    options.worker_threads = 1;
    options.worker_queue_limit = 1;  // the one running request fills the lane
    options.urgent_threads = 1;
    options.urgent_queue_limit = 1;
    options.busy_retry_after = 3s;
    options.classify = ClassifyByPrefix;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::promise<void> worker_entered;
    std::promise<void> urgent_entered;
    StartServer(options, [&](const Request& request) {
        if (request.path == "/worker/first") {
            worker_entered.set_value();
            released.wait();
        }
        if (request.path == "/urgent/hold") {
            urgent_entered.set_value();
            released.wait();
        }
        Response response = Echo(request);
        response.body += LaneName(request.lane);
        return response;
    });
    auto first = std::async(std::launch::async, [&] { return HttpClient(port()).Get("/worker/first"); });
    worker_entered.get_future().wait();
    // The worker lane is full: the next worker request is refused...
    HttpClient client(port());
    auto refused = client.Get("/worker/second");
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.header("Retry-After"), "3");
    // ...while the urgent lane answers at once.
    for (int i = 0; i < 3; ++i) {
        auto urgent = client.PostRaw("/urgent/readings", "{}");
        EXPECT_EQ(urgent.status, 200);
        EXPECT_EQ(urgent.body, "POST /urgent/readings {}urgent");
    }
    // Its own limit: with its one admission held, another urgent request is refused, not queued.
    auto hold = std::async(std::launch::async, [&] { return HttpClient(port()).Get("/urgent/hold"); });
    urgent_entered.get_future().wait();
    auto urgent_refused = client.Get("/urgent/more");
    EXPECT_EQ(urgent_refused.status, 503);
    EXPECT_EQ(urgent_refused.header("Retry-After"), "3");
    release.set_value();
    EXPECT_EQ(first.get().body, "GET /worker/first worker");
    EXPECT_EQ(hold.get().body, "GET /urgent/hold urgent");
    // Both lanes take requests again once their work is done.
    EXPECT_EQ(client.Get("/worker/again").status, 200);
    EXPECT_EQ(client.Get("/urgent/again").status, 200);
}

TEST_F(ServerTest, FullSlowLaneAnswers503WithRetryAfter) {
    ServerOptions options = TestOptions();
    options.slow_threads = 1;
    options.slow_queue_limit = 1;  // one running, one waiting
    options.slow_retry_after = 7s;
    options.classify = ClassifyByPrefix;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::promise<void> entered;
    std::atomic<int> calls{0};
    StartServer(options, [&](const Request& request) {
        if (request.path == "/slow/first") {
            entered.set_value();
            released.wait();
        }
        ++calls;
        return Echo(request);
    });
    auto first = std::async(std::launch::async, [&] { return HttpClient(port()).Get("/slow/first"); });
    entered.get_future().wait();
    // Two more: one waits for the slow thread, the other finds the lane full (which is which depends
    // on the order the io threads read them).
    auto second = std::async(std::launch::async, [&] { return HttpClient(port()).Get("/slow/second"); });
    auto third = std::async(std::launch::async, [&] { return HttpClient(port()).Get("/slow/third"); });
    auto ready = [](std::future<vg::testing::HttpResult>& f) { return f.wait_for(0s) == std::future_status::ready; };
    // The refusal comes at once, while the slow thread is still busy.
    ASSERT_TRUE(Eventually([&] { return ready(second) || ready(third); }));
    auto& refused_future = ready(second) ? second : third;
    auto& queued_future = ready(second) ? third : second;
    vg::testing::HttpResult refused = refused_future.get();
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.header("Retry-After"), "7");
    EXPECT_TRUE(StartsWith(refused.body, "unavailable: ")) << refused.body;
    // A worker-lane request is not affected.
    HttpClient client(port());
    EXPECT_EQ(client.Get("/worker").status, 200);

    release.set_value();
    EXPECT_EQ(first.get().status, 200);
    EXPECT_EQ(queued_future.get().status, 200);
    EXPECT_EQ(calls.load(), 3);  // first, the queued one, /worker: never the refused one
    // Capacity is given back: the lane admits again.
    EXPECT_EQ(client.Get("/slow/again").status, 200);
}

// A thousand idle keep-alive connections from one address must not starve everyone else: beyond the
// per-address limit a new connection gets one 503 and is closed; closing one makes room again.
TEST_F(ServerTest, ConnectionsBeyondThePerAddressLimitAreRefusedWith503) {
    ServerOptions options = TestOptions();
    options.max_connections_per_address = 2;
    options.busy_retry_after = 3s;
    StartServer(options, Echo);
    auto first = std::make_unique<RawConnection>(port());
    RawConnection second(port());
    ASSERT_TRUE(first->Write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(StartsWith(first->ReadResponse().text, "HTTP/1.1 200"));  // both are open now
    ASSERT_TRUE(Eventually([&] { return server_->open_connections() == 2; }));

    RawConnection third(port());
    const std::string refused = third.ReadUntilClosed().text;
    EXPECT_TRUE(StartsWith(refused, "HTTP/1.1 503")) << refused;
    EXPECT_NE(refused.find("Retry-After: 3\r\n"), std::string::npos) << refused;
    EXPECT_NE(refused.find("unavailable: Too many connections"), std::string::npos) << refused;
    EXPECT_EQ(server_->open_connections(), 2u);

    first.reset();  // the client goes away: its slot is free again
    ASSERT_TRUE(Eventually([&] { return server_->open_connections() == 1; }));
    HttpClient client(port());
    EXPECT_EQ(client.Get("/b").status, 200);
}

// A reverse proxy's connections carry many clients: an exempt address counts only towards the total.
TEST_F(ServerTest, AnExemptAddressIsLimitedOnlyByTheTotal) {
    ServerOptions options = TestOptions();
    options.max_connections_per_address = 1;
    options.max_connections = 3;
    options.connection_limit_exempt = {*ParseIpRange("127.0.0.0/8")};
    StartServer(options, Echo);
    std::vector<std::unique_ptr<RawConnection>> open;
    for (int i = 0; i < 3; ++i) {
        open.push_back(std::make_unique<RawConnection>(port()));
        ASSERT_TRUE(open.back()->Write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
        ASSERT_TRUE(StartsWith(open.back()->ReadResponse().text, "HTTP/1.1 200")) << "connection " << i;
    }
    RawConnection fourth(port());
    EXPECT_TRUE(StartsWith(fourth.ReadUntilClosed().text, "HTTP/1.1 503")) << "the total still holds";
}

// The worker lane's queue is bounded: a burst beyond it is answered 503 at once instead of growing
// without limit behind a stuck handler; capacity comes back when requests finish.
TEST_F(ServerTest, AFullWorkerLaneAnswers503WithRetryAfter) {
    ServerOptions options = TestOptions();
    options.worker_threads = 1;
    options.worker_queue_limit = 2;  // one running, one waiting
    options.busy_retry_after = 4s;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::promise<void> entered;
    std::atomic<int> calls{0};
    StartServer(options, [&](const Request& request) {
        if (request.path == "/first") {
            entered.set_value();
            released.wait();
        }
        ++calls;
        return Echo(request);
    });
    auto first = std::async(std::launch::async, [&] { return HttpClient(port()).Get("/first"); });
    entered.get_future().wait();
    auto second = std::async(std::launch::async, [&] { return HttpClient(port()).Get("/second"); });
    auto third = std::async(std::launch::async, [&] { return HttpClient(port()).Get("/third"); });
    auto ready = [](std::future<vg::testing::HttpResult>& f) { return f.wait_for(0s) == std::future_status::ready; };
    ASSERT_TRUE(Eventually([&] { return ready(second) || ready(third); }));
    auto& refused_future = ready(second) ? second : third;
    auto& queued_future = ready(second) ? third : second;
    vg::testing::HttpResult refused = refused_future.get();
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.header("Retry-After"), "4");
    release.set_value();
    EXPECT_EQ(first.get().status, 200);
    EXPECT_EQ(queued_future.get().status, 200);
    EXPECT_EQ(calls.load(), 2);
    EXPECT_EQ(HttpClient(port()).Get("/again").status, 200) << "capacity is given back";
}

// Answers given later (Response::Later): the handler's thread is free while the answer is awaited.
class LaterAnswers {
  public:
    // Returns a placeholder and keeps its Responder; answered by AnswerAll.
    Response Defer(const Request& request, std::chrono::milliseconds timeout = 5s) {
        Response fallback;
        fallback.status = 504;
        fallback.body = "late";
        auto [placeholder, responder] = Response::Later(timeout, fallback);
        placeholder.OnAnswer([](Response& answer) { answer.set_header("X-Finished", "yes"); });
        std::lock_guard lock(mu_);
        waiting_.emplace_back(request.path, std::move(responder));
        return std::move(placeholder);
    }
    size_t waiting() {
        std::lock_guard lock(mu_);
        return waiting_.size();
    }
    void AnswerAll() {
        std::vector<std::pair<std::string, Responder>> waiting;
        {
            std::lock_guard lock(mu_);
            waiting.swap(waiting_);
        }
        for (auto& [path, responder] : waiting) {
            Response answer;
            answer.body = "answered " + path;
            responder.Send(answer);
            answer.body = "a second answer is dropped";
            responder.Send(answer);
        }
    }

  private:
    std::mutex mu_;
    std::vector<std::pair<std::string, Responder>> waiting_;
};

TEST_F(ServerTest, AnswersGivenLaterHoldNoWorkerThread) {
    ServerOptions options = TestOptions();
    options.worker_threads = 1;
    LaterAnswers later;
    StartServer(options, [&](const Request& request) { return later.Defer(request); });
    // With one worker thread, ten requests can only all be waiting at once if none holds it.
    std::vector<std::future<vg::testing::HttpResult>> calls;
    for (int i = 0; i < 10; ++i) {
        calls.push_back(
            std::async(std::launch::async, [&, i] { return HttpClient(port()).Get("/r" + std::to_string(i)); }));
    }
    ASSERT_TRUE(Eventually([&] { return later.waiting() == 10; }));
    later.AnswerAll();
    for (int i = 0; i < 10; ++i) {
        vg::testing::HttpResult result = calls[i].get();
        EXPECT_EQ(result.status, 200);
        EXPECT_EQ(result.body, "answered /r" + std::to_string(i));
        EXPECT_EQ(result.header("X-Finished"), "yes") << "the finishers ran on the answer";
    }
}

TEST_F(ServerTest, AnAnswerAlreadyGivenWhenTheHandlerReturnsIsWrittenOnEveryLane) {
    ServerOptions options = TestOptions();
    options.classify = [](const Request& request) {
        return request.path == "/inline" ? Lane::kInline : request.path == "/urgent" ? Lane::kUrgent : Lane::kWorker;
    };
    StartServer(options, [](const Request& request) {
        auto [placeholder, responder] = Response::Later(5s, Response{});
        Response answer = Echo(request);
        responder.Send(answer);
        return std::move(placeholder);
    });
    HttpClient client(port());
    for (const char* path : {"/inline", "/urgent", "/worker"}) {
        vg::testing::HttpResult result = client.Get(path);
        EXPECT_EQ(result.status, 200) << path;
        EXPECT_EQ(result.body, std::string("GET ") + path + " ") << path;
    }
}

TEST_F(ServerTest, AnAnswerThatDoesNotComeInTimeIsTheFallbackAndTheConnectionStaysUsable) {
    LaterAnswers later;
    StartServer(TestOptions(), [&](const Request& request) {
        if (request.path == "/slow") return later.Defer(request, 200ms);
        return Echo(request);
    });
    RawConnection connection(port());
    ASSERT_TRUE(connection.Write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    vg::testing::RawResponse fallback = connection.ReadResponse();
    EXPECT_TRUE(StartsWith(fallback.text, "HTTP/1.1 504")) << fallback.text;
    EXPECT_NE(fallback.text.find("X-Finished: yes"), std::string::npos) << "finishers run on the fallback too";
    EXPECT_NE(fallback.text.find("\r\n\r\nlate"), std::string::npos) << fallback.text;
    later.AnswerAll();  // too late: dropped, nothing more is written on the connection
    ASSERT_TRUE(connection.Write("GET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
    vg::testing::RawResponse next = connection.ReadResponse();
    EXPECT_TRUE(StartsWith(next.text, "HTTP/1.1 200")) << next.text;
    EXPECT_NE(next.text.find("GET /next "), std::string::npos) << next.text;
}

TEST_F(ServerTest, AnAnswerForAConnectionThatClosedIsDroppedAndReleasesIt) {
    LaterAnswers later;
    ServerOptions options = TestOptions();
    options.shutdown_grace = 100ms;  // a request still waiting for its answer holds Stop() this long
    StartServer(options, [&](const Request& request) { return later.Defer(request); });
    {
        RawConnection connection(port());
        ASSERT_TRUE(connection.Write("GET /gone HTTP/1.1\r\nHost: x\r\n\r\n"));
        ASSERT_TRUE(Eventually([&] { return later.waiting() == 1; }));
    }  // the client goes away while its answer is awaited
    // The server notices only when it next touches the socket; stopping closes it for sure.
    server_->Stop();
    server_->Wait();
    EXPECT_EQ(server_->open_connections(), 0u);
    later.AnswerAll();  // after the server has gone: must touch nothing of it (ASan would see it)
}

TEST(ServerLifecycleTest, BindFailureIsUnavailable) {
    Server first(TestOptions(), Echo);
    ASSERT_TRUE(first.Start().ok());
    ServerOptions options = TestOptions();
    options.port = first.port();
    Server second(options, Echo);
    Status status = second.Start();
    EXPECT_EQ(status.code(), ErrorCode::kUnavailable) << status.ToString();
    EXPECT_NE(status.message().find(std::to_string(first.port())), std::string::npos) << status.message();
    second.Wait();  // never started: returns at once
}

TEST(ServerLifecycleTest, MissingErrorResponderIsRejected) {
    ServerOptions options = TestOptions();
    options.error_response = nullptr;
    Server server(options, Echo);
    EXPECT_FALSE(server.Start().ok());
}

TEST(ServerLifecycleTest, DestructorStopsARunningServer) {
    auto server = std::make_unique<Server>(TestOptions(), Echo);
    ASSERT_TRUE(server->Start().ok());
    HttpClient client(server->port());
    EXPECT_EQ(client.Get("/").status, 200);  // leaves an idle keep-alive connection open
    server.reset();
}

TEST(ServerLifecycleTest, StopFromAnotherThreadWakesWait) {
    Server server(TestOptions(), Echo);
    ASSERT_TRUE(server.Start().ok());
    std::thread stopper([&] {
        std::this_thread::sleep_for(50ms);
        server.Stop();
    });
    server.Wait();
    stopper.join();
    server.Stop();  // after Wait: still fine
}

TEST(ServerLifecycleTest, StopBeforeStart) {
    Server server(TestOptions(), Echo);
    server.Stop();
    EXPECT_FALSE(server.Start().ok());
    server.Wait();
}

TEST(ResponseTest, SetHeaderReplacesCaseInsensitively) {
    Response response;
    response.headers.push_back({"content-type", "a"});
    response.headers.push_back({"X-Other", "b"});
    response.headers.push_back({"Content-Type", "c"});
    response.set_header("Content-Type", "application/json");
    ASSERT_EQ(response.headers.size(), 2u);
    EXPECT_EQ(response.headers[0].name, "Content-Type");
    EXPECT_EQ(response.headers[0].value, "application/json");
    EXPECT_EQ(response.headers[1].name, "X-Other");
    response.set_header("X-New", "d");
    EXPECT_EQ(response.headers.size(), 3u);
}

}  // namespace
}  // namespace vg::http
