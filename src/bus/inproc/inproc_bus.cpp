#include "vg/bus/inproc_bus.hpp"

#include <condition_variable>
#include <deque>
#include <future>
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
    std::vector<posture::WindowJob> windows;                 // GUARDED_BY(mu)
    std::vector<std::shared_ptr<std::promise<void>>> ticks;  // TickAll's requests. GUARDED_BY(mu)
    bool started = false;                                    // GUARDED_BY(mu)
    bool stopping = false;                                   // GUARDED_BY(mu)
    bool accepting = true;                                   // GUARDED_BY(mu)
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

Status InProcBus::PublishWindows(posture::WindowJob job) {
    Shard& shard = *shards_[static_cast<size_t>(ShardOf(job.wearer))];
    {
        std::lock_guard lock(shard.mu);
        if (!shard.accepting) return Status::Error(ErrorCode::kUnavailable, "the bus is stopped");
        if (shard.windows.size() >= options_.window_job_limit) {
            Status s = Status::Error(ErrorCode::kRateLimited, "posture detection is behind; please retry shortly");
            s.WithRetryAfter(1);
            return s;
        }
        shard.windows.push_back(std::move(job));
    }
    shard.cv.notify_one();
    return Status::Ok();
}

void InProcBus::TickAll() {
    std::vector<std::future<void>> waits;
    for (auto& shard : shards_) {
        auto request = std::make_shared<std::promise<void>>();
        {
            std::lock_guard lock(shard->mu);
            if (!shard->started || shard->stopping) continue;
            shard->ticks.push_back(request);
        }
        waits.push_back(request->get_future());
        shard->cv.notify_one();
    }
    for (auto& w : waits) w.wait();
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
    for (auto& shard : shards_) {
        std::lock_guard lock(shard->mu);
        shard->started = true;
    }
    for (int i = 0; i < shard_count(); ++i) {
        shards_[static_cast<size_t>(i)]->thread = std::thread([this, i] { RunShard(i); });
    }
}

void InProcBus::RunShard(int index) {
    Shard& shard = *shards_[static_cast<size_t>(index)];
    std::vector<ReadingEnvelope> batch;
    std::vector<posture::WindowJob> windows;
    std::vector<std::shared_ptr<std::promise<void>>> ticks;
    auto next_tick = std::chrono::steady_clock::now() + options_.tick_interval;
    for (;;) {
        {
            std::unique_lock lock(shard.mu);
            shard.cv.wait_until(lock, next_tick, [&] {
                return !shard.queue.empty() || !shard.windows.empty() || !shard.ticks.empty() || shard.stopping;
            });
            batch.swap(shard.queue);
            windows.swap(shard.windows);
            ticks.swap(shard.ticks);
            shard.queued_by_wearer.clear();  // everything queued is handed over at once
            if (batch.empty() && windows.empty() && shard.stopping) {
                for (auto& t : ticks) t->set_value();
                return;
            }
        }
        if (!batch.empty()) {
            consumer_->OnReadings(index, batch);
            batch.clear();
        }
        if (!windows.empty()) {
            consumer_->OnWindows(index, windows);
            windows.clear();
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_tick || !ticks.empty()) {
            consumer_->OnTick(index, clock_.Now());
            next_tick = now + options_.tick_interval;
            for (auto& t : ticks) t->set_value();
            ticks.clear();
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
    // Never started (a failed start-up): window jobs are answered, not evaluated; readings were stored.
    for (auto& shard : shards_) {
        std::vector<posture::WindowJob> left;
        {
            std::lock_guard lock(shard->mu);
            left.swap(shard->windows);
        }
        for (posture::WindowJob& job : left) {
            if (job.answer) {
                job.answer(Status::Error(ErrorCode::kUnavailable, "VitalGuard is restarting; send the windows again.")
                               .WithRetryAfter(5));
            }
        }
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
