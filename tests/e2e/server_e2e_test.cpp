// The server as an operator sees it: health, metrics, limits, restarts and crashes.
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "e2e_fixture.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;

TEST_F(ServerTest, HealthReadinessAndMetrics) {
    StartServer();
    HttpClient client = Client();
    auto health = client.Get("/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.json().at("status").as_string(), "ok");
    auto ready = client.Get("/readyz");
    EXPECT_EQ(ready.status, 200) << ready.body;

    ASSERT_EQ(client.Post("/api/signup", SignupBody("metrics_user")).status, 201);
    ASSERT_EQ(client.Post("/api/signup/", SignupBody("metrics_user")).status, 409);
    auto metrics = client.Get("/metrics");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.header("Content-Type").find("text/plain"), std::string::npos);
    // Both spellings of the path count under one route label.
    EXPECT_NE(metrics.body.find(R"(vitalguard_http_requests_total{method="POST",route="/api/signup",status="201"} 1)"),
              std::string::npos)
        << metrics.body;
    EXPECT_NE(metrics.body.find(R"(vitalguard_http_requests_total{method="POST",route="/api/signup",status="409"} 1)"),
              std::string::npos);
    EXPECT_NE(metrics.body.find("vitalguard_http_request_duration_seconds_bucket"), std::string::npos);
}

TEST_F(ServerTest, UnknownRoutesAndWrongMethodsAreJsonErrors) {
    StartServer();
    HttpClient client = Client();
    auto missing = client.Get("/api/nothing_here");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(ErrorCode(missing), "not_found");
    auto wrong_method = client.Get("/api/signup");
    EXPECT_EQ(wrong_method.status, 405);
    EXPECT_EQ(ErrorCode(wrong_method), "method_not_allowed");
    EXPECT_EQ(wrong_method.header("Allow"), "POST");
    EXPECT_EQ(wrong_method.header("X-Content-Type-Options"), "nosniff");
}

TEST_F(ServerTest, OversizedBodiesAreRefusedWith413AndNothingIsWritten) {
    StartServer({"--body-limit", "2048"});
    HttpClient client = Client();
    json::object body = SignupBody("big_body");
    body["detailed_address"] = std::string(4000, 'x');
    auto r = client.Post("/api/signup", body);
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(ErrorCode(r), "payload_too_large");
    HttpClient fresh = Client();
    EXPECT_TRUE(fresh.Get("/api/check_id?id=big_body").json().at("available").as_bool());
}

TEST_F(ServerTest, MalformedHttpGetsA400) {
    StartServer();
    HttpClient client = Client();
    auto raw = client.SendRaw("THIS IS NOT HTTP\r\n\r\n");
    EXPECT_NE(raw.text.find(" 400 "), std::string::npos) << raw.text;
}

TEST_F(ServerTest, RestartKeepsUsersAndSessions) {
    StartServer();
    {
        HttpClient client = Client();
        SignupAndLogin(client, "restart_user");
    }
    HttpClient client = Client();
    ASSERT_EQ(client.Post("/api/login", json::object{{"id", "restart_user"}, {"password", "correct horse"}}).status,
              200);
    auto exit = server_->Terminate();
    EXPECT_TRUE(exit.success()) << exit.ToString() << "\n" << server_->LogTail();
    EXPECT_NE(server_->log().find("stopped cleanly"), std::string::npos) << server_->LogTail();

    StartServer();  // same data directory, the SQLite file reopened
    HttpClient after(server_->port());
    after.SetCookie("vg_session", *client.cookie("vg_session"));
    auto me = after.Get("/api/me");
    EXPECT_EQ(me.status, 200) << me.body;
    EXPECT_FALSE(after.Get("/api/check_id?id=restart_user").json().at("available").as_bool());
    EXPECT_EQ(after.Post("/api/login", json::object{{"id", "restart_user"}, {"password", "correct horse"}}).status,
              200);
}

