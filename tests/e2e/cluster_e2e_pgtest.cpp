// The scale-out roles end to end (issue 17): one PostgreSQL schema and one Redis bus prefix shared by two api
// servers, two detector servers and two notifiers, each a real `vitalguard serve --role …` process, driven over
// real HTTP through the api servers only.
//   - A detector and a notifier are killed with SIGKILL in the middle of an update_status load: the other
//     detector takes the shards and the load goes on; nothing acknowledged is lost, the incident a danger opened
//     is neither lost nor doubled, and the other notifier ends its countdown with one emergency report (two
//     notifiers race on the same timers and outbox: versioned incidents and leased outbox claims make each
//     step happen once).
//   - Redis and then PostgreSQL are restarted under the load (private servers of this test, from
//     scripts/test-servers, so that no other test sees them go): the cluster resumes by itself each time,
//     and the same holds.
// Skipped without both servers (failed under VG_REQUIRE_SERVERS=1).
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "e2e_fixture.hpp"
#include "pg_exec.hpp"
#include "vg/store/postgres_store.hpp"
#include "vg/testing/live_servers.hpp"
#include "vg/testing/websocket_client.hpp"

namespace vg::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::HttpClient;

size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

class ClusterE2eTest : public ServerTest {
  protected:
    void SetUp() override {
        VG_REQUIRE_POSTGRES();
        VG_REQUIRE_REDIS();
        uri_ = *testing::PostgresUri();
        redis_ = *testing::RedisUrl();
        schema_ = "vg_cluster_" + std::to_string(getpid());
        prefix_ = "vg_cluster_" + std::to_string(getpid());
    }
    void TearDown() override {
        nodes_.clear();  // kills what still runs
        if (!private_servers_.empty()) {
            (void)RunScript("stop " + private_servers_);  // the schema goes with them
        } else if (!schema_.empty()) {
            EXPECT_EQ(ExecOnce(uri_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE"), "");
        }
    }

    // scripts/test-servers with `arguments`; its standard output. Throws when it fails.
    static std::string RunScript(const std::string& arguments) {
        const std::string command = std::string(VG_SOURCE_DIR) + "/scripts/test-servers " + arguments + " 2>&1";
        FILE* pipe = popen(command.c_str(), "r");
        if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
        std::string output;
        char buffer[512];
        while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
        if (pclose(pipe) != 0) throw std::runtime_error(command + " failed: " + output);
        return output;
    }
    // A PostgreSQL and a Redis server of this test's own (so that it may restart them), instead of the shared
    // ones; the nodes started afterwards use them.
    void UsePrivateServers() {
        private_servers_ =
            (std::filesystem::temp_directory_path() / ("vg-cluster-servers-" + std::to_string(getpid()))).string();
        const std::string env = RunScript("start " + private_servers_);
        auto value_of = [&](const std::string& name) {
            const size_t at = env.find("export " + name + "=");
            if (at == std::string::npos) throw std::runtime_error("no " + name + " in: " + env);
            const size_t from = at + name.size() + 8;
            return env.substr(from, env.find('\n', from) - from);
        };
        uri_ = value_of("VG_TEST_POSTGRES");
        redis_ = value_of("VG_TEST_REDIS");
    }
    // Wearers "<tag>_0" … signed up and logged in, alternately on each api server (sessions are shared, so a
    // client stays on its server). Wearer 0 is the one in danger.
    std::vector<HttpClient> Wearers(const std::vector<testing::ServerProcess*>& apis, const std::string& tag, int n) {
        std::vector<HttpClient> clients;
        for (int w = 0; w < n; ++w) {
            clients.emplace_back(apis[static_cast<size_t>(w) % apis.size()]->port());
            clients.back().set_timeout(std::chrono::seconds(20));
        }
        for (int w = 0; w < n; ++w) SignupAndLogin(clients[static_cast<size_t>(w)], tag + "_" + std::to_string(w));
        return clients;
    }
    // Restarts the private `server` ("redis" or "postgres"); how long it was down, in seconds.
    double Restart(const std::string& server) {
        return std::stod(RunScript("restart " + private_servers_ + " " + server));
    }

    testing::ServerProcess& StartNode(const std::string& role, const std::string& name) {
        testing::ServerProcessOptions options;
        // Every person signs up from 127.0.0.1 here: no per-address sign-up limit.
        options.args = {"serve",
                        "--port",
                        "0",
                        "--data-dir",
                        data_dir_.file(name),
                        "--role",
                        role,
                        "--signups-per-address-per-hour",
                        "0"};
        for (const std::string& arg : {std::string("--store"), uri_, std::string("--store-schema"), schema_,
                                       std::string("--bus"), redis_, std::string("--bus-prefix"), prefix_,
                                       // A short countdown, so the notifier's timers act within the test.
                                       std::string("--countdown"), std::string("5s")}) {
            options.args.push_back(arg);
        }
        nodes_.push_back(std::make_unique<testing::ServerProcess>(testing::FindBinary("vitalguard"), options));
        return *nodes_.back();
    }

    std::string uri_, redis_, schema_, prefix_;
    std::string private_servers_;  // the directory of this test's own servers; empty: the shared ones
    std::vector<std::unique_ptr<testing::ServerProcess>> nodes_;
};

// update_status without pause from one thread per client, until Stop; what was acknowledged, and when.
class UpdateStatusLoad {
  public:
    UpdateStatusLoad(std::vector<HttpClient>& clients, std::vector<json::object> bodies)
        : acknowledged_(clients.size()), t0_(steady_clock::now()) {
        for (size_t w = 0; w < clients.size(); ++w) {
            threads_.emplace_back([this, &client = clients[w], body = bodies[w], w] {
                while (!stop_.load()) {
                    try {
                        auto r = client.Post("/api/update_status", body);
                        if (r.status == 200) {
                            ++acknowledged_[w];
                            const int64_t now = Now();
                            {
                                std::lock_guard lock(acks_mu_);
                                ack_times_ms_.push_back(now);
                            }
                            const int64_t gap = now - last_ack_ms_.exchange(now);
                            int64_t longest = longest_gap_ms_.load();
                            while (gap > longest && !longest_gap_ms_.compare_exchange_weak(longest, gap)) {
                            }
                            continue;
                        }
                    } catch (const std::exception&) {
                    }
                    ++refused_;  // 503 while no detector or store answers: not acknowledged, the watch resends
                    std::this_thread::sleep_for(milliseconds(50));
                }
            });
        }
    }
    ~UpdateStatusLoad() { Stop(); }

    void Stop() {
        stop_ = true;
        for (auto& t : threads_) {
            if (t.joinable()) t.join();
        }
    }
    int64_t Now() const { return std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0_).count(); }
    int Total() const {
        int n = 0;
        for (const auto& a : acknowledged_) n += a.load();
        return n;
    }
    int Acknowledged(size_t w) const { return acknowledged_[w].load(); }
    int Refused() const { return refused_.load(); }
    int64_t LongestGapMs() const { return longest_gap_ms_.load(); }
    // The first acknowledgement at or after `t` (ms since the load began); -1 when none yet.
    int64_t FirstAckAtOrAfter(int64_t t) const {
        std::lock_guard lock(acks_mu_);
        for (int64_t at : ack_times_ms_) {
            if (at >= t) return at;
        }
        return -1;
    }
    // The longest time without an acknowledgement between `from` and `to` (ms since the load began).
    int64_t LongestGapBetween(int64_t from, int64_t to) const {
        std::lock_guard lock(acks_mu_);
        int64_t previous = from, longest = 0;
        for (int64_t at : ack_times_ms_) {
            if (at < from) continue;
            if (at > to) break;
            longest = std::max(longest, at - previous);
            previous = at;
        }
        return std::max(longest, to - previous);
    }
    // Waits until `more` calls past `from` were acknowledged, at most `limit`; whether they were.
    bool WaitForAcks(int from, int more, milliseconds limit) const {
        const auto deadline = steady_clock::now() + limit;
        while (Total() < from + more && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
        return Total() >= from + more;
    }

  private:
    std::vector<std::atomic<int>> acknowledged_;
    std::atomic<int> refused_{0};
    std::atomic<int64_t> last_ack_ms_{0};
    std::atomic<int64_t> longest_gap_ms_{0};
    std::atomic<bool> stop_{false};
    mutable std::mutex acks_mu_;
    std::vector<int64_t> ack_times_ms_;  // GUARDED_BY(acks_mu_); not quite in order across threads
    const steady_clock::time_point t0_;
    std::vector<std::thread> threads_;
};

json::object Vitals(double hr, double spo2 = 97) {
    return json::object{{"heart_rate", hr}, {"respiration_rate", 15}, {"spo2", spo2}, {"skin_temp", 33.5},
                        {"steps", 0},       {"calories", 1.2}};
}

// Waits until the detectors' logs together show every one of the 16 shards rebuilt.
void WaitForEveryShard(const std::vector<testing::ServerProcess*>& detectors) {
    const auto deadline = steady_clock::now() + std::chrono::seconds(30);
    auto rebuilt = [&] {
        size_t n = 0;
        for (auto* d : detectors) n += Count(d->log(), "assigned: rebuilt");
        return n;
    };
    while (steady_clock::now() < deadline && rebuilt() < 16) std::this_thread::sleep_for(milliseconds(100));
    ASSERT_GE(rebuilt(), 16u) << detectors.front()->LogTail();
}

std::vector<json::object> Bodies(int n) {
    std::vector<json::object> bodies;
    for (int w = 0; w < n; ++w) bodies.push_back(w == 0 ? Vitals(175, 86) : Vitals(72));
    return bodies;
}

// Nothing acknowledged is lost (`extra[w]` acknowledged outside `load`), and the danger of wearer 0 opened
// exactly one incident whose countdown the notifier ended with exactly one emergency report, attempted.
void ExpectNothingLostAndOneIncident(const std::string& uri, const std::string& schema, const std::string& tag,
                                     const UpdateStatusLoad& load, int wearers, const std::vector<int>& extra,
                                     const testing::ServerProcess& notifier) {
    store::PostgresStoreOptions options;
    options.conninfo = uri;
    options.schema = schema;
    options.connections = 1;
    auto db = store::PostgresStore::Open(options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    for (int w = 0; w < wearers; ++w) {
        auto user = (*db)->FindUserById(tag + "_" + std::to_string(w));
        ASSERT_TRUE(user.ok());
        auto readings = (*db)->RecentReadings(user->unique_num, 1'000'000);
        auto rows = (*db)->RecentStatuses(user->unique_num, 1'000'000);
        ASSERT_TRUE(readings.ok() && rows.ok());
        const auto acked =
            static_cast<size_t>(load.Acknowledged(static_cast<size_t>(w)) + extra[static_cast<size_t>(w)]);
        EXPECT_GE(readings->size(), acked) << "wearer " << w;
        EXPECT_GE(rows->size(), acked) << "wearer " << w;
        if (w != 0) continue;
        auto incidents = (*db)->ListIncidents(user->unique_num, 100);
        ASSERT_TRUE(incidents.ok());
        ASSERT_EQ(incidents->size(), 1u) << "one danger, one incident: not lost, not one per node or restart";
        // The notifier's timers end the countdown (the detectors run none) and it delivers the emergency report
        // the step writes to the outbox (no target is configured here, so delivery fails visibly, but it is
        // attempted — by the notifier, not left pending).
        const auto deadline = steady_clock::now() + std::chrono::seconds(20);
        bool attempted = false;
        while (!attempted && steady_clock::now() < deadline) {
            auto outbox = (*db)->IncidentOutbox((*incidents)[0].id);
            ASSERT_TRUE(outbox.ok());
            for (const auto& m : *outbox) attempted = attempted || m.attempts > 0;
            if (!attempted) std::this_thread::sleep_for(milliseconds(200));
        }
        auto outbox = (*db)->IncidentOutbox((*incidents)[0].id);
        ASSERT_TRUE(outbox.ok());
        int emergency_reports = 0;
        std::string messages;
        for (const auto& m : *outbox) {
            emergency_reports += m.channel == "emergency" ? 1 : 0;
            messages += m.channel + " " + m.state + " attempts=" + std::to_string(m.attempts) + "; ";
        }
        EXPECT_EQ(emergency_reports, 1) << "the countdown's end wrote one emergency report, not one per node";
        EXPECT_TRUE(attempted) << "no outbox message of the incident was attempted: " << messages << " phase "
                               << domain::IncidentPhaseName((*incidents)[0].phase) << notifier.LogTail();
    }
    (*db)->Close();
}

TEST_F(ClusterE2eTest, TwoOfEachRoleShareTheWorkAndOutliveADetectorAndANotifierKilled) {
    testing::ServerProcess& detector_a = StartNode("detector", "detector_a");
    testing::ServerProcess& detector_b = StartNode("detector", "detector_b");
    testing::ServerProcess& notifier_a = StartNode("notifier", "notifier_a");
    testing::ServerProcess& notifier = StartNode("notifier", "notifier_b");
    testing::ServerProcess& api_a = StartNode("api", "api_a");
    testing::ServerProcess& api_b = StartNode("api", "api_b");
    // The two detectors split the 16 shards: each rebuilt the state of what it was given.
    WaitForEveryShard({&detector_a, &detector_b});
    EXPECT_GE(Count(detector_a.log(), "assigned: rebuilt"), 1u) << detector_a.LogTail();
    EXPECT_GE(Count(detector_b.log(), "assigned: rebuilt"), 1u) << detector_b.LogTail();
    EXPECT_EQ(Count(api_a.log(), "assigned: rebuilt"), 0u) << "an api server detects nothing";
    EXPECT_NE(notifier.log().find("role: notifier"), std::string::npos) << notifier.LogTail();

    constexpr int kWearers = 6;
    std::vector<HttpClient> clients = Wearers({&api_a, &api_b}, "cluster", kWearers);
    // The verdict comes back through Redis from whichever detector owns the wearer's shard.
    auto first = clients[1].Post("/api/update_status", Vitals(72));
    ASSERT_EQ(first.status, 200) << first.body << api_b.LogTail();
    EXPECT_EQ(first.json().at("level").as_string(), "normal");

    // The danger wearer's dashboard watches through api b, while the wearer's watch posts through api a, and
    // neither detects anything: what the page shows live was made by a detector and fanned out through Redis.
    testing::WebSocketClient page;
    const std::string origin = "http://127.0.0.1:" + std::to_string(api_b.port());
    auto handshake = page.Connect(api_b.port(), "/api/stream",
                                  {{"Cookie", "vg_session=" + *clients[0].cookie("vg_session")}, {"Origin", origin}});
    ASSERT_TRUE(handshake.accepted()) << handshake.status << " " << handshake.body;
    std::atomic<bool> stop_watching{false};
    std::atomic<int> live_detections{0}, live_incidents{0};
    std::thread watcher([&] {
        while (!stop_watching.load()) {
            auto event = page.ReceiveJson(milliseconds(200));
            if (!event || !event->is_object() || !event->as_object().contains("type")) continue;
            const auto type = event->at("type").as_string();
            if (type == "detection") ++live_detections;
            if (type == "incident") ++live_incidents;
        }
    });

    UpdateStatusLoad load(clients, Bodies(kWearers));
    auto stop_all = [&] {
        load.Stop();
        stop_watching = true;
        watcher.join();
    };
    if (!load.WaitForAcks(0, 200, milliseconds(20'000))) {
        stop_all();
        FAIL() << "only " << load.Total() << " update_status acknowledged in 20 s" << api_a.LogTail();
    }
    const int before_kill = load.Total();
    const int64_t killed_at = load.Now();
    detector_a.Kill();
    // A notifier too, while the danger's countdown runs (5 s): the other ends it, once.
    notifier_a.Kill();
    // Service resumes by itself: acknowledgements go on once detector b holds every shard.
    const bool resumed = load.WaitForAcks(before_kill, 200, milliseconds(30'000));
    stop_all();
    EXPECT_GT(live_detections.load(), 0) << "no live detection event reached api b's page";
    EXPECT_GT(live_incidents.load(), 0) << "the incident the danger opened was not shown live";
    EXPECT_TRUE(resumed) << "the load did not resume after the kill" << detector_b.LogTail();
    std::printf(
        "cluster: %d acknowledged (%d before the kill), %d refused; longest pause %lld ms; live on api b: %d "
        "detection and %d incident events\n",
        load.Total(), before_kill, load.Refused(), static_cast<long long>(load.LongestGapMs()), live_detections.load(),
        live_incidents.load());
    RecordProperty("longest_pause_ms", static_cast<int>(load.LongestGapMs()));
    // b takes a's shards once their leases lapse (5 s), whether or not the load needed them yet.
    const auto takeover_deadline = steady_clock::now() + std::chrono::seconds(20);
    while (Count(detector_b.log(), "assigned: rebuilt") < 16 && steady_clock::now() < takeover_deadline) {
        std::this_thread::sleep_for(milliseconds(100));
    }
    EXPECT_GE(Count(detector_b.log(), "assigned: rebuilt"), 16u) << "b took a's shards" << detector_b.LogTail();
    std::printf("cluster: detector b held all 16 shards %lld ms after a was killed\n",
                static_cast<long long>(load.Now() - killed_at));

    std::vector<int> extra(kWearers, 0);
    extra[1] = 1;  // the first call, before the load
    ExpectNothingLostAndOneIncident(uri_, schema_, "cluster", load, kWearers, extra, notifier);
}

TEST_F(ClusterE2eTest, RestartingRedisThenPostgresqlUnderLoadTheClusterResumesByItself) {
    UsePrivateServers();
    testing::ServerProcess& detector = StartNode("detector", "detector");
    testing::ServerProcess& notifier = StartNode("notifier", "notifier");
    testing::ServerProcess& api_a = StartNode("api", "api_a");
    testing::ServerProcess& api_b = StartNode("api", "api_b");
    WaitForEveryShard({&detector});

    constexpr int kWearers = 4;
    std::vector<HttpClient> clients = Wearers({&api_a, &api_b}, "restart", kWearers);
    UpdateStatusLoad load(clients, Bodies(kWearers));
    ASSERT_TRUE(load.WaitForAcks(0, 150, milliseconds(20'000))) << load.Total() << api_a.LogTail();

    // Each server in turn: restarted as its operator would; the load goes on by itself once it is back.
    for (const std::string server : {"redis", "postgres"}) {
        const int before = load.Total();
        const int refused_before = load.Refused();
        const int64_t restart_at = load.Now();
        const double down_s = Restart(server);
        const int64_t back_at = load.Now();
        const bool resumed = load.WaitForAcks(load.Total(), 150, milliseconds(30'000));
        EXPECT_TRUE(resumed) << server << " restart: the load did not resume within 30 s" << detector.LogTail()
                             << api_a.LogTail();
        // Resumed: the first acknowledgement once the server was back; the outage: the longest time without
        // one from the restart until then (what a watch saw).
        const int64_t first_ack = load.FirstAckAtOrAfter(back_at);
        const int64_t outage = first_ack < 0 ? -1 : load.LongestGapBetween(restart_at, first_ack);
        std::printf(
            "cluster: %s restarted (down %.2f s): first acknowledgement %lld ms after it was back; no "
            "acknowledgement for %lld ms; %d calls refused meanwhile (503, resent); %d acknowledged before\n",
            server.c_str(), down_s, static_cast<long long>(first_ack - back_at), static_cast<long long>(outage),
            load.Refused() - refused_before, before);
        RecordProperty(server + "_resumed_after_back_ms", static_cast<int>(first_ack - back_at));
        RecordProperty(server + "_outage_ms", static_cast<int>(outage));
        if (!resumed) break;
    }
    load.Stop();
    std::printf("cluster: %d acknowledged in all, %d refused; longest pause %lld ms\n", load.Total(), load.Refused(),
                static_cast<long long>(load.LongestGapMs()));
    ExpectNothingLostAndOneIncident(uri_, schema_, "restart", load, kWearers, std::vector<int>(kWearers, 0), notifier);
}

}  // namespace
}  // namespace vg::e2e
