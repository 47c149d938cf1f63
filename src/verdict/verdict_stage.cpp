#include "vg/verdict/verdict_stage.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <unordered_set>

#include "vg/events/events.hpp"

namespace vg::verdict {
namespace {

// The record's incident transition alone was refused (store::VerdictRecord::incident): the rest is written.
bool RefusedOnlyTheIncident(const store::VerdictRecord& record, const Status& result) {
    return record.incident && result.code() == ErrorCode::kConflict;
}

}  // namespace

std::vector<Status> RecordAllOrEach(const RecordFn& record, std::span<const store::VerdictRecord> records,
                                    bool* split) {
    *split = false;
    auto written = record(records);
    if (written.ok()) return std::move(written).value();
    if (records.size() == 1) {
        spdlog::error("recording a verdict failed: {}", written.status().ToString());
        return {written.status()};
    }
    spdlog::warn("recording {} verdicts together failed ({}); recording them one by one", records.size(),
                 written.status().ToString());
    *split = true;
    std::vector<Status> results;
    results.reserve(records.size());
    size_t failed = 0;
    for (size_t i = 0; i < records.size(); ++i) {
        auto one = record(records.subspan(i, 1));
        if (one.ok() && one->size() == 1) {
            results.push_back((*one)[0]);
        } else {
            results.push_back(one.ok() ? Status::Error(ErrorCode::kInternal, "the store answered no result")
                                       : one.status());
        }
        if (!results.back().ok()) ++failed;
    }
    if (failed > 0) spdlog::error("recording verdicts one by one: {} of {} failed", failed, records.size());
    return results;
}

VerdictStage::VerdictStage(store::Store& store, WearerIds& ids, live::LiveHub& hub, const Clock& clock,
                           VerdictStageOptions options)
    : store_(store), ids_(ids), hub_(hub), clock_(clock), options_(options) {
    const int n = std::max(1, options_.shards);
    for (int i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>());
}

VerdictStage::~VerdictStage() { Stop(); }

void VerdictStage::Start() {
    if (started_ || stopped_) return;
    started_ = true;
    for (auto& shard : shards_) {
        Shard* s = shard.get();
        s->thread = std::thread([this, s] { Run(*s); });
    }
}

void VerdictStage::Stop() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& shard : shards_) {
        {
            std::lock_guard lock(shard->mu);
            shard->stopping = true;
        }
        shard->has_work.notify_all();
        shard->has_room.notify_all();
    }
    for (auto& shard : shards_) {
        if (shard->thread.joinable()) shard->thread.join();
    }
    // Never started (a failed start-up): whatever was queued is answered, not recorded.
    for (auto& shard : shards_) {
        std::vector<Item> left;
        {
            std::lock_guard lock(shard->mu);
            left.swap(shard->queue);
        }
        for (Item& item : left) AnswerShuttingDown(item);
    }
}

void VerdictStage::AnswerShuttingDown(Item& item) {
    if (item.barrier) {
        item.barrier();
        item.barrier = nullptr;
        return;
    }
    if (item.posture) {
        if (item.posture->answer) {
            item.posture->answer(
                Status::Error(ErrorCode::kUnavailable, "VitalGuard is restarting; please send the windows again.")
                    .WithRetryAfter(5));
            item.posture->answer = nullptr;
        }
        return;
    }
    if (!item.reply) return;
    // A reading that came stored is evaluated again after the restart (replay); one that came unstored
    // (update_status) was never acknowledged and must be sent again.
    item.reply(Status::Error(ErrorCode::kUnavailable,
                             item.unstored
                                 ? "VitalGuard is restarting; please send the reading again."
                                 : "The reading was saved; VitalGuard is restarting and will evaluate it then.")
                   .WithRetryAfter(5));
    item.reply = nullptr;
}

void VerdictStage::OnDetection(int64_t wearer, bus::ReadingEnvelope* envelope, const domain::Detection& detection,
                               domain::Level previous) {
    Item item;
    item.wearer = wearer;
    item.detection = detection;
    item.previous = previous;
    item.record = detection.level != previous || (envelope && envelope->record_status);
    if (envelope) {
        item.reading_at = envelope->reading.measured_at;
        item.received_at = envelope->received_at;
        item.reply = std::move(envelope->on_detected);
        if (envelope->store_with_verdict) {
            item.unstored = store::IncomingReading{std::nullopt, envelope->reading};
            item.device_id = envelope->device_id;
        }
    }
    Enqueue(std::move(item));
}

void VerdictStage::OnLateReading(int64_t wearer, bus::ReadingEnvelope& envelope, const domain::Detection& current) {
    if (!envelope.on_detected && !envelope.store_with_verdict) return;  // nothing to record, nobody to answer
    Item item;
    item.wearer = wearer;
    item.detection = current;
    item.previous = current.level;
    item.late = true;
    item.received_at = envelope.received_at;
    item.reply = std::move(envelope.on_detected);
    if (envelope.store_with_verdict) {
        item.unstored = store::IncomingReading{std::nullopt, envelope.reading};
        item.device_id = envelope.device_id;
    }
    Enqueue(std::move(item));
}

