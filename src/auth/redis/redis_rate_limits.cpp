#include "vg/auth/redis_rate_limits.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "vg/auth/crypto.hpp"
#include "vg/redis/connection.hpp"

namespace vg::auth {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr size_t kMaxKeyPart = 200;  // longer keys are hashed

// ---- the scripts: each operation is one of these, run atomically by Redis ----
//
// Time is ARGV[1], the caller's Clock in ms since the epoch. Every rule mirrors the in-process limiter line
// for line (rate_limiter.cpp, token_bucket.cpp, login_throttle.cpp), so both answer the same.

constexpr std::string_view kPrelude = R"lua(
local function ceil_ms(ms)
  local s = math.floor((ms + 999) / 1000)
  if s < 1 then return 1 end
  return s
end
local function ceil_s(seconds)
  local s = math.ceil(seconds)
  if s < 1 then return 1 end
  return s
end
local function prune(key, now, window)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
end
local function window_wait(key, now, window, max)
  local live = redis.call('ZCOUNT', key, '(' .. (now - window), '+inf')
  if live == 0 or live < max then return 0 end
  local at = redis.call('ZRANGEBYSCORE', key, '(' .. (now - window), '+inf', 'WITHSCORES', 'LIMIT',
                       math.min(live - 1, live - math.max(0, max)), 1)
  return ceil_ms(tonumber(at[2]) + window - now)
end
local function add(key, now, window, member, keep)
  prune(key, now, window)
  redis.call('ZADD', key, now, member)
  local n = redis.call('ZCARD', key)
  if n > keep then redis.call('ZREMRANGEBYRANK', key, 0, n - keep - 1) end
  redis.call('PEXPIRE', key, window)
end
local function release(key, now, window)
  prune(key, now, window)
  local popped = redis.call('ZPOPMAX', key)
  if #popped == 0 then return 0 end
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #newest > 0 then redis.call('PEXPIRE', key, tonumber(newest[2]) + window - now) end
  return 1
end
local function since(key, now, life)
  local v = redis.call('GET', key)
  if not v then return nil end
  v = tonumber(v)
  if v + life <= now then return nil end
  return v
end
local function bucket(key, now)
  local v = redis.call('HMGET', key, 'tokens', 'at', 'exp')
  if not v[1] then return nil, nil end
  local exp = tonumber(v[3])
  if exp and exp <= now then return nil, nil end
  return tonumber(v[1]), tonumber(v[2])
end
local function refill(tokens, at, now, capacity, rate)
  if now <= at then return tokens, at end
  return math.min(capacity, tokens + ((now - at) / 1000) * rate), now
end
)lua";

// KEYS[1] a window's ZSET; ARGV: now, window ms, max events.
constexpr std::string_view kWindowRetry = R"lua(
return window_wait(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
)lua";

// ARGV: now, window, max events, member.
constexpr std::string_view kWindowAcquire = R"lua(
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if max <= 0 then return ceil_ms(window) end
prune(KEYS[1], now, window)
local wait = window_wait(KEYS[1], now, window, max)
if wait > 0 then return wait end
add(KEYS[1], now, window, ARGV[4], max)
return 0
)lua";

// ARGV: now, window, events kept (max(1, max events)), member.
constexpr std::string_view kWindowRecord = R"lua(
add(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[4], tonumber(ARGV[3]))
return 1
)lua";

// ARGV: now, window.
constexpr std::string_view kWindowRelease = R"lua(
return release(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
)lua";

constexpr std::string_view kDelete = R"lua(
return redis.call('DEL', KEYS[1])
)lua";

// KEYS[1] a bucket's HASH {tokens, at, exp}; ARGV: now, capacity, refill per second.
constexpr std::string_view kBucketRetry = R"lua(
local now, capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens, at = bucket(KEYS[1], now)
if tokens == nil then return 0 end
tokens = refill(tokens, at, now, capacity, rate)
if tokens > 0 then return 0 end
return ceil_s((1.0 - tokens) / rate)
)lua";

// ARGV: now, capacity, refill per second, amount (> 0).
constexpr std::string_view kBucketCharge = R"lua(
local now, capacity, rate, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, at = bucket(KEYS[1], now)
if tokens == nil then
  tokens, at = capacity, now
