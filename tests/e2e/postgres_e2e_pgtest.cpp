// `vitalguard serve --store postgresql://…` end to end: the real binary on a real PostgreSQL (the private
// server scripts/test starts; VG_TEST_POSTGRES), driven over real HTTP. Each test has a schema of its own,
// dropped afterwards. Skipped without a server (failed under VG_REQUIRE_SERVERS=1).
#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e_fixture.hpp"
#include "pg_exec.hpp"
#include "vg/store/postgres_store.hpp"
#include "vg/testing/live_servers.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;

// Runs a shell command; its exit code and everything it wrote.
struct Output {
    int exit_code = -1;
    std::string text;
};
Output RunCommand(const std::string& command) {
    Output out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return out;
    std::array<char, 4096> buf{};
    while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.text.append(buf.data(), n);
    const int status = ::pclose(pipe);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

class PostgresServeE2eTest : public ServerTest {
  protected:
    void SetUp() override {
        VG_REQUIRE_POSTGRES();
        uri_ = *testing::PostgresUri();
        static std::atomic<int> counter{0};
        schema_ = "vg_e2e_" + std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1));
        StartOnPostgres();
    }
    void TearDown() override {
        if (server_ && server_->running()) server_->Terminate();
        server_.reset();
        if (!schema_.empty()) {
            EXPECT_EQ(ExecOnce(uri_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE"), "");
        }
    }
    void StartOnPostgres() {
        std::vector<std::string> args{"--store", uri_, "--store-schema", schema_};
        args.insert(args.end(), extra_args_.begin(), extra_args_.end());
        StartServer(args);
    }
    // The bodies of the tests that run on both buses (in process, and Redis Streams below).
    void SeedsStatusApiWorksAndItsRowsAreInPostgres();
    void KillMinus9UnderUpdateStatusLoadLosesNothingAcknowledged();

    std::unique_ptr<store::PostgresStore> OpenStoreOrDie() {
        store::PostgresStoreOptions options;
        options.conninfo = uri_;
        options.schema = schema_;
        options.connections = 2;
        auto opened = store::PostgresStore::Open(options);
        EXPECT_TRUE(opened.ok()) << opened.status().ToString();
        return opened.ok() ? std::move(opened).value() : nullptr;
    }

    static json::object Vitals(double hr, double spo2 = 97, double rr = 15) {
        return json::object{{"heart_rate", hr}, {"respiration_rate", rr}, {"spo2", spo2}, {"skin_temp", 33.5},
                            {"steps", 0},       {"calories", 1.2}};
    }

    std::string uri_;
    std::string schema_;
    std::vector<std::string> extra_args_;  // more serve flags (the Redis bus's)
};

// The same server with its bus on Redis Streams (--bus; the private Redis of scripts/test-servers,
// VG_TEST_REDIS), under a key prefix of its own: update_status's verdict comes back through Redis.
class PostgresRedisServeE2eTest : public PostgresServeE2eTest {
  protected:
    void SetUp() override {
        VG_REQUIRE_REDIS();
        static std::atomic<int> counter{0};
        extra_args_ = {"--bus", *testing::RedisUrl(), "--bus-prefix",
                       "vg_e2e_" + std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1))};
        PostgresServeE2eTest::SetUp();
    }
};

TEST_F(PostgresServeE2eTest, TheSeedsStatusApiWorksAndItsRowsAreInPostgres) {
    SeedsStatusApiWorksAndItsRowsAreInPostgres();
}
TEST_F(PostgresRedisServeE2eTest, TheSeedsStatusApiWorksThroughTheRedisBus) {
    SeedsStatusApiWorksAndItsRowsAreInPostgres();
}

