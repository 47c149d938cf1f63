// WebSocket support of vg::http::Server, driven by vg::testing::WebSocketClient over real sockets.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vg/http/server.hpp"
#include "vg/testing/http_client.hpp"
#include "vg/testing/websocket_client.hpp"

namespace vg::http {
namespace {

using namespace std::chrono_literals;
using vg::testing::HttpClient;
using vg::testing::WebSocketClient;

Response PlainError(ErrorCode code, std::string message) {
    Response response;
    switch (code) {
        case ErrorCode::kUnavailable:
            response.status = 503;
            break;
        case ErrorCode::kBadRequest:
            response.status = 400;
            break;
        default:
            response.status = 500;
            break;
    }
    response.set_header("Content-Type", "text/plain");
    response.body = std::string(ErrorCodeName(code)) + ": " + message;
    return response;
}

Response Hello(const Request& request) {
    Response response;
    response.set_header("Content-Type", "text/plain");
    response.body = "http " + request.path;
    return response;
}

ServerOptions TestOptions() {
    ServerOptions options;
    options.port = 0;
    options.error_response = PlainError;
    options.shutdown_grace = 5s;
    return options;
}

// Records what the server reports through the callbacks; the test thread waits on it.
class Recorder {
  public:
    // Callbacks that record everything; `on_message` (optional) also runs for each message.
    WebSocketCallbacks Callbacks(std::function<void(WebSocketConnection&, const std::string&)> on_message = {}) {
        WebSocketCallbacks callbacks;
        auto slot = std::make_shared<std::shared_ptr<WebSocketConnection>>();
        callbacks.on_open = [this, slot](std::shared_ptr<WebSocketConnection> connection) {
            *slot = connection;
            std::lock_guard lock(mu_);
            if (closes_for_.count(slot.get()) > 0) ++callback_order_errors_;
            connections_.push_back(std::move(connection));
            ++opens_;
            cv_.notify_all();
        };
        callbacks.on_message = [this, slot, on_message](std::string message) {
            if (in_message_.fetch_add(1) != 0) ++overlapping_messages_;  // one at a time per connection
            if (on_message) on_message(**slot, message);
            in_message_.fetch_sub(1);
            std::lock_guard lock(mu_);
            if (closes_for_.count(slot.get()) > 0) ++callback_order_errors_;
            messages_.push_back(std::move(message));
            cv_.notify_all();
        };
        callbacks.on_close = [this, slot] {
            std::lock_guard lock(mu_);
            if (!*slot) ++callback_order_errors_;  // on_close before on_open
            if (closes_for_[slot.get()]++ > 0) ++callback_order_errors_;
            ++closes_;
            cv_.notify_all();
        };
        return callbacks;
    }

    // Waits (up to `within`) until `condition` holds; it is evaluated under the lock.
    template <class Condition>
    bool WaitFor(Condition condition, std::chrono::milliseconds within = 10s) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, within, [&] { return condition(); });
    }
    bool WaitOpens(int n) {
        return WaitFor([&] { return opens_ >= n; });
    }
    bool WaitCloses(int n) {
        return WaitFor([&] { return closes_ >= n; });
    }
    bool WaitMessages(size_t n) {
        return WaitFor([&] { return messages_.size() >= n; });
    }

    int opens() {
        std::lock_guard lock(mu_);
        return opens_;
    }
    int closes() {
        std::lock_guard lock(mu_);
        return closes_;
    }
    std::vector<std::string> messages() {
        std::lock_guard lock(mu_);
        return messages_;
    }
    std::shared_ptr<WebSocketConnection> connection(size_t i) {
        std::lock_guard lock(mu_);
        return i < connections_.size() ? connections_[i] : nullptr;
    }
    std::vector<std::shared_ptr<WebSocketConnection>> connections() {
        std::lock_guard lock(mu_);
        return connections_;
    }
    int errors() {
        std::lock_guard lock(mu_);
        return callback_order_errors_ + overlapping_messages_.load();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::shared_ptr<WebSocketConnection>> connections_;
    std::vector<std::string> messages_;
    std::map<const void*, int> closes_for_;
    int opens_ = 0;
    int closes_ = 0;
    int callback_order_errors_ = 0;
    std::atomic<int> in_message_{0};
    std::atomic<int> overlapping_messages_{0};
};

class WebSocketTest : public ::testing::Test {
  protected:
    // Starts a server whose upgrader accepts every request with the recorder's callbacks.
    void StartAccepting(ServerOptions options = TestOptions(),
                        std::function<void(WebSocketConnection&, const std::string&)> on_message = {}) {
        options.websocket_upgrader = [this, on_message](const Request& request) {
            {
                std::lock_guard lock(mu_);
                upgrade_requests_.push_back(request);
            }
            WebSocketDecision decision;
            decision.callbacks = recorder_.Callbacks(on_message);
            return decision;
        };
        StartServer(std::move(options));
    }