else
  tokens, at = refill(tokens, at, now, capacity, rate)
end
tokens = math.max(-capacity, tokens - amount)
local full_in = math.floor(math.max(0, capacity - tokens) / rate * 1000) + 1000
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', at),
           'exp', string.format('%.17g', now + full_in))
redis.call('PEXPIRE', KEYS[1], full_in)
return 1
)lua";

// ARGV: now, capacity, refill per second. A bulk string: what the key holds.
constexpr std::string_view kBucketAvailable = R"lua(
local now, capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens, at = bucket(KEYS[1], now)
if tokens == nil then return string.format('%.17g', capacity) end
tokens = refill(tokens, at, now, capacity, rate)
return string.format('%.17g', tokens)
)lua";

// The login throttle (login_throttle.hpp, rules 1-3). KEYS: the pair's HASH {f, t}, the address's ZSET,
// the id's ZSET, the id's ceiling turn (ms), the pair's known-address mark (ms).
// ARGV: now, free failures per pair, first delay, max delay, max per address, max per id, ceiling
// interval, window, known-address memory, member. Answers {wait, why}: why 0 admitted, 1 pair, 2 address,
// 3 id, 4 full.
constexpr std::string_view kLoginBegin = R"lua(
local now, free, first, maxd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local max_address, max_id, interval = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local window, memory = tonumber(ARGV[8]), tonumber(ARGV[9])
local failures, last = nil, nil
local pair = redis.call('HMGET', KEYS[1], 'f', 't')
if pair[1] then
  failures, last = tonumber(pair[1]), tonumber(pair[2])
  if last + window <= now then failures, last = nil, nil end
end
-- Rule 1: the pair's own growing delay.
if failures and failures >= free then
  local doublings = math.min(failures - free, 30)
  local delay = first
  local i = 0
  while i < doublings and delay < maxd do
    delay = delay * 2
    i = i + 1
  end
  delay = math.min(delay, maxd)
  if last + delay > now then return {ceil_ms(last + delay - now), 1} end
end
-- Rule 2: the address across ids.
local wait = window_wait(KEYS[2], now, window, max_address)
if wait > 0 then return {wait, 2} end
-- Rule 3: the id's ceiling across addresses.
local takes_turn = false
wait = window_wait(KEYS[3], now, window, max_id)
if wait > 0 and not since(KEYS[5], now, memory) then
  if failures and failures > 0 then return {wait, 3} end
  local turn = since(KEYS[4], now, interval)
  if turn then return {ceil_ms(turn + interval - now), 3} end
  takes_turn = true
end
-- Admitted: counted now, before the password is checked.
if max_address <= 0 then return {ceil_ms(window), 4} end
add(KEYS[2], now, window, ARGV[10], max_address)
add(KEYS[3], now, window, ARGV[10], math.max(1, max_id))
redis.call('HSET', KEYS[1], 'f', (failures or 0) + 1, 't', now)
redis.call('PEXPIRE', KEYS[1], window)
if takes_turn and interval > 0 then redis.call('SET', KEYS[4], now, 'PX', interval) end
return {0, 0}
)lua";

// The same KEYS; ARGV: now, window, known-address memory.
constexpr std::string_view kLoginSucceeded = R"lua(
local now, window, memory = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
release(KEYS[2], now, window)
release(KEYS[3], now, window)
if memory > 0 then redis.call('SET', KEYS[5], now, 'PX', memory) end
return 1
)lua";

// A script: its text (the prelude and the body) and the SHA-1 EVALSHA names it by, as Redis's SCRIPT LOAD
// answered it (learnt on first use; the same on every server, so it is never forgotten).
struct Script {
    explicit Script(std::string_view body) : text(std::string(kPrelude) + std::string(body)) {}
    std::string Sha() const {
        std::lock_guard lock(mu);
        return sha;
    }
    void SetSha(std::string_view loaded) const {
        std::lock_guard lock(mu);
        sha = loaded;
    }
    const std::string text;

