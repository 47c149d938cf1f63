#include "vg/bus/redis_streams_bus.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <variant>

#include "bus_codec.hpp"
#include "vg/redis/connection.hpp"

namespace vg::bus {
namespace {

using redis::RedisAddress;
using redis::RedisConnection;
using redis::ReplyPtr;
using redis::StreamId;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kGroup = "detectors";
constexpr std::string_view kReadCount = "1000";  // entries per XREADGROUP / XAUTOCLAIM / XREAD
constexpr size_t kPoolSize = 4;                  // publishers' (and reply senders') connections per node
constexpr milliseconds kMonitorPeriod{200};
constexpr milliseconds kReplyReadBlock{200};
constexpr milliseconds kReplyTtl{std::chrono::minutes(5)};
constexpr std::string_view kReplyMaxLen = "100000";
constexpr milliseconds kDrainLimit{5000};
constexpr milliseconds kReplyCatchUpLimit{3000};
constexpr milliseconds kMaxBackoff{2000};

// Heartbeat: KEYS[1] nodes ZSET; ARGV node, live window ms, forget-after ms. Scores are Redis's clock, so the
// nodes' own clocks never have to agree. Returns how many nodes were seen within the live window.
constexpr std::string_view kHeartbeatScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[2]), '+inf')
)lua";

// Take: KEYS lease, fence; ARGV node, lease ms. The lease when free (or already ours): the new fencing token;
// else 0.
constexpr std::string_view kTakeScript = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  return 0
end
return redis.call('INCR', KEYS[2])
)lua";

// Renew: KEYS lease; ARGV node, lease ms. 1 when still ours, else 0.
constexpr std::string_view kRenewScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
)lua";

// Release: KEYS lease; ARGV node. Deletes the lease only when it is ours.
constexpr std::string_view kReleaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

std::string RandomNodeId() {
    std::random_device device;
    const uint64_t value = (static_cast<uint64_t>(device()) << 32) ^ static_cast<uint64_t>(device());
    return fmt::format("{:016x}", value);
}

bool ValidName(std::string_view s, size_t max) {
    if (s.empty() || s.size() > max) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
               c == '-';
    });
}

bool ValidPrefix(std::string_view s) {
    if (s.empty() || s.size() > 200) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) > ' ' && c != 0x7f; });
}

Status BadOption(std::string_view name, std::string_view why) {
    return Status::Error(ErrorCode::kInternal, "RedisStreamsBusOptions." + std::string(name) + " " + std::string(why));
}

int64_t SteadyNanos(SteadyClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// A fixed number of connections shared by publishers and reply senders, connected when first needed and
// replaced when found broken.
class ConnectionPool {
  public:
    ConnectionPool(RedisAddress address, std::string client_name, milliseconds timeout)
        : address_(std::move(address)), client_name_(std::move(client_name)), timeout_(timeout) {}

    // A connection for the caller alone until it gives it back (Give). kUnavailable when Redis cannot be reached.
    Result<std::unique_ptr<RedisConnection>> Take() {
        std::unique_ptr<RedisConnection> connection;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return out_ < kPoolSize; });
            ++out_;
            if (!idle_.empty()) {
                connection = std::move(idle_.back());
                idle_.pop_back();
            }
        }
        if (connection != nullptr && connection->ClosedByPeer()) connection.reset();  // killed or restarted
        if (connection == nullptr) {
            auto connected = RedisConnection::Connect(address_, client_name_, timeout_, timeout_);
            if (!connected.ok()) {
                Give(nullptr);
                return connected.status();
            }
            connection = std::move(connected).value();
        }
        return connection;
    }
    // Gives back a connection from Take (nullptr or a broken one frees its place).
    void Give(std::unique_ptr<RedisConnection> connection) {
        {
            std::lock_guard lock(mu_);
            --out_;
            if (connection != nullptr && !connection->broken()) idle_.push_back(std::move(connection));
        }
        cv_.notify_one();
    }

  private:
    const RedisAddress address_;
    const std::string client_name_;
    const milliseconds timeout_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<RedisConnection>> idle_;  // GUARDED_BY(mu_)
    size_t out_ = 0;                                      // GUARDED_BY(mu_)
};

// What the callbacks handed to the consumer need, kept alive by them (they may outlive the bus).
struct Shared {
    Shared(const RedisAddress& address, std::string prefix_in, std::string client_name, milliseconds timeout)
        : pool(address, std::move(client_name), timeout), prefix(std::move(prefix_in)) {}

    // XADDs a reply to `node`'s reply stream; a failure is logged (the publisher then times out).
    void SendReply(const std::string& node, const std::string& payload) {
        if (abandoned.load()) return;
        const std::string key = prefix + ":reply:" + node;
        const std::string ttl = std::to_string(kReplyTtl.count());
        auto taken = pool.Take();
        if (!taken.ok()) {
            spdlog::warn("bus: cannot answer node {}: {}", node, taken.status().ToString());
            return;
        }
        std::unique_ptr<RedisConnection> connection = std::move(taken).value();
        Status s = connection->Append({"XADD", key, "MAXLEN", "~", kReplyMaxLen, "*", "m", payload});
        if (s.ok()) s = connection->Append({"PEXPIRE", key, ttl});
        for (int i = 0; i < 2 && s.ok(); ++i) {
            auto reply = connection->GetReply();
            if (!reply.ok()) {
                s = reply.status();
            } else if (redis::IsError(reply->get())) {
                s = Status::Error(ErrorCode::kInternal, std::string(redis::StringOf(reply->get())));
            }
        }
        if (!s.ok()) spdlog::warn("bus: cannot answer node {}: {}", node, s.ToString());
        pool.Give(std::move(connection));
    }

    ConnectionPool pool;
    const std::string prefix;
    std::atomic<bool> abandoned{false};
};

using DetectionCallback = std::function<void(const Result<domain::Detection>&)>;

struct PendingReply {
    std::variant<DetectionCallback, posture::WindowAnswer> callback;
    SteadyClock::time_point deadline;
    // Publish returned OK. Until then a reply that already came is kept in `early` (and dropped with the entry
    // if Publish fails), so that a failed Publish never calls any of its callbacks.
    bool armed = false;
    std::optional<codec::DecodedReply> early;
};

// Calls `pending`'s callback with `reply`, or with `error` when there is no reply. A reply of the wrong kind is
// treated as garbage (logged, and the callback answered kInternal).
void Answer(PendingReply& pending, std::optional<codec::DecodedReply> reply, const Status& error) {
    if (auto* detection = std::get_if<DetectionCallback>(&pending.callback)) {
        if (!*detection) return;
        if (!reply) {
            (*detection)(error);
        } else if (reply->kind == codec::ReplyKind::kDetection && reply->detection) {
            (*detection)(*reply->detection);
        } else {
            spdlog::error("bus: reply {} is not a detection", reply->seq);
            (*detection)(Status::Error(ErrorCode::kInternal, "the detector's answer was garbled"));
        }
    } else if (auto* windows = std::get_if<posture::WindowAnswer>(&pending.callback)) {
        if (!*windows) return;
        if (!reply) {
            (*windows)(error);
        } else if (reply->kind == codec::ReplyKind::kWindows && reply->windows) {
            (*windows)(std::move(*reply->windows));
        } else {
            spdlog::error("bus: reply {} is not a window result", reply->seq);
            (*windows)(Status::Error(ErrorCode::kInternal, "the posture detector's answer was garbled"));
        }
    }
}

// One entry of a stream, as read.
struct RawEntry {
    std::string id;
    std::optional<StreamId> sid;
    std::string type;     // field t ("" when missing)
    std::string payload;  // field m
    bool has_payload = false;
};

