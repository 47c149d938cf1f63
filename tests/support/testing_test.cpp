// Self-test of vg_testing: the cookie jar and default headers against a real
// vg::http::Server, WebSocketClient against its WebSocket support, ServerProcess against /bin/sh, TempDir and
// FindBinary.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "vg/http/server.hpp"
#include "vg/testing/http_client.hpp"
#include "vg/testing/server_process.hpp"
#include "vg/testing/temp_dir.hpp"
#include "vg/testing/websocket_client.hpp"

namespace vg::testing {
namespace {

using namespace std::chrono_literals;

http::Response PlainError(ErrorCode code, std::string message) {
    http::Response response;
    response.status = code == ErrorCode::kInternal ? 500 : 400;
    response.body = std::string(ErrorCodeName(code)) + ": " + message;
    return response;
}

// A server whose responses are chosen by path, recording the Cookie and X-CSRF-Token it receives.
class CookieServer {
  public:
    CookieServer() {
        http::ServerOptions options;
        options.port = 0;
        options.error_response = PlainError;
        server_ = std::make_unique<http::Server>(options, [this](const http::Request& request) {
            std::lock_guard lock(mu_);
            last_cookie_ = std::string(request.header("cookie"));
            last_csrf_ = std::string(request.header("x-csrf-token"));
            http::Response response;
            if (request.path == "/login") {
                response.headers.push_back({"Set-Cookie", "session=abc123; Path=/; HttpOnly; Max-Age=3600"});
                response.headers.push_back({"Set-Cookie", "theme=dark"});
            } else if (request.path == "/logout") {
                response.headers.push_back({"Set-Cookie", "session=; Path=/; Max-Age=0"});
                response.headers.push_back({"Set-Cookie", "theme=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT"});
            } else if (request.path == "/json") {
                response.set_header("Content-Type", "application/json");
                response.body =
                    R"({"id":"kim","body":)" + boost::json::serialize(boost::json::string(request.body)) + "}";
            } else if (request.path == "/notjson") {
                response.body = "<html>";
            }
            return response;
        });
        Status status = server_->Start();
        if (!status.ok()) throw std::runtime_error(status.ToString());
    }

    uint16_t port() const { return server_->port(); }
    std::string last_cookie() {
        std::lock_guard lock(mu_);
        return last_cookie_;
    }
    std::string last_csrf() {
        std::lock_guard lock(mu_);
        return last_csrf_;
    }