  private:
    mutable std::mutex mu;
    mutable std::string sha;  // GUARDED_BY(mu); empty until loaded
};

const Script& WindowRetry() {
    static const Script s(kWindowRetry);
    return s;
}
const Script& WindowAcquire() {
    static const Script s(kWindowAcquire);
    return s;
}
const Script& WindowRecord() {
    static const Script s(kWindowRecord);
    return s;
}
const Script& WindowRelease() {
    static const Script s(kWindowRelease);
    return s;
}
const Script& Delete() {
    static const Script s(kDelete);
    return s;
}
const Script& BucketRetry() {
    static const Script s(kBucketRetry);
    return s;
}
const Script& BucketCharge() {
    static const Script s(kBucketCharge);
    return s;
}
const Script& BucketAvailable() {
    static const Script s(kBucketAvailable);
    return s;
}
const Script& LoginBegin() {
    static const Script s(kLoginBegin);
    return s;
}
const Script& LoginSucceeded() {
    static const Script s(kLoginSucceeded);
    return s;
}

std::string Ms(TimePoint t) { return std::to_string(ToUnixMillis(t)); }
std::string Ms(milliseconds d) { return std::to_string(d.count()); }
std::string Number(double x) {
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", x);
    return text;
}

std::string RandomNodeId() {
    std::random_device device;
    char text[20];
    std::snprintf(text, sizeof text, "%08x%08x", device(), device());
    return text;
}

Status Bad(std::string_view option, std::string_view why) {
    return Status::Error(ErrorCode::kInternal,
                         "RedisRateLimitsOptions." + std::string(option) + " " + std::string(why));
}

// The connections: each checked out by one caller for one command. A connection that broke in use (no answer
// in time, an I/O error) is dropped when given back, and a connect attempt that failed leaves none: either
// way that slot is not tried again for reconnect_interval, so a dead or hung Redis costs at most one timeout
// per slot and interval. One the server closed while idle (a restart, CLIENT KILL) is made again at once.
class Pool {
  public:
    Pool(redis::RedisAddress address, std::string client_name, const RedisRateLimitsOptions& options)
        : address_(std::move(address)),
          client_name_(std::move(client_name)),
          connect_timeout_(options.connect_timeout),
          command_timeout_(options.command_timeout),
          reconnect_interval_(options.reconnect_interval),
          slots_(static_cast<size_t>(std::max(1, options.connections))) {}

    // A connection checked out; given back when destroyed.
    class Lease {
      public:
        Lease(Pool* pool, size_t slot) : pool_(pool), slot_(slot) {}
        Lease(Lease&& other) noexcept : pool_(std::exchange(other.pool_, nullptr)), slot_(other.slot_) {}
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (pool_ != nullptr) pool_->GiveBack(slot_);
        }
        redis::RedisConnection& connection() { return *pool_->slots_[slot_].connection; }

