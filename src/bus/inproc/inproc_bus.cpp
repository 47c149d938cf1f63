#include "vg/bus/inproc_bus.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace vg::bus {

struct InProcBus::Shard {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<ReadingEnvelope> queue;  // GUARDED_BY(mu)
    // How many of `queue` each wearer has (only with a per-wearer limit). GUARDED_BY(mu)
    std::unordered_map<int64_t, size_t> queued_by_wearer;
    bool stopping = false;  // GUARDED_BY(mu)
    bool accepting = true;  // GUARDED_BY(mu)
    std::thread thread;
};

InProcBus::InProcBus(const Clock& clock, InProcBusOptions options) : clock_(clock), options_(options) {
    const int n = std::max(1, options_.shards);
    for (int i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>());
}

InProcBus::~InProcBus() { Stop(); }

int InProcBus::shard_count() const { return static_cast<int>(shards_.size()); }

Status InProcBus::Publish(std::vector<ReadingEnvelope> batch) {
    if (batch.empty()) return Status::Ok();
    // Split by shard, keeping order within each shard (and so within each wearer).
    std::vector<std::vector<ReadingEnvelope>> parts(shards_.size());
    for (auto& e : batch) parts[static_cast<size_t>(ShardOf(e.wearer))].push_back(std::move(e));
    // All-or-nothing: check every shard's room first, holding their locks in index order.
    std::vector<std::unique_lock<std::mutex>> locks;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].empty()) continue;
        locks.emplace_back(shards_[i]->mu);
        if (!shards_[i]->accepting) return Status::Error(ErrorCode::kUnavailable, "the reading bus is stopped");
        if (shards_[i]->queue.size() + parts[i].size() > options_.queue_limit) {
            Status s = Status::Error(ErrorCode::kRateLimited, "detection is behind; please retry shortly");
            s.WithRetryAfter(1);
            return s;
        }
        if (options_.per_wearer_limit > 0 && !FitsWearerShare(*shards_[i], parts[i])) {
            Status s = Status::Error(ErrorCode::kRateLimited,
                                     "this wearer's earlier readings are still being checked; please retry shortly");
            s.WithRetryAfter(1);
            return s;
        }
    }
    for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].empty()) continue;
        auto& q = shards_[i]->queue;
        if (options_.per_wearer_limit > 0) {
            for (const ReadingEnvelope& e : parts[i]) ++shards_[i]->queued_by_wearer[e.wearer];
        }
        q.insert(q.end(), std::make_move_iterator(parts[i].begin()), std::make_move_iterator(parts[i].end()));
    }
    locks.clear();
    for (size_t i = 0; i < parts.size(); ++i) {
        if (!parts[i].empty()) shards_[i]->cv.notify_one();
    }
    return Status::Ok();
}

bool InProcBus::FitsWearerShare(const Shard& shard, const std::vector<ReadingEnvelope>& part) const {
    // Usually one wearer per batch: count runs of the same wearer without a map.
    std::unordered_map<int64_t, size_t> adding;
    for (const ReadingEnvelope& e : part) ++adding[e.wearer];
    for (const auto& [wearer, n] : adding) {
        auto it = shard.queued_by_wearer.find(wearer);
        const size_t queued = it == shard.queued_by_wearer.end() ? 0 : it->second;
        if (queued + n > options_.per_wearer_limit) return false;
    }
    return true;
}

void InProcBus::Start(ReadingConsumer& consumer) {
    consumer_ = &consumer;
    for (int i = 0; i < shard_count(); ++i) {
        shards_[static_cast<size_t>(i)]->thread = std::thread([this, i] { RunShard(i); });
    }
}

void InProcBus::RunShard(int index) {
    Shard& shard = *shards_[static_cast<size_t>(index)];
    std::vector<ReadingEnvelope> batch;
    auto next_tick = std::chrono::steady_clock::now() + options_.tick_interval;
    for (;;) {
        {
            std::unique_lock lock(shard.mu);
            shard.cv.wait_until(lock, next_tick, [&] { return !shard.queue.empty() || shard.stopping; });
            batch.swap(shard.queue);
            shard.queued_by_wearer.clear();  // everything queued is handed over at once
            if (batch.empty() && shard.stopping) return;
        }
        if (!batch.empty()) {
            consumer_->OnReadings(index, batch);
            batch.clear();
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_tick) {
            consumer_->OnTick(index, clock_.Now());
            next_tick = now + options_.tick_interval;
        }
    }
}

void InProcBus::Stop() {
    for (auto& shard : shards_) {
        std::lock_guard lock(shard->mu);
        shard->accepting = false;
        shard->stopping = true;
    }
    for (auto& shard : shards_) {
        shard->cv.notify_all();
        if (shard->thread.joinable()) shard->thread.join();
    }
}

size_t InProcBus::queued() const {
    size_t n = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard->mu);
        n += shard->queue.size();
    }
    return n;
}

}  // namespace vg::bus