// Appends the entries of a reply `[[id, [field, value, ...]], ...]` (nil elements, deleted entries, skipped).
void ParseEntries(const redisReply* entries, std::vector<RawEntry>& out) {
    for (size_t i = 0; i < redis::ElementCount(entries); ++i) {
        const redisReply* entry = redis::ElementAt(entries, i);
        if (redis::ElementCount(entry) < 2) continue;
        RawEntry raw;
        raw.id = std::string(redis::StringOf(redis::ElementAt(entry, 0)));
        raw.sid = redis::ParseStreamId(raw.id);
        const redisReply* fields = redis::ElementAt(entry, 1);
        if (!redis::IsArray(fields)) continue;  // deleted while pending
        if (const redisReply* t = redis::FieldOf(fields, "t")) raw.type = std::string(redis::StringOf(t));
        if (const redisReply* m = redis::FieldOf(fields, "m")) {
            raw.payload = std::string(redis::StringOf(m));
            raw.has_payload = true;
        }
        out.push_back(std::move(raw));
    }
}

// Whether a reply is Redis's NOGROUP error (the group, or the stream, is gone).
// The entries of an XREAD / XREADGROUP answer ([[stream, [entries…]], …]), in order.
std::vector<RawEntry> EntriesOfRead(const redisReply* reply) {
    std::vector<RawEntry> entries;
    for (size_t i = 0; i < redis::ElementCount(reply); ++i) {
        const redisReply* stream = redis::ElementAt(reply, i);
        if (redis::ElementCount(stream) >= 2) ParseEntries(redis::ElementAt(stream, 1), entries);
    }
    return entries;
}

bool IsNoGroup(const redisReply* reply) {
    return redis::IsError(reply) && redis::StringOf(reply).substr(0, 7) == "NOGROUP";
}

// A shard this node owns, and the thread that consumes it.
struct ShardWorker {
    int shard = 0;
    uint64_t fence = 0;
    // The lease is ours (locally) until this steady-clock time in ns: when the last successful renewal was sent,
    // plus the lease, minus a margin.
    std::atomic<int64_t> valid_until{0};
    std::atomic<bool> give_back{false};  // finish the current batch, acknowledge it, release, exit
    std::atomic<bool> lost{false};       // the lease is someone else's: exit without acknowledging
    std::atomic<bool> exited{false};
    std::mutex mu;
    std::vector<std::shared_ptr<std::promise<void>>> ticks;  // TickAll's requests. GUARDED_BY(mu)
    bool done = false;                                       // no more tick requests taken. GUARDED_BY(mu)
    std::thread thread;
};

}  // namespace

struct RedisStreamsBus::State {
    State(const Clock& clock_in, RedisStreamsBusOptions options_in, RedisAddress address_in, std::string node)
        : clock(clock_in),
          options(std::move(options_in)),
          address(std::move(address_in)),
          node_id(std::move(node)),
          shared(std::make_shared<Shared>(address, options.prefix, ClientName("pool"), options.command_timeout)),
          backlog(std::make_unique<std::atomic<int64_t>[]>(static_cast<size_t>(options.shards))) {
        for (int s = 0; s < options.shards; ++s) {
            stream_keys.push_back(options.prefix + ":bus:" + std::to_string(s));
            lease_keys.push_back(options.prefix + ":lease:" + std::to_string(s));
            fence_keys.push_back(options.prefix + ":fence:" + std::to_string(s));
        }
        nodes_key = options.prefix + ":nodes";
        reply_key = options.prefix + ":reply:" + node_id;
        renew_period = std::max(milliseconds(1), options.lease / 3);
        lease_margin = options.lease / 5;
        block = std::clamp(std::min(options.tick_interval, options.lease / 6), milliseconds(1), milliseconds(200));
        // Rotating the order in which shards are taken by the node id keeps nodes that start together from all
        // trying the same shards first.
        preference_offset = static_cast<int>(std::hash<std::string>{}(node_id) % static_cast<size_t>(options.shards));
    }

    std::string ClientName(std::string_view role) const {
        return "vg-bus:" + options.prefix + ":" + node_id + ":" + std::string(role);
    }
    Result<std::unique_ptr<RedisConnection>> Connect(std::string_view role, milliseconds timeout) const {
        return RedisConnection::Connect(address, ClientName(role), options.command_timeout, timeout);
    }
    // Waits up to `d`, or until `stop` or the bus is abandoned.
    void Sleep(milliseconds d, const std::atomic<bool>& stop) {
        std::unique_lock lock(wake_mu);
        wake_cv.wait_for(lock, d, [&] { return stop.load() || abandoned.load(); });
    }
    void WakeAll() {
        { std::lock_guard lock(wake_mu); }
        wake_cv.notify_all();
    }

    Status CreateGroup(RedisConnection& connection, int shard, std::string_view from);
    Status CreateGroups(RedisConnection& connection);

    // publishing
    Status RefuseIfBehind(int shard);
    Status AddEntries(const std::vector<std::pair<int, std::string>>& entries, std::string_view type);
    void Unregister(const std::vector<uint64_t>& seqs);
    void Arm(const std::vector<uint64_t>& seqs);

    // replies
    void RunReplyReader();
    void Dispatch(codec::DecodedReply reply);
    void ExpireReplies();
    void AnswerEveryWaiting();
    static Status StoppedError() {
        return Status::Error(ErrorCode::kUnavailable, "VitalGuard is restarting; please send it again.")
            .WithRetryAfter(5);
    }
    void WaitForOwnReplies();

    // backlog
    void RunMonitor();

    // ownership
    void OwnershipRound();
    void RunOwnership();
    void StartWorker(int shard, uint64_t fence, SteadyClock::time_point sent_at);
    std::vector<std::shared_ptr<ShardWorker>> ReapExited();

    // consuming
    void RunShard(ShardWorker& worker);
    // Delivers `entries` (in order) and acknowledges them. false: the shard's thread must stop without
    // acknowledging (the lease is lost, or the bus abandoned).
    bool Deliver(ShardWorker& worker, RedisConnection& connection, std::vector<RawEntry>& entries,
                 std::vector<std::string>& unacked);
    Status Acknowledge(int shard, RedisConnection& connection, std::vector<std::string>& unacked);
    // Claims and delivers every pending entry of the shard's group. false as Deliver.
    Result<bool> Reclaim(ShardWorker& worker, RedisConnection& connection, std::vector<std::string>& unacked);
    Result<ShardBacklog> ReadBacklog(int shard, RedisConnection& connection);
    // Runs OnTick when due or asked for (TickAll), and answers TickAll's requests.
    void ServeTicks(ShardWorker& worker, SteadyClock::time_point& next_tick);
    bool LeaseValidFor(const ShardWorker& worker, milliseconds ahead) const {
        return SteadyNanos(SteadyClock::now() + ahead) < worker.valid_until.load();
    }
    void Drain();

    void StopConsuming();  // stops balancing and every shard thread (each finishes its batch unless abandoned)
    void StopThreads();    // StopConsuming, then the reply reader and the monitor

    const Clock& clock;
    const RedisStreamsBusOptions options;
    const RedisAddress address;
    const std::string node_id;
    std::shared_ptr<Shared> shared;
    std::vector<std::string> stream_keys, lease_keys, fence_keys;
    std::string nodes_key, reply_key;
    milliseconds renew_period{}, lease_margin{}, block{};
    int preference_offset = 0;

    std::atomic<bool> accepting{true};
    std::unique_ptr<std::atomic<int64_t>[]> backlog;  // per shard, from the monitor

