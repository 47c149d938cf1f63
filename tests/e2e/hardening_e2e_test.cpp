// Abuse resistance end to end (issue 15, items 2, 8 and 10): whose X-Forwarded-For is believed, what
// users are shown of delivery errors, who may read /metrics, and the modes of the data files.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "e2e_fixture.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;
namespace fs = std::filesystem;

// Starts the server expecting it to refuse; returns what it said (the ServerProcess error carries the
// log's tail).
std::string RefusedStart(const std::vector<std::string>& args) {
    testing::ServerProcessOptions options;
    options.args = args;
    options.ready_timeout = std::chrono::seconds(20);
    try {
        testing::ServerProcess server(testing::FindBinary("vitalguard"), options);
    } catch (const std::exception& e) {
        return e.what();
    }
    ADD_FAILURE() << "the server started";
    return "";
}

// Item 2. The test client is the proxy here: it connects from 127.0.0.1 and writes what a proxy would,
// the client's own entries followed by the address the proxy saw (198.51.100.7, the attacker's real one).
class ForwardedForE2eTest : public ServerTest {
  protected:
    static std::vector<std::string> Limits() {
        return {"--max-failed-logins-per-id", "3", "--max-failed-logins-per-address", "4",
                "--check-id-per-minute",      "3"};
    }
    // Failed logins for different ids, each with a new left-most X-Forwarded-For entry; the index of the
    // first 429, or -1.
    int FirstLockedLogin(HttpClient& client, int attempts, const std::string& real_address) {
        for (int i = 0; i < attempts; ++i) {
            const std::string forwarded = "203.0.113." + std::to_string(i + 1) + ", " + real_address;
            auto r = client.Post("/api/login",
                                 json::object{{"id", "nobody_" + std::to_string(i)}, {"password", "wrong password"}},
                                 {{"X-Forwarded-For", forwarded}});
            if (r.status == 429) return i;
            EXPECT_EQ(r.status, 401) << r.body;
        }
        return -1;
    }
    int FirstLimitedCheckId(HttpClient& client, int attempts, const std::string& real_address) {
        for (int i = 0; i < attempts; ++i) {
            const std::string forwarded = "2001:db8::" + std::to_string(i + 1) + "," + real_address;
            auto r = client.Get("/api/check_id?id=someone_" + std::to_string(i), {{"X-Forwarded-For", forwarded}});
            if (r.status == 429) return i;
            EXPECT_EQ(r.status, 200) << r.body;
        }
        return -1;
    }
};

TEST_F(ForwardedForE2eTest, RotatingTheLeftMostEntryNoLongerEscapesTheLoginLimit) {
    std::vector<std::string> args = Limits();
    args.insert(args.end(), {"--trusted-proxy", "127.0.0.0/8,::1"});
    StartServer(args);
    HttpClient client = Client();
    EXPECT_EQ(FirstLockedLogin(client, 10, "198.51.100.7"), 4) << server_->LogTail();
    EXPECT_EQ(FirstLimitedCheckId(client, 8, "198.51.100.7"), 3);
    // Another real client behind the same proxy has limits of its own.
    EXPECT_EQ(FirstLockedLogin(client, 1, "198.51.100.8"), -1);
}

TEST_F(ForwardedForE2eTest, TheDeprecatedTrustProxyMeansLoopbackOnlyAndSaysSo) {
    std::vector<std::string> args = Limits();
    args.push_back("--trust-proxy");
    StartServer(args);
    HttpClient client = Client();
    EXPECT_EQ(FirstLockedLogin(client, 10, "198.51.100.7"), 4);
    EXPECT_NE(server_->log().find("--trust-proxy is deprecated"), std::string::npos) << server_->LogTail();
}

TEST_F(ForwardedForE2eTest, TheHeaderIsIgnoredWhenThePeerIsNotATrustedProxy) {
    std::vector<std::string> args = Limits();
    args.insert(args.end(), {"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "2001:db8:ffff::/48"});
    StartServer(args);
    HttpClient client = Client();
    // Every request is from 127.0.0.1 whatever the header says: the second "real" address changes nothing.
    EXPECT_EQ(FirstLockedLogin(client, 2, "198.51.100.7"), -1);
    EXPECT_EQ(FirstLockedLogin(client, 3, "198.51.100.8"), 2);
}

TEST_F(ForwardedForE2eTest, ABadRangeIsRefusedAtStartNamingTheOption) {
    const std::string said = RefusedStart(
        {"serve", "--port", "0", "--data-dir", data_dir_.file("data"), "--trusted-proxy", "127.0.0.0/8,10.0.0.1/8"});
    EXPECT_NE(said.find("trusted-proxy"), std::string::npos) << said;
    EXPECT_NE(said.find("10.0.0.1/8"), std::string::npos) << said;
    const std::string env_said = RefusedStart(
        {"serve", "--port", "0", "--data-dir", data_dir_.file("data"), "--trusted-proxy", "proxy.example"});
    EXPECT_NE(env_said.find("trusted-proxy"), std::string::npos) << env_said;
}

// Item 10.
class DataFilesE2eTest : public ServerTest {
  protected:
    static unsigned ModeOf(const fs::path& p) {
        struct stat st {};
        EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
        return st.st_mode & 07777;
    }
    fs::path Data() const { return data_dir_.file("data"); }
};

TEST_F(DataFilesE2eTest, TheDataDirectoryIsOwnerOnlyAndTheDatabaseFilesToo) {
    const mode_t old_umask = ::umask(022);  // the usual umask, which would leave the files world-readable
    fs::create_directories(Data());
    fs::permissions(Data(), fs::perms(0755));
    StartServer();
    ::umask(old_umask);
    HttpClient client = Client();
    SignupAndLogin(client, "mode_kim");  // something in the WAL
    EXPECT_EQ(ModeOf(Data()), 0700u);
    for (const char* name : {"vitalguard.db", "vitalguard.db-wal", "vitalguard.db-shm"}) {
        ASSERT_TRUE(fs::exists(Data() / name)) << name;
        EXPECT_EQ(ModeOf(Data() / name), 0600u) << name;
    }

    // Files left readable by an older version are closed up at the next start.
    server_->Terminate();
    for (const char* name : {"vitalguard.db", "vitalguard.db-wal", "vitalguard.db-shm"}) {
        if (fs::exists(Data() / name)) fs::permissions(Data() / name, fs::perms(0644));
    }
    StartServer();
    for (const char* name : {"vitalguard.db", "vitalguard.db-wal", "vitalguard.db-shm"}) {
        if (fs::exists(Data() / name)) {
            EXPECT_EQ(ModeOf(Data() / name), 0600u) << name;
        }
    }
}

TEST_F(DataFilesE2eTest, ADataDirectoryOwnedByAnotherUserIsRefused) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to give the directory to another user";
    }
    fs::create_directories(Data());
    ASSERT_EQ(::chown(Data().c_str(), 65534, 65534), 0);
    const std::string said = RefusedStart({"serve", "--port", "0", "--data-dir", Data().string()});
    EXPECT_NE(said.find("owned by another user"), std::string::npos) << said;
    EXPECT_FALSE(fs::exists(Data() / "vitalguard.db")) << "nothing was written there";
}