    void StartServer(ServerOptions options, Handler handler = Hello) {
        server_ = std::make_unique<Server>(std::move(options), std::move(handler));
        Status status = server_->Start();
        ASSERT_TRUE(status.ok()) << status.ToString();
    }

    // A client with an open WebSocket to /ws.
    std::unique_ptr<WebSocketClient> Open(const vg::testing::Headers& headers = {}) {
        auto client = std::make_unique<WebSocketClient>();
        auto handshake = client->Connect(server_->port(), "/ws", headers);
        EXPECT_TRUE(handshake.accepted()) << handshake.status << " " << handshake.body;
        return client;
    }

    template <class Condition>
    bool Eventually(Condition condition, std::chrono::milliseconds within = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + within;
        while (!condition()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }

    std::mutex mu_;
    std::vector<Request> upgrade_requests_;  // guarded by mu_
    Recorder recorder_;
    std::unique_ptr<Server> server_;  // declared last: destroyed (stopped) first
};

TEST_F(WebSocketTest, RefusedUpgradeIsAnOrdinaryResponse) {
    ServerOptions options = TestOptions();
    std::atomic<int> upgrader_calls{0};
    options.websocket_upgrader = [&](const Request& request) {
        ++upgrader_calls;
        WebSocketDecision decision;
        if (request.header("cookie") != "vg_session=good") {
            Response refusal;
            refusal.status = 401;
            refusal.set_header("Content-Type", "application/json");
            refusal.set_header("X-Reason", "no-session");
            refusal.body = R"({"error":"unauthenticated"})";
            decision.refusal = refusal;
            return decision;
        }
        decision.callbacks = recorder_.Callbacks();
        return decision;
    };
    StartServer(options);

    WebSocketClient refused;
    auto handshake = refused.Connect(server_->port(), "/ws", {{"Cookie", "vg_session=bad"}});
    EXPECT_FALSE(handshake.accepted());
    EXPECT_EQ(handshake.status, 401);
    EXPECT_EQ(handshake.body, R"({"error":"unauthenticated"})");
    EXPECT_EQ(handshake.header("x-reason"), "no-session");
    EXPECT_FALSE(refused.Send("ignored"));
    EXPECT_EQ(refused.Receive(100ms), std::nullopt);

    auto accepted = Open({{"Cookie", "vg_session=good"}, {"Origin", "http://localhost:8080"}});
    ASSERT_TRUE(recorder_.WaitOpens(1));
    EXPECT_EQ(upgrader_calls.load(), 2);
    EXPECT_EQ(recorder_.closes(), 0);  // a refused upgrade never reaches the callbacks
}

TEST_F(WebSocketTest, RefusalKeepsTheConnectionAliveLikeAnyResponse) {
    ServerOptions options = TestOptions();
    options.websocket_upgrader = [](const Request&) {
        WebSocketDecision decision;
        decision.refusal = Response{403, {}, "forbidden"};
        return decision;
    };
    StartServer(options);
    vg::testing::RawConnection connection(server_->port());
    const std::string upgrade =
        "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    ASSERT_TRUE(connection.Write(upgrade));
    auto first = connection.ReadResponse();
    EXPECT_TRUE(first.text.starts_with("HTTP/1.1 403")) << first.text;
    EXPECT_FALSE(first.closed);
    ASSERT_TRUE(connection.Write("GET /after HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto second = connection.ReadResponse();
    EXPECT_NE(second.text.find("http /after"), std::string::npos) << second.text;
}

TEST_F(WebSocketTest, WithoutUpgraderUpgradeRequestsReachTheHandler) {
    std::atomic<int> calls{0};
    StartServer(TestOptions(), [&](const Request& request) {
        ++calls;
        Response response;
        response.status = 426;
        response.body = "handler saw upgrade=" + std::string(request.header("upgrade"));
        return response;
    });
    WebSocketClient client;
    auto handshake = client.Connect(server_->port(), "/ws");
    EXPECT_EQ(handshake.status, 426);
    EXPECT_EQ(handshake.body, "handler saw upgrade=websocket");
    EXPECT_EQ(calls.load(), 1);
}

TEST_F(WebSocketTest, AcceptedUpgradeOpensAndEchoes) {
    StartAccepting(TestOptions(), [](WebSocketConnection& connection, const std::string& message) {
        EXPECT_TRUE(connection.SendText(message.starts_with("{") ? message : "echo:" + message));
    });
    auto client = Open({{"Cookie", "vg_session=abc"}});
    ASSERT_TRUE(recorder_.WaitOpens(1));
    {
        std::lock_guard lock(mu_);
        ASSERT_EQ(upgrade_requests_.size(), 1u);
        EXPECT_EQ(upgrade_requests_[0].path, "/ws");
        EXPECT_EQ(upgrade_requests_[0].header("cookie"), "vg_session=abc");
        EXPECT_EQ(upgrade_requests_[0].remote_address, "127.0.0.1");
    }
    EXPECT_EQ(server_->open_connections(), 1u);
    EXPECT_TRUE(recorder_.connection(0)->is_open());

    ASSERT_TRUE(client->Send("hello"));
    EXPECT_EQ(client->Receive(), "echo:hello");
    ASSERT_TRUE(client->Send(R"({"n":1})"));
    auto json = client->ReceiveJson();
    ASSERT_TRUE(json.has_value());
    EXPECT_EQ(json->at("n").as_int64(), 1);
}

TEST_F(WebSocketTest, ClientCloseEndsTheConnectionOnce) {
    StartAccepting();
    auto client = Open();
    ASSERT_TRUE(recorder_.WaitOpens(1));
    client->Close();
    EXPECT_TRUE(client->closed());
    EXPECT_EQ(client->close_code(), 1000);
    ASSERT_TRUE(recorder_.WaitCloses(1));
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
    EXPECT_FALSE(recorder_.connection(0)->is_open());
    EXPECT_FALSE(recorder_.connection(0)->SendText("late"));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(recorder_.closes(), 1);
    EXPECT_EQ(recorder_.errors(), 0);
}

TEST_F(WebSocketTest, MessagesArriveInOrderOneAtATime) {
    std::atomic<int> seen{0};
    StartAccepting(TestOptions(), [&](WebSocketConnection&, const std::string&) {
        if (++seen % 20 == 0) std::this_thread::sleep_for(2ms);  // a slow handler now and then
    });
    auto client = Open();
    constexpr int kMessages = 300;
    for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(client->Send("m" + std::to_string(i)));
    ASSERT_TRUE(recorder_.WaitMessages(kMessages));
    auto messages = recorder_.messages();
    ASSERT_EQ(messages.size(), static_cast<size_t>(kMessages));
    for (int i = 0; i < kMessages; ++i) EXPECT_EQ(messages[static_cast<size_t>(i)], "m" + std::to_string(i));
    EXPECT_EQ(recorder_.errors(), 0);
}

TEST_F(WebSocketTest, OpenCallbackMaySendBeforeAnyMessage) {
    ServerOptions options = TestOptions();
    options.websocket_upgrader = [](const Request&) {
        WebSocketDecision decision;
        decision.callbacks.on_open = [](std::shared_ptr<WebSocketConnection> connection) {
            EXPECT_TRUE(connection->SendText("snapshot"));
        };
        return decision;
    };
    StartServer(options);
    auto client = Open();
    EXPECT_EQ(client->Receive(), "snapshot");
}

TEST_F(WebSocketTest, ServerSendsFromAnotherThreadInOrder) {
    StartAccepting();
    auto client = Open();
    ASSERT_TRUE(recorder_.WaitOpens(1));
    auto connection = recorder_.connection(0);
    constexpr int kMessages = 1000;
    std::thread sender([&] {
        for (int i = 0; i < kMessages; ++i) {
            if (!connection->SendText(R"({"seq":)" + std::to_string(i) + "}")) ADD_FAILURE() << "SendText " << i;
        }
    });
    for (int i = 0; i < kMessages; ++i) {
        auto json = client->ReceiveJson();
        ASSERT_TRUE(json.has_value()) << "message " << i << " missing";
        ASSERT_EQ(json->at("seq").as_int64(), i);
    }
    sender.join();
}

TEST_F(WebSocketTest, ConcurrentSendersEachKeepTheirOrder) {
    StartAccepting();
    auto client = Open();
    ASSERT_TRUE(recorder_.WaitOpens(1));
    auto connection = recorder_.connection(0);
    constexpr int kThreads = 4;
    constexpr int kEach = 250;
    std::vector<std::thread> senders;
    for (int t = 0; t < kThreads; ++t) {
        senders.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i)
                EXPECT_TRUE(connection->SendText(std::to_string(t) + ":" + std::to_string(i)));
        });
    }
    std::vector<int> next(kThreads, 0);
    for (int n = 0; n < kThreads * kEach; ++n) {
        auto message = client->Receive();
        ASSERT_TRUE(message.has_value());
        const size_t colon = message->find(':');
        const int t = std::stoi(message->substr(0, colon));
        EXPECT_EQ(std::stoi(message->substr(colon + 1)), next[static_cast<size_t>(t)]++);
    }
    for (auto& sender : senders) sender.join();
}

TEST_F(WebSocketTest, MessageOverLimitClosesWith1009) {
    ServerOptions options = TestOptions();
    options.websocket_message_limit_bytes = 1024;
    StartAccepting(options);
    auto client = Open();
    ASSERT_TRUE(client->Send(std::string(1024, 'a')));  // exactly at the limit: fine
    ASSERT_TRUE(recorder_.WaitMessages(1));
    (void)client->Send(std::string(1025, 'b'));
    EXPECT_TRUE(client->WaitClosed(10s));
    EXPECT_EQ(client->close_code(), 1009);
    ASSERT_TRUE(recorder_.WaitCloses(1));
    EXPECT_EQ(recorder_.messages().size(), 1u);
    EXPECT_FALSE(recorder_.connection(0)->SendText("x"));
}

TEST_F(WebSocketTest, BinaryMessageClosesWith1003) {
    StartAccepting();
    auto client = Open();
    ASSERT_TRUE(client->SendBinary(std::string("\x00\x01", 2)));
    EXPECT_TRUE(client->WaitClosed(10s));
    EXPECT_EQ(client->close_code(), 1003);
    ASSERT_TRUE(recorder_.WaitCloses(1));
    EXPECT_TRUE(recorder_.messages().empty());
}

TEST_F(WebSocketTest, ThrowingMessageHandlerClosesWith1011) {
    StartAccepting(TestOptions(), [](WebSocketConnection&, const std::string& message) {
        if (message == "boom") throw std::runtime_error("bug");
    });
    auto client = Open();
    ASSERT_TRUE(client->Send("boom"));
    EXPECT_TRUE(client->WaitClosed(10s));
    EXPECT_EQ(client->close_code(), 1011);
    ASSERT_TRUE(recorder_.WaitCloses(1));
}

TEST_F(WebSocketTest, ThrowingUpgraderIs500) {
    ServerOptions options = TestOptions();
    options.websocket_upgrader = [](const Request&) -> WebSocketDecision { throw std::runtime_error("db down"); };
    StartServer(options);
    WebSocketClient client;
    auto handshake = client.Connect(server_->port(), "/ws");
    EXPECT_EQ(handshake.status, 500);
    EXPECT_EQ(handshake.body, "internal: internal error");
}

TEST_F(WebSocketTest, MalformedHandshakeIsAnsweredWithoutCallbacks) {
    StartAccepting();
    vg::testing::RawConnection connection(server_->port());
    // An upgrade without Sec-WebSocket-Key: the upgrader runs, Beast refuses the handshake.
    ASSERT_TRUE(
        connection.Write("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n"));
    auto raw = connection.ReadUntilClosed();
    EXPECT_TRUE(raw.text.starts_with("HTTP/1.1 400")) << raw.text;
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
    EXPECT_EQ(recorder_.opens(), 0);
    EXPECT_EQ(recorder_.closes(), 0);
}

TEST_F(WebSocketTest, PlainHttpStillWorksBesideWebSockets) {
    StartAccepting();
    auto client = Open();
    HttpClient http(server_->port());
    auto result = http.Get("/api/status");
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.body, "http /api/status");
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 2; }));
}