      private:
        Pool* pool_;
        size_t slot_;
    };

    // A live connection within command_timeout; kUnavailable when every connection is broken and none may
    // be re-made yet, when connecting fails, or when all are busy for that long.
    Result<Lease> Take() {
        const auto deadline = SteadyClock::now() + command_timeout_;
        size_t chosen = 0;
        bool connect = false;
        {
            std::unique_lock lock(mu_);
            for (;;) {
                const auto now = SteadyClock::now();
                bool found = false, any_idle = false;
                for (size_t i = 0; i < slots_.size() && !found; ++i) {
                    const Slot& s = slots_[i];
                    if (s.busy) continue;
                    any_idle = true;
                    if (s.connection != nullptr && !s.connection->broken()) chosen = i, found = true;
                }
                for (size_t i = 0; i < slots_.size() && !found; ++i) {
                    Slot& s = slots_[i];
                    if (s.busy || s.next_connect > now) continue;
                    s.connection.reset();
                    s.next_connect = now + reconnect_interval_;
                    chosen = i, found = true, connect = true;
                }
                if (found) {
                    slots_[chosen].busy = true;
                    break;
                }
                if (any_idle) {
                    return Status::Error(ErrorCode::kUnavailable, "Redis at " + address_.ToString() +
                                                                      " is not reachable (the next try is due soon)");
                }
                if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && SteadyClock::now() >= deadline) {
                    return Status::Error(ErrorCode::kUnavailable,
                                         "no connection to Redis was free within the command timeout");
                }
            }
        }
        Lease lease(this, chosen);
        Slot& slot = slots_[chosen];  // ours while busy
        if (!connect && slot.connection->ClosedByPeer()) {
            // Closed by the server (a restart, CLIENT KILL) while idle: re-made now if the slot may be.
            slot.connection.reset();
            std::lock_guard lock(mu_);
            const auto now = SteadyClock::now();
            if (slot.next_connect > now) {
                return Status::Error(ErrorCode::kUnavailable,
                                     "Redis at " + address_.ToString() + " closed the connection");
            }
            slot.next_connect = now + reconnect_interval_;
            connect = true;
        }
        if (connect) {
            slot.connection.reset();
            auto connected =
                redis::RedisConnection::Connect(address_, client_name_, connect_timeout_, command_timeout_);
            if (!connected.ok()) return connected.status();
            slot.connection = std::move(connected).value();
            std::lock_guard lock(mu_);
            slot.next_connect = {};  // only a failed attempt waits: a connection lost later is made again at once
        }
        return lease;
    }

  private:
    struct Slot {
        std::unique_ptr<redis::RedisConnection> connection;  // null: none yet or dropped
        SteadyClock::time_point next_connect{};              // the earliest (re)connect
        bool busy = false;
    };

    void GiveBack(size_t index) {
        std::unique_ptr<redis::RedisConnection> dropped;
        {
            std::lock_guard lock(mu_);
            Slot& slot = slots_[index];
            if (slot.connection != nullptr && slot.connection->broken()) {
                // No answer in time, or an I/O error: a Redis that hangs must not cost every call a timeout.
                dropped = std::move(slot.connection);
                slot.next_connect = SteadyClock::now() + reconnect_interval_;
            }
            slot.busy = false;
        }
        cv_.notify_one();
    }

    const redis::RedisAddress address_;
    const std::string client_name_;
    const milliseconds connect_timeout_;
    const milliseconds command_timeout_;
    const milliseconds reconnect_interval_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Slot> slots_;  // GUARDED_BY(mu_), except a busy slot's connection: its lease holder's
};

}  // namespace

struct RedisRateLimits::Shared {
    Shared(RedisRateLimitsOptions o, redis::RedisAddress address, std::string node)
        : options(std::move(o)),
          where(address.ToString()),
          node_id(std::move(node)),
          pool(std::move(address), "vg-rl:" + options.prefix + ":" + node_id, options) {}

    const RedisRateLimitsOptions options;
    const std::string where;  // host:port, never the password
    const std::string node_id;
    Pool pool;
    std::atomic<uint64_t> member_counter{0};
    std::atomic<uint64_t> fallbacks{0};
    std::atomic<uint64_t> script_loads{0};
    std::mutex warn_mu;
    std::optional<SteadyClock::time_point> last_warning;  // GUARDED_BY(warn_mu)
    uint64_t fallbacks_warned = 0;                        // GUARDED_BY(warn_mu)
    std::atomic<bool> degraded{false};                    // a fallback since Redis last answered

    std::string Key(std::string_view name, std::string_view key) const {
        std::string k = options.prefix + ":rl:" + std::string(name) + ":";
        if (key.size() > kMaxKeyPart) {
            k += "#" + HashToken(key);
        } else {
            k += key;
        }
        return k;
    }

    // A member no other event of any process has: this node's id and a counter.
    std::string NewMember() {
        char text[24];
        std::snprintf(text, sizeof text, "%llx",
                      static_cast<unsigned long long>(member_counter.fetch_add(1, std::memory_order_relaxed)));
        return node_id + ":" + text;
    }