// Item 8.
class LeaksE2eTest : public ServerTest {
  protected:
    static json::object Vitals(double hr, double spo2) {
        return json::object{{"heart_rate", hr}, {"respiration_rate", 16}, {"spo2", spo2}, {"skin_temp", 33.4},
                            {"steps", 0},       {"calories", 1.1}};
    }
};

TEST_F(LeaksE2eTest, IncidentDetailsShowAnErrorCodeNotTheReceiversErrorOrHost) {
    // A care-centre webhook on an internal host that refuses connections.
    StartServer({"--countdown", "60s", "--guardian-webhook-url", "http://127.0.0.1:1/internal/care-hook",
                 "--webhook-secret", "e2e-webhook-secret-0123456789"});
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "leak_kim");
    for (int i = 0; i < 2; ++i) ASSERT_EQ(wearer.Post("/api/update_status", Vitals(150, 88)).status, 200);
    auto list = wearer.Get("/api/incidents");
    ASSERT_EQ(list.status, 200) << list.body;
    ASSERT_FALSE(list.json().at("incidents").as_array().empty()) << list.body;
    const int64_t id = list.json().at("incidents").at(0).at("id").as_int64();

    json::value failed;
    std::string body;
    for (int attempt = 0; attempt < 100 && failed.is_null(); ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto detail = wearer.Get("/api/incidents/" + std::to_string(id));
        ASSERT_EQ(detail.status, 200) << detail.body;
        body = detail.body;
        const json::value d = detail.json();
        for (const auto& n : d.at("notifications").as_array()) {
            if (n.at("channel").as_string() == "webhook" && n.at("attempts").as_int64() >= 1 &&
                n.at("state").as_string() != "delivering") {
                failed = n;
            }
        }
    }
    ASSERT_TRUE(failed.is_object()) << body;
    for (const char* secret : {"127.0.0.1", "internal", "care-hook", "connect", "receiver", "port 1"}) {
        EXPECT_EQ(body.find(secret), std::string::npos) << secret << " in " << body;
    }
    ASSERT_TRUE(failed.as_object().contains("last_error_code")) << body;
    EXPECT_EQ(failed.at("last_error_code").as_string(), "unavailable") << body;
    EXPECT_FALSE(failed.at("last_error").as_string().empty()) << body;
    // The operators still have the raw text.
    EXPECT_NE(server_->log().find("127.0.0.1"), std::string::npos);
}

TEST_F(LeaksE2eTest, MetricsNeedTheBearerTokenWhenOneIsSet) {
    StartServer({"--metrics-token", "metrics-token-0123456789"});
    HttpClient client = Client();
    auto anonymous = client.Get("/metrics");
    EXPECT_EQ(anonymous.status, 401) << anonymous.body;
    EXPECT_EQ(anonymous.body.find("vitalguard_http_requests_total"), std::string::npos);
    EXPECT_FALSE(anonymous.header("WWW-Authenticate").empty());
    EXPECT_EQ(client.Get("/metrics", {{"Authorization", "Bearer wrong-token-0123456789"}}).status, 401);
    EXPECT_EQ(client.Get("/metrics", {{"Authorization", "Basic bWV0cmljcy10b2tlbi0wMTIzNDU2Nzg5"}}).status, 401);
    auto allowed = client.Get("/metrics", {{"Authorization", "Bearer metrics-token-0123456789"}});
    EXPECT_EQ(allowed.status, 200);
    EXPECT_NE(allowed.body.find("vitalguard_http_requests_total"), std::string::npos);
    EXPECT_EQ(client.Get("/healthz").status, 200) << "health stays public";
}

TEST_F(LeaksE2eTest, PublicMetricsOnANonLoopbackAddressAreWarnedAbout) {
    StartServer({"--host", "0.0.0.0"});
    EXPECT_NE(server_->log().find("/metrics is public"), std::string::npos) << server_->LogTail();
    EXPECT_EQ(Client().Get("/metrics").status, 200) << "without a token, as before";
    const std::string said =
        RefusedStart({"serve", "--port", "0", "--data-dir", data_dir_.file("data2"), "--metrics-token", "short"});
    EXPECT_NE(said.find("metrics-token"), std::string::npos) << said;
}

}  // namespace
}  // namespace vg::e2e