TEST_F(ServerTest, AcknowledgedSignupsSurviveKillMinus9) {
    StartServer();
    constexpr int kThreads = 4;
    constexpr int kPerThread = 3;
    std::vector<std::thread> threads;
    std::atomic<int> acknowledged{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            HttpClient client = Client();
            for (int i = 0; i < kPerThread; ++i) {
                auto r = client.Post("/api/signup", SignupBody("crash_" + std::to_string(t) + "_" + std::to_string(i)));
                if (r.status == 201) acknowledged++;
            }
        });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(acknowledged.load(), kThreads * kPerThread);
    auto killed = server_->Kill();
    EXPECT_EQ(killed.signal, SIGKILL);

    StartServer();
    HttpClient client = Client();
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kPerThread; ++i) {
            const std::string id = "crash_" + std::to_string(t) + "_" + std::to_string(i);
            EXPECT_FALSE(client.Get("/api/check_id?id=" + id).json().at("available").as_bool()) << id;
        }
    }
    EXPECT_EQ(client.Post("/api/login", json::object{{"id", "crash_3_2"}, {"password", "correct horse"}}).status, 200);
}

TEST_F(ServerTest, SigtermFinishesTheRequestInFlight) {
    StartServer();
    HttpClient client = Client();
    // The connection is open and accepted first, so that on a busy machine the request is not still
    // connecting when the signal comes (that would test refusing new connections, not this).
    ASSERT_EQ(client.Get("/healthz").status, 200);
    // A sign-up spends ~90 ms hashing the password: send it, then SIGTERM while it runs.
    std::thread sender([&] {
        try {
            auto r = client.Post("/api/signup", SignupBody("in_flight"));
            EXPECT_EQ(r.status, 201) << r.body;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "the request in flight got no answer: " << e.what();
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    server_->Signal(SIGTERM);
    sender.join();
    auto exit = server_->Wait(std::chrono::seconds(15));
    ASSERT_TRUE(exit.has_value());
    EXPECT_TRUE(exit->success()) << exit->ToString() << "\n" << server_->LogTail();
    StartServer();
    EXPECT_FALSE(Client().Get("/api/check_id?id=in_flight").json().at("available").as_bool());
}

TEST_F(ServerTest, LogsAreJsonLines) {
    StartServer({"--log-format", "json"});
    HttpClient client = Client();
    ASSERT_EQ(client.Get("/api/check_id?id=log_user").status, 200);
    server_->Terminate();
    std::istringstream lines(server_->log());
    std::string line;
    int parsed = 0;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        auto v = json::parse(line);
        EXPECT_TRUE(v.as_object().contains("ts")) << line;
        EXPECT_TRUE(v.as_object().contains("level")) << line;
        ++parsed;
    }
    EXPECT_GE(parsed, 3);
    EXPECT_NE(server_->log().find("/api/check_id 200"), std::string::npos);
}

TEST_F(ServerTest, BadCommandLineExitsWithAClearMessage) {
    testing::ServerProcessOptions options;
    options.args = {"serve", "--session-ttl", "forever", "--data-dir", data_dir_.file("data")};
    EXPECT_THROW(testing::ServerProcess(testing::FindBinary("vitalguard"), options), std::runtime_error);
}

}  // namespace
}  // namespace vg::e2e

namespace vg::e2e {
namespace {

TEST_F(ServerTest, ServesTheBuiltDashboardWithCachingAndAPolicy) {
    testing::TempDir web("vg-e2e-web");
    std::filesystem::create_directories(std::filesystem::path(web.path()) / "assets");
    std::ofstream(std::filesystem::path(web.path()) / "index.html") << "<!doctype html><title>VitalGuard</title>";
    std::ofstream(std::filesystem::path(web.path()) / "assets" / "index-abc123.js") << "console.log(1)";
    StartServer({"--web-dir", web.path().string()});
    testing::HttpClient client = Client();

    auto page = client.Get("/");
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.body, "<!doctype html><title>VitalGuard</title>");
    EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(page.header("cache-control"), "no-cache") << "pages are revalidated: a deployment shows at once";
    const std::string policy = page.header("content-security-policy");
    EXPECT_NE(policy.find("default-src 'self'"), std::string::npos) << policy;
    EXPECT_NE(policy.find("script-src 'self'"), std::string::npos) << policy;
    EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << policy;