// What an operator watches on the Redis bus is on /metrics: this server holds every shard (it is the bus's
// only consumer), nothing is behind, nothing was reclaimed or dropped.
TEST_F(PostgresRedisServeE2eTest, TheRedisBusIsOnMetrics) {
    HttpClient client = Client();
    SignupAndLogin(client, "pg_metrics");
    ASSERT_EQ(client.Post("/api/update_status", Vitals(72)).status, 200);
    auto metrics = Client().Get("/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.body;
    EXPECT_NE(metrics.body.find("vitalguard_bus_owned_shards 16"), std::string::npos) << metrics.body;
    EXPECT_NE(metrics.body.find("vitalguard_bus_poison_entries_total 0"), std::string::npos) << metrics.body;
    EXPECT_NE(metrics.body.find("vitalguard_bus_replies_timed_out_total 0"), std::string::npos) << metrics.body;
}

void PostgresServeE2eTest::SeedsStatusApiWorksAndItsRowsAreInPostgres() {
    HttpClient client = Client();
    SignupAndLogin(client, "pg_kim");
    auto normal = client.Post("/api/update_status", Vitals(72));
    ASSERT_EQ(normal.status, 200) << normal.body;
    EXPECT_EQ(normal.json().at("level").as_string(), "normal");
    json::value last;
    for (int i = 0; i < 3; ++i) {
        auto r = client.Post("/api/update_status", Vitals(175, 86));
        ASSERT_EQ(r.status, 200) << r.body;
        last = r.json();
    }
    EXPECT_EQ(last.at("status").as_int64(), 2) << json::serialize(last);
    auto history = client.Get("/api/get_status/");
    ASSERT_EQ(history.status, 200) << history.body;
    EXPECT_EQ(history.json().at("statuses").as_array().size(), 4u);

    // The session outlives a restart: it is in PostgreSQL, not in the process.
    StartOnPostgres();
    HttpClient again = Client();
    const std::optional<std::string> session = client.cookie("vg_session");
    ASSERT_TRUE(session.has_value());
    again.SetCookie("vg_session", *session);
    auto me = again.Get("/api/me");
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(me.json().at("user").at("danger_degree").as_int64(), 2);
    server_->Terminate();

    auto db = OpenStoreOrDie();
    ASSERT_NE(db, nullptr);
    auto user = db->FindUserById("pg_kim");
    ASSERT_TRUE(user.ok()) << user.status().ToString();
    auto rows = db->RecentStatuses(user->unique_num, 100);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(rows->size(), 4u);
    auto incidents = db->ListIncidents(user->unique_num, 10);
    ASSERT_TRUE(incidents.ok());
    EXPECT_EQ(incidents->size(), 1u);  // the danger opened one incident, in PostgreSQL
    db->Close();
}

// Acknowledged = committed in PostgreSQL: a kill -9 in the middle of a full update_status load loses no
// acknowledged reading or status row, and the incident a danger opened is neither lost nor doubled.
TEST_F(PostgresServeE2eTest, KillMinus9UnderUpdateStatusLoadLosesNoAcknowledgedReadingOrStatusRow) {
    KillMinus9UnderUpdateStatusLoadLosesNothingAcknowledged();
}
// On the Redis bus the restarted server is a new node: it takes the dead node's shards once their leases
// lapse (5 s) and claims what the dead node had read but not acknowledged.
TEST_F(PostgresRedisServeE2eTest, KillMinus9UnderUpdateStatusLoadOnTheRedisBusLosesNothingAcknowledged) {
    KillMinus9UnderUpdateStatusLoadLosesNothingAcknowledged();
}

void PostgresServeE2eTest::KillMinus9UnderUpdateStatusLoadLosesNothingAcknowledged() {
    constexpr int kWearers = 6;
    std::vector<HttpClient> clients;
    for (int w = 0; w < kWearers; ++w) {
        clients.push_back(Client());
        SignupAndLogin(clients.back(), "pgload_" + std::to_string(w));
    }
    std::vector<json::object> bodies;
    // Wearer 0 is in danger (sustained severe tachycardia with low oxygen): an incident opens.
    for (int w = 0; w < kWearers; ++w) bodies.push_back(w == 0 ? Vitals(175, 86) : Vitals(72));
    const std::vector<int> acknowledged = UpdateStatusUntilKilled(clients, bodies, 300);
    ASSERT_GT(std::accumulate(acknowledged.begin(), acknowledged.end(), 0), 0);

    {
        auto db = OpenStoreOrDie();
        ASSERT_NE(db, nullptr);
        for (int w = 0; w < kWearers; ++w) {
            auto user = db->FindUserById("pgload_" + std::to_string(w));
            ASSERT_TRUE(user.ok());
            auto readings = db->RecentReadings(user->unique_num, 1'000'000);
            auto rows = db->RecentStatuses(user->unique_num, 1'000'000);
            ASSERT_TRUE(readings.ok() && rows.ok());
            const auto acked = static_cast<size_t>(acknowledged[static_cast<size_t>(w)]);
            EXPECT_GE(readings->size(), acked) << "wearer " << w;
            EXPECT_GE(rows->size(), acked) << "wearer " << w;
            EXPECT_LE(rows->size(), readings->size()) << "a status row without its reading, wearer " << w;
            if (w == 0) {
                auto incidents = db->ListIncidents(user->unique_num, 100);
                ASSERT_TRUE(incidents.ok());
                EXPECT_EQ(incidents->size(), 1u);
            }
        }
        db->Close();
    }

    StartOnPostgres();
    HttpClient after = Client();
    auto login = after.Post("/api/login", json::object{{"id", "pgload_0"}, {"password", "correct horse"}});
    ASSERT_EQ(login.status, 200) << login.body;
    after.SetDefaultHeader("X-CSRF-Token", std::string(login.json().at("csrf_token").as_string()));
    for (int i = 0; i < 3; ++i) {
        auto r = after.Post("/api/update_status", Vitals(176, 86));
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.json().at("status").as_int64(), 2) << r.body;
    }
    auto listed = after.Get("/api/incidents");
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_EQ(listed.json().at("incidents").as_array().size(), 1u) << listed.body;  // the same one
}

