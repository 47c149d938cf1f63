#pragma once
// RedisStreamsBus: the ReadingBus across processes, over Redis Streams (hiredis, RESP2, Redis >= 7.0).
// It passes the bus conformance suite (bus/conformance) as the only consuming node; what follows is what
// several processes add. README.md has the key layout and the reasoning.
//
// Streams. One stream per shard, `{prefix}:bus:{shard}`, shard = ShardFor(wearer, shards), with one consumer
// group `detectors` (created at Open with `$`, recreated from `0` when Redis lost it). Publish writes ONE entry
// per shard per batch (`t r`, `m` = all that shard's readings of the batch, bus_codec); PublishWindows one
// entry per job (`t w`). Entries older than `retention` (Redis's clock) are trimmed as new ones are added
// (XADD MINID ~), consumed or not.
//
// Ownership. A consuming node (consume = true, after Start) owns shards through leases: `{prefix}:lease:{shard}`
// = node id, taken with SET NX PX lease, renewed every lease/3, released with a compare-and-delete. Each
// taking increments `{prefix}:fence:{shard}`; the new owner keeps that value as the shard's fencing token
// (FenceOf) so that a later store can refuse writes from an owner that lost the shard (not done yet). Nodes
// heartbeat into the ZSET `{prefix}:nodes` (scores are Redis's own clock); a node counts the consumers seen
// within one lease as live and aims to own ceil(shards / live) shards: it takes free shards up to that and
// gives back (after delivering and acknowledging its current batch) shards beyond it. A dead node's shards
// are free once its leases expire, and it stops counting as live after one lease, so a survivor owns them
// within about a lease and a renewal period.
//
// Delivery. One thread per owned shard, with its own connection. On taking a shard (and after any lost
// connection) it first claims every pending entry of the group (XAUTOCLAIM from 0-0: what a dead owner read
// but never acknowledged) and delivers those in id order, then reads new entries (XREADGROUP ... >). Before
// each delivery it checks that the lease was renewed within the lease (else it stops without acknowledging:
// the next owner redelivers); after it, it acknowledges (XACK). Delivery is therefore at least once: a reading
// is delivered twice only when its node died (or lost its lease) between delivering and acknowledging it.
// An entry that does not decode is logged, counted (Stats().poison) and acknowledged. OnTick runs about every
// tick_interval on each owned shard's thread. The consumer's OnShardAssigned runs on the shard's thread when it
// starts (before the reclaim), OnShardRevoked when it ends (not after Abandon).
//
// Replies. Callbacks do not travel: the publisher keeps on_detected / WindowJob::answer in a table under a
// sequence number, and the entry carries {node id, seq}. The consuming side hands the consumer callbacks that
// XADD the encoded Result to `{prefix}:reply:{node}` (MAXLEN ~ 100000, PEXPIRE 5 minutes), wherever and
// whenever the consumer calls them (they keep what they need alive, so they may outlive the bus). Each bus
// reads its own reply stream on one thread and calls each callback exactly once: with the reply, or with
// kUnavailable when none came within reply_timeout (a later reply is dropped) or when the bus stops first.
// Callbacks run on that thread (or on Stop's caller); they must not block for long. When Publish fails, none
// of the batch's callbacks is ever called.
//
// Back-pressure and errors. A monitor reads each shard's backlog every 200 ms (XINFO GROUPS: lag + pending;
// XLEN when Redis cannot tell the lag); Publish refuses a batch touching a shard whose backlog is
// >= lag_limit with kRateLimited (retry after 1 s), nothing of the batch written. Redis unreachable, or no
// answer within command_timeout: kUnavailable; the next call connects again (a batch may then have been
// written in part). Background threads retry with back-off and never spin; a restarted Redis (or killed
// connections) is survived: consumers reconnect, recreate a lost group and carry on.
//
// Thread-safety: as ReadingBus; FenceOf, OwnedShards, Stats and TickAll from any thread. Start, Stop and
// Abandon from one controlling thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vg/bus/bus.hpp"
#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg::bus {