    std::mutex replies_mu;
    uint64_t next_seq = 1;                     // GUARDED_BY(replies_mu)
    std::map<uint64_t, PendingReply> replies;  // GUARDED_BY(replies_mu)
    // Stop answered everything waiting: a Publish that succeeds after that answers its callbacks at once.
    bool replies_closed = false;  // GUARDED_BY(replies_mu)
    std::mutex progress_mu;
    std::condition_variable progress_cv;
    StreamId reply_read_up_to;  // the reader's position in the reply stream. GUARDED_BY(progress_mu)

    std::atomic<uint64_t> delivered{0}, acked{0}, reclaimed{0}, poison{0}, replies_timed_out{0}, publish_refused{0};

    std::mutex wake_mu;
    std::condition_variable wake_cv;
    std::atomic<bool> stop_background{false};  // reply reader and monitor
    std::atomic<bool> stop_ownership{false};   // balancing; and no shard is taken any more
    std::atomic<bool> abandoned{false};
    bool started = false;  // controlling thread only
    bool stopped = false;  // controlling thread only
    ReadingConsumer* consumer = nullptr;
    std::thread reply_reader, monitor, ownership;
    std::unique_ptr<RedisConnection> ownership_connection;  // Start's first round, then the ownership thread

    mutable std::mutex workers_mu;
    std::map<int, std::shared_ptr<ShardWorker>> workers;  // GUARDED_BY(workers_mu)
};

// ---- set-up ----

Status RedisStreamsBus::State::CreateGroup(RedisConnection& connection, int shard, std::string_view from) {
    auto reply =
        connection.Command({"XGROUP", "CREATE", stream_keys[static_cast<size_t>(shard)], kGroup, from, "MKSTREAM"});
    if (!reply.ok()) return reply.status();
    if (redis::IsError(reply->get()) && redis::StringOf(reply->get()).substr(0, 9) != "BUSYGROUP") {
        return Status::Error(ErrorCode::kUnavailable, "cannot create the consumer group of " +
                                                          stream_keys[static_cast<size_t>(shard)] + ": " +
                                                          std::string(redis::StringOf(reply->get())));
    }
    return Status::Ok();
}

Status RedisStreamsBus::State::CreateGroups(RedisConnection& connection) {
    for (int s = 0; s < options.shards; ++s) {
        VG_RETURN_IF_ERROR(
            connection.Append({"XGROUP", "CREATE", stream_keys[static_cast<size_t>(s)], kGroup, "$", "MKSTREAM"}));
    }
    Status first = Status::Ok();
    for (int s = 0; s < options.shards; ++s) {
        auto reply = connection.GetReply();
        if (!reply.ok()) return reply.status();
        if (redis::IsError(reply->get()) && redis::StringOf(reply->get()).substr(0, 9) != "BUSYGROUP" && first.ok()) {
            first = Status::Error(ErrorCode::kUnavailable, "cannot create the consumer group of " +
                                                               stream_keys[static_cast<size_t>(s)] + ": " +
                                                               std::string(redis::StringOf(reply->get())));
        }
    }
    return first;
}

Result<std::unique_ptr<RedisStreamsBus>> RedisStreamsBus::Open(const Clock& clock, RedisStreamsBusOptions options) {
    if (options.shards < 1 || options.shards > 4096) return BadOption("shards", "must be from 1 to 4096");
    if (!ValidPrefix(options.prefix)) return BadOption("prefix", "must be 1-200 characters without spaces");
    if (!options.node_id.empty() && !ValidName(options.node_id, 64)) {
        return BadOption("node_id", "must be 1-64 characters of [A-Za-z0-9_.-]");
    }
    if (options.lease < milliseconds(30)) return BadOption("lease", "must be at least 30 ms");
    if (options.tick_interval < milliseconds(1)) return BadOption("tick_interval", "must be at least 1 ms");
    if (options.reply_timeout < milliseconds(1)) return BadOption("reply_timeout", "must be at least 1 ms");
    if (options.command_timeout < milliseconds(1)) return BadOption("command_timeout", "must be at least 1 ms");
    if (options.retention < milliseconds(1)) return BadOption("retention", "must be at least 1 ms");
    if (options.lag_limit < 1) return BadOption("lag_limit", "must be at least 1");
    auto address = redis::ParseRedisUrl(options.url, "RedisStreamsBusOptions.url");
    if (!address.ok()) return address.status();
    std::string node = options.node_id.empty() ? RandomNodeId() : options.node_id;
    auto state = std::make_unique<State>(clock, std::move(options), std::move(address).value(), std::move(node));

    auto connection = state->Connect("open", state->options.command_timeout);
    if (!connection.ok()) return connection.status();
    if (!state->options.owner.empty()) {
        const std::string key = state->options.prefix + ":identity";
        const std::string identity =
            "owner=" + state->options.owner + " shards=" + std::to_string(state->options.shards);
        auto set = (*connection)->Command({"SET", key, identity, "NX", "GET"});
        if (!set.ok()) return set.status();
        if (redis::IsError(set->get())) {
            return Status::Error(ErrorCode::kUnavailable,
                                 "cannot record the bus's identity: " + std::string(redis::StringOf(set->get())));
        }
        // SET … NX GET answers the value that was there (nil when this node recorded it).
        const std::string recorded(redis::StringOf(set->get()));
        if (!recorded.empty() && recorded != identity) {
            return Status::Error(ErrorCode::kConflict,
                                 "the Redis bus prefix '" + state->options.prefix + "' belongs to " + recorded +
                                     ", not " + identity +
                                     ": use another prefix, or the same store and shard count as its other servers");
        }
    }
    VG_RETURN_IF_ERROR(state->CreateGroups(**connection));

    State* s = state.get();
    s->reply_reader = std::thread([s] { s->RunReplyReader(); });
    s->monitor = std::thread([s] { s->RunMonitor(); });
    return std::unique_ptr<RedisStreamsBus>(new RedisStreamsBus(std::move(state)));
}

RedisStreamsBus::RedisStreamsBus(std::unique_ptr<State> state) : state_(std::move(state)) {}

RedisStreamsBus::~RedisStreamsBus() {
    Stop();
    state_->StopThreads();
}

int RedisStreamsBus::shard_count() const { return state_->options.shards; }
const std::string& RedisStreamsBus::node_id() const { return state_->node_id; }

// ---- publishing ----

Status RedisStreamsBus::State::RefuseIfBehind(int shard) {
    if (backlog[static_cast<size_t>(shard)].load() < static_cast<int64_t>(options.lag_limit)) return Status::Ok();
    ++publish_refused;
    return Status::Error(ErrorCode::kRateLimited, "detection is behind; please retry shortly").WithRetryAfter(1);
}

void RedisStreamsBus::State::Unregister(const std::vector<uint64_t>& seqs) {
    std::vector<PendingReply> dropped;  // destroyed outside the lock
    std::lock_guard lock(replies_mu);
    for (uint64_t seq : seqs) {
        auto it = replies.find(seq);
        if (it == replies.end()) continue;
        dropped.push_back(std::move(it->second));
        replies.erase(it);
    }
}

void RedisStreamsBus::State::Arm(const std::vector<uint64_t>& seqs) {
    std::vector<std::pair<PendingReply, std::optional<codec::DecodedReply>>> now;  // answered here
    {
        std::lock_guard lock(replies_mu);
        for (uint64_t seq : seqs) {
            auto it = replies.find(seq);
            if (it == replies.end()) continue;
            it->second.armed = true;
            if (it->second.early || replies_closed) {
                std::optional<codec::DecodedReply> reply = std::move(it->second.early);
                now.emplace_back(std::move(it->second), std::move(reply));
                replies.erase(it);
            }
        }
    }
    for (auto& [pending, reply] : now) Answer(pending, std::move(reply), StoppedError());
}

