#pragma once
// RedisLiveFanout: live events (the dashboard's WebSocket messages) from the server that made them to the
// servers its browsers are connected to, over Redis pub/sub, beside the readings bus. In the scale-out roles
// a detector records a verdict and an api server holds the family's WebSocket: the detector's LiveHub hands
// every message to Publish, and each server's subscriber hands what other servers published to its own hub's
// local subscribers (`deliver`), its own messages skipped.
//
// Delivery is at most once and only to servers subscribed at that moment (pub/sub keeps nothing): a live
// event is a hint to a watching page, which reloads its state when it reconnects; nothing of record travels
// here. Channel `{prefix}:live`; a message is "node\nwearer\ntext".
//
// The subscriber pings Redis every 400 ms on its own connection, so it notices a dead server within about a
// second (it then reconnects with back-off, 50 ms doubling to 2 s) and stops within half a second.
// Publish never waits on Redis (it runs on the detector's and the verdict stage's threads, once per live
// event): it queues the message, and a publisher thread sends what is queued in pipelined batches of up to
// 512 PUBLISHes per round trip, in the order queued. While Redis is unreachable the publisher tries to
// reconnect at most once a second and drops what it cannot send; a full queue (max_queued) drops the new
// message. Both are counted (publish_dropped). The destructor sends what is still queued, then stops.
//
// Thread-safety: Publish and stats from any thread. `deliver` runs on the subscriber thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vg/common/status.hpp"

namespace vg::bus {

struct RedisLiveFanoutOptions {
    std::string url;            // redis://[[user]:password@]host[:port][/db]
    std::string prefix = "vg";  // the bus prefix: one channel per deployment
    std::string node_id;        // this server's name ([A-Za-z0-9_.-]); empty: random
    std::chrono::milliseconds command_timeout{1000};
    size_t max_queued = 100'000;  // messages waiting for the publisher; > 0
};

struct RedisLiveFanoutStats {
    uint64_t published = 0;        // messages Redis took
    uint64_t publish_dropped = 0;  // messages dropped because Redis could not take them
    uint64_t received = 0;         // other servers' messages handed to `deliver`
};

class RedisLiveFanout {
  public:
    using Deliver = std::function<void(int64_t wearer, const std::string& message)>;
    // Connects both connections (kUnavailable when Redis cannot be reached; never the password) and starts
    // the subscriber.
    static Result<std::unique_ptr<RedisLiveFanout>> Open(RedisLiveFanoutOptions options, Deliver deliver);
    ~RedisLiveFanout();  // stops and joins the subscriber
    RedisLiveFanout(const RedisLiveFanout&) = delete;
    RedisLiveFanout& operator=(const RedisLiveFanout&) = delete;

    // Queues `message` about `wearer` for every other subscribed server. False when it was dropped (the
    // queue is full).
    bool Publish(int64_t wearer, const std::string& message);
    RedisLiveFanoutStats stats() const;

  private:
    struct State;
    explicit RedisLiveFanout(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace vg::bus
