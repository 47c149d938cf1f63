// The emergency path on /metrics: what an operator's alerts (deploy/prometheus/alerts.yml) watch.
//
//   vitalguard_build_info{version}                              1
//   vitalguard_notification_attempts_total{channel,outcome}     counter: every delivery attempt
//   vitalguard_outbox_backlog{channel}                          gauge: messages not yet delivered or failed
//   vitalguard_outbox_oldest_pending_age_seconds{channel}       gauge: how long the oldest of them has waited
//   vitalguard_incidents{phase}                                 gauge: open incidents by phase
//   vitalguard_countdowns_running                               gauge: incidents counting down to the call
//   vitalguard_oldest_countdown_overdue_seconds                 gauge: how far past its deadline the most
//                                                               overdue countdown is (0: none overdue)
//   vitalguard_emergency_dispatch_refused_total                 counter: calls held back by the account limit
//   vitalguard_readings_ingested_total                          counter: readings acknowledged as stored
//   vitalguard_reading_to_verdict_seconds                       histogram: receipt -> verdict recorded
//   vitalguard_detector_queued_readings                         gauge: readings waiting for detection
//   vitalguard_websocket_clients                                gauge: live streams open
//   vitalguard_verdict_commits_total                            counter: the verdict stage's group commits
//   vitalguard_verdict_status_rows_total                        counter: status rows they committed
//   vitalguard_verdict_failed_records_total                     counter: records the store refused
//   vitalguard_verdict_largest_batch                            gauge: most verdicts handled in one go
//                                                               (rows / commits is the group-commit size)
//   With the Redis Streams bus (--bus redis://…; 0 on the in-process bus):
//   vitalguard_bus_backlog_entries                              gauge: entries published, not yet acknowledged
//                                                               (every shard: the consumer group's lag + pending)
//   vitalguard_bus_max_shard_backlog_entries                    gauge: the same on the most behind shard
//   vitalguard_bus_owned_shards                                 gauge: shards this server consumes (its leases)
//   vitalguard_bus_reclaimed_entries_total                      counter: a dead consumer's entries claimed
//   vitalguard_bus_poison_entries_total                         counter: entries that did not decode (dropped)
//   vitalguard_bus_replies_timed_out_total                      counter: update_status / window answers that no
//                                                               detector gave in time
//   vitalguard_bus_publish_refused_total                        counter: batches refused while a shard was behind
//   vitalguard_rate_limit_fallbacks_total                       counter: rate-limit operations done in this
//                                                               process because the shared Redis did not answer
//                                                               (auth::RedisRateLimits; 0 without it)
//
// Every labelled series exists from the start at zero (all channels, outcomes and open phases), so an
// alert on increase() sees the first failure, not only the second.
//
// Two halves: OperationalMetrics is built first (it only needs the registry) and takes events from any
// thread; its Sampler, started last and stopped first, reads the services' gauges every `period` on a
// thread of its own (the outbox and incident figures are two small store queries).
//
// Thread-safety: OnDelivery and OnVerdictLatency from any thread; StartSampler/the Sampler's destruction
// from one controlling thread. Ownership: borrows the registry and, for the sampler, the sources, which
// must outlive the Sampler.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "vg/common/clock.hpp"
#include "vg/notify/delivery_worker.hpp"
#include "vg/store/store.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace vg::bus {
class InProcBus;
class RedisStreamsBus;
}  // namespace vg::bus
namespace vg::ingest {
class IngestService;
}
namespace vg::auth {
class RedisRateLimits;
}
namespace vg::live {
class LiveHub;
}
namespace vg::escalation {
class EscalationService;
}
namespace vg::verdict {
class VerdictStage;
}

namespace vg::app {

class OperationalMetrics {
  public:
    OperationalMetrics(prometheus::Registry& registry, const std::string& version);
    ~OperationalMetrics();
    OperationalMetrics(const OperationalMetrics&) = delete;
    OperationalMetrics& operator=(const OperationalMetrics&) = delete;

    void OnDelivery(const notify::DeliveryEvent& event);
    void OnVerdictLatency(std::chrono::microseconds latency);

    // What the sampler reads. Any may be null (that figure stays 0).
    struct Sources {
        store::Store* store = nullptr;
        const bus::InProcBus* bus = nullptr;
        const bus::RedisStreamsBus* redis_bus = nullptr;
        const ingest::IngestService* ingest = nullptr;
        const live::LiveHub* live = nullptr;
        const escalation::EscalationService* escalation = nullptr;
        const Clock* clock = nullptr;
        const verdict::VerdictStage* verdicts = nullptr;
        const auth::RedisRateLimits* rate_limits = nullptr;
    };
    class Sampler;
    // Samples once now (so the first scrape has the figures) and then every `period` until the returned
    // Sampler is destroyed.
    std::unique_ptr<Sampler> StartSampler(Sources sources, std::chrono::milliseconds period);

  private:
    void Sample(const Sources& sources);

    struct Families;
    std::unique_ptr<Families> f_;
    std::mutex sample_mu_;                    // one Sample at a time
    uint64_t ingested_seen_ = 0;              // GUARDED_BY(sample_mu_): counters advance by what is new
    uint64_t dispatch_refused_seen_ = 0;      // GUARDED_BY(sample_mu_)
    uint64_t past_verdicts_seen_ = 0;         // GUARDED_BY(sample_mu_)
    uint64_t past_falls_seen_ = 0;            // GUARDED_BY(sample_mu_)
    uint64_t commits_seen_ = 0;               // GUARDED_BY(sample_mu_)
    uint64_t status_rows_seen_ = 0;           // GUARDED_BY(sample_mu_)
    uint64_t failed_records_seen_ = 0;        // GUARDED_BY(sample_mu_)
    uint64_t split_commits_seen_ = 0;         // GUARDED_BY(sample_mu_)
    uint64_t reclaimed_seen_ = 0;             // GUARDED_BY(sample_mu_)
    uint64_t poison_seen_ = 0;                // GUARDED_BY(sample_mu_)
    uint64_t replies_timed_out_seen_ = 0;     // GUARDED_BY(sample_mu_)
    uint64_t publish_refused_seen_ = 0;       // GUARDED_BY(sample_mu_)
    uint64_t rate_limit_fallbacks_seen_ = 0;  // GUARDED_BY(sample_mu_)
};

class OperationalMetrics::Sampler {
  public:
    Sampler(OperationalMetrics& metrics, Sources sources, std::chrono::milliseconds period);
    ~Sampler();  // stops and joins
    Sampler(const Sampler&) = delete;
    Sampler& operator=(const Sampler&) = delete;

  private:
    OperationalMetrics& metrics_;
    const Sources sources_;
    const std::chrono::milliseconds period_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;  // GUARDED_BY(mu_)
    std::thread thread_;
};

}  // namespace vg::app
