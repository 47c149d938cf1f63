// Webhook delivery round trip to a local receiver, and the pure parts on the alert path.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "vg/http/server.hpp"
#include "vg/notify/delivery_worker.hpp"
#include "vg/notify/emergency.hpp"
#include "vg/notify/webhook.hpp"

namespace vg::notify {
namespace {

// A receiver on 127.0.0.1 that accepts everything (vg::http::Server, keep-alive).
class LocalReceiver {
  public:
    LocalReceiver() {
        http::ServerOptions options;
        options.port = 0;
        options.error_response = [](ErrorCode, std::string message) {
            http::Response response;
            response.status = 400;
            response.body = std::move(message);
            return response;
        };
        server_ = std::make_unique<http::Server>(std::move(options), [](const http::Request&) {
            http::Response response;
            response.status = 204;
            return response;
        });
        if (!server_->Start().ok()) {
            std::fprintf(stderr, "cannot start the local receiver\n");
            std::abort();
        }
    }
    ~LocalReceiver() {
        server_->Stop();
        server_->Wait();
    }
    std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }

  private:
    std::unique_ptr<http::Server> server_;
};

EmergencyReport SampleReport() {
    EmergencyReport report;
    report.incident_id = "inc-20261123-0042";
    report.wearer_name = "김영희";
    report.age = 82;
    report.address = "서울특별시 종로구 세종대로 175, 101동 1203호";
    report.location = GeoLocation{37.5665, 126.978, 15.0, FromUnixMillis(1'795'418'950'000)};
    report.vitals.heart_rate_bpm = 128;
    report.vitals.spo2_percent = 88;
    report.vitals.skin_temperature_c = 36.1;
    report.causes = {EmergencyCause::kFall, EmergencyCause::kNoResponse};
    report.detected_at = FromUnixMillis(1'795'419'010'000);
    report.link = "https://vg.example/i/inc-20261123-0042";
    return report;
}

OutboxItem SampleItem(const std::string& url) {
    OutboxItem item;
    item.id = 1;
    item.channel = std::string(kWebhookChannel);
    item.recipient = url;
    item.payload_json = EmergencyReportJson(SampleReport(), ReportLanguage::kKorean);
    item.idempotency_key = "inc-20261123-0042/guardian-1";
    item.attempts = 1;
    return item;
}

void BM_WebhookDeliveryRoundTrip(benchmark::State& state) {
    LocalReceiver receiver;
    WebhookOptions options;
    options.secret = "benchmark-secret-0123456789abcdef";
    auto channel = WebhookChannel::Create(options, SystemClock::Instance());
    if (!channel.ok()) {
        state.SkipWithError(channel.status().ToString().c_str());
        return;
    }
    const OutboxItem item = SampleItem(receiver.Url());
    for (auto _ : state) {
        auto receipt = channel.value()->Deliver(item);
        if (!receipt.ok()) {
            state.SkipWithError(receipt.status().ToString().c_str());
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WebhookDeliveryRoundTrip)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Outbox row written -> receiver answered, through the worker (Notify wake-up, claim, deliver, mark).
void BM_WorkerEnqueueToDelivered(benchmark::State& state) {
    LocalReceiver receiver;
    WebhookOptions options;
    options.secret = "benchmark-secret-0123456789abcdef";
    auto channel = WebhookChannel::Create(options, SystemClock::Instance());
    InMemoryOutboxQueue queue;
    RetryPolicy policy(RetryPolicyOptions{}, 1);
    std::mutex mu;
    std::condition_variable delivered;
    int64_t last_delivered = 0;
    DeliveryWorkerOptions worker_options;
    worker_options.threads = 1;
    DeliveryWorker worker(queue, {{"webhook", std::shared_ptr<Channel>(std::move(channel).value())}}, policy,
                          SystemClock::Instance(), worker_options, [&](const DeliveryEvent& event) {
                              std::lock_guard lock(mu);
                              last_delivered = event.id;
                              delivered.notify_all();
                          });
    worker.Start();
    const OutboxItem sample = SampleItem(receiver.Url());
    for (auto _ : state) {
        NewOutboxItem item;
        item.channel = sample.channel;
        item.recipient = sample.recipient;
        item.payload_json = sample.payload_json;
        item.idempotency_key = sample.idempotency_key;
        item.created_at = item.next_attempt_at = SystemClock::Instance().Now();
        const int64_t id = queue.Enqueue(std::move(item));
        worker.Notify();
        std::unique_lock lock(mu);
        delivered.wait(lock, [&] { return last_delivered == id; });
    }
    worker.Stop();
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WorkerEnqueueToDelivered)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_RenderEmergencyReport(benchmark::State& state) {
    const EmergencyReport report = SampleReport();
    const auto language = state.range(0) == 0 ? ReportLanguage::kKorean : ReportLanguage::kEnglish;
    for (auto _ : state) benchmark::DoNotOptimize(RenderEmergencyReport(report, language));
}
BENCHMARK(BM_RenderEmergencyReport)->Arg(0)->Arg(1);

void BM_WebhookSignature(benchmark::State& state) {
    const std::string body = EmergencyReportJson(SampleReport(), ReportLanguage::kKorean);
    for (auto _ : state) benchmark::DoNotOptimize(WebhookSignature("benchmark-secret-0123456789", 1'700'000'000, body));
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_WebhookSignature);

}  // namespace
}  // namespace vg::notify
