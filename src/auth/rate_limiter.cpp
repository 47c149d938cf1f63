#include "vg/auth/rate_limiter.hpp"

#include <algorithm>

namespace vg::auth {

namespace {
int CeilSeconds(std::chrono::milliseconds wait) {
    return std::max<int>(1, static_cast<int>((wait.count() + 999) / 1000));
}
}  // namespace

InProcessSlidingWindowLimiter::InProcessSlidingWindowLimiter(const Clock& clock, Options options)
    : clock_(clock), options_(options), events_(options.max_keys) {}

void InProcessSlidingWindowLimiter::Prune(std::deque<TimePoint>& events, TimePoint now) const {
    while (!events.empty() && events.front() <= now - options_.window) events.pop_front();
}

int InProcessSlidingWindowLimiter::WaitSeconds(const std::deque<TimePoint>& events, TimePoint now) const {
    if (events.empty() || static_cast<int>(events.size()) < options_.max_events) return 0;
    // The key may act again once enough events have left the window to go below the limit (with
    // max_events <= 0, once its newest event has: Record keeps one).
    const size_t excess =
        std::min(events.size() - 1, events.size() - static_cast<size_t>(std::max(0, options_.max_events)));
    const TimePoint frees_at = events[excess] + options_.window;
    return CeilSeconds(std::chrono::duration_cast<std::chrono::milliseconds>(frees_at - now));
}

int InProcessSlidingWindowLimiter::RetryAfterSeconds(std::string_view key) const {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    events_.EvictExpired(now, kEvictionBudget);
    std::deque<TimePoint>* events = events_.Find(key, now);
    if (events == nullptr) return 0;
    Prune(*events, now);
    return WaitSeconds(*events, now);
}

int InProcessSlidingWindowLimiter::TryAcquire(std::string_view key) {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    events_.EvictExpired(now, kEvictionBudget);
    if (options_.max_events <= 0) return CeilSeconds(options_.window);
    std::deque<TimePoint>* events = events_.FindOrInsert(key, now, now + options_.window);
    if (events == nullptr) {
        return CeilSeconds(std::chrono::duration_cast<std::chrono::milliseconds>(events_.EarliestExpiry(now) - now));
    }
    Prune(*events, now);
    if (int wait = WaitSeconds(*events, now)) return wait;
    events->push_back(now);
    // Keep only what can matter for the limit.
    while (events->size() > static_cast<size_t>(options_.max_events)) events->pop_front();
    events_.SetExpiry(key, now + options_.window);
    return 0;
}

bool InProcessSlidingWindowLimiter::Record(std::string_view key) {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    events_.EvictExpired(now, kEvictionBudget);
    std::deque<TimePoint>* events = events_.FindOrInsert(key, now, now + options_.window);
    if (events == nullptr) return false;
    Prune(*events, now);
    events->push_back(now);
    while (events->size() > static_cast<size_t>(std::max(1, options_.max_events))) events->pop_front();
    events_.SetExpiry(key, now + options_.window);
    return true;
}

void InProcessSlidingWindowLimiter::Release(std::string_view key) {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    std::deque<TimePoint>* events = events_.Find(key, now);
    if (events == nullptr || events->empty()) return;
    events->pop_back();
    if (events->empty()) {
        events_.Erase(key);
    } else {
        events_.SetExpiry(key, events->back() + options_.window);
    }
}

void InProcessSlidingWindowLimiter::Reset(std::string_view key) {
    std::lock_guard lock(mu_);
    events_.Erase(key);
}

size_t InProcessSlidingWindowLimiter::tracked_keys() const {
    std::lock_guard lock(mu_);
    return events_.size();
}

}  // namespace vg::auth