    auto asset = client.Get("/assets/index-abc123.js");
    ASSERT_EQ(asset.status, 200);
    EXPECT_EQ(asset.header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(asset.header("cache-control"), "public, max-age=31536000, immutable");

    // Single-page app routes get the page; missing files, traversal and the API's own paths do not.
    EXPECT_EQ(client.Get("/dashboard").body, page.body);
    EXPECT_EQ(client.Get("/assets/missing-123.js").status, 404);
    EXPECT_EQ(client.Get("/%2e%2e/%2e%2e/etc/passwd").status, 404) << "no way out of the web directory";
    EXPECT_EQ(client.Get("/.hidden").status, 404);
    auto api404 = client.Get("/api/nothing-here");
    EXPECT_EQ(api404.status, 404);
    EXPECT_EQ(api404.header("content-type"), "application/json; charset=utf-8") << api404.body;
    EXPECT_EQ(client.Get("/api/me").status, 401) << "the API is unchanged";
}

TEST_F(ServerTest, ServesThePrecompressedVariantTheBrowserAccepts) {
    testing::TempDir web("vg-e2e-web");
    const std::filesystem::path assets = std::filesystem::path(web.path()) / "assets";
    std::filesystem::create_directories(assets);
    std::ofstream(std::filesystem::path(web.path()) / "index.html") << "<!doctype html><title>VitalGuard</title>";
    // The server sends the variants as they are; their bytes only need to be told apart.
    std::ofstream(assets / "app-1.js") << "console.log('plain')";
    std::ofstream(assets / "app-1.js.br") << "BROTLI-BYTES";
    std::ofstream(assets / "app-1.js.gz") << "GZIP-BYTES";
    std::ofstream(assets / "logo-1.png") << "PNG";
    std::ofstream(assets / "logo-1.png.gz") << "never sent: images are not compressed again";
    StartServer({"--web-dir", web.path().string()});
    testing::HttpClient client = Client();

    auto both = client.Get("/assets/app-1.js", {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_EQ(both.status, 200);
    EXPECT_EQ(both.body, "BROTLI-BYTES");
    EXPECT_EQ(both.header("content-encoding"), "br");
    EXPECT_EQ(both.header("vary"), "Accept-Encoding");
    EXPECT_EQ(both.header("content-type"), "text/javascript; charset=utf-8") << "the type of what it decodes to";

    auto gzip = client.Get("/assets/app-1.js", {{"Accept-Encoding", "br;q=0, GZIP"}});
    EXPECT_EQ(gzip.body, "GZIP-BYTES") << "q=0 refuses brotli; codings are case-insensitive";
    EXPECT_EQ(gzip.header("content-encoding"), "gzip");

    auto wildcard = client.Get("/assets/app-1.js", {{"Accept-Encoding", "*"}});
    EXPECT_EQ(wildcard.header("content-encoding"), "br");

    auto plain = client.Get("/assets/app-1.js", {{"Accept-Encoding", "identity"}});
    EXPECT_EQ(plain.body, "console.log('plain')");
    EXPECT_EQ(plain.header("content-encoding"), "");
    EXPECT_EQ(plain.header("vary"), "Accept-Encoding") << "caches must key on the header even for the plain file";
    EXPECT_EQ(client.Get("/assets/app-1.js").body, "console.log('plain')") << "no header, no encoding";

    auto image = client.Get("/assets/logo-1.png", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(image.body, "PNG");
    EXPECT_EQ(image.header("content-encoding"), "");

    // HEAD announces the length of what GET would send, and sends nothing.
    auto head = client.Head("/assets/app-1.js", {{"Accept-Encoding", "br"}});
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("content-length"), std::to_string(std::string("BROTLI-BYTES").size()));
    EXPECT_EQ(head.body, "");
}

}  // namespace
}  // namespace vg::e2e