TEST_F(WebSocketTest, SlowConsumerIsDisconnectedWithBoundedQueue) {
    ServerOptions options = TestOptions();
    options.websocket_send_queue_limit = 8;
    StartAccepting(options);
    auto client = Open();  // never reads
    ASSERT_TRUE(recorder_.WaitOpens(1));
    auto connection = recorder_.connection(0);

    const std::string chunk(64 * 1024, 'x');
    int accepted = 0;
    bool refused = false;
    // Paced, so that the queue drains while the socket still takes data: what stops it is the
    // consumer. 2000 x 64 KiB would be far more than the kernel's socket buffers hold.
    for (int i = 0; i < 2000 && !refused; ++i) {
        if (connection->SendText(chunk)) {
            ++accepted;
            if (i % 8 == 0) std::this_thread::sleep_for(1ms);
        } else {
            refused = true;
        }
    }
    EXPECT_TRUE(refused) << "accepted " << accepted << " messages without complaint";
    EXPECT_FALSE(connection->is_open());
    EXPECT_FALSE(connection->SendText("more"));
    ASSERT_TRUE(recorder_.WaitCloses(1));  // the server gives up on the close handshake in time
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
}

TEST_F(WebSocketTest, VanishedClientIsNoticed) {
    StartAccepting();
    auto client = Open();
    ASSERT_TRUE(recorder_.WaitOpens(1));
    client->Abort();  // TCP closed without a close frame
    ASSERT_TRUE(recorder_.WaitCloses(1));
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
    EXPECT_FALSE(recorder_.connection(0)->SendText("anyone?"));
}