Status RedisStreamsBus::State::AddEntries(const std::vector<std::pair<int, std::string>>& entries,
                                          std::string_view type) {
    const int64_t now_ms =
        std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    // Stream ids are Redis's wall clock in ms: the retention is measured on the wall clock too (not the
    // injected Clock, which tests run on simulated time).
    const std::string min_id = std::to_string(std::max<int64_t>(0, now_ms - options.retention.count()));
    auto taken = shared->pool.Take();
    if (!taken.ok()) return taken.status();
    std::unique_ptr<RedisConnection> connection = std::move(taken).value();
    Status status = Status::Ok();
    for (const auto& [shard, payload] : entries) {
        status = connection->Append(
            {"XADD", stream_keys[static_cast<size_t>(shard)], "MINID", "~", min_id, "*", "t", type, "m", payload});
        if (!status.ok()) break;
    }
    for (size_t i = 0; i < entries.size() && status.ok(); ++i) {
        auto reply = connection->GetReply();
        if (!reply.ok()) {
            status = reply.status();
        } else if (redis::IsError(reply->get())) {
            status = Status::Error(ErrorCode::kUnavailable,
                                   "Redis refused a bus entry: " + std::string(redis::StringOf(reply->get())));
            // The other replies are still to be read; the connection is dropped rather than resynchronised.
            shared->pool.Give(nullptr);
            return status;
        }
    }
    shared->pool.Give(std::move(connection));
    return status;
}

Status RedisStreamsBus::Publish(std::vector<ReadingEnvelope> batch) {
    State& s = *state_;
    if (!s.accepting.load()) return Status::Error(ErrorCode::kUnavailable, "the reading bus is stopped");
    if (batch.empty()) return Status::Ok();
    std::vector<std::vector<ReadingEnvelope>> parts(static_cast<size_t>(s.options.shards));
    for (auto& e : batch) parts[static_cast<size_t>(ShardOf(e.wearer))].push_back(std::move(e));
    for (size_t i = 0; i < parts.size(); ++i) {
        if (!parts[i].empty()) VG_RETURN_IF_ERROR(s.RefuseIfBehind(static_cast<int>(i)));
    }
    std::vector<uint64_t> seqs;
    std::vector<std::pair<int, std::string>> entries;
    const auto deadline = SteadyClock::now() + s.options.reply_timeout;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].empty()) continue;
        std::vector<std::optional<uint64_t>> part_seqs(parts[i].size());
        {
            std::lock_guard lock(s.replies_mu);
            for (size_t k = 0; k < parts[i].size(); ++k) {
                if (!parts[i][k].on_detected) continue;
                const uint64_t seq = s.next_seq++;
                s.replies.emplace(seq, PendingReply{std::move(parts[i][k].on_detected), deadline, false, std::nullopt});
                part_seqs[k] = seq;
                seqs.push_back(seq);
            }
        }
        entries.emplace_back(static_cast<int>(i), codec::EncodeReadings(s.node_id, parts[i], part_seqs));
    }
    Status added = s.AddEntries(entries, "r");
    if (!added.ok()) {
        s.Unregister(seqs);
        return added;
    }
    s.Arm(seqs);
    return Status::Ok();
}

Status RedisStreamsBus::PublishWindows(posture::WindowJob job) {
    State& s = *state_;
    if (!s.accepting.load()) return Status::Error(ErrorCode::kUnavailable, "the bus is stopped");
    const int shard = ShardOf(job.wearer);
    VG_RETURN_IF_ERROR(s.RefuseIfBehind(shard));
    std::vector<uint64_t> seqs;
    std::optional<uint64_t> seq;
    if (job.answer) {
        std::lock_guard lock(s.replies_mu);
        seq = s.next_seq++;
        s.replies.emplace(*seq, PendingReply{std::move(job.answer), SteadyClock::now() + s.options.reply_timeout, false,
                                             std::nullopt});
        seqs.push_back(*seq);
    }
    std::vector<std::pair<int, std::string>> entries;
    entries.emplace_back(shard, codec::EncodeWindowJob(s.node_id, job, seq));
    Status added = s.AddEntries(entries, "w");
    if (!added.ok()) {
        s.Unregister(seqs);
        return added;
    }
    s.Arm(seqs);
    return Status::Ok();
}

// ---- replies ----

void RedisStreamsBus::State::Dispatch(codec::DecodedReply reply) {
    PendingReply pending;
    {
        std::lock_guard lock(replies_mu);
        auto it = replies.find(reply.seq);
        if (it == replies.end()) return;  // timed out (or answered) already: a late reply is dropped
        if (!it->second.armed) {
            it->second.early = std::move(reply);
            return;
        }
        pending = std::move(it->second);
        replies.erase(it);
    }
    Answer(pending, std::move(reply), Status::Ok());
}

void RedisStreamsBus::State::ExpireReplies() {
    std::vector<PendingReply> expired;
    const auto now = SteadyClock::now();
    {
        std::lock_guard lock(replies_mu);
        for (auto it = replies.begin(); it != replies.end();) {
            if (it->second.armed && it->second.deadline <= now) {
                expired.push_back(std::move(it->second));
                it = replies.erase(it);
            } else {
                ++it;
            }
        }
    }
    if (expired.empty()) return;
    replies_timed_out += expired.size();
    const Status error =
        Status::Error(ErrorCode::kUnavailable,
                      fmt::format("no detector answered within {} ms; please retry", options.reply_timeout.count()))
            .WithRetryAfter(1);
    for (PendingReply& p : expired) Answer(p, std::nullopt, error);
}