    // Runs `script` on one pooled connection: its reply, or kUnavailable (no connection, no answer in time,
    // an error reply). EVALSHA first; the text itself (EVAL, which caches it again) on NOSCRIPT.
    Result<redis::ReplyPtr> Run(const Script& script, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args) {
        auto lease = pool.Take();
        if (!lease.ok()) return lease.status();
        std::string sha = script.Sha();
        if (sha.empty()) {
            auto loaded = lease->connection().Command({"SCRIPT", "LOAD", script.text});
            if (!loaded.ok()) return loaded.status();
            if (redis::IsError(loaded->get()) || redis::StringOf(loaded->get()).size() != 40) {
                return Status::Error(ErrorCode::kUnavailable, "Redis at " + where +
                                                                  " did not load a rate-limit script: " +
                                                                  std::string(redis::StringOf(loaded->get())));
            }
            script_loads.fetch_add(1, std::memory_order_relaxed);
            sha = redis::StringOf(loaded->get());
            script.SetSha(sha);
        }
        std::vector<std::string_view> command;
        command.reserve(3 + keys.size() + args.size());
        const std::string key_count = std::to_string(keys.size());
        command.push_back("EVALSHA");
        command.push_back(sha);
        command.push_back(key_count);
        for (const std::string& k : keys) command.push_back(k);
        for (const std::string& a : args) command.push_back(a);
        auto reply = lease->connection().Command(command);
        if (reply.ok() && redis::IsError(reply->get()) && redis::StringOf(reply->get()).starts_with("NOSCRIPT")) {
            script_loads.fetch_add(1, std::memory_order_relaxed);
            command[0] = "EVAL";
            command[1] = script.text;
            reply = lease->connection().Command(command);
        }
        if (!reply.ok()) return reply.status();
        if (redis::IsError(reply->get())) {
            return Status::Error(ErrorCode::kUnavailable, "Redis at " + where + " refused a rate-limit script: " +
                                                              std::string(redis::StringOf(reply->get())));
        }
        if (degraded.exchange(false)) spdlog::info("rate limits: Redis at {} answers again; limits are shared", where);
        return reply;
    }

    // Runs `script` and reads its integer answer; nullopt when Redis did not give one (the caller falls back).
    std::optional<int64_t> RunInteger(const Script& script, const std::vector<std::string>& keys,
                                      const std::vector<std::string>& args) {
        auto reply = Run(script, keys, args);
        if (!reply.ok()) {
            Fallback(reply.status());
            return std::nullopt;
        }
        auto value = redis::IntegerOf(reply->get());
        if (!value) Fallback(Status::Error(ErrorCode::kInternal, "a rate-limit script answered no integer"));
        return value;
    }

    // Counts a fallback and warns at most once per warning_interval.
    void Fallback(const Status& why) {
        const uint64_t total = fallbacks.fetch_add(1) + 1;
        degraded.store(true);
        const auto now = SteadyClock::now();
        std::lock_guard lock(warn_mu);
        if (last_warning && now - *last_warning < options.warning_interval) return;
        spdlog::warn(
            "rate limits: Redis did not answer ({}); limiting in this process only until it does ({} operations "
            "fell back since the last warning, {} in all)",
            why.message(), total - fallbacks_warned, total);
        last_warning = now;
        fallbacks_warned = total;
    }
};

namespace {

using Shared = RedisRateLimits::Shared;

class RedisSlidingWindow final : public SlidingWindowLimiter {
  public:
    RedisSlidingWindow(std::shared_ptr<Shared> shared, std::string_view name, const Clock& clock, Options options)
        : shared_(std::move(shared)), name_(name), clock_(clock), options_(options), twin_(clock, options) {}

    int RetryAfterSeconds(std::string_view key) const override {
        const TimePoint now = clock_.Now();
        if (auto wait = shared_->RunInteger(WindowRetry(), {Key(key)}, {Ms(now), Ms(options_.window), Max()})) {
            return static_cast<int>(*wait);
        }
        return twin_.RetryAfterSeconds(key);
    }
    int TryAcquire(std::string_view key) override {
        const TimePoint now = clock_.Now();
        if (auto wait = shared_->RunInteger(WindowAcquire(), {Key(key)},
                                            {Ms(now), Ms(options_.window), Max(), shared_->NewMember()})) {
            return static_cast<int>(*wait);
        }
        return twin_.TryAcquire(key);
    }
    bool Record(std::string_view key) override {
        const TimePoint now = clock_.Now();
        const std::string keep = std::to_string(std::max(1, options_.max_events));
        if (shared_->RunInteger(WindowRecord(), {Key(key)},
                                {Ms(now), Ms(options_.window), keep, shared_->NewMember()})) {
            return true;
        }
        return twin_.Record(key);
    }
    void Release(std::string_view key) override {
        const TimePoint now = clock_.Now();
        if (!shared_->RunInteger(WindowRelease(), {Key(key)}, {Ms(now), Ms(options_.window)})) twin_.Release(key);
    }
    void Reset(std::string_view key) override {
        // Both: what this process counted while Redis was away is forgotten too.
        twin_.Reset(key);
        (void)shared_->RunInteger(Delete(), {Key(key)}, {});
    }