TEST_F(WebSocketTest, UnresponsivePeerTimesOutAfterPings) {
    ServerOptions options = TestOptions();
    options.websocket_ping_interval = 250ms;
    StartAccepting(options);

    auto responsive = Open();  // keeps reading below, so it answers pings
    auto silent = Open();      // never reads again: no pongs
    ASSERT_TRUE(recorder_.WaitOpens(2));
    // Several intervals: the silent one is closed after about two, the responsive one stays.
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < until) EXPECT_EQ(responsive->Receive(20ms), std::nullopt);
    EXPECT_FALSE(responsive->closed()) << responsive->close_code();
    EXPECT_EQ(recorder_.closes(), 1);
    EXPECT_TRUE(silent->WaitClosed(1s));
    EXPECT_EQ(silent->close_code(), WebSocketClient::kAbnormal);  // no close frame for a dead peer
    ASSERT_TRUE(responsive->Send("still here"));
    ASSERT_TRUE(recorder_.WaitMessages(1));
}

TEST_F(WebSocketTest, ApplicationCloseFlushesQueuedMessagesFirst) {
    StartAccepting();
    auto client = Open();
    ASSERT_TRUE(recorder_.WaitOpens(1));
    auto connection = recorder_.connection(0);
    EXPECT_TRUE(connection->SendText("one"));
    EXPECT_TRUE(connection->SendText("two"));
    connection->Close();
    connection->Close();  // idempotent
    EXPECT_FALSE(connection->is_open());
    EXPECT_FALSE(connection->SendText("three"));
    EXPECT_EQ(client->Receive(), "one");
    EXPECT_EQ(client->Receive(), "two");
    EXPECT_TRUE(client->WaitClosed(10s));
    EXPECT_EQ(client->close_code(), 1000);
    ASSERT_TRUE(recorder_.WaitCloses(1));
    EXPECT_EQ(recorder_.errors(), 0);
}

