#include "vg/verdict/verdict_stage.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "vg/events/events.hpp"

namespace vg::verdict {

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
        for (Item& item : left) {
            if (item.reply) {
                item.reply(Status::Error(ErrorCode::kUnavailable,
                                         "The reading was saved; VitalGuard is shutting down before its verdict was "
                                         "recorded. It will be evaluated after the restart.")
                               .WithRetryAfter(5));
            }
        }
    }
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
    }
    Enqueue(std::move(item));
}

void VerdictStage::OnLateReading(int64_t wearer, bus::ReadingEnvelope& envelope, const domain::Detection& current) {
    if (!envelope.on_detected) return;  // nothing to record, nobody to answer
    Item item;
    item.wearer = wearer;
    item.detection = current;
    item.previous = current.level;
    item.late = true;
    item.reply = std::move(envelope.on_detected);
    Enqueue(std::move(item));
}

void VerdictStage::Enqueue(Item item) {
    Shard& shard = *shards_[static_cast<size_t>(bus::ShardFor(item.wearer, static_cast<int>(shards_.size())))];
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
    // Stopping: the reading is stored; only its verdict is not recorded.
    if (item.reply) {
        item.reply(Status::Error(ErrorCode::kUnavailable, "The reading was saved; VitalGuard is shutting down.")
                       .WithRetryAfter(5));
    }
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
    verdicts_.fetch_add(batch.size(), std::memory_order_relaxed);
    uint64_t largest = largest_batch_.load(std::memory_order_relaxed);
    while (batch.size() > largest && !largest_batch_.compare_exchange_weak(largest, batch.size())) {
    }

    // 1. Every status row of the batch in one store call (one group commit).
    std::vector<store::StatusRow> rows;
    std::vector<size_t> row_of(batch.size(), SIZE_MAX);
    for (size_t i = 0; i < batch.size(); ++i) {
        const Item& item = batch[i];
        if (item.late || !item.record) continue;
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
        row_of[i] = rows.size();
        rows.push_back(std::move(row));
    }
    std::vector<Status> row_results;
    if (!rows.empty()) {
        auto written = store_.AppendStatuses(rows);
        if (written.ok()) {
            row_results = std::move(written).value();
        } else {
            spdlog::error("recording {} status rows failed: {}", rows.size(), written.status().ToString());
            row_results.assign(rows.size(), written.status());
        }
        commits_.fetch_add(1, std::memory_order_relaxed);
        for (const Status& s : row_results) (s.ok() ? status_rows_ : failed_rows_).fetch_add(1);
    }

    // 2. In each wearer's order: the detection event, escalation (whose incident events follow it), and
    // then the caller's answer — its reading and status row are durable, and a caller that asks for its
    // incidents right after a danger verdict finds the one that verdict opened.
    for (size_t i = 0; i < batch.size(); ++i) {
        Item& item = batch[i];
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
            if (escalation_) escalation_->OnVerdict(item.wearer, d, !item.reading_at.has_value());
        }
        if (!item.reply) continue;
        const bool failed = row_of[i] != SIZE_MAX && !row_results[row_of[i]].ok();
        if (failed) {
            item.reply(Status::Error(ErrorCode::kUnavailable,
                                     "The reading was saved, but its result could not be recorded. Please try again.")
                           .WithRetryAfter(1));
        } else {
            item.reply(item.detection);
        }
        item.reply = nullptr;
    }
}

VerdictStageStats VerdictStage::stats() const {
    return {verdicts_.load(), status_rows_.load(), commits_.load(), failed_rows_.load(), largest_batch_.load()};
}

}  // namespace vg::verdict