void VerdictStage::OnPostureVerdict(posture::PostureVerdict verdict) {
    Item item;
    item.wearer = verdict.wearer;
    item.posture = std::move(verdict);
    Enqueue(std::move(item));
}

void VerdictStage::AfterHandled(std::function<void()> done) {
    auto remaining = std::make_shared<std::atomic<size_t>>(shards_.size());
    auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& shard : shards_) {
        Item marker;
        marker.barrier = [remaining, shared_done] {
            if (remaining->fetch_sub(1) == 1) (*shared_done)();
        };
        EnqueueOn(*shard, std::move(marker));
    }
}

void VerdictStage::Enqueue(Item item) {
    EnqueueOn(*shards_[static_cast<size_t>(bus::ShardFor(item.wearer, static_cast<int>(shards_.size())))],
              std::move(item));
}

void VerdictStage::EnqueueOn(Shard& shard, Item item) {
    {
        std::unique_lock lock(shard.mu);
        shard.has_room.wait(lock, [&] { return shard.queue.size() < options_.queue_capacity || shard.stopping; });
        if (!shard.stopping) {
            shard.queue.push_back(std::move(item));
            lock.unlock();
            shard.has_work.notify_one();
            return;
        }
    }
    AnswerShuttingDown(item);
}

void VerdictStage::Run(Shard& shard) {
    std::vector<Item> batch;
    std::unique_lock lock(shard.mu);
    while (true) {
        shard.has_work.wait(lock, [&] { return !shard.queue.empty() || shard.stopping; });
        if (shard.queue.empty()) return;  // stopping and drained
        if (shard.queue.size() <= options_.max_batch) {
            batch.swap(shard.queue);
        } else {
            const auto n = static_cast<std::ptrdiff_t>(options_.max_batch);
            batch.assign(std::make_move_iterator(shard.queue.begin()),
                         std::make_move_iterator(shard.queue.begin() + n));
            shard.queue.erase(shard.queue.begin(), shard.queue.begin() + n);
        }
        lock.unlock();
        shard.has_room.notify_all();
        Handle(batch);
        batch.clear();
        lock.lock();
    }
}

