#include "vg/bus/redis_live_fanout.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "vg/redis/connection.hpp"

namespace vg::bus {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {
constexpr milliseconds kPingEvery{400};
constexpr milliseconds kMaxBackoff{2000};
constexpr milliseconds kReconnectGap{1000};  // the publisher tries to reconnect at most this often
constexpr size_t kPublishBatch = 512;        // PUBLISHes pipelined per round trip

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

    // Publish queues; the publisher thread sends what is queued in pipelined batches.
    std::mutex queue_mu;
    std::condition_variable queue_cv;
    std::deque<std::string> queue;  // GUARDED_BY(queue_mu); payloads
    std::thread publisher_thread;
    std::unique_ptr<redis::RedisConnection> publisher;  // the publisher thread's
    SteadyClock::time_point last_connect_try{};         // the publisher thread's

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
    void RunPublisher();
    // Sends `batch` pipelined on `publisher` (connecting first if need be); counts what went and what not.
    void SendBatch(std::vector<std::string>& batch);
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
    auto address = redis::ParseRedisUrl(options.url, "RedisStreamsBusOptions.url");
    if (!address.ok()) return address.status();
    if (options.max_queued == 0) {
        return Status::Error(ErrorCode::kInternal, "RedisLiveFanoutOptions.max_queued must be at least 1");
    }
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
    s->publisher_thread = std::thread([s] { s->RunPublisher(); });
    return std::unique_ptr<RedisLiveFanout>(new RedisLiveFanout(std::move(state)));
}

RedisLiveFanout::RedisLiveFanout(std::unique_ptr<State> state) : state_(std::move(state)) {}

RedisLiveFanout::~RedisLiveFanout() {
    {
        std::lock_guard lock(state_->stop_mu);
        state_->stop = true;
    }
    state_->stop_cv.notify_all();
    {
        std::lock_guard lock(state_->queue_mu);  // so the publisher cannot miss the stop between check and wait
    }
    state_->queue_cv.notify_all();
    if (state_->subscriber.joinable()) state_->subscriber.join();
    if (state_->publisher_thread.joinable()) state_->publisher_thread.join();
}

bool RedisLiveFanout::Publish(int64_t wearer, const std::string& message) {
    State& s = *state_;
    std::string payload;
    payload.reserve(s.options.node_id.size() + 24 + message.size());
    payload.append(s.options.node_id).push_back('\n');
    payload.append(std::to_string(wearer)).push_back('\n');
    payload.append(message);
    {
        std::lock_guard lock(s.queue_mu);
        if (s.queue.size() >= s.options.max_queued) {
            ++s.dropped;
            return false;
        }
        s.queue.push_back(std::move(payload));
    }
    s.queue_cv.notify_one();
    return true;
}

void RedisLiveFanout::State::RunPublisher() {
    std::vector<std::string> batch;
    for (;;) {
        {
            std::unique_lock lock(queue_mu);
            queue_cv.wait(lock, [&] { return stop.load() || !queue.empty(); });
            if (queue.empty()) return;  // stopping, and everything queued was sent
            const size_t n = std::min(queue.size(), kPublishBatch);
            batch.clear();
            for (size_t i = 0; i < n; ++i) {
                batch.push_back(std::move(queue.front()));
                queue.pop_front();
            }
        }
        SendBatch(batch);
    }
}

void RedisLiveFanout::State::SendBatch(std::vector<std::string>& batch) {
    if (publisher == nullptr || publisher->broken()) {
        publisher.reset();
        const auto now = SteadyClock::now();
        if (now - last_connect_try < kReconnectGap) {
            dropped += batch.size();
            return;
        }
        last_connect_try = now;
        auto connected = Connect("publisher", options.command_timeout);
        if (!connected.ok()) {
            dropped += batch.size();
            return;
        }
        publisher = std::move(connected).value();
    }
    size_t appended = 0;
    for (const std::string& payload : batch) {
        if (!publisher->Append({"PUBLISH", channel, payload}).ok()) break;
        ++appended;
    }
    size_t sent = 0;
    for (size_t i = 0; i < appended; ++i) {
        auto reply = publisher->GetReply();
        if (!reply.ok()) break;  // broken: the rest are lost
        if (!redis::IsError(reply->get())) ++sent;
    }
    published += sent;
    dropped += batch.size() - sent;
}

RedisLiveFanoutStats RedisLiveFanout::stats() const {
    return {state_->published.load(), state_->dropped.load(), state_->received.load()};
}

}  // namespace vg::bus
