#include "vg/bus/redis_live_fanout.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "redis_connection.hpp"

namespace vg::bus {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {
constexpr milliseconds kPingEvery{400};
constexpr milliseconds kMaxBackoff{2000};
constexpr milliseconds kReconnectGap{1000};  // Publish tries to reconnect at most this often

std::string RandomId() {
    std::random_device rd;
    std::uniform_int_distribution<uint64_t> dist;
    char buf[17];
    auto [end, ec] = std::to_chars(buf, buf + 16, dist(rd), 16);
    return std::string(buf, end);
}
}  // namespace

struct RedisLiveFanout::State {
    RedisLiveFanoutOptions options;
    redis::RedisAddress address;
    std::string channel;
    Deliver deliver;

    std::mutex publish_mu;
    std::unique_ptr<redis::RedisConnection> publisher;  // GUARDED_BY(publish_mu)
    SteadyClock::time_point last_connect_try{};         // GUARDED_BY(publish_mu)

    std::atomic<bool> stop{false};
    std::mutex stop_mu;
    std::condition_variable stop_cv;
    std::thread subscriber;

    std::atomic<uint64_t> published{0};
    std::atomic<uint64_t> dropped{0};
    std::atomic<uint64_t> received{0};

    Result<std::unique_ptr<redis::RedisConnection>> Connect(const std::string& role, milliseconds timeout) {
        return redis::RedisConnection::Connect(address,
                                               "vg-live:" + options.prefix + ":" + options.node_id + ":" + role,
                                               options.command_timeout, timeout);
    }
    void SleepUnlessStopped(milliseconds d) {
        std::unique_lock lock(stop_mu);
        stop_cv.wait_for(lock, d, [&] { return stop.load(); });
    }
    void Handle(const redisReply* reply);
    void RunSubscriber();
};

void RedisLiveFanout::State::Handle(const redisReply* reply) {
    // ["message", channel, payload]; subscribe confirmations and pongs are not messages.
    if (redis::ElementCount(reply) != 3 || redis::StringOf(redis::ElementAt(reply, 0)) != "message") return;
    const std::string_view payload = redis::StringOf(redis::ElementAt(reply, 2));
    const size_t first = payload.find('\n');
    const size_t second = first == std::string_view::npos ? first : payload.find('\n', first + 1);
    if (second == std::string_view::npos) return;             // not ours: ignored
    if (payload.substr(0, first) == options.node_id) return;  // our own, already delivered here
    int64_t wearer = 0;
    const std::string_view wearer_text = payload.substr(first + 1, second - first - 1);
    auto [end, ec] = std::from_chars(wearer_text.data(), wearer_text.data() + wearer_text.size(), wearer);
    if (ec != std::errc() || end != wearer_text.data() + wearer_text.size()) return;
    ++received;
    deliver(wearer, std::string(payload.substr(second + 1)));
}

void RedisLiveFanout::State::RunSubscriber() {
    milliseconds backoff{50};
    bool down = false;
    while (!stop.load()) {
        auto connected = Connect("subscriber", options.command_timeout);
        if (!connected.ok()) {
            if (!down) spdlog::warn("live fan-out: {}", connected.status().ToString());
            down = true;
            SleepUnlessStopped(backoff);
            backoff = std::min(backoff * 2, kMaxBackoff);
            continue;
        }
        redis::RedisConnection& c = **connected;
        // A reply (a message or the pong) comes at least every kPingEvery, so a read slower than this means
        // Redis is gone.
        c.SetTimeout(kPingEvery + options.command_timeout);
        if (!c.Append({"SUBSCRIBE", channel}).ok()) continue;
        if (down) spdlog::info("live fan-out: subscribed again");
        down = false;
        backoff = milliseconds(50);
        auto last_ping = SteadyClock::now();
        while (!stop.load()) {
            if (SteadyClock::now() - last_ping >= kPingEvery) {
                if (!c.Append({"PING"}).ok()) break;
                last_ping = SteadyClock::now();
            }
            auto reply = c.GetReply();
            if (!reply.ok()) break;  // reconnect
            Handle(reply->get());
        }
    }
}

Result<std::unique_ptr<RedisLiveFanout>> RedisLiveFanout::Open(RedisLiveFanoutOptions options, Deliver deliver) {
    auto address = redis::ParseRedisUrl(options.url);
    if (!address.ok()) return address.status();
    if (options.node_id.empty()) options.node_id = RandomId();
    auto state = std::make_unique<State>();
    state->channel = options.prefix + ":live";
    state->options = std::move(options);
    state->address = std::move(address).value();
    state->deliver = std::move(deliver);
    auto publisher = state->Connect("publisher", state->options.command_timeout);
    if (!publisher.ok()) return publisher.status();
    state->publisher = std::move(publisher).value();
    State* s = state.get();
    s->subscriber = std::thread([s] { s->RunSubscriber(); });
    return std::unique_ptr<RedisLiveFanout>(new RedisLiveFanout(std::move(state)));
}

RedisLiveFanout::RedisLiveFanout(std::unique_ptr<State> state) : state_(std::move(state)) {}

RedisLiveFanout::~RedisLiveFanout() {
    {
        std::lock_guard lock(state_->stop_mu);
        state_->stop = true;
    }
    state_->stop_cv.notify_all();
    if (state_->subscriber.joinable()) state_->subscriber.join();
}

bool RedisLiveFanout::Publish(int64_t wearer, const std::string& message) {
    State& s = *state_;
    const std::string payload = s.options.node_id + "\n" + std::to_string(wearer) + "\n" + message;
    std::lock_guard lock(s.publish_mu);
    if (s.publisher == nullptr || s.publisher->broken()) {
        s.publisher.reset();
        const auto now = SteadyClock::now();
        if (now - s.last_connect_try < kReconnectGap) {
            ++s.dropped;
            return false;
        }
        s.last_connect_try = now;
        auto connected = s.Connect("publisher", s.options.command_timeout);
        if (!connected.ok()) {
            ++s.dropped;
            return false;
        }
        s.publisher = std::move(connected).value();
    }
    auto reply = s.publisher->Command({"PUBLISH", s.channel, payload});
    if (!reply.ok() || redis::IsError(reply->get())) {
        ++s.dropped;
        return false;
    }
    ++s.published;
    return true;
}

RedisLiveFanoutStats RedisLiveFanout::stats() const {
    return {state_->published.load(), state_->dropped.load(), state_->received.load()};
}

}  // namespace vg::bus