// One server per schema (until the scale-out roles): a second `serve` on the same schema, from another
// data directory, is refused while the first runs; another schema is fine.
TEST_F(PostgresServeE2eTest, ASecondServerOnTheSameSchemaIsRefused) {
    testing::ServerProcessOptions options;
    options.args = {"serve", "--port",         "0",    "--data-dir", data_dir_.file("second"), "--store",
                    uri_,    "--store-schema", schema_};
    try {
        testing::ServerProcess second(testing::FindBinary("vitalguard"), options);
        FAIL() << "a second server started on the schema " << schema_;
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("another VitalGuard server uses the schema " + schema_), std::string::npos)
            << e.what();
    }
    HttpClient client = Client();  // the first one is unharmed
    EXPECT_EQ(client.Get("/healthz").status, 200);
}

// One bus prefix, one deployment: a server of another schema on the same Redis prefix would consume this
// one's readings (and find none of its wearers). It is refused at start with a message naming both.
TEST_F(PostgresRedisServeE2eTest, AServerOfAnotherSchemaOnTheSameBusPrefixIsRefused) {
    const std::string other_schema = schema_ + "_other";
    testing::ServerProcessOptions options;
    options.args = {"serve", "--port",         "0",         "--data-dir", data_dir_.file("other"), "--store",
                    uri_,    "--store-schema", other_schema};
    options.args.insert(options.args.end(), extra_args_.begin(), extra_args_.end());
    try {
        testing::ServerProcess other(testing::FindBinary("vitalguard"), options);
        FAIL() << "a server of schema " << other_schema << " started on the bus of " << schema_;
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("belongs to owner=postgresql"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("/" + schema_ + " shards=16"), std::string::npos) << e.what();
    }
    EXPECT_EQ(ExecOnce(uri_, "DROP SCHEMA IF EXISTS " + other_schema + " CASCADE"), "");
    HttpClient client = Client();  // the first one is unharmed
    SignupAndLogin(client, "pg_bus_owner");
    EXPECT_EQ(client.Post("/api/update_status", Vitals(72)).status, 200);
}