// An application's own close code and reason reach the client (api closes a stream whose session
// ended with 4401 and says why).
TEST_F(WebSocketTest, ApplicationCloseWithItsOwnCodeAndReason) {
    StartAccepting();
    auto client = Open();
    ASSERT_TRUE(recorder_.WaitOpens(1));
    auto connection = recorder_.connection(0);
    EXPECT_TRUE(connection->SendText("last"));
    connection->Close(4401, "Your session has ended.");
    connection->Close(1000, "ignored: already closing");
    EXPECT_FALSE(connection->SendText("too late"));
    EXPECT_EQ(client->Receive(), "last");
    EXPECT_TRUE(client->WaitClosed(10s));
    EXPECT_EQ(client->close_code(), 4401);
    EXPECT_EQ(client->close_reason(), "Your session has ended.");
    ASSERT_TRUE(recorder_.WaitCloses(1));
    EXPECT_EQ(recorder_.errors(), 0);
}

TEST_F(WebSocketTest, StopClosesWebSocketsWithGoingAway) {
    StartAccepting();
    std::vector<std::unique_ptr<WebSocketClient>> clients;
    for (int i = 0; i < 3; ++i) clients.push_back(Open());
    ASSERT_TRUE(recorder_.WaitOpens(3));
    EXPECT_EQ(server_->open_connections(), 3u);

    server_->Stop();
    for (auto& client : clients) {
        EXPECT_TRUE(client->WaitClosed(10s));
        EXPECT_EQ(client->close_code(), 1001);
    }
    server_->Wait();
    EXPECT_EQ(recorder_.closes(), 3);  // every on_close ran before Wait returned
    EXPECT_EQ(server_->open_connections(), 0u);
    for (auto& connection : recorder_.connections()) EXPECT_FALSE(connection->SendText("after stop"));
    EXPECT_EQ(recorder_.errors(), 0);
}