struct RedisStreamsBusOptions {
    std::string url;            // redis://[[user]:password@]host[:port][/db]
    std::string prefix = "vg";  // of every key; one prefix is one bus (no whitespace)
    int shards = 16;            // every node of one bus must agree
    std::string node_id;        // this node's name in Redis ([A-Za-z0-9_.-], at most 64); empty: random 64-bit hex
    // false: a publisher-only node (the api role): it publishes and reads its replies, never takes a shard,
    // and Start does nothing.
    bool consume = true;
    std::chrono::milliseconds lease{5000};           // shard lease; renewed every lease / 3
    std::chrono::milliseconds tick_interval{1000};   // OnTick period per owned shard
    std::chrono::milliseconds reply_timeout{10000};  // a callback not answered within this gets kUnavailable
    size_t lag_limit = 200'000;  // backlog (entries) of a shard at which Publish refuses with kRateLimited
    std::chrono::milliseconds retention{std::chrono::minutes(10)};  // entries older than this are trimmed
    std::chrono::milliseconds command_timeout{2000};                // connecting, and any one command
    // What the bus belongs to (the server passes its store's identity). Open records it, and `shards`, under
    // `{prefix}:identity` the first time and refuses (kConflict) a node whose owner or shard count differs:
    // two deployments on one prefix would consume each other's readings, and nodes disagreeing on the shard
    // count would put one wearer on two shards. Empty: not checked.
    std::string owner;
};

struct RedisBusStats {
    size_t owned_shards = 0;
    uint64_t delivered = 0;          // readings and window jobs handed to the consumer (redeliveries counted)
    uint64_t acked = 0;              // entries acknowledged (XACK), poison included
    uint64_t reclaimed = 0;          // pending entries claimed on taking a shard (or after a lost connection)
    uint64_t poison = 0;             // entries that did not decode (logged, acknowledged, dropped)
    uint64_t replies_timed_out = 0;  // callbacks answered kUnavailable after reply_timeout
    uint64_t publish_refused = 0;    // Publish / PublishWindows calls refused with kRateLimited
    // Entries published and not yet acknowledged (the group's lag + pending), over every shard of the bus
    // and on its most behind shard, as the backlog monitor last sampled them (every 200 ms).
    uint64_t backlog = 0;
    uint64_t max_shard_backlog = 0;
};

class RedisStreamsBus final : public ReadingBus {
  public:
    // Checks the options (kInternal naming the bad one: "RedisStreamsBusOptions.url is not ..."), connects
    // (kUnavailable "cannot reach Redis at host:port: ..."; never the password), checks the owner and the shard
    // count against those recorded (kConflict, see `owner`), creates the consumer group on
    // every shard's stream and starts the reply reader and the backlog monitor. `clock` must outlive the bus.
    static Result<std::unique_ptr<RedisStreamsBus>> Open(const Clock& clock, RedisStreamsBusOptions options);
    ~RedisStreamsBus() override;  // Stops (unless abandoned).

    int shard_count() const override;
    Status Publish(std::vector<ReadingEnvelope> batch) override;
    Status PublishWindows(posture::WindowJob job) override;
    // Consuming node: joins the bus's consumers, takes its share of free shards before returning, and keeps
    // balancing in the background. Publisher-only node: nothing. Call at most once.
    void Start(ReadingConsumer& consumer) override;
    // Idempotent. Refuses new publishes; on a started consuming node first waits (at most 5 s) until every
    // owned shard has nothing left to read or acknowledge — so a bus whose only consuming node stops delivers
    // everything already published — then finishes each shard's current batch, acknowledges it, releases the
    // leases (another node takes them at once) and leaves the node set; waits (at most 3 s) for the replies
    // already in this node's reply stream; answers every callback still waiting kUnavailable; joins every
    // thread.
    void Stop() override;

    // Runs OnTick on every owned shard at the clock's time now, on the shard threads, and waits for them
    // (tests). Returns at once when nothing is owned.
    void TickAll();
    // TEST ONLY: what a kill -9 leaves behind. Stops every thread at once without acknowledging what was read,
    // without releasing leases, without leaving the node set and without calling any waiting callback (they
    // are destroyed uncalled); answers from this node's consumer callbacks are dropped. Stop is a no-op after.
    void Abandon();

    // The fencing token of `shard` while this node owns it: the value of `{prefix}:fence:{shard}` that its
    // taking produced, larger than any earlier owner's. A store that remembers the largest token it saw per
    // shard can refuse a write carrying a smaller one (an owner that lost the shard and does not know yet).
    std::optional<uint64_t> FenceOf(int shard) const;
    std::vector<int> OwnedShards() const;  // ascending
    RedisBusStats Stats() const;
    const std::string& node_id() const;

  private:
    struct State;  // the implementation (redis_streams_bus.cpp)
    explicit RedisStreamsBus(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace vg::bus
