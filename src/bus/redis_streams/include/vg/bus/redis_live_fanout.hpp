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
// Publish runs on the caller's thread (the verdict stage's): one PUBLISH on a shared connection, never
// waiting more than command_timeout; while Redis is unreachable it tries to reconnect at most once a second
// and drops the message (counted).
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
};

struct RedisLiveFanoutStats {
    uint64_t published = 0;        // messages handed to Redis
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

    // Sends `message` about `wearer` to every other subscribed server. False when it was dropped.
    bool Publish(int64_t wearer, const std::string& message);
    RedisLiveFanoutStats stats() const;

  private:
    struct State;
    explicit RedisLiveFanout(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace vg::bus