TEST_F(WebSocketTest, StopWithUnresponsiveClientsStillReturns) {
    StartAccepting();
    auto silent = Open();  // never reads: never answers the close frame
    ASSERT_TRUE(recorder_.WaitOpens(1));
    const auto started = std::chrono::steady_clock::now();
    server_->Stop();
    server_->Wait();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
    EXPECT_EQ(recorder_.closes(), 1);
}

TEST_F(WebSocketTest, HandleOutlivesTheServer) {
    StartAccepting();
    auto client = Open();
    ASSERT_TRUE(recorder_.WaitOpens(1));
    std::shared_ptr<WebSocketConnection> kept = recorder_.connection(0);
    std::thread reader([&] { EXPECT_TRUE(client->WaitClosed(10s)); });  // answers the 1001
    server_.reset();                                                    // stops, waits, destroys the io_context
    reader.join();
    EXPECT_EQ(client->close_code(), 1001);
    EXPECT_FALSE(kept->is_open());
    EXPECT_FALSE(kept->SendText("into the void"));
    kept->Close();
    EXPECT_EQ(recorder_.closes(), 1);
}

TEST_F(WebSocketTest, SendTextRacingWithCloseIsSafe) {
    StartAccepting();
    std::vector<std::unique_ptr<WebSocketClient>> clients;
    for (int i = 0; i < 10; ++i) clients.push_back(Open());
    ASSERT_TRUE(recorder_.WaitOpens(10));
    std::atomic<bool> stop{false};
    std::thread sender([&] {
        auto connections = recorder_.connections();
        while (!stop.load()) {
            for (auto& connection : connections) (void)connection->SendText("tick");
        }
    });
    for (size_t i = 0; i < clients.size(); i += 2) clients[i]->Abort();
    for (auto& connection : recorder_.connections()) connection->Close();
    for (size_t i = 1; i < clients.size(); i += 2) EXPECT_TRUE(clients[i]->WaitClosed(10s));
    ASSERT_TRUE(recorder_.WaitCloses(10));
    stop.store(true);
    sender.join();
    EXPECT_EQ(recorder_.errors(), 0);
}

// Enough file descriptors for `connections` client/server socket pairs, each client with its
// own io_context (epoll, eventfd, timerfd). Returns how many connections fit.
int RaiseFileLimitFor(int connections) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 100;
    const rlim_t wanted = static_cast<rlim_t>(connections) * 6 + 200;
    if (limit.rlim_cur < wanted) {
        limit.rlim_cur = std::min(wanted, limit.rlim_max);
        (void)setrlimit(RLIMIT_NOFILE, &limit);
        (void)getrlimit(RLIMIT_NOFILE, &limit);
    }
    return static_cast<int>(std::min<rlim_t>(static_cast<rlim_t>(connections), (limit.rlim_cur - 200) / 6));
}

TEST_F(WebSocketTest, ManyIdleConnectionsThenBroadcast) {
    const int count = RaiseFileLimitFor(500);
    ASSERT_GE(count, 100) << "too few file descriptors";
    ServerOptions options = TestOptions();
    options.io_threads = 2;
    options.max_connections_per_address = static_cast<size_t>(count);  // all from this one address
    StartAccepting(options);

    std::vector<std::unique_ptr<WebSocketClient>> clients;
    clients.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) clients.push_back(Open());
    ASSERT_TRUE(recorder_.WaitOpens(count));
    EXPECT_EQ(server_->open_connections(), static_cast<size_t>(count));

    std::this_thread::sleep_for(200ms);  // idle
    for (auto& connection : recorder_.connections()) EXPECT_TRUE(connection->SendText(R"({"type":"alert"})"));
    for (auto& client : clients) {
        auto json = client->ReceiveJson();
        ASSERT_TRUE(json.has_value());
        EXPECT_EQ(json->at("type").as_string(), "alert");
    }
    clients.clear();  // all vanish at once
    ASSERT_TRUE(recorder_.WaitCloses(count));
    EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
    EXPECT_EQ(recorder_.errors(), 0);
}

}  // namespace
}  // namespace vg::http
