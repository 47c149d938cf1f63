#pragma once
// LiveHub: fan-out of live events (status changes, alerts) to whoever watches a wearer.
//
// A subscriber is anything that can take a text message (the api module adapts a
// WebSocket connection). Publishing never blocks on a subscriber: Deliver must
// only enqueue, and a subscriber that refuses (closed, or too slow) is dropped.
// Subscriptions are per wearer; a guardian watching three wearers subscribes three
// times with the same subscriber.
// Across servers (the scale-out roles) a relay takes every published message too (SetRelay: the Redis
// fan-out), and what other servers relayed arrives through DeliverLocal, to this server's subscribers only.
// Thread-safety: every method may be called from any thread, except SetRelay (before any Publish).
// Subscribers are held by shared_ptr; Publish copies the subscriber list under a short lock and delivers
// outside it.

#include <cstdint>
#include <functional>
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
    // Delivers to every subscriber of `wearer` here, and hands the message to the relay when there is one;
    // returns how many subscribers here took it.
    int Publish(int64_t wearer, const std::string& message);
    // Delivers to this server's subscribers only (a message another server relayed).
    int DeliverLocal(int64_t wearer, const std::string& message);
    // Whether anyone may watch `wearer` now (lets publishers skip building a message nobody reads): always
    // with a relay, since watchers on other servers are not known here.
    bool HasSubscribers(int64_t wearer) const;
    // Every Publish also calls `relay` (on the publisher's thread; it must not block for long). REQUIRES:
    // before the first Publish.
    void SetRelay(std::function<void(int64_t wearer, const std::string& message)> relay) { relay_ = std::move(relay); }
    size_t subscriber_count() const;

  private:
    struct Stripe {
        mutable std::mutex mu;
        std::unordered_map<int64_t, std::vector<std::shared_ptr<LiveSubscriber>>> by_wearer;  // GUARDED_BY(mu)
    };
    Stripe& StripeOf(int64_t wearer) const;

    mutable std::vector<Stripe> stripes_;
    std::function<void(int64_t, const std::string&)> relay_;
};

}  // namespace vg::live
