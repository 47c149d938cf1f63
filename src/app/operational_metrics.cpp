// The emergency path on /metrics; see operational_metrics.hpp.
#include "vg/app/operational_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>

#include "vg/auth/redis_rate_limits.hpp"
#include "vg/bus/inproc_bus.hpp"
#include "vg/bus/redis_streams_bus.hpp"
#include "vg/domain/incident.hpp"
#include "vg/escalation/escalation_service.hpp"
#include "vg/ingest/ingest_service.hpp"
#include "vg/live/live_hub.hpp"
#include "vg/verdict/verdict_stage.hpp"

namespace vg::app {
namespace {

// Every channel the outbox knows (vg::store::NewOutboxMessage); all exported from the start.
constexpr std::array<const char*, 4> kChannels = {"emergency", "sms", "webhook", "email"};
constexpr std::array<notify::DeliveryOutcome, 3> kOutcomes = {
    notify::DeliveryOutcome::kDelivered, notify::DeliveryOutcome::kRetryScheduled, notify::DeliveryOutcome::kFailed};
constexpr std::array<domain::IncidentPhase, 4> kOpenPhases = {
    domain::IncidentPhase::kGuidance, domain::IncidentPhase::kGuardians, domain::IncidentPhase::kCountdown,
    domain::IncidentPhase::kDispatched};

double Seconds(TimePoint::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

struct OperationalMetrics::Families {
    explicit Families(prometheus::Registry& r)
        : build_info(prometheus::BuildGauge()
                         .Name("vitalguard_build_info")
                         .Help("Always 1; the version of the running server in its label")
                         .Register(r)),
          attempts(prometheus::BuildCounter()
                       .Name("vitalguard_notification_attempts_total")
                       .Help("Delivery attempts of outbox messages by channel and outcome (delivered, "
                             "retry_scheduled, failed: given up for good)")
                       .Register(r)),
          backlog(prometheus::BuildGauge()
                      .Name("vitalguard_outbox_backlog")
                      .Help("Outbox messages not yet delivered or given up, by channel")
                      .Register(r)),
          oldest(prometheus::BuildGauge()
                     .Name("vitalguard_outbox_oldest_pending_age_seconds")
                     .Help("How long the oldest undelivered outbox message of each channel has waited")
                     .Register(r)),
          incidents(prometheus::BuildGauge()
                        .Name("vitalguard_incidents")
                        .Help("Open incidents by phase (guidance, guardians, countdown, dispatched)")
                        .Register(r)),
          countdowns(prometheus::BuildGauge()
                         .Name("vitalguard_countdowns_running")
                         .Help("Incidents counting down to the emergency call")
                         .Register(r)
                         .Add({})),
          overdue(prometheus::BuildGauge()
                      .Name("vitalguard_oldest_countdown_overdue_seconds")
                      .Help("How far past its deadline the most overdue countdown is; 0 when none is "
                            "(above a few seconds the escalation is stuck)")
                      .Register(r)
                      .Add({})),
          refused(prometheus::BuildCounter()
                      .Name("vitalguard_emergency_dispatch_refused_total")
                      .Help("Emergency calls not made because the account had used up its calls for the hour")
                      .Register(r)
                      .Add({})),
          past(prometheus::BuildCounter()
                   .Name("vitalguard_past_episodes_not_escalated_total")
                   .Help("Verdicts (kind=verdict) and confirmed falls (kind=fall) on readings older than "
                         "--escalate-within (a watch's backlog): recorded, no incident opened or changed")
                   .Register(r)),
          past_verdicts(past.Add({{"kind", "verdict"}})),
          past_falls(past.Add({{"kind", "fall"}})),
          ingested(prometheus::BuildCounter()
                       .Name("vitalguard_readings_ingested_total")
                       .Help("Vital-sign readings acknowledged as stored (update_status and device batches)")
                       .Register(r)
                       .Add({})),
          verdict_latency(prometheus::BuildHistogram()
                              .Name("vitalguard_reading_to_verdict_seconds")
                              .Help("From the server's receipt of a reading to its verdict being recorded")
                              .Register(r)
                              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                               0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
          queued(prometheus::BuildGauge()
                     .Name("vitalguard_detector_queued_readings")
                     .Help("Readings published to detection and not yet taken by it")
                     .Register(r)
                     .Add({})),
          clients(prometheus::BuildGauge()
                      .Name("vitalguard_websocket_clients")
                      .Help("Live streams (/api/stream) open")
                      .Register(r)
                      .Add({})),
          verdict_commits(prometheus::BuildCounter()
                              .Name("vitalguard_verdict_commits_total")
                              .Help("Group commits of the verdict stage (status rows, with update_status readings)")
                              .Register(r)
                              .Add({})),
          verdict_rows(prometheus::BuildCounter()
                           .Name("vitalguard_verdict_status_rows_total")
                           .Help("Status rows the verdict stage committed")
                           .Register(r)
                           .Add({})),
          verdict_failed(prometheus::BuildCounter()
                             .Name("vitalguard_verdict_failed_records_total")
                             .Help("Verdict records the store refused (their callers were answered with the error)")
                             .Register(r)
                             .Add({})),
          verdict_split(prometheus::BuildCounter()
                            .Name("vitalguard_verdict_split_commits_total")
                            .Help("Verdict group commits that failed whole and were recorded one verdict at a time")
                            .Register(r)
                            .Add({})),
          bus_backlog(prometheus::BuildGauge()
                          .Name("vitalguard_bus_backlog_entries")
                          .Help("Redis bus: entries published and not yet acknowledged, all shards (lag + pending)")
                          .Register(r)
                          .Add({})),
          bus_max_backlog(prometheus::BuildGauge()
                              .Name("vitalguard_bus_max_shard_backlog_entries")
                              .Help("Redis bus: entries published and not yet acknowledged on the most behind shard")
                              .Register(r)
                              .Add({})),
          bus_owned(prometheus::BuildGauge()
                        .Name("vitalguard_bus_owned_shards")
                        .Help("Redis bus: shards this server consumes (holds the lease of)")
                        .Register(r)
                        .Add({})),
          bus_reclaimed(prometheus::BuildCounter()
                            .Name("vitalguard_bus_reclaimed_entries_total")
                            .Help("Redis bus: entries a dead or replaced consumer had read and not acknowledged, "
                                  "claimed and delivered again")
                            .Register(r)
                            .Add({})),
          bus_poison(prometheus::BuildCounter()
                         .Name("vitalguard_bus_poison_entries_total")
                         .Help("Redis bus: entries that did not decode (logged, acknowledged, dropped)")
                         .Register(r)
                         .Add({})),
          bus_replies_timed_out(
              prometheus::BuildCounter()
                  .Name("vitalguard_bus_replies_timed_out_total")
                  .Help(
                      "Redis bus: update_status verdicts and window answers no detector gave within the reply timeout")
                  .Register(r)
                  .Add({})),
          bus_publish_refused(prometheus::BuildCounter()
                                  .Name("vitalguard_bus_publish_refused_total")
                                  .Help("Redis bus: batches refused (429) while a shard was behind")
                                  .Register(r)
                                  .Add({})),
          rate_limit_fallbacks(prometheus::BuildCounter()
                                   .Name("vitalguard_rate_limit_fallbacks_total")
                                   .Help("Rate-limit operations done in this process alone because the shared Redis "
                                         "did not answer in time (the limits then hold per server)")
                                   .Register(r)
                                   .Add({})),
          verdict_largest_batch(prometheus::BuildGauge()
                                    .Name("vitalguard_verdict_largest_batch")
                                    .Help("Most verdicts the verdict stage handled in one go since start")
                                    .Register(r)
                                    .Add({})) {}

    prometheus::Family<prometheus::Gauge>& build_info;
    prometheus::Family<prometheus::Counter>& attempts;
    prometheus::Family<prometheus::Gauge>& backlog;
    prometheus::Family<prometheus::Gauge>& oldest;
    prometheus::Family<prometheus::Gauge>& incidents;
    prometheus::Gauge& countdowns;
    prometheus::Gauge& overdue;
    prometheus::Counter& refused;
    prometheus::Family<prometheus::Counter>& past;
    prometheus::Counter& past_verdicts;
    prometheus::Counter& past_falls;
    prometheus::Counter& ingested;
    prometheus::Histogram& verdict_latency;
    prometheus::Gauge& queued;
    prometheus::Gauge& clients;
    prometheus::Counter& verdict_commits;
    prometheus::Counter& verdict_rows;
    prometheus::Counter& verdict_failed;
    prometheus::Counter& verdict_split;
    prometheus::Gauge& bus_backlog;
    prometheus::Gauge& bus_max_backlog;
    prometheus::Gauge& bus_owned;
    prometheus::Counter& bus_reclaimed;
    prometheus::Counter& bus_poison;
    prometheus::Counter& bus_replies_timed_out;
    prometheus::Counter& bus_publish_refused;
    prometheus::Counter& rate_limit_fallbacks;
    prometheus::Gauge& verdict_largest_batch;
};

OperationalMetrics::OperationalMetrics(prometheus::Registry& registry, const std::string& version)
    : f_(std::make_unique<Families>(registry)) {
    f_->build_info.Add({{"version", version}}).Set(1);
    for (const char* channel : kChannels) {
        for (notify::DeliveryOutcome outcome : kOutcomes) {
            f_->attempts.Add({{"channel", channel}, {"outcome", std::string(notify::DeliveryOutcomeName(outcome))}});
        }
        f_->backlog.Add({{"channel", channel}});
        f_->oldest.Add({{"channel", channel}});
    }
    for (domain::IncidentPhase phase : kOpenPhases) {
        f_->incidents.Add({{"phase", std::string(domain::IncidentPhaseName(phase))}});
    }
}

OperationalMetrics::~OperationalMetrics() = default;

void OperationalMetrics::OnDelivery(const notify::DeliveryEvent& event) {
    f_->attempts.Add({{"channel", event.channel}, {"outcome", std::string(notify::DeliveryOutcomeName(event.outcome))}})
        .Increment();
}

void OperationalMetrics::OnVerdictLatency(std::chrono::microseconds latency) {
    f_->verdict_latency.Observe(std::max(0.0, std::chrono::duration<double>(latency).count()));
}

void OperationalMetrics::Sample(const Sources& s) {
    std::lock_guard lock(sample_mu_);
    if (s.bus) f_->queued.Set(static_cast<double>(s.bus->queued()));
    if (s.live) f_->clients.Set(static_cast<double>(s.live->subscriber_count()));
    // Counters advance by what is new since the last sample.
    auto advance = [](prometheus::Counter& counter, uint64_t now_seen, uint64_t& seen) {
        if (now_seen > seen) counter.Increment(static_cast<double>(now_seen - seen));
        seen = std::max(seen, now_seen);
    };
    if (s.redis_bus) {
        const bus::RedisBusStats stats = s.redis_bus->Stats();
        f_->bus_backlog.Set(static_cast<double>(stats.backlog));
        f_->bus_max_backlog.Set(static_cast<double>(stats.max_shard_backlog));
        f_->bus_owned.Set(static_cast<double>(stats.owned_shards));
        advance(f_->bus_reclaimed, stats.reclaimed, reclaimed_seen_);
        advance(f_->bus_poison, stats.poison, poison_seen_);
        advance(f_->bus_replies_timed_out, stats.replies_timed_out, replies_timed_out_seen_);
        advance(f_->bus_publish_refused, stats.publish_refused, publish_refused_seen_);
    }
    if (s.rate_limits) advance(f_->rate_limit_fallbacks, s.rate_limits->fallbacks(), rate_limit_fallbacks_seen_);
    if (s.ingest) {
        const uint64_t now_seen = s.ingest->readings_accepted();
        if (now_seen > ingested_seen_) f_->ingested.Increment(static_cast<double>(now_seen - ingested_seen_));
        ingested_seen_ = std::max(ingested_seen_, now_seen);
    }
    if (s.escalation) {
        const auto refused = static_cast<uint64_t>(std::max<int64_t>(0, s.escalation->dispatches_refused()));
        if (refused > dispatch_refused_seen_)
            f_->refused.Increment(static_cast<double>(refused - dispatch_refused_seen_));
        dispatch_refused_seen_ = std::max(dispatch_refused_seen_, refused);
        advance(f_->past_verdicts, static_cast<uint64_t>(std::max<int64_t>(0, s.escalation->past_verdicts())),
                past_verdicts_seen_);
        advance(f_->past_falls, static_cast<uint64_t>(std::max<int64_t>(0, s.escalation->past_falls())),
                past_falls_seen_);
    }
    if (s.verdicts) {
        const verdict::VerdictStageStats stats = s.verdicts->stats();
        advance(f_->verdict_commits, stats.commits, commits_seen_);
        advance(f_->verdict_rows, stats.status_rows, status_rows_seen_);
        advance(f_->verdict_failed, stats.failed_rows, failed_records_seen_);
        advance(f_->verdict_split, stats.split_commits, split_commits_seen_);
        f_->verdict_largest_batch.Set(static_cast<double>(stats.largest_batch));
    }
    if (s.store == nullptr || s.clock == nullptr) return;
    const TimePoint now = s.clock->Now();
    // A failed query keeps the last figures (the alert on the store itself is /readyz's) and says so.
    if (auto backlog = s.store->OutboxBacklogByChannel(); backlog.ok()) {
        std::map<std::string, const store::OutboxBacklog*> by_channel;
        for (const store::OutboxBacklog& b : *backlog) by_channel[b.channel] = &b;
        for (const char* channel : kChannels) by_channel.try_emplace(channel, nullptr);
        for (const auto& [channel, b] : by_channel) {
            f_->backlog.Add({{"channel", channel}}).Set(b ? static_cast<double>(b->messages) : 0.0);
            f_->oldest.Add({{"channel", channel}}).Set(b ? std::max(0.0, Seconds(now - b->oldest_created_at)) : 0.0);
        }
    } else {
        spdlog::warn("metrics: cannot read the outbox backlog: {}", backlog.status().ToString());
    }
    if (auto phases = s.store->OpenIncidentsByPhase(); phases.ok()) {
        std::map<domain::IncidentPhase, const store::OpenIncidentPhase*> by_phase;
        for (const store::OpenIncidentPhase& p : *phases) by_phase[p.phase] = &p;
        double countdowns = 0, overdue = 0;
        for (domain::IncidentPhase phase : kOpenPhases) {
            auto it = by_phase.find(phase);
            const double n = it == by_phase.end() ? 0.0 : static_cast<double>(it->second->incidents);
            f_->incidents.Add({{"phase", std::string(domain::IncidentPhaseName(phase))}}).Set(n);
            if (phase == domain::IncidentPhase::kCountdown && it != by_phase.end()) {
                countdowns = n;
                if (it->second->earliest_deadline)
                    overdue = std::max(0.0, Seconds(now - *it->second->earliest_deadline));
            }
        }
        f_->countdowns.Set(countdowns);
        f_->overdue.Set(overdue);
    } else {
        spdlog::warn("metrics: cannot read the open incidents: {}", phases.status().ToString());
    }
}

std::unique_ptr<OperationalMetrics::Sampler> OperationalMetrics::StartSampler(Sources sources,
                                                                              std::chrono::milliseconds period) {
    return std::make_unique<Sampler>(*this, sources, period);
}

OperationalMetrics::Sampler::Sampler(OperationalMetrics& metrics, Sources sources, std::chrono::milliseconds period)
    : metrics_(metrics), sources_(sources), period_(period) {
    metrics_.Sample(sources_);
    thread_ = std::thread([this] {
        std::unique_lock lock(mu_);
        while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
            lock.unlock();
            metrics_.Sample(sources_);
            lock.lock();
        }
    });
}

OperationalMetrics::Sampler::~Sampler() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace vg::app