// The operator's `vitalguard user` works on the PostgreSQL schema beside the running server: a lock ends
// the account's session at once (the server reads it from the shared database).
TEST_F(PostgresServeE2eTest, TheOperatorsUserCommandWorksOnTheSchemaBesideTheServer) {
    HttpClient client = Client();
    SignupAndLogin(client, "pg_operator_case");
    ASSERT_EQ(client.Get("/api/me").status, 200);
    const std::string user = "'" + testing::FindBinary("vitalguard") + "' user ";
    const std::string store = " --store '" + uri_ + "' --store-schema " + schema_;

    const Output listed = RunCommand(user + "list --json" + store);
    ASSERT_EQ(listed.exit_code, 0) << listed.text;
    EXPECT_NE(listed.text.find("\"pg_operator_case\""), std::string::npos) << listed.text;

    const Output locked = RunCommand(user + "lock pg_operator_case --reason 'lost phone'" + store);
    ASSERT_EQ(locked.exit_code, 0) << locked.text;
    EXPECT_EQ(client.Get("/api/me").status, 401);  // the session ended in the database
    auto login = Client().Post("/api/login", json::object{{"id", "pg_operator_case"}, {"password", "correct horse"}});
    EXPECT_EQ(login.status, 403) << login.body;

    const Output bad = RunCommand(user + "list --store 'postgresql://vg:hunter22@127.0.0.1:1/x?connect_timeout=2'");
    EXPECT_EQ(bad.exit_code, 1) << bad.text;
    EXPECT_NE(bad.text.find("postgresql://vg:***@127.0.0.1:1/x"), std::string::npos) << bad.text;
    EXPECT_EQ(bad.text.find("hunter22"), std::string::npos) << bad.text;
}

// The database dropping every connection of the server (a PostgreSQL restart, an operator's
// pg_terminate_backend) needs no restart of ours: each pooled connection is re-established on its next use.
TEST_F(PostgresServeE2eTest, ConnectionsTheDatabaseDroppedAreReestablishedWithoutARestart) {
    server_->Terminate();
    const std::string application = "vg_" + schema_;
    StartServer({"--store", uri_ + "?application_name=" + application, "--store-schema", schema_});
    HttpClient client = Client();
    SignupAndLogin(client, "pg_reconnect");
    ASSERT_EQ(client.Post("/api/update_status", Vitals(72)).status, 200);

    EXPECT_EQ(ExecOnce(uri_, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
                                 application + "'"),
              "");
    int ok = 0;
    for (int i = 0; i < 20; ++i) {
        auto r = client.Post("/api/update_status", Vitals(72));
        EXPECT_TRUE(r.status == 200 || r.status == 503) << r.status << " " << r.body;
        if (r.status == 200) ++ok;
    }
    EXPECT_GE(ok, 19);  // at most one call meets a connection whose reset is under way
    EXPECT_EQ(client.Get("/readyz").status, 200);
    auto db = OpenStoreOrDie();  // beside the server (not exclusive)
    ASSERT_NE(db, nullptr);
    auto user = db->FindUserById("pg_reconnect");
    ASSERT_TRUE(user.ok()) << user.status().ToString();
    auto rows = db->RecentStatuses(user->unique_num, 100);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(rows->size(), static_cast<size_t>(1 + ok));  // every acknowledged call, and only those
    db->Close();
}

TEST_F(PostgresServeE2eTest, AnUnreachableDatabaseStopsTheStartWithAClearErrorAndNoPassword) {
    server_->Terminate();
    server_.reset();
    testing::ServerProcessOptions options;
    options.args = {"serve",
                    "--port",
                    "0",
                    "--data-dir",
                    data_dir_.file("data2"),
                    "--store",
                    "postgresql://vg:hunter22@127.0.0.1:1/nowhere?connect_timeout=2"};
    try {
        testing::ServerProcess process(testing::FindBinary("vitalguard"), options);
        FAIL() << "the server started without its database";
    } catch (const std::exception& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("cannot open the PostgreSQL store postgresql://vg:***@127.0.0.1:1/nowhere"),
                  std::string::npos)
            << what;
        EXPECT_EQ(what.find("hunter22"), std::string::npos) << what;
    }
}

}  // namespace
}  // namespace vg::e2e
