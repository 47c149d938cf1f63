#pragma once
// LiveHub: fan-out of live events (status changes, alerts) to whoever watches a wearer.
//
// A subscriber is anything that can take a text message (the api module adapts a
// WebSocket connection). Publishing never blocks on a subscriber: Deliver must
// only enqueue, and a subscriber that refuses (closed, or too slow) is dropped.
// Subscriptions are per wearer; a guardian watching three wearers subscribes three
// times with the same subscriber.
// Thread-safety: every method may be called from any thread. Subscribers are held
// by shared_ptr; Publish copies the subscriber list under a short lock and delivers
// outside it.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace vg::live {

class LiveSubscriber {
  public:
    virtual ~LiveSubscriber() = default;
    // Enqueues `message` for delivery; false when this subscriber is gone and should be dropped.
    virtual bool Deliver(const std::string& message) = 0;
};

class LiveHub {
  public:
    explicit LiveHub(int stripes = 64);

    void Subscribe(int64_t wearer, std::shared_ptr<LiveSubscriber> subscriber);
    void Unsubscribe(int64_t wearer, const LiveSubscriber* subscriber);
    // Delivers to every subscriber of `wearer`; returns how many took it.
    int Publish(int64_t wearer, const std::string& message);
    // Whether anyone watches `wearer` now (lets publishers skip building a message nobody reads).
    bool HasSubscribers(int64_t wearer) const;
    size_t subscriber_count() const;

  private:
    struct Stripe {
        mutable std::mutex mu;
        std::unordered_map<int64_t, std::vector<std::shared_ptr<LiveSubscriber>>> by_wearer;  // GUARDED_BY(mu)
    };
    Stripe& StripeOf(int64_t wearer) const;

    mutable std::vector<Stripe> stripes_;
};

}  // namespace vg::live
