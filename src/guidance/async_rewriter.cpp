#include "vg/guidance/async_rewriter.hpp"

namespace vg::guidance {

AsyncRewriter::AsyncRewriter(std::unique_ptr<LlmRewriter> rewriter, size_t max_queued, size_t max_cached)
    : rewriter_(std::move(rewriter)), max_queued_(max_queued), max_cached_(max_cached) {
    worker_ = std::thread([this] { Run(); });
}

AsyncRewriter::~AsyncRewriter() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    worker_.join();
}

std::optional<RewriteResult> AsyncRewriter::Get(const std::string& key, const Guidance& guidance) {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    if (in_flight_.count(key) == 0 && queue_.size() < max_queued_) {
        in_flight_[key] = true;
        queue_.emplace_back(key, guidance);
        cv_.notify_one();
    }
    return std::nullopt;
}

bool AsyncRewriter::Asked(const std::string& key) {
    std::lock_guard lock(mu_);
    return cache_.count(key) != 0 || in_flight_.count(key) != 0;
}

void AsyncRewriter::Run() {
    std::unique_lock lock(mu_);
    while (true) {
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        auto [key, guidance] = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        RewriteResult result = rewriter_->Rewrite(guidance);  // slow: outside the lock
        lock.lock();
        in_flight_.erase(key);
        cache_[key] = std::move(result);
        cache_order_.push_back(key);
        while (cache_order_.size() > max_cached_) {
            cache_.erase(cache_order_.front());
            cache_order_.pop_front();
        }
    }
}

}  // namespace vg::guidance
