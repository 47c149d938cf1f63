// Incident latency load test: how long from a danger verdict to its outbox row being durable, and to
// the first delivery attempt of that row, with the real pieces in process — SqliteStore (a file,
// synchronous=FULL), EscalationService, StoreOutboxQueue, DeliveryWorker, and a signed webhook to a
// real HTTP receiver on loopback.
//
//   vg_incident_latency_load [wearers=500] [interval_ms=5]
//
// Each wearer gets one danger verdict (opening an incident: guardian webhook message), `interval_ms`
// apart, from one thread (as a detector shard would). Prints p50/p95/p99/max of
//   verdict → outbox row committed (the OnVerdict call, which returns after the commit)
//   outbox row created → first delivery attempt started (the worker's pick-up)
//   outbox row created → delivered (receiver answered 2xx)
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vg/app/store_outbox_queue.hpp"
#include "vg/escalation/escalation_service.hpp"
#include "vg/http/server.hpp"
#include "vg/notify/delivery_worker.hpp"
#include "vg/notify/webhook.hpp"
#include "vg/store/sqlite_store.hpp"

namespace {

using namespace vg;
namespace fs = std::filesystem;

double Percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
    return v[i];
}

void Report(const char* what, const std::vector<double>& ms) {
    std::printf("%-44s n=%5zu  p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", what, ms.size(),
                Percentile(ms, 50), Percentile(ms, 95), Percentile(ms, 99),
                ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()));
}

}  // namespace

int main(int argc, char** argv) {
    const int wearers = argc > 1 ? std::stoi(argv[1]) : 500;
    const int interval_ms = argc > 2 ? std::stoi(argv[2]) : 5;
    spdlog::set_level(spdlog::level::err);  // one warning per opened incident would drown the numbers
    const fs::path dir = fs::temp_directory_path() / ("vg-incident-latency-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const Clock& clock = SystemClock::Instance();

    store::SqliteStoreOptions so;
    so.path = (dir / "vitalguard.db").string();
    so.clock = &clock;
    auto opened = store::SqliteStore::Open(so);
    if (!opened.ok()) {
        std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
        return 1;
    }
    auto& store = *opened.value();

    std::atomic<int> received{0};
    http::ServerOptions sink_options;
    sink_options.port = 0;
    sink_options.worker_threads = 2;
    sink_options.error_response = [](ErrorCode, std::string m) {
        http::Response r;
        r.status = 500;
        r.body = std::move(m);
        return r;
    };
    http::Server sink(sink_options, [&](const http::Request&) {
        received.fetch_add(1);
        http::Response r;
        r.status = 202;
        return r;
    });
    if (!sink.Start().ok()) return 1;

    notify::WebhookOptions wo;
    wo.secret = "bench-webhook-secret-0123456789";
    auto webhook = notify::WebhookChannel::Create(wo, clock);
    if (!webhook.ok()) return 1;
    notify::DeliveryWorker::ChannelMap channels;
    channels.emplace("webhook", std::shared_ptr<notify::Channel>(std::move(webhook).value()));
    app::StoreOutboxQueue queue(store);
    notify::RetryPolicy retry(notify::RetryPolicyOptions{});
    std::mutex mu;
    std::vector<double> to_attempt, to_delivered;
    notify::DeliveryWorker worker(
        queue, channels, retry, clock, notify::DeliveryWorkerOptions{}, [&](const notify::DeliveryEvent& e) {
            std::lock_guard lock(mu);
            if (e.attempt == 1) {
                to_attempt.push_back(static_cast<double>((e.attempt_started_at - e.created_at).count()));
            }
            if (e.outcome == notify::DeliveryOutcome::kDelivered) {
                to_delivered.push_back(static_cast<double>((e.finished_at - e.created_at).count()));
            }
        });
    escalation::EscalationServiceOptions eo;
    eo.guardian_webhook_url = "http://127.0.0.1:" + std::to_string(sink.port()) + "/care";
    escalation::EscalationService escalation(store, clock, eo, {}, [&] { worker.Notify(); });
    worker.Start();

    std::vector<int64_t> ids;
    for (int i = 0; i < wearers; ++i) {
        store::NewUser u;
        u.profile.id = "bench" + std::to_string(i);
        u.profile.name = "Bench " + std::to_string(i);
        u.profile.age = 80;
        u.profile.address = "1 Bench Road";
        u.profile.phone_num = "010-0000-0000";
        u.password_hash = "x";
        u.created_at = clock.Now();
        auto created = store.CreateUser(u);
        if (!created.ok()) return 1;
        ids.push_back(created->unique_num);
    }
    domain::Detection danger;
    danger.level = domain::Level::kDanger;
    danger.causes = {domain::Metric::kHeartRate};
    domain::FiredRule f;
    f.rule = "heart_rate.high.danger";
    f.kind = "threshold";
    f.level = domain::Level::kDanger;
    danger.fired = {f};
    danger.explanation = "Heart rate 150 bpm is at or above 131 bpm.";

    std::vector<double> to_outbox;
    for (int64_t id : ids) {
        const auto t0 = std::chrono::steady_clock::now();
        escalation.OnVerdict(id, danger, false);
        to_outbox.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (received.load() < wearers && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    worker.Stop();
    sink.Stop();
    sink.Wait();
    store.Close();
    fs::remove_all(dir);

    std::printf("incident latency: %d wearers, one danger verdict each, %d ms apart; receiver got %d\n", wearers,
                interval_ms, received.load());
    Report("verdict -> incident + outbox row committed", to_outbox);
    std::lock_guard lock(mu);
    Report("outbox row -> first delivery attempt", to_attempt);
    Report("outbox row -> delivered (signed webhook)", to_delivered);
    return received.load() == wearers ? 0 : 1;
}
