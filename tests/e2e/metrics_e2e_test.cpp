// The emergency path on /metrics, as an operator's alerts read it (deploy/prometheus/alerts.yml): a
// danger reading's incident counting down, the readings and their verdict latency, and a 119 report the
// receiver refuses piling up in the outbox with its failed attempts.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

#include "e2e_fixture.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;

// The value of the sample `series` (name and labels exactly as exported), or -1 when absent.
double Sample(const std::string& metrics, const std::string& series) {
    const std::string prefix = series + " ";
    for (size_t at = metrics.find(prefix); at != std::string::npos; at = metrics.find(prefix, at + 1)) {
        if (at != 0 && metrics[at - 1] != '\n') continue;
        return std::stod(metrics.substr(at + prefix.size()));
    }
    return -1;
}

class MetricsE2eTest : public ServerTest {
  protected:
    // Polls /metrics until `ok` holds (the gauges are sampled every 5 s), for at most `within`.
    std::string WaitForMetrics(const std::function<bool(const std::string&)>& ok, std::chrono::seconds within) {
        HttpClient client = Client();
        std::string text;
        const auto end = std::chrono::steady_clock::now() + within;
        while (std::chrono::steady_clock::now() < end) {
            text = client.Get("/metrics").body;
            if (ok(text)) return text;
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        return text;
    }
};

TEST_F(MetricsE2eTest, TheEmergencyPathIsOnMetrics) {
    // 119 goes to a port nobody listens on: every attempt fails and is retried.
    StartServer({"--countdown", "5s", "--emergency-webhook-url", "http://127.0.0.1:9/119", "--webhook-secret",
                 "metrics-test-signing-key"});
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "metrics_kim");

    const std::string fresh = Client().Get("/metrics").body;
    EXPECT_EQ(Sample(fresh, "vitalguard_build_info{version=\"0.1.0\"}"), 1) << fresh;
    // Every series an alert uses exists at zero before anything happens (increase() needs a start).
    EXPECT_EQ(Sample(fresh, "vitalguard_notification_attempts_total{channel=\"emergency\",outcome=\"failed\"}"), 0);
    EXPECT_EQ(Sample(fresh, "vitalguard_outbox_backlog{channel=\"emergency\"}"), 0);
    EXPECT_EQ(Sample(fresh, "vitalguard_incidents{phase=\"countdown\"}"), 0);
    EXPECT_EQ(Sample(fresh, "vitalguard_readings_ingested_total"), 0);
    EXPECT_EQ(Sample(fresh, "vitalguard_verdict_status_rows_total"), 0);

    const json::object danger{{"heart_rate", 150}, {"respiration_rate", 16}, {"spo2", 88}, {"skin_temp", 33.4},
                              {"steps", 0},        {"calories", 1.1}};
    for (int i = 0; i < 2; ++i) ASSERT_EQ(wearer.Post("/api/update_status", danger).status, 200);

    const std::string counting =
        WaitForMetrics([](const std::string& m) { return Sample(m, "vitalguard_incidents{phase=\"countdown\"}") == 1; },
                       std::chrono::seconds(12));
    EXPECT_EQ(Sample(counting, "vitalguard_incidents{phase=\"countdown\"}"), 1) << counting;
    EXPECT_EQ(Sample(counting, "vitalguard_countdowns_running"), 1);
    EXPECT_EQ(Sample(counting, "vitalguard_readings_ingested_total"), 2);
    EXPECT_EQ(Sample(counting, "vitalguard_reading_to_verdict_seconds_count"), 2);
    // The verdict stage's group commits: one row per update_status, in one or two commits.
    EXPECT_EQ(Sample(counting, "vitalguard_verdict_status_rows_total"), 2);
    EXPECT_GE(Sample(counting, "vitalguard_verdict_commits_total"), 1);
    EXPECT_LE(Sample(counting, "vitalguard_verdict_commits_total"), 2);
    EXPECT_GE(Sample(counting, "vitalguard_verdict_largest_batch"), 1);
    EXPECT_EQ(Sample(counting, "vitalguard_verdict_failed_records_total"), 0);

    // The countdown runs out: the report goes to the outbox and its delivery keeps failing.
    const std::string dispatching = WaitForMetrics(
        [](const std::string& m) {
            return Sample(m, "vitalguard_outbox_backlog{channel=\"emergency\"}") >= 1 &&
                   Sample(
                       m,
                       "vitalguard_notification_attempts_total{channel=\"emergency\",outcome=\"retry_scheduled\"}") >=
                       1;
        },
        std::chrono::seconds(20));
    EXPECT_GE(Sample(dispatching, "vitalguard_outbox_backlog{channel=\"emergency\"}"), 1) << dispatching;
    EXPECT_GE(Sample(dispatching,
                     "vitalguard_notification_attempts_total{channel=\"emergency\",outcome=\"retry_scheduled\"}"),
              1);
    EXPECT_GT(Sample(dispatching, "vitalguard_outbox_oldest_pending_age_seconds{channel=\"emergency\"}"), 0);
    EXPECT_EQ(Sample(dispatching, "vitalguard_incidents{phase=\"dispatched\"}"), 1);
    EXPECT_EQ(Sample(dispatching, "vitalguard_incidents{phase=\"countdown\"}"), 0);
}

}  // namespace
}  // namespace vg::e2e