  private:
    std::mutex mu_;
    std::string last_cookie_;
    std::string last_csrf_;
    std::unique_ptr<http::Server> server_;
};

TEST(HttpClientTest, CookieJarStoresSendsAndDeletes) {
    CookieServer server;
    HttpClient client(server.port());
    EXPECT_EQ(client.Post("/login", boost::json::object{{"id", "kim"}}).status, 200);
    EXPECT_EQ(client.cookie("session"), "abc123");
    EXPECT_EQ(client.cookie("theme"), "dark");

    EXPECT_EQ(client.Get("/me").status, 200);
    EXPECT_EQ(server.last_cookie(), "session=abc123; theme=dark");

    EXPECT_EQ(client.Post("/logout", boost::json::object{}).status, 200);
    EXPECT_FALSE(client.cookie("session").has_value());
    EXPECT_FALSE(client.cookie("theme").has_value());
    EXPECT_EQ(client.Get("/me").status, 200);
    EXPECT_EQ(server.last_cookie(), "");

    client.SetCookie("manual", "1");
    EXPECT_EQ(client.Get("/me").status, 200);
    EXPECT_EQ(server.last_cookie(), "manual=1");
    EXPECT_EQ(client.Get("/me", {{"Cookie", "override=2"}}).status, 200);
    EXPECT_EQ(server.last_cookie(), "override=2");
    client.ClearCookies();
    EXPECT_TRUE(client.cookies().empty());
}

TEST(HttpClientTest, DefaultHeadersAreSentAndOverridable) {
    CookieServer server;
    HttpClient client(server.port());
    client.SetDefaultHeader("X-CSRF-Token", "t1");
    EXPECT_EQ(client.Get("/").status, 200);
    EXPECT_EQ(server.last_csrf(), "t1");
    EXPECT_EQ(client.Get("/", {{"x-csrf-token", "t2"}}).status, 200);
    EXPECT_EQ(server.last_csrf(), "t2");
    client.RemoveDefaultHeader("x-csrf-token");
    EXPECT_EQ(client.Get("/").status, 200);
    EXPECT_EQ(server.last_csrf(), "");
}

TEST(HttpClientTest, JsonBodies) {
    CookieServer server;
    HttpClient client(server.port());
    auto result = client.PostRaw("/json", "raw text", "text/plain");
    EXPECT_EQ(result.json().at("id").as_string(), "kim");
    EXPECT_EQ(result.json().at("body").as_string(), "raw text");
    EXPECT_THROW((void)client.Get("/notjson").json(), std::runtime_error);
}

TEST(HttpClientTest, PostOverloadsPickJsonOrRaw) {
    CookieServer server;
    HttpClient client(server.port());
    EXPECT_EQ(client.Post("/json", {{"id", "kim"}, {"age", 30}}).json().at("body").as_string(),
              R"({"id":"kim","age":30})");
    EXPECT_EQ(client.Post("/json", "{broken").json().at("body").as_string(), "{broken");
    std::string raw = "[1,2]";
    EXPECT_EQ(client.Post("/json", raw).json().at("body").as_string(), "[1,2]");
    EXPECT_EQ(client.Post("/json", std::string_view("x")).json().at("body").as_string(), "x");
    EXPECT_EQ(client.Post("/json", boost::json::value(5)).json().at("body").as_string(), "5");
}

TEST(HttpClientTest, RefusedConnectionThrows) {
    uint16_t port = 0;
    {
        CookieServer server;
        port = server.port();
    }
    HttpClient client(port);
    EXPECT_THROW(client.Get("/"), HttpClientError);
    EXPECT_FALSE(CanConnect(port));
}

TEST(HttpClientTest, HungServerTimesOut) {
    http::ServerOptions options;
    options.port = 0;
    options.error_response = PlainError;
    http::Server server(options, [](const http::Request&) {
        std::this_thread::sleep_for(1s);
        return http::Response{};
    });
    ASSERT_TRUE(server.Start().ok());
    HttpClient client(server.port());
    client.set_timeout(200ms);
    EXPECT_THROW(client.Get("/"), HttpClientError);
}

// An echo WebSocket at any path; upgrades without "Origin: ok" are refused with 403.
class EchoWebSocketServer {
  public:
    EchoWebSocketServer() {
        http::ServerOptions options;
        options.port = 0;
        options.error_response = PlainError;
        options.websocket_upgrader = [](const http::Request& request) {
            http::WebSocketDecision decision;
            if (request.header("origin") != "ok") {
                decision.refusal = http::Response{403, {{"X-Why", "origin"}}, "bad origin"};
                return decision;
            }
            auto connection = std::make_shared<std::weak_ptr<http::WebSocketConnection>>();
            decision.callbacks.on_open = [connection](std::shared_ptr<http::WebSocketConnection> c) {
                *connection = c;
            };
            decision.callbacks.on_message = [connection](std::string message) {
                if (auto c = connection->lock()) {
                    if (message == "close") {
                        c->Close();
                    } else {
                        c->SendText(message);
                    }
                }
            };
            return decision;
        };
        server_ = std::make_unique<http::Server>(options, [](const http::Request&) { return http::Response{}; });
        Status status = server_->Start();
        if (!status.ok()) throw std::runtime_error(status.ToString());
    }
    uint16_t port() const { return server_->port(); }