void VerdictStage::Handle(std::vector<Item>& batch) {
    const TimePoint now = clock_.Now();
    const auto markers = static_cast<size_t>(
        std::count_if(batch.begin(), batch.end(), [](const Item& item) { return static_cast<bool>(item.barrier); }));
    verdicts_.fetch_add(batch.size() - markers, std::memory_order_relaxed);
    uint64_t largest = largest_batch_.load(std::memory_order_relaxed);
    while (batch.size() > largest && !largest_batch_.compare_exchange_weak(largest, batch.size())) {
    }

    // 1. Every status row (and every reading that came unstored) of the batch in one store call: one
    // group commit.
    std::vector<store::VerdictRecord> records;
    std::vector<size_t> record_of(batch.size(), SIZE_MAX);
    std::unordered_set<int64_t> wearers_seen;  // a wearer's first item of the batch may escalate in the commit
    for (size_t i = 0; i < batch.size(); ++i) {
        Item& item = batch[i];
        if (item.barrier) continue;
        const bool first_of_wearer = wearers_seen.insert(item.wearer).second;
        if (escalation_ && first_of_wearer && !item.posture && !item.late) {
            auto prepared =
                escalation_->PrepareVerdict(item.wearer, item.detection, !item.reading_at.has_value(), item.reading_at);
            if (prepared.ok()) {
                item.escalated_in_commit = true;
                item.prepared = std::move(*prepared);
            } else {
                spdlog::error(
                    "escalation: preparing the verdict of wearer {} failed ({}); it escalates after the commit",
                    item.wearer, prepared.status().ToString());
            }
        }
        if (item.posture) {
            posture::PostureVerdict& v = *item.posture;
            if (v.rows.empty() && !v.save_suspicion && !v.clear_suspicion) continue;
            store::VerdictRecord record;
            record.user_unique_num = item.wearer;
            record.postures = v.rows;
            record.save_suspicion = v.save_suspicion;
            record.clear_suspicion = v.clear_suspicion;
            record_of[i] = records.size();
            records.push_back(std::move(record));
            continue;
        }
        const bool row_due = !item.late && item.record;
        if (!row_due && !item.unstored && !item.prepared) continue;
        store::VerdictRecord record;
        record.user_unique_num = item.wearer;
        if (item.prepared) record.incident = item.prepared->write;
        if (item.unstored) {
            record.reading = std::move(item.unstored);
            record.device_id = item.device_id;
            record.received_at = item.received_at.value_or(now);
        }
        if (row_due) {
            store::StatusRow row;
            row.user_unique_num = item.wearer;
            row.status = static_cast<int>(item.detection.level);
            row.updated_at = now;
            for (domain::Metric m : item.detection.causes) {
                if (!row.causes.empty()) row.causes += ',';
                row.causes += domain::MetricName(m);
            }
            row.explanation = item.detection.explanation;
            row.reading_at = item.reading_at;
            record.row = std::move(row);
        }
        record_of[i] = records.size();
        records.push_back(std::move(record));
    }
    std::vector<Status> results;
    if (!records.empty()) {
        bool split = false;
        results =
            RecordAllOrEach([this](std::span<const store::VerdictRecord> some) { return store_.RecordVerdicts(some); },
                            records, &split);
        if (split) split_commits_.fetch_add(1, std::memory_order_relaxed);
        commits_.fetch_add(1, std::memory_order_relaxed);
        for (size_t r = 0; r < records.size(); ++r) {
            if (RefusedOnlyTheIncident(records[r], results[r])) {
                incident_conflicts_.fetch_add(1, std::memory_order_relaxed);
            } else if (!results[r].ok()) {
                failed_rows_.fetch_add(1, std::memory_order_relaxed);
                continue;
            } else if (records[r].incident) {
                incidents_in_commit_.fetch_add(1, std::memory_order_relaxed);
            }
            if (records[r].row) status_rows_.fetch_add(1, std::memory_order_relaxed);
            posture_rows_.fetch_add(records[r].postures.size(), std::memory_order_relaxed);
            if (records[r].reading) readings_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    // 2. In each wearer's order: the detection event, escalation (whose incident events follow it), and
    // then the caller's answer — its reading and status row are durable, and a caller that asks for its
    // incidents right after a danger verdict finds the one that verdict opened.
    for (size_t i = 0; i < batch.size(); ++i) {
        Item& item = batch[i];
        if (item.barrier) {
            item.barrier();  // everything before it in this shard is committed and delivered
            item.barrier = nullptr;
            continue;
        }
        if (item.posture) {
            const Status committed = record_of[i] != SIZE_MAX ? results[record_of[i]] : Status::Ok();
            posture::DeliverPostureVerdict(*item.posture, committed, posture_listener_);
            continue;
        }
        if (!item.late) {
            const domain::Detection& d = item.detection;
            if (d.level != item.previous && d.level != domain::Level::kNormal) {
                spdlog::warn("wearer {} is now {}: {}", item.wearer, domain::LevelName(d.level), d.explanation);
            }
            if (hub_.HasSubscribers(item.wearer)) {
                hub_.Publish(item.wearer, events::DetectionEvent(ids_.Of(item.wearer), d, item.previous,
                                                                 item.reading_at, item.received_at, now));
            }
            // Escalation runs even when the row could not be written: an emergency must not wait on a disk.
            if (escalation_) {
                const Status* committed = record_of[i] != SIZE_MAX ? &results[record_of[i]] : nullptr;
                if (item.prepared && committed != nullptr && committed->ok()) {
                    if (auto announced = escalation_->Committed(*item.prepared); !announced.ok()) {
                        spdlog::error("escalation: the incident of wearer {} was stored but cannot be read back: {}",
                                      item.wearer, announced.status().ToString());
                    }
                } else if (!item.escalated_in_commit || item.prepared) {
                    // Not prepared, or its transition was refused (a conflict, or the commit failed): re-read
                    // and re-apply, storing on its own.
                    escalation_->OnVerdict(item.wearer, d, !item.reading_at.has_value(), item.reading_at);
                }
            }
        }
        if (!item.late && item.received_at && options_.on_verdict_latency) {
            options_.on_verdict_latency(
                std::chrono::duration_cast<std::chrono::microseconds>(clock_.Now() - *item.received_at));
        }
        if (!item.reply) continue;
        const bool failed = record_of[i] != SIZE_MAX && !results[record_of[i]].ok() &&
                            !RefusedOnlyTheIncident(records[record_of[i]], results[record_of[i]]);
        if (failed) {
            item.reply(Status::Error(ErrorCode::kUnavailable,
                                     records[record_of[i]].reading
                                         ? "The reading could not be saved. Please send it again."
                                         : "The reading was saved, but its result could not be recorded.")
                           .WithRetryAfter(1));
        } else {
            item.reply(item.detection);
        }
        item.reply = nullptr;
    }
}

VerdictStageStats VerdictStage::stats() const {
    VerdictStageStats s;
    s.verdicts = verdicts_.load();
    s.status_rows = status_rows_.load();
    s.readings = readings_.load();
    s.commits = commits_.load();
    s.failed_rows = failed_rows_.load();
    s.split_commits = split_commits_.load();
    s.largest_batch = largest_batch_.load();
    s.posture_rows = posture_rows_.load();
    s.incidents_in_commit = incidents_in_commit_.load();
    s.incident_conflicts = incident_conflicts_.load();
    return s;
}

}  // namespace vg::verdict
