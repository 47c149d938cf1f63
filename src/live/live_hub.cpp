#include "vg/live/live_hub.hpp"

#include <algorithm>

namespace vg::live {

LiveHub::LiveHub(int stripes) : stripes_(static_cast<size_t>(std::max(1, stripes))) {}

LiveHub::Stripe& LiveHub::StripeOf(int64_t wearer) const {
    return stripes_[static_cast<uint64_t>(wearer) % stripes_.size()];
}

void LiveHub::Subscribe(int64_t wearer, std::shared_ptr<LiveSubscriber> subscriber) {
    Stripe& s = StripeOf(wearer);
    std::lock_guard lock(s.mu);
    s.by_wearer[wearer].push_back(std::move(subscriber));
}

void LiveHub::Unsubscribe(int64_t wearer, const LiveSubscriber* subscriber) {
    Stripe& s = StripeOf(wearer);
    std::lock_guard lock(s.mu);
    auto it = s.by_wearer.find(wearer);
    if (it == s.by_wearer.end()) return;
    auto& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(), [&](const auto& p) { return p.get() == subscriber; }),
               list.end());
    if (list.empty()) s.by_wearer.erase(it);
}

int LiveHub::Publish(int64_t wearer, const std::string& message) {
    if (relay_) relay_(wearer, message);
    return DeliverLocal(wearer, message);
}

int LiveHub::DeliverLocal(int64_t wearer, const std::string& message) {
    std::vector<std::shared_ptr<LiveSubscriber>> targets;
    {
        Stripe& s = StripeOf(wearer);
        std::lock_guard lock(s.mu);
        auto it = s.by_wearer.find(wearer);
        if (it == s.by_wearer.end()) return 0;
        targets = it->second;
    }
    int delivered = 0;
    for (const auto& t : targets) {
        if (t->Deliver(message)) {
            ++delivered;
        } else {
            Unsubscribe(wearer, t.get());
        }
    }
    return delivered;
}

bool LiveHub::HasSubscribers(int64_t wearer) const {
    if (relay_) return true;
    Stripe& s = StripeOf(wearer);
    std::lock_guard lock(s.mu);
    return s.by_wearer.contains(wearer);
}

size_t LiveHub::subscriber_count() const {
    size_t n = 0;
    for (const auto& s : stripes_) {
        std::lock_guard lock(s.mu);
        for (const auto& [wearer, list] : s.by_wearer) n += list.size();
    }
    return n;
}

}  // namespace vg::live