  private:
    std::unique_ptr<http::Server> server_;
};

TEST(WebSocketClientTest, RefusedHandshakeIsAResult) {
    EchoWebSocketServer server;
    WebSocketClient client;
    WebSocketHandshake handshake = client.Connect(server.port(), "/ws", {{"Origin", "evil"}});
    EXPECT_FALSE(handshake.accepted());
    EXPECT_EQ(handshake.status, 403);
    EXPECT_EQ(handshake.body, "bad origin");
    EXPECT_EQ(handshake.header("x-why"), "origin");
    EXPECT_FALSE(client.Send("x"));
    EXPECT_EQ(client.Receive(10ms), std::nullopt);
    EXPECT_FALSE(client.closed());
    EXPECT_THROW(client.Connect(server.port(), "/ws"), HttpClientError);  // one connection per client
}

TEST(WebSocketClientTest, ReceiveTimeoutKeepsTheConnectionUsable) {
    EchoWebSocketServer server;
    WebSocketClient client;
    ASSERT_TRUE(client.Connect(server.port(), "/ws", {{"Origin", "ok"}}).accepted());
    EXPECT_EQ(client.Receive(50ms), std::nullopt);  // nothing sent yet
    ASSERT_TRUE(client.Send(R"({"a":1})"));
    ASSERT_TRUE(client.Send("not json"));
    auto json = client.ReceiveJson();
    ASSERT_TRUE(json.has_value());
    EXPECT_EQ(json->at("a").as_int64(), 1);
    EXPECT_THROW(client.ReceiveJson(), std::runtime_error);
    EXPECT_FALSE(client.closed());
    EXPECT_EQ(client.close_code(), 0);

    ASSERT_TRUE(client.Send("close"));  // the server closes: 1000
    EXPECT_TRUE(client.WaitClosed(5s));
    EXPECT_EQ(client.close_code(), 1000);
    EXPECT_FALSE(client.Send("after"));
    EXPECT_EQ(client.Receive(10ms), std::nullopt);
}

TEST(WebSocketClientTest, ClientCloseAndRefusedConnection) {
    uint16_t port = 0;
    {
        EchoWebSocketServer server;
        port = server.port();
        WebSocketClient client;
        ASSERT_TRUE(client.Connect(port, "/ws", {{"Origin", "ok"}}).accepted());
        client.Close(4000);
        EXPECT_TRUE(client.closed());
        EXPECT_EQ(client.close_code(), 4000);  // the server echoes the client's code
        client.Close();                        // idempotent
    }
    WebSocketClient late;
    EXPECT_THROW(late.Connect(port, "/ws"), HttpClientError);
}

TEST(TempDirTest, CreatesAndRemoves) {
    std::filesystem::path path;
    {
        TempDir dir("vg-selftest");
        path = dir.path();
        EXPECT_TRUE(std::filesystem::is_directory(path));
        std::filesystem::create_directories(path / "a" / "b");
        std::ofstream(dir.file("a/b/c.txt")) << "x";
        TempDir moved = std::move(dir);
        EXPECT_EQ(moved.path(), path);
    }
    EXPECT_FALSE(std::filesystem::exists(path));
}

ServerProcessOptions ShellScript(std::string script) {
    ServerProcessOptions options;
    // sh -c SCRIPT NAME --ready-file PATH: the script sees $1=--ready-file, $2=PATH.
    options.args = {"-c", std::move(script), "fake-server"};
    options.ready_timeout = 10s;
    return options;
}

TEST(ServerProcessTest, WaitsForReadyFileAndTerminates) {
    ServerProcessOptions options = ShellScript(
        "echo starting; echo \"$GREETING\" >&2; "
        "trap 'echo got TERM; exit 0' TERM; "
        "printf '4321\\n' > \"$2.tmp\" && mv \"$2.tmp\" \"$2\"; "
        "while true; do sleep 0.05; done");
    options.env = {{"GREETING", "hello from env"}};
    ServerProcess process("/bin/sh", options);
    EXPECT_EQ(process.port(), 4321);
    EXPECT_TRUE(process.running());
    ExitStatus status = process.Terminate(5s);
    EXPECT_TRUE(status.success()) << status.ToString();
    EXPECT_NE(process.log().find("starting"), std::string::npos) << process.log();
    EXPECT_NE(process.log().find("hello from env"), std::string::npos) << process.log();
    EXPECT_NE(process.log().find("got TERM"), std::string::npos) << process.log();
}

TEST(ServerProcessTest, KillEndsTheProcess) {
    ServerProcess process("/bin/sh", ShellScript("echo 1234 > \"$2\"; exec sleep 60"));
    ExitStatus status = process.Kill();
    EXPECT_EQ(status.signal, SIGKILL) << status.ToString();
    EXPECT_FALSE(process.running());
}

TEST(ServerProcessTest, ExitBeforeReadyThrowsWithLogTail) {
    try {
        ServerProcess process("/bin/sh", ShellScript("echo 'config is broken'; exit 3"));
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("exit code 3"), std::string::npos) << what;
        EXPECT_NE(what.find("config is broken"), std::string::npos) << what;
    }
}

TEST(ServerProcessTest, NotReadyInTimeThrows) {
    ServerProcessOptions options = ShellScript("exec sleep 60");
    options.ready_timeout = 200ms;
    EXPECT_THROW(ServerProcess("/bin/sh", options), std::runtime_error);
}

TEST(ServerProcessTest, WaitReportsExit) {
    ServerProcess process("/bin/sh", ShellScript("echo 99 > \"$2\"; sleep 0.1; exit 7"));
    auto status = process.Wait(5s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->exit_code, 7);
}

TEST(FindBinaryTest, ReadsTheEnvironment) {
    ::unsetenv("VG_SELFTEST_BINARY");
    try {
        (void)FindBinary("vitalguard", "VG_SELFTEST_BINARY");
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("VG_SELFTEST_BINARY"), std::string::npos) << e.what();
    }
    ::setenv("VG_SELFTEST_BINARY", "/bin/sh", 1);
    EXPECT_EQ(FindBinary("sh", "VG_SELFTEST_BINARY"), "/bin/sh");
    ::setenv("VG_SELFTEST_BINARY", "/nonexistent/vitalguard", 1);
    EXPECT_THROW((void)FindBinary("vitalguard", "VG_SELFTEST_BINARY"), std::runtime_error);
    ::unsetenv("VG_SELFTEST_BINARY");
}

}  // namespace
}  // namespace vg::testing