  private:
    std::string Key(std::string_view key) const { return shared_->Key(name_, key); }
    std::string Max() const { return std::to_string(options_.max_events); }

    const std::shared_ptr<Shared> shared_;
    const std::string name_;
    const Clock& clock_;
    const Options options_;
    InProcessSlidingWindowLimiter twin_;
};

class RedisTokenBucket final : public TokenBucketLimiter {
  public:
    RedisTokenBucket(std::shared_ptr<Shared> shared, std::string_view name, const Clock& clock, Options options)
        : shared_(std::move(shared)), name_(name), clock_(clock), options_(Sane(options)), twin_(clock, options_) {}

    bool waits_on_network() const override { return true; }

    int RetryAfterSeconds(std::string_view key) const override {
        if (auto wait = shared_->RunInteger(BucketRetry(), {Key(key)}, Args())) return static_cast<int>(*wait);
        return twin_.RetryAfterSeconds(key);
    }
    bool Charge(std::string_view key, double amount) override {
        if (!(amount > 0)) return true;
        std::vector<std::string> args = Args();
        args.push_back(Number(amount));
        if (shared_->RunInteger(BucketCharge(), {Key(key)}, args)) return true;
        return twin_.Charge(key, amount);
    }
    double Available(std::string_view key) const override {
        auto reply = shared_->Run(BucketAvailable(), {Key(key)}, Args());
        if (reply.ok()) {
            const std::string text(redis::StringOf(reply->get()));
            char* end = nullptr;
            const double value = std::strtod(text.c_str(), &end);
            if (!text.empty() && end == text.c_str() + text.size()) return value;
            shared_->Fallback(Status::Error(ErrorCode::kInternal, "a rate-limit script answered no number"));
        } else {
            shared_->Fallback(reply.status());
        }
        return twin_.Available(key);
    }
    double capacity() const override { return options_.capacity; }

  private:
    std::string Key(std::string_view key) const { return shared_->Key(name_, key); }
    std::vector<std::string> Args() const {
        return {Ms(clock_.Now()), Number(options_.capacity), Number(options_.refill_per_second)};
    }

    const std::shared_ptr<Shared> shared_;
    const std::string name_;
    const Clock& clock_;
    const Options options_;
    InProcessTokenBucketLimiter twin_;
};

class RedisLoginThrottle final : public LoginThrottle {
  public:
    RedisLoginThrottle(std::shared_ptr<Shared> shared, std::string_view name, const Clock& clock,
                       LoginThrottleOptions options)
        : shared_(std::move(shared)), name_(name), clock_(clock), options_(options), twin_(clock, options) {}

    Decision Begin(std::string_view id, std::string_view address) override {
        const TimePoint now = clock_.Now();
        const LoginThrottleOptions& o = options_;
        auto reply =
            shared_->Run(LoginBegin(), Keys(id, address),
                         {Ms(now), std::to_string(o.free_failures_per_pair), Ms(o.first_delay), Ms(o.max_delay),
                          std::to_string(o.max_failures_per_address), std::to_string(o.max_failures_per_id),
                          Ms(o.ceiling_interval), Ms(o.window), Ms(o.known_address_memory), shared_->NewMember()});
        if (!reply.ok()) {
            shared_->Fallback(reply.status());
            return twin_.Begin(id, address);
        }
        const redisReply* r = reply->get();
        std::optional<int64_t> wait, why;
        if (redis::ElementCount(r) == 2) {
            wait = redis::IntegerOf(redis::ElementAt(r, 0));
            why = redis::IntegerOf(redis::ElementAt(r, 1));
        }
        if (!wait || !why || *why < 0 || *why > 4) {
            shared_->Fallback(Status::Error(ErrorCode::kInternal, "the login script answered no decision"));
            return twin_.Begin(id, address);
        }
        static constexpr Refusal kWhy[] = {Refusal::kNone, Refusal::kPair, Refusal::kAddress, Refusal::kId,
                                           Refusal::kFull};
        return {static_cast<int>(*wait), kWhy[*why]};
    }