void RedisStreamsBus::State::AnswerEveryWaiting() {
    std::vector<PendingReply> waiting;
    {
        std::lock_guard lock(replies_mu);
        replies_closed = true;
        // Those whose Publish is still under way are answered by it (Arm), or dropped if it fails (Unregister).
        for (auto it = replies.begin(); it != replies.end();) {
            if (it->second.armed) {
                waiting.push_back(std::move(it->second));
                it = replies.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (PendingReply& pending : waiting) Answer(pending, std::nullopt, StoppedError());
}

void RedisStreamsBus::State::RunReplyReader() {
    std::unique_ptr<RedisConnection> connection;
    std::string last = "0-0";
    const std::string count(kReadCount), block_ms = std::to_string(kReplyReadBlock.count());
    milliseconds backoff{50};
    bool down = false;
    while (!stop_background.load() && !abandoned.load()) {
        ExpireReplies();
        if (connection == nullptr || connection->broken()) {
            connection.reset();
            auto connected = Connect("replies", kReplyReadBlock + options.command_timeout);
            if (!connected.ok()) {
                if (!down) spdlog::warn("bus node {}: reply reader: {}", node_id, connected.status().ToString());
                down = true;
                Sleep(backoff, stop_background);
                backoff = std::min(backoff * 2, kMaxBackoff);
                continue;
            }
            connection = std::move(connected).value();
            if (down) spdlog::info("bus node {}: reply reader reconnected", node_id);
            down = false;
            backoff = milliseconds(50);
        }
        auto reply = connection->Command({"XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", reply_key, last});
        if (!reply.ok()) continue;  // broken: reconnect
        if (redis::IsError(reply->get())) {
            spdlog::warn("bus node {}: reading replies: {}", node_id, redis::StringOf(reply->get()));
            Sleep(backoff, stop_background);
            backoff = std::min(backoff * 2, kMaxBackoff);
            continue;
        }
        backoff = milliseconds(50);
        std::vector<RawEntry> entries = EntriesOfRead(reply->get());
        if (entries.empty()) continue;
        for (RawEntry& e : entries) {
            last = e.id;
            auto decoded = codec::DecodeReply(e.payload);
            if (!decoded.ok()) {
                spdlog::error("bus node {}: dropping reply {}: {}", node_id, e.id, decoded.status().ToString());
                continue;
            }
            Dispatch(std::move(decoded).value());
        }
        if (auto sid = redis::ParseStreamId(last)) {
            std::lock_guard lock(progress_mu);
            reply_read_up_to = *sid;
        }
        progress_cv.notify_all();
    }
}

void RedisStreamsBus::State::WaitForOwnReplies() {
    {
        std::lock_guard lock(replies_mu);
        if (replies.empty()) return;
    }
    auto connection = Connect("stop", options.command_timeout);
    if (!connection.ok()) return;
    auto reply = (*connection)->Command({"XREVRANGE", reply_key, "+", "-", "COUNT", "1"});
    if (!reply.ok() || redis::ElementCount(reply->get()) == 0) return;
    std::vector<RawEntry> newest;
    ParseEntries(reply->get(), newest);
    if (newest.empty() || !newest.front().sid) return;
    const StreamId target = *newest.front().sid;
    std::unique_lock lock(progress_mu);
    progress_cv.wait_for(lock, kReplyCatchUpLimit, [&] { return reply_read_up_to >= target; });
}

// ---- backlog ----

void RedisStreamsBus::State::RunMonitor() {
    std::unique_ptr<RedisConnection> connection;
    milliseconds backoff{50};
    while (!stop_background.load() && !abandoned.load()) {
        if (connection == nullptr || connection->broken()) {
            connection.reset();
            auto connected = Connect("monitor", options.command_timeout);
            if (!connected.ok()) {
                Sleep(backoff, stop_background);
                backoff = std::min(backoff * 2, kMaxBackoff);
                continue;
            }
            connection = std::move(connected).value();
            backoff = milliseconds(50);
        }
        bool ok = true;
        for (int s = 0; s < options.shards && ok; ++s) {
            ok = connection->Append({"XINFO", "GROUPS", stream_keys[static_cast<size_t>(s)]}).ok();
        }
        std::vector<int> unknown_lag;
        for (int s = 0; s < options.shards && ok; ++s) {
            auto reply = connection->GetReply();
            if (!reply.ok()) {
                ok = false;
                break;
            }
            int64_t value = 0;  // no stream or no group: nothing waits
            for (size_t g = 0; g < redis::ElementCount(reply->get()); ++g) {
                const redisReply* group = redis::ElementAt(reply->get(), g);
                if (redis::StringOf(redis::FieldOf(group, "name")) != kGroup) continue;
                const auto pending = redis::IntegerOf(redis::FieldOf(group, "pending"));
                const auto lag = redis::IntegerOf(redis::FieldOf(group, "lag"));
                if (lag) {
                    value = *lag + pending.value_or(0);
                } else {
                    unknown_lag.push_back(s);
                }
            }
            backlog[static_cast<size_t>(s)].store(value);
        }
        // Redis cannot always tell the lag (e.g. after entries were deleted): the stream's length then bounds it.
        for (int s : unknown_lag) {
            if (!ok) break;
            auto reply = connection->Command({"XLEN", stream_keys[static_cast<size_t>(s)]});
            if (!reply.ok()) {
                ok = false;
                break;
            }
            backlog[static_cast<size_t>(s)].store(redis::IntegerOf(reply->get()).value_or(0));
        }
        Sleep(kMonitorPeriod, stop_background);
    }
}

// ---- ownership ----

std::vector<std::shared_ptr<ShardWorker>> RedisStreamsBus::State::ReapExited() {
    std::vector<std::shared_ptr<ShardWorker>> reaped;
    {
        std::lock_guard lock(workers_mu);
        for (auto it = workers.begin(); it != workers.end();) {
            if (it->second->exited.load()) {
                reaped.push_back(std::move(it->second));
                it = workers.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& w : reaped) {
        if (w->thread.joinable()) w->thread.join();
    }
    return reaped;
}

void RedisStreamsBus::State::StartWorker(int shard, uint64_t fence, SteadyClock::time_point sent_at) {
    auto worker = std::make_shared<ShardWorker>();
    worker->shard = shard;
    worker->fence = fence;
    worker->valid_until.store(SteadyNanos(sent_at + options.lease - lease_margin));
    ShardWorker* w = worker.get();
    {
        std::lock_guard lock(workers_mu);
        workers[shard] = worker;
    }
    spdlog::debug("bus node {}: took shard {} (fence {})", node_id, shard, fence);
    w->thread = std::thread([this, w] { RunShard(*w); });
}

void RedisStreamsBus::State::OwnershipRound() {
    ReapExited();
    if (ownership_connection == nullptr || ownership_connection->broken()) {
        ownership_connection.reset();
        auto connected = Connect("ownership", options.command_timeout);
        if (!connected.ok()) return;  // the leases lapse locally; the workers stop on their own
        ownership_connection = std::move(connected).value();
    }
    RedisConnection& c = *ownership_connection;
    const std::string lease_ms = std::to_string(options.lease.count());

    // Heartbeat, and how many consuming nodes are live.
    const std::string live_ms = lease_ms, forget_ms = std::to_string(3 * options.lease.count());
    auto heartbeat = c.Command({"EVAL", kHeartbeatScript, "1", nodes_key, node_id, live_ms, forget_ms});
    if (!heartbeat.ok()) return;
    const int64_t live = std::max<int64_t>(1, redis::IntegerOf(heartbeat->get()).value_or(1));

    // Renew every lease we hold (a worker giving its shard back too, until it has released it).
    std::vector<std::shared_ptr<ShardWorker>> held;
    {
        std::lock_guard lock(workers_mu);
        for (auto& [shard, w] : workers) {
            if (!w->exited.load() && !w->lost.load()) held.push_back(w);
        }
    }
    const auto sent_at = SteadyClock::now();
    bool ok = true;
    for (auto& w : held) {
        ok = ok &&
             c.Append({"EVAL", kRenewScript, "1", lease_keys[static_cast<size_t>(w->shard)], node_id, lease_ms}).ok();
    }
    for (size_t i = 0; i < held.size() && ok; ++i) {
        auto reply = c.GetReply();
        if (!reply.ok()) return;
        if (redis::IntegerOf(reply->get()).value_or(0) == 1) {
            held[i]->valid_until.store(SteadyNanos(sent_at + options.lease - lease_margin));
        } else if (!redis::IsError(reply->get())) {
            spdlog::warn("bus node {}: lost the lease of shard {}", node_id, held[i]->shard);
            held[i]->lost.store(true);
        }
    }
    if (!ok || stop_ownership.load()) return;

    // Balance: aim for ceil(shards / live nodes).
    const int target = static_cast<int>((options.shards + live - 1) / live);
    std::vector<std::shared_ptr<ShardWorker>> active;
    std::vector<bool> in_use(static_cast<size_t>(options.shards), false);
    {
        std::lock_guard lock(workers_mu);
        for (auto& [shard, w] : workers) {
            in_use[static_cast<size_t>(shard)] = true;
            if (!w->exited.load() && !w->lost.load() && !w->give_back.load()) active.push_back(w);
        }
    }
    // The order this node prefers its shards in: it gives back from the end.
    auto preference = [&](int shard) { return (shard - preference_offset + options.shards) % options.shards; };
    if (static_cast<int>(active.size()) > target) {
        std::sort(active.begin(), active.end(),
                  [&](const auto& a, const auto& b) { return preference(a->shard) > preference(b->shard); });
        for (size_t i = 0; i < active.size() - static_cast<size_t>(target); ++i) {
            spdlog::debug("bus node {}: giving back shard {} ({} live nodes)", node_id, active[i]->shard, live);
            active[i]->give_back.store(true);
        }
        WakeAll();
        return;
    }
    int need = target - static_cast<int>(active.size());
    std::vector<int> candidates;  // not ours, in preference order
    for (int k = 0; k < options.shards; ++k) {
        const int shard = (preference_offset + k) % options.shards;
        if (!in_use[static_cast<size_t>(shard)]) candidates.push_back(shard);
    }
    size_t next = 0;
    while (need > 0 && next < candidates.size()) {
        // As many tries as shards are needed, in one round trip; the taken ones are free or were ours.
        std::vector<int> tries;
        while (static_cast<int>(tries.size()) < need && next < candidates.size()) tries.push_back(candidates[next++]);
        const auto take_sent_at = SteadyClock::now();
        for (int shard : tries) {
            if (!c.Append({"EVAL", kTakeScript, "2", lease_keys[static_cast<size_t>(shard)],
                           fence_keys[static_cast<size_t>(shard)], node_id, lease_ms})
                     .ok()) {
                return;
            }
        }
        for (int shard : tries) {
            auto reply = c.GetReply();
            if (!reply.ok()) return;
            const int64_t fence = redis::IntegerOf(reply->get()).value_or(0);
            if (fence > 0) {
                StartWorker(shard, static_cast<uint64_t>(fence), take_sent_at);
                --need;
            }
        }
    }
}

void RedisStreamsBus::State::RunOwnership() {
    while (!stop_ownership.load() && !abandoned.load()) {
        Sleep(renew_period, stop_ownership);
        if (stop_ownership.load() || abandoned.load()) break;
        OwnershipRound();
    }
}

// ---- consuming ----

void RedisStreamsBus::State::ServeTicks(ShardWorker& worker, SteadyClock::time_point& next_tick) {
    std::vector<std::shared_ptr<std::promise<void>>> ticks;
    {
        std::lock_guard lock(worker.mu);
        ticks.swap(worker.ticks);
    }
    const auto now = SteadyClock::now();
    if (now >= next_tick || !ticks.empty()) {
        consumer->OnTick(worker.shard, clock.Now());
        next_tick = now + options.tick_interval;
    }
    for (auto& t : ticks) t->set_value();
}

Status RedisStreamsBus::State::Acknowledge(int shard, RedisConnection& connection, std::vector<std::string>& unacked) {
    if (unacked.empty()) return Status::Ok();
    // Their verdicts durable first: an entry acknowledged is never delivered again, so a kill -9 between the
    // acknowledgement and the verdict's commit would lose the verdict (a missed alert).
    consumer->Settle(shard);
    std::vector<std::string_view> args{"XACK", stream_keys[static_cast<size_t>(shard)], kGroup};
    for (const std::string& id : unacked) args.emplace_back(id);
    auto reply = connection.Command(args);
    if (!reply.ok()) return reply.status();
    if (redis::IsError(reply->get())) {
        // NOGROUP: the group is gone, and with it what was pending; nothing is left to acknowledge.
        spdlog::warn("bus node {}: XACK on shard {}: {}", node_id, shard, redis::StringOf(reply->get()));
    } else {
        acked += static_cast<uint64_t>(redis::IntegerOf(reply->get()).value_or(0));
    }
    unacked.clear();
    return Status::Ok();
}

bool RedisStreamsBus::State::Deliver(ShardWorker& worker, RedisConnection& connection, std::vector<RawEntry>& entries,
                                     std::vector<std::string>& unacked) {
    if (entries.empty()) return true;
    // The lease must still be ours: otherwise another node may already have claimed these entries.
    if (abandoned.load() || worker.lost.load() || !LeaseValidFor(worker, milliseconds(0))) return false;
    const int shard = worker.shard;
    std::vector<ReadingEnvelope> readings;
    std::vector<posture::WindowJob> jobs;
    auto flush = [&] {
        if (!readings.empty()) {
            delivered += readings.size();
            consumer->OnReadings(shard, readings);
            readings.clear();
        }
        if (!jobs.empty()) {
            delivered += jobs.size();
            consumer->OnWindows(shard, jobs);
            jobs.clear();
        }
    };
    for (RawEntry& e : entries) {
        unacked.push_back(e.id);
        Status bad = Status::Ok();
        if (e.type == "r" && e.has_payload) {
            auto decoded = codec::DecodeReadings(e.payload);
            if (decoded.ok()) {
                if (!jobs.empty()) flush();
                const std::string reply_node = decoded->reply_node;
                for (codec::DecodedReading& d : decoded->readings) {
                    if (d.reply_seq) {
                        d.envelope.on_detected = [keep = shared, reply_node,
                                                  seq = *d.reply_seq](const Result<domain::Detection>& r) {
                            keep->SendReply(reply_node, codec::EncodeDetectionReply(seq, r));
                        };
                    }
                    readings.push_back(std::move(d.envelope));
                }
                continue;
            }
            bad = decoded.status();
        } else if (e.type == "w" && e.has_payload) {
            auto decoded = codec::DecodeWindowJob(e.payload);
            if (decoded.ok()) {
                if (!readings.empty()) flush();
                if (decoded->reply_seq) {
                    decoded->job.answer = [keep = shared, reply_node = decoded->reply_node,
                                           seq = *decoded->reply_seq](Result<std::vector<posture::WindowResult>> r) {
                        keep->SendReply(reply_node, codec::EncodeWindowsReply(seq, r));
                    };
                }
                jobs.push_back(std::move(decoded->job));
                continue;
            }
            bad = decoded.status();
        } else {
            bad = Status::Error(ErrorCode::kInternal, "an entry of unknown type '" + e.type + "'" +
                                                          (e.has_payload ? "" : " without a payload"));
        }
        ++poison;
        spdlog::error("bus node {}: shard {}: dropping undecodable entry {}: {}", node_id, shard, e.id, bad.ToString());
    }
    flush();
    if (abandoned.load()) return false;  // a kill -9 acknowledges nothing
    if (!Acknowledge(shard, connection, unacked).ok()) {
        // Kept in `unacked`: acknowledged first thing after reconnecting.
    }
    return true;
}

Result<bool> RedisStreamsBus::State::Reclaim(ShardWorker& worker, RedisConnection& connection,
                                             std::vector<std::string>& unacked) {
    const std::string& key = stream_keys[static_cast<size_t>(worker.shard)];
    std::string cursor = "0-0";
    for (;;) {
        auto reply = connection.Command({"XAUTOCLAIM", key, kGroup, node_id, "0", cursor, "COUNT", kReadCount});
        if (!reply.ok()) return reply.status();
        if (IsNoGroup(reply->get())) {
            spdlog::warn("bus node {}: shard {} lost its consumer group; recreating it", node_id, worker.shard);
            VG_RETURN_IF_ERROR(CreateGroup(connection, worker.shard, "0"));
            return true;  // a new group has nothing pending
        }
        if (redis::IsError(reply->get()) || redis::ElementCount(reply->get()) < 2) {
            return Status::Error(ErrorCode::kUnavailable,
                                 "XAUTOCLAIM failed: " + std::string(redis::StringOf(reply->get())));
        }
        std::vector<RawEntry> entries;
        ParseEntries(redis::ElementAt(reply->get(), 1), entries);
        std::sort(entries.begin(), entries.end(), [](const RawEntry& a, const RawEntry& b) { return a.sid < b.sid; });
        reclaimed += entries.size();
        if (!Deliver(worker, connection, entries, unacked)) return false;
        cursor = std::string(redis::StringOf(redis::ElementAt(reply->get(), 0)));
        if (cursor == "0-0" || cursor.empty()) return true;
    }
}

Result<ShardBacklog> RedisStreamsBus::State::ReadBacklog(int shard, RedisConnection& connection) {
    const std::string& key = stream_keys[static_cast<size_t>(shard)];
    auto unavailable = [&](std::string_view what, const redisReply* reply) {
        return Status::Error(ErrorCode::kUnavailable,
                             std::string(what) + " on shard " + std::to_string(shard) + " failed" +
                                 (reply != nullptr ? ": " + std::string(redis::StringOf(reply)) : std::string()));
    };
    // Entries after the group's last-delivered id went to nobody; a group that is gone (recreated from the
    // start by the reclaim) has delivered nothing.
    StreamId last_delivered{};
    {
        auto groups = connection.Command({"XINFO", "GROUPS", key});
        if (!groups.ok()) return groups.status();
        if (redis::IsError(groups->get())) return unavailable("XINFO GROUPS", groups->get());
        for (size_t g = 0; g < redis::ElementCount(groups->get()); ++g) {
            const redisReply* group = redis::ElementAt(groups->get(), g);
            if (redis::StringOf(redis::FieldOf(group, "name")) != kGroup) continue;
            if (auto id = redis::ParseStreamId(redis::StringOf(redis::FieldOf(group, "last-delivered-id")))) {
                last_delivered = *id;
            }
        }
    }
    // Entries delivered to some node and never acknowledged (its verdicts unknown): the reclaim delivers them.
    std::set<StreamId> pending;
    for (std::string from = "-";;) {
        auto reply = connection.Command({"XPENDING", key, kGroup, from, "+", kReadCount});
        if (!reply.ok()) return reply.status();
        if (IsNoGroup(reply->get())) break;
        if (redis::IsError(reply->get())) return unavailable("XPENDING", reply->get());
        const size_t n = redis::ElementCount(reply->get());
        std::string last;
        for (size_t i = 0; i < n; ++i) {
            const redisReply* entry = redis::ElementAt(reply->get(), i);
            last = std::string(redis::StringOf(redis::ElementAt(entry, 0)));
            if (auto id = redis::ParseStreamId(last)) pending.insert(*id);
        }
        if (n < static_cast<size_t>(std::stoi(std::string(kReadCount))) || last.empty()) break;
        from = "(" + last;
    }
    // The entries themselves, from the first pending one (or the first undelivered one) to the end.
    ShardBacklog unjudged;
    std::string from = pending.empty() ? "(" + last_delivered.ToString() : pending.begin()->ToString();
    for (;;) {
        auto reply = connection.Command({"XRANGE", key, from, "+", "COUNT", kReadCount});
        if (!reply.ok()) return reply.status();
        if (redis::IsError(reply->get())) return unavailable("XRANGE", reply->get());
        std::vector<RawEntry> entries;
        ParseEntries(reply->get(), entries);
        for (const RawEntry& e : entries) {
            if (!e.sid || (*e.sid <= last_delivered && !pending.contains(*e.sid))) continue;  // acknowledged
            if (e.type != "r" || !e.has_payload) continue;  // window jobs: the stored suspicions cover those
            auto decoded = codec::DecodeReadings(e.payload);
            if (!decoded.ok()) continue;  // poison: never judged, never delivered
            for (const codec::DecodedReading& d : decoded->readings) {
                auto [it, inserted] =
                    unjudged.earliest_unjudged.try_emplace(d.envelope.wearer, d.envelope.reading.measured_at);
                if (!inserted) it->second = std::min(it->second, d.envelope.reading.measured_at);
            }
        }
        if (redis::ElementCount(reply->get()) < static_cast<size_t>(std::stoi(std::string(kReadCount))) ||
            entries.empty()) {
            break;
        }
        from = "(" + entries.back().id;
    }
    return unjudged;
}

void RedisStreamsBus::State::RunShard(ShardWorker& worker) {
    const int shard = worker.shard;
    const std::string& key = stream_keys[static_cast<size_t>(shard)];
    const std::string count(kReadCount), block_ms = std::to_string(block.count());
    std::unique_ptr<RedisConnection> connection;
    std::vector<std::string> unacked;  // delivered (or poison) but not acknowledged yet
    bool need_reclaim = true;
    bool release = false;
    bool down = false;
    milliseconds backoff{50};
    auto next_tick = SteadyClock::now() + options.tick_interval;
    bool assigned = false;
    for (;;) {
        if (abandoned.load() || worker.lost.load()) break;
        // Giving the shard back (or stopping) goes on to acknowledge and release even when the lease lapsed
        // meanwhile: the release deletes the lease only if it is still ours.
        if (!worker.give_back.load() && !LeaseValidFor(worker, milliseconds(0))) {
            spdlog::warn("bus node {}: the lease of shard {} was not renewed in time; leaving the shard", node_id,
                         shard);
            break;
        }
        if (connection == nullptr || connection->broken()) {
            connection.reset();
            auto connected = Connect("shard-" + std::to_string(shard), block + options.command_timeout);
            if (!connected.ok()) {
                if (!down) spdlog::warn("bus node {}: shard {}: {}", node_id, shard, connected.status().ToString());
                down = true;
                Sleep(backoff, worker.give_back);
                backoff = std::min(backoff * 2, kMaxBackoff);
                if (worker.give_back.load()) break;  // cannot acknowledge; the next owner redelivers
                continue;
            }
            connection = std::move(connected).value();
            if (down) spdlog::info("bus node {}: shard {} reconnected", node_id, shard);
            down = false;
            backoff = milliseconds(50);
            need_reclaim = true;  // what was read on the lost connection may be pending, undelivered
        }
        if (!Acknowledge(shard, *connection, unacked).ok()) continue;
        if (worker.give_back.load()) {
            release = true;
            break;
        }
        if (!assigned) {
            // Before anything of the shard is delivered: its wearers' state is rebuilt (another node had them),
            // leaving out what is still on the bus, which is delivered next.
            if (abandoned.load()) break;
            RedisConnection& c = *connection;
            consumer->OnShardAssigned(shard, clock.Now(), [this, shard, &c] { return ReadBacklog(shard, c); });
            assigned = true;
            continue;  // the backlog's read may have broken the connection
        }
        if (need_reclaim) {
            auto done = Reclaim(worker, *connection, unacked);
            if (!done.ok()) {
                if (!connection->broken()) {
                    spdlog::warn("bus node {}: shard {}: {}", node_id, shard, done.status().ToString());
                    Sleep(backoff, worker.give_back);
                    backoff = std::min(backoff * 2, kMaxBackoff);
                }
                continue;
            }
            if (!*done) break;
            need_reclaim = false;
            continue;
        }
        // Read only while the lease will outlast the read: what is read after losing it would stay pending here.
        if (!LeaseValidFor(worker, block + lease_margin / 2)) {
            ServeTicks(worker, next_tick);
            Sleep(milliseconds(5), worker.give_back);
            continue;
        }
        auto reply = connection->Command(
            {"XREADGROUP", "GROUP", kGroup, node_id, "COUNT", count, "BLOCK", block_ms, "STREAMS", key, ">"});
        if (!reply.ok()) continue;  // broken: reconnect (and reclaim)
        if (IsNoGroup(reply->get())) {
            spdlog::warn("bus node {}: shard {} lost its consumer group; recreating it", node_id, shard);
            if (!CreateGroup(*connection, shard, "0").ok()) {
                Sleep(backoff, worker.give_back);
                backoff = std::min(backoff * 2, kMaxBackoff);
            }
            need_reclaim = true;
            continue;
        }
        if (redis::IsError(reply->get())) {
            spdlog::warn("bus node {}: shard {}: {}", node_id, shard, redis::StringOf(reply->get()));
            Sleep(backoff, worker.give_back);
            backoff = std::min(backoff * 2, kMaxBackoff);
            continue;
        }
        backoff = milliseconds(50);
        std::vector<RawEntry> entries = EntriesOfRead(reply->get());
        if (!Deliver(worker, *connection, entries, unacked)) break;
        ServeTicks(worker, next_tick);
    }
    if (release && connection != nullptr && !connection->broken() && !abandoned.load()) {
        auto reply =
            connection->Command({"EVAL", kReleaseScript, "1", lease_keys[static_cast<size_t>(shard)], node_id});
        (void)reply;  // when it fails the lease simply expires
        spdlog::debug("bus node {}: released shard {}", node_id, shard);
    }
    // After the last delivery: what this node held of the shard's wearers goes stale once another node has them.
    if (!abandoned.load()) consumer->OnShardRevoked(shard);
    std::vector<std::shared_ptr<std::promise<void>>> ticks;
    {
        std::lock_guard lock(worker.mu);
        worker.done = true;
        ticks.swap(worker.ticks);
    }
    for (auto& t : ticks) t->set_value();
    worker.exited.store(true);
    WakeAll();
}

void RedisStreamsBus::Start(ReadingConsumer& consumer) {
    State& s = *state_;
    if (s.started || s.stopped || !s.options.consume) return;
    s.started = true;
    s.consumer = &consumer;
    s.OwnershipRound();  // takes this node's share of the free shards now
    State* state = state_.get();
    s.ownership = std::thread([state] { state->RunOwnership(); });
}

// ---- stopping ----

void RedisStreamsBus::State::Drain() {
    const auto deadline = SteadyClock::now() + kDrainLimit;
    auto connected = Connect("drain", options.command_timeout);
    if (!connected.ok()) return;
    RedisConnection& c = **connected;
    for (;;) {
        std::vector<int> owned;
        {
            std::lock_guard lock(workers_mu);
            for (auto& [shard, w] : workers) {
                if (!w->exited.load() && !w->lost.load()) owned.push_back(shard);
            }
        }
        bool drained = true;
        for (int shard : owned) {
            const std::string& key = stream_keys[static_cast<size_t>(shard)];
            auto groups = c.Command({"XINFO", "GROUPS", key});
            if (!groups.ok()) return;
            for (size_t g = 0; g < redis::ElementCount(groups->get()); ++g) {
                const redisReply* group = redis::ElementAt(groups->get(), g);
                if (redis::StringOf(redis::FieldOf(group, "name")) != kGroup) continue;
                if (redis::IntegerOf(redis::FieldOf(group, "pending")).value_or(0) != 0) drained = false;
                if (const auto lag = redis::IntegerOf(redis::FieldOf(group, "lag"))) {
                    if (*lag != 0) drained = false;
                } else {
                    // Unknown lag: compare what the group was given with what the stream holds.
                    const auto delivered_id =
                        redis::ParseStreamId(redis::StringOf(redis::FieldOf(group, "last-delivered-id")));
                    auto info = c.Command({"XINFO", "STREAM", key});
                    if (!info.ok()) return;
                    const auto last_id =
                        redis::ParseStreamId(redis::StringOf(redis::FieldOf(info->get(), "last-generated-id")));
                    if (!delivered_id || !last_id || *delivered_id < *last_id) drained = false;
                }
            }
            if (!drained) break;
        }
        if (drained) return;
        if (SteadyClock::now() > deadline) {
            spdlog::warn(
                "bus node {}: stopping with entries still unread or unacknowledged (another node will "
                "deliver them)",
                node_id);
            return;
        }
        std::this_thread::sleep_for(milliseconds(10));
    }
}

void RedisStreamsBus::State::StopThreads() {
    StopConsuming();
    stop_background.store(true);
    WakeAll();
    if (reply_reader.joinable()) reply_reader.join();
    if (monitor.joinable()) monitor.join();
}

void RedisStreamsBus::State::StopConsuming() {
    stop_ownership.store(true);
    WakeAll();
    if (ownership.joinable()) ownership.join();
    std::vector<std::shared_ptr<ShardWorker>> all;
    {
        std::lock_guard lock(workers_mu);
        for (auto& [shard, w] : workers) {
            w->give_back.store(true);
            all.push_back(w);
        }
    }
    WakeAll();
    for (auto& w : all) {
        if (w->thread.joinable()) w->thread.join();
    }
    {
        std::lock_guard lock(workers_mu);
        workers.clear();
    }
}

void RedisStreamsBus::Stop() {
    State& s = *state_;
    if (s.stopped) return;
    s.stopped = true;
    s.accepting.store(false);
    if (s.started) {
        s.Drain();
        // The workers finish their batch, acknowledge it and release their leases; then this node leaves the
        // node set so that the others count it out at once.
        s.StopConsuming();
        if (s.ownership_connection != nullptr && !s.ownership_connection->broken()) {
            auto left = s.ownership_connection->Command({"ZREM", s.nodes_key, s.node_id});
            (void)left;
        }
        s.ownership_connection.reset();
    }
    s.WaitForOwnReplies();
    s.StopThreads();
    s.AnswerEveryWaiting();
}

void RedisStreamsBus::Abandon() {
    State& s = *state_;
    s.accepting.store(false);
    s.stopped = true;
    s.abandoned.store(true);
    s.shared->abandoned.store(true);
    s.WakeAll();
    s.StopThreads();
    s.ownership_connection.reset();
    std::map<uint64_t, PendingReply> dropped;  // destroyed uncalled, as a killed process would
    std::lock_guard lock(s.replies_mu);
    dropped.swap(s.replies);
}

// ---- observing ----

void RedisStreamsBus::TickAll() {
    State& s = *state_;
    std::vector<std::future<void>> waits;
    std::vector<std::shared_ptr<ShardWorker>> owned;
    {
        std::lock_guard lock(s.workers_mu);
        for (auto& [shard, w] : s.workers) owned.push_back(w);
    }
    for (auto& w : owned) {
        auto request = std::make_shared<std::promise<void>>();
        {
            std::lock_guard lock(w->mu);
            if (w->done) continue;
            w->ticks.push_back(request);
        }
        waits.push_back(request->get_future());
    }
    for (auto& f : waits) f.wait();
}

std::vector<int> RedisStreamsBus::OwnedShards() const {
    std::vector<int> owned;
    std::lock_guard lock(state_->workers_mu);
    for (const auto& [shard, w] : state_->workers) {
        if (!w->exited.load() && !w->lost.load()) owned.push_back(shard);
    }
    return owned;
}

std::optional<uint64_t> RedisStreamsBus::FenceOf(int shard) const {
    std::lock_guard lock(state_->workers_mu);
    auto it = state_->workers.find(shard);
    if (it == state_->workers.end() || it->second->exited.load() || it->second->lost.load()) return std::nullopt;
    return it->second->fence;
}

RedisBusStats RedisStreamsBus::Stats() const {
    const State& s = *state_;
    RedisBusStats stats;
    stats.owned_shards = OwnedShards().size();
    stats.delivered = s.delivered.load();
    stats.acked = s.acked.load();
    stats.reclaimed = s.reclaimed.load();
    stats.poison = s.poison.load();
    stats.replies_timed_out = s.replies_timed_out.load();
    stats.publish_refused = s.publish_refused.load();
    for (int shard = 0; shard < s.options.shards; ++shard) {
        const auto value = static_cast<uint64_t>(std::max<int64_t>(s.backlog[static_cast<size_t>(shard)].load(), 0));
        stats.backlog += value;
        stats.max_shard_backlog = std::max(stats.max_shard_backlog, value);
    }
    return stats;
}

}  // namespace vg::bus
