#include "vg/auth/rate_limiter.hpp"

#include <algorithm>

namespace vg::auth {

SlidingWindowLimiter::SlidingWindowLimiter(const Clock& clock, Options options) : clock_(clock), options_(options) {}

void SlidingWindowLimiter::Prune(std::deque<TimePoint>& events, TimePoint now) const {
    while (!events.empty() && events.front() <= now - options_.window) events.pop_front();
}

int SlidingWindowLimiter::RetryAfterSeconds(std::string_view key) const {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    auto it = events_.find(std::string(key));
    if (it == events_.end()) return 0;
    Prune(it->second, now);
    if (it->second.empty()) {
        events_.erase(it);
        return 0;
    }
    if (static_cast<int>(it->second.size()) < options_.max_events) return 0;
    // The key may act again once enough events have left the window to go below the limit.
    const size_t excess = it->second.size() - static_cast<size_t>(options_.max_events);
    const TimePoint frees_at = it->second[excess] + options_.window;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(frees_at - now).count();
    return std::max<int>(1, static_cast<int>((wait + 999) / 1000));
}

void SlidingWindowLimiter::Record(std::string_view key) {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    if (events_.size() >= options_.max_keys && events_.find(std::string(key)) == events_.end()) {
        // Forget the key that has been quiet the longest; an attacker cycling keys cannot grow memory.
        auto oldest = events_.begin();
        for (auto it = events_.begin(); it != events_.end(); ++it) {
            if (it->second.empty() || (!oldest->second.empty() && it->second.back() < oldest->second.back())) {
                oldest = it;
            }
        }
        events_.erase(oldest);
    }
    auto& events = events_[std::string(key)];
    Prune(events, now);
    events.push_back(now);
    // Keep only what can matter for the limit.
    while (events.size() > static_cast<size_t>(options_.max_events) + 1) events.pop_front();
}

void SlidingWindowLimiter::Reset(std::string_view key) {
    std::lock_guard lock(mu_);
    events_.erase(std::string(key));
}

size_t SlidingWindowLimiter::tracked_keys() const {
    std::lock_guard lock(mu_);
    return events_.size();
}

}  // namespace vg::auth