    void Succeeded(std::string_view id, std::string_view address) override {
        const TimePoint now = clock_.Now();
        if (!shared_->RunInteger(LoginSucceeded(), Keys(id, address),
                                 {Ms(now), Ms(options_.window), Ms(options_.known_address_memory)})) {
            twin_.Succeeded(id, address);
        }
    }

  private:
    std::vector<std::string> Keys(std::string_view id, std::string_view address) const {
        std::string pair;
        pair.reserve(id.size() + address.size() + 1);
        pair.append(id).push_back('\n');  // neither an id nor an address contains a newline
        pair.append(address);
        return {shared_->Key(name_, "p:" + pair), shared_->Key(name_, "a:" + std::string(address)),
                shared_->Key(name_, "i:" + std::string(id)), shared_->Key(name_, "t:" + std::string(id)),
                shared_->Key(name_, "k:" + pair)};
    }

    const std::shared_ptr<Shared> shared_;
    const std::string name_;
    const Clock& clock_;
    const LoginThrottleOptions options_;
    InProcessLoginThrottle twin_;
};

}  // namespace

Result<std::shared_ptr<RedisRateLimits>> RedisRateLimits::Open(RedisRateLimitsOptions options) {
    auto address = redis::ParseRedisUrl(options.url, "RedisRateLimitsOptions.url");
    if (!address.ok()) return address.status();
    if (options.prefix.empty()) return Bad("prefix", "is empty");
    for (char c : options.prefix) {
        if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f) {
            return Bad("prefix", "has a space or a character that is not printable ASCII");
        }
    }
    if (options.connections < 1) return Bad("connections", "is less than 1");
    if (options.command_timeout.count() <= 0) return Bad("command_timeout", "is not positive");
    if (options.connect_timeout.count() <= 0) return Bad("connect_timeout", "is not positive");
    if (options.reconnect_interval.count() < 0) return Bad("reconnect_interval", "is negative");
    auto shared = std::make_shared<Shared>(std::move(options), std::move(address).value(), RandomNodeId());
    return std::shared_ptr<RedisRateLimits>(new RedisRateLimits(std::move(shared)));
}

RedisRateLimits::RedisRateLimits(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
RedisRateLimits::~RedisRateLimits() = default;

uint64_t RedisRateLimits::fallbacks() const { return shared_->fallbacks.load(); }
uint64_t RedisRateLimits::script_loads() const { return shared_->script_loads.load(); }
const std::string& RedisRateLimits::node_id() const { return shared_->node_id; }
std::string RedisRateLimits::KeyOf(std::string_view name, std::string_view key) const {
    return shared_->Key(name, key);
}

std::unique_ptr<SlidingWindowLimiter> RedisRateLimits::MakeSlidingWindow(std::string_view name, const Clock& clock,
                                                                         SlidingWindowLimiter::Options options) {
    return std::make_unique<RedisSlidingWindow>(shared_, name, clock, options);
}

std::unique_ptr<TokenBucketLimiter> RedisRateLimits::MakeTokenBucket(std::string_view name, const Clock& clock,
                                                                     TokenBucketLimiter::Options options) {
    return std::make_unique<RedisTokenBucket>(shared_, name, clock, options);
}

std::unique_ptr<auth::LoginThrottle> RedisRateLimits::MakeLoginThrottle(std::string_view name, const Clock& clock,
                                                                        LoginThrottleOptions options) {
    return std::make_unique<RedisLoginThrottle>(shared_, name, clock, options);
}

}  // namespace vg::auth
