#include "vg/sim/driver.hpp"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "http_connection.hpp"
#include "live_streams.hpp"
#include "vg/sim/imu_replay.hpp"
#include "wire.hpp"

namespace vg::sim {
namespace {

namespace json = boost::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t0) {
    return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

std::string RandomPrefix() {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof(buf), "sim%06x-", rd() & 0xFFFFFFu);
    return buf;
}

// The first failure of a run, shared by its threads.
class FirstError {
  public:
    void Set(Status s) {
        std::lock_guard lock(mu_);
        if (status_.ok()) status_ = std::move(s);
        failed_.store(true);
    }
    bool failed() const { return failed_.load(); }
    Status Get() const {
        std::lock_guard lock(mu_);
        return status_;
    }

  private:
    mutable std::mutex mu_;
    Status status_;
    std::atomic<bool> failed_{false};
};

Status Refused(std::string_view what, const HttpReply& reply) {
    std::string body = reply.body.substr(0, 600);
    return Status::Error(ErrorCode::kInternal,
                         std::string(what) + " was refused: HTTP " + std::to_string(reply.status) + " " + body);
}

// Sends, retrying 429/503 after Retry-After (at most `attempts` times).
Result<HttpReply> SendRetrying(HttpConnection& http, std::string_view method, std::string_view target,
                               const std::string& body, const Headers& headers, std::atomic<int64_t>& retries,
                               const FirstError& stop, int attempts = 600) {
    for (int i = 0;; ++i) {
        auto reply = http.Send(method, target, body, headers);
        if (!reply.ok()) return reply;
        if ((reply->status != 429 && reply->status != 503) || i + 1 >= attempts || stop.failed()) return reply;
        retries.fetch_add(1, std::memory_order_relaxed);
        const int wait_ms = std::clamp(reply->retry_after_s.value_or(1) * 1000, 50, 5000);
        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    }
}

struct Credentials {
    std::string id;
    std::string cookie;
    std::string device_token;
};

Result<Credentials> Provision(HttpConnection& http, const WearerPlan& plan, const std::string& id,
                              const std::string& password, std::atomic<int64_t>& retries, const FirstError& stop) {
    Credentials c;
    c.id = id;
    char phone[32], guard_phone[32];
    std::snprintf(phone, sizeof(phone), "010-%04d-%04d", 1000 + plan.index / 10000, plan.index % 10000);
    std::snprintf(guard_phone, sizeof(guard_phone), "010-%04d-%04d", 9000 + plan.index / 10000, plan.index % 10000);
    const json::object signup{{"id", id},
                              {"password", password},
                              {"name", "Sim Wearer " + std::to_string(plan.index)},
                              {"age", plan.baseline.age},
                              {"address", "Simulated address " + std::to_string(plan.index)},
                              {"phone_num", phone},
                              {"guard_name", "Sim Guardian " + std::to_string(plan.index)},
                              {"guard_phone_num", guard_phone}};
    auto r = SendRetrying(http, "POST", "/api/signup", json::serialize(signup), {}, retries, stop, 20);
    if (!r.ok()) return r.status();
    if (r->status != 201) return Refused("Sign-up of " + id, *r);

    r = SendRetrying(http, "POST", "/api/login", json::serialize(json::object{{"id", id}, {"password", password}}), {},
                     retries, stop, 20);
    if (!r.ok()) return r.status();
    if (r->status != 200) return Refused("Login of " + id, *r);
    for (const std::string& sc : r->set_cookies) {
        if (auto v = wire::CookieFromSetCookie(sc, "vg_session")) c.cookie = *v;
    }
    std::string csrf;
    {
        boost::system::error_code ec;
        json::value body = json::parse(r->body, ec);
        if (!ec && body.is_object() && body.as_object().contains("csrf_token") && body.at("csrf_token").is_string()) {
            csrf = std::string(body.at("csrf_token").as_string());
        }
    }
    if (c.cookie.empty() || csrf.empty()) {
        return Status::Error(ErrorCode::kInternal, "Login of " + id + " gave no vg_session cookie or csrf_token");
    }
    const Headers session = {{"Cookie", "vg_session=" + c.cookie}, {"X-CSRF-Token", csrf}};

    r = SendRetrying(http, "POST", "/api/devices", json::serialize(json::object{{"name", "Simulated watch"}}), session,
                     retries, stop, 20);
    if (!r.ok()) return r.status();
    if (r->status != 201) return Refused("Pairing a watch for " + id, *r);
    {
        boost::system::error_code ec;
        json::value body = json::parse(r->body, ec);
        if (!ec && body.is_object() && body.as_object().contains("device_token") &&
            body.at("device_token").is_string()) {
            c.device_token = std::string(body.at("device_token").as_string());
        }
    }
    if (c.device_token.empty()) return Status::Error(ErrorCode::kInternal, "Pairing gave no device_token for " + id);

    r = SendRetrying(http, "PUT", "/api/me/rule_profile", json::serialize(json::object{{"rule_profile", plan.profile}}),
                     session, retries, stop, 20);
    if (!r.ok()) return r.status();
    if (r->status != 200) return Refused("Selecting rule profile \"" + plan.profile + "\" for " + id, *r);
    return c;
}

// Per-wearer ingest state, owned by one streaming thread.
struct StreamState {
    std::unique_ptr<WearerSimulator> sim;
    std::string auth;    // "Bearer <token>"
    std::string cookie;  // the wearer's session, which the live stream lives on
    SteadyClock::time_point session_used{};
};

// A live stream ends with its session, and the session with 30 min unused (AccountOptions::idle_timeout);
// the readings use the watch's token, not the session. A person with the dashboard open uses it (the page's
// requests); so does the simulator, so an hour-long real-time run keeps its streams.
constexpr auto kSessionUseInterval = std::chrono::minutes(10);

struct IngestCounters {
    std::atomic<int64_t> sent{0}, stored{0}, duplicates{0}, not_evaluated{0}, requests{0}, retries{0};
};

Status PostReadings(HttpConnection& http, StreamState& w, std::span<const SimReading> readings, size_t batch,
                    IngestCounters& counters, std::atomic<int64_t>& expected, const FirstError& stop) {
    for (size_t from = 0; from < readings.size(); from += batch) {
        const auto part = readings.subspan(from, std::min(batch, readings.size() - from));
        auto r = SendRetrying(http, "POST", "/api/devices/readings", wire::ReadingsBatchJson(part),
                              {{"Authorization", w.auth}}, counters.retries, stop);
        counters.requests.fetch_add(1, std::memory_order_relaxed);
        if (!r.ok()) return r.status();
        if (r->status != 200) return Refused("A batch of readings", *r);
        boost::system::error_code ec;
        json::value body = json::parse(r->body, ec);
        int64_t stored = 0, duplicates = 0, not_evaluated = 0;
        if (!ec && body.is_object()) {
            const json::object& o = body.as_object();
            auto get = [&](std::string_view key) -> int64_t {
                auto it = o.find(key);
                return it != o.end() && it->value().is_int64() ? it->value().as_int64() : 0;
            };
            stored = get("stored");
            duplicates = get("duplicates");
            not_evaluated = get("not_evaluated");
        }
        counters.sent.fetch_add(static_cast<int64_t>(part.size()), std::memory_order_relaxed);
        counters.stored.fetch_add(stored, std::memory_order_relaxed);
        counters.duplicates.fetch_add(duplicates, std::memory_order_relaxed);
        counters.not_evaluated.fetch_add(not_evaluated, std::memory_order_relaxed);
        expected.fetch_add(stored - not_evaluated, std::memory_order_relaxed);
    }
    return Status::Ok();
}

TimePoint WallNow() { return SystemClock::Instance().Now(); }

// One wearer's place in its IMU events, owned by one streaming thread.
struct ImuCursor {
    std::vector<const ImuEventPlan*> events;  // in time order
    size_t event = 0;
    size_t window = 0;
    // From the answers: the last window answered left a fall suspicion open, and how many fall decisions
    // the wearer's live stream had shown by then.
    bool suspicion_open = false;
    int64_t decisions_then = 0;

    bool done() const { return event >= events.size(); }
    // measured_at of the next window. REQUIRES: !done().
    TimePoint NextEnd(TimePoint start) const { return start + events[event]->WindowEnd(window); }
    void Advance() {
        if (++window >= events[event]->windows.size()) {
            window = 0;
            ++event;
        }
    }
};

struct ImuCounters {
    std::atomic<int64_t> windows{0}, requests{0}, retries{0}, late{0}, settles{0};
    std::atomic<bool> unavailable{false};
    std::mutex mu;
    std::string reason;  // GUARDED_BY(mu)
};

// The server's error message of a JSON error body, or the body's start.
std::string ErrorMessageOf(const HttpReply& reply) {
    boost::system::error_code ec;
    json::value body = json::parse(reply.body, ec);
    if (!ec && body.is_object()) {
        const json::object& o = body.as_object();
        if (auto e = o.find("error"); e != o.end() && e->value().is_object()) {
            const json::object& eo = e->value().as_object();
            if (auto m = eo.find("message"); m != eo.end() && m->value().is_string()) {
                return std::string(m->value().as_string());
            }
        }
    }
    return "HTTP " + std::to_string(reply.status) + " " + reply.body.substr(0, 200);
}

void MarkUnavailable(ImuCounters& counters, std::string reason) {
    std::lock_guard lock(counters.mu);
    if (!counters.unavailable.load()) counters.reason = std::move(reason);
    counters.unavailable.store(true);
}

// Posts the windows of `cursor` whose measured_at is before `until`, in batches of `batch`. A 503 without
// Retry-After (no posture model) marks posture unavailable and stops; 429/503 with it are retried.
//
// `settle` (max speed): before a wearer's next event, while a suspicion the previous one left open is
// undecided, wait (up to 40 s) for the server's silence rule to decide it, as the wall-clock gap between
// events would in realtime; otherwise the next event's first window would decide it (deadline) and the
// server's quiet time after a confirmation would fall on the next event.
Status PostImuWindows(HttpConnection& http, const std::string& auth, ImuCursor& cursor, TimePoint start,
                      TimePoint until, size_t batch, ImuCounters& counters, const FirstError& stop,
                      const LiveStreams& streams, int wearer, bool settle) {
    std::vector<wire::PostureWindowRef> refs;
    while (!cursor.done() && !counters.unavailable.load() && !stop.failed()) {
        refs.clear();
        if (settle && cursor.window == 0 && cursor.suspicion_open && cursor.NextEnd(start) < until) {
            const auto deadline = SteadyClock::now() + std::chrono::seconds(40);
            while (streams.fall_decisions(wearer) <= cursor.decisions_then && SteadyClock::now() < deadline &&
                   !stop.failed()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            counters.settles.fetch_add(1, std::memory_order_relaxed);
            cursor.suspicion_open = false;
        }
        while (!cursor.done() && refs.size() < batch && cursor.NextEnd(start) < until) {
            refs.push_back({cursor.events[cursor.event], cursor.window, cursor.NextEnd(start)});
            cursor.Advance();
        }
        if (refs.empty()) return Status::Ok();
        const std::string body = wire::PostureBatchJson(refs);
        for (int attempt = 0;; ++attempt) {
            auto r = http.Send("POST", "/api/devices/posture", body, {{"Authorization", auth}});
            counters.requests.fetch_add(1, std::memory_order_relaxed);
            if (!r.ok()) return r.status();
            if ((r->status == 429 || r->status == 503) && r->retry_after_s && attempt < 600 && !stop.failed()) {
                counters.retries.fetch_add(1, std::memory_order_relaxed);
                std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp(*r->retry_after_s * 1000, 50, 5000)));
                continue;
            }
            if (r->status == 503) {
                MarkUnavailable(counters, ErrorMessageOf(*r));
                return Status::Ok();
            }
            if (r->status != 200) return Refused("A batch of IMU windows", *r);
            counters.windows.fetch_add(static_cast<int64_t>(refs.size()), std::memory_order_relaxed);
            boost::system::error_code ec;
            json::value answer = json::parse(r->body, ec);
            if (!ec && answer.is_object()) {
                auto results = answer.as_object().find("results");
                if (results != answer.as_object().end() && results->value().is_array()) {
                    cursor.decisions_then = streams.fall_decisions(wearer);
                    for (const json::value& one : results->value().as_array()) {
                        const json::object* o = one.if_object();
                        if (!o) continue;
                        if (auto fall = o->find("fall"); fall != o->end() && fall->value().is_object()) {
                            const json::object& fo = fall->value().as_object();
                            auto state = fo.find("state");
                            if (state != fo.end() && state->value().is_string()) {
                                cursor.suspicion_open = state->value().as_string() == "suspected";
                            }
                        }
                        auto late = o->find("late");
                        if (late != o->end() && late->value().is_bool() && late->value().as_bool()) {
                            counters.late.fetch_add(1, std::memory_order_relaxed);
                        }
                    }
                }
            }
            break;
        }
    }
    return Status::Ok();
}

}  // namespace

TimePoint MaxSpeedWindowStart(TimePoint now, const Scenario& s) {
    constexpr int64_t kDay = 86'400'000;
    const int64_t latest = ToUnixMillis(now - s.duration) - 60'000;
    const int64_t offset = int64_t{s.utc_offset_minutes} * 60'000;
    const int64_t local = latest + offset;
    const int64_t local_midnight = (local >= 0 ? local / kDay : (local - kDay + 1) / kDay) * kDay;
    int64_t start = local_midnight + s.start_time_of_day.count() - offset;
    if (start > latest) start -= kDay;
    return FromUnixMillis(start);
}

Result<RunResult> RunSimulation(const Scenario& scenario, const DriverOptions& options) {
    auto address = ParseServerUrl(options.server);
    if (!address.ok()) return address.status();
    if (options.connections < 1 || options.connections > 256) {
        return Status::Error(ErrorCode::kValidationFailed, "Bad option.", {{"connections", "must be 1–256"}});
    }
    if (options.provision_connections < 1 || options.provision_connections > 64) {
        return Status::Error(ErrorCode::kValidationFailed, "Bad option.", {{"provision-connections", "must be 1–64"}});
    }
    if (options.batch < 1 || options.batch > 1000) {
        return Status::Error(ErrorCode::kValidationFailed, "Bad option.", {{"batch", "must be 1–1000"}});
    }
    {
        HttpConnection probe(*address, options.timeout);
        auto health = probe.Send("GET", "/healthz", "");
        if (!health.ok()) return health.status();
        if (health->status != 200) return Refused("GET /healthz", *health);
    }

    RunResult result;
    // The IMU trials are chosen and loaded first: missing or unusable data fail before the server is touched.
    ImuPlan imu_plan;
    if (scenario.imu) {
        const auto t_plan = SteadyClock::now();
        result.imu.requested = true;
        auto catalog = LoadImuCatalog(*scenario.imu);
        if (!catalog.ok()) return catalog.status();
        auto planned = PlanImu(scenario, *catalog);
        if (!planned.ok()) return planned.status();
        imu_plan = std::move(*planned);
        result.imu.events = static_cast<int>(imu_plan.events.size());
        result.imu.warnings = imu_plan.warnings;
        result.imu.plan_s = SecondsSince(t_plan);
    }
    // Ages and profiles do not depend on the window; the window is fixed once the fleet is ready.
    FleetPlan draft = PlanFleet(scenario, FromUnixMillis(0));
    const int n = static_cast<int>(draft.wearers.size());
    const std::string prefix = options.id_prefix.empty() ? RandomPrefix() : options.id_prefix;
    const std::string password = "sim-password-" + prefix;
    for (int i = 0; i < n; ++i) result.wearer_ids.push_back(prefix + std::to_string(i));

    // 1. Provisioning.
    FirstError error;
    std::atomic<int64_t> provision_retries{0};
    std::vector<Credentials> creds(static_cast<size_t>(n));
    LiveStreams streams(*address, n, options.timeout);
    const auto t_provision = SteadyClock::now();
    {
        std::atomic<int> next{0};
        std::atomic<int64_t> done{0};
        std::vector<std::thread> workers;
        for (int k = 0; k < std::min(options.provision_connections, n); ++k) {
            workers.emplace_back([&] {
                HttpConnection http(*address, options.timeout);
                for (int i = next++; i < n && !error.failed(); i = next++) {
                    const auto& plan = draft.wearers[static_cast<size_t>(i)];
                    auto c = Provision(http, plan, result.wearer_ids[static_cast<size_t>(i)], password,
                                       provision_retries, error);
                    if (!c.ok()) return error.Set(c.status());
                    if (Status s = streams.Open(i, c->id, c->cookie); !s.ok()) return error.Set(s);
                    creds[static_cast<size_t>(i)] = std::move(*c);
                    done.fetch_add(1);
                }
            });
        }
        while (done.load() < n && !error.failed()) {
            if (options.progress) options.progress("provision", done.load(), n);
            for (int k = 0; k < 20 && done.load() < n && !error.failed(); ++k) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        }
        for (auto& w : workers) w.join();
        if (error.failed()) return error.Get();
        if (options.progress) options.progress("provision", n, n);
    }
    result.stats.provision_s = SecondsSince(t_provision);

    // Does the server run the posture model? (503 without one.)
    ImuCounters imu_counters;
    if (!imu_plan.events.empty()) {
        HttpConnection probe(*address, options.timeout);
        auto r = probe.Send("GET", "/api/get_posture/?limit=1", "", {{"Cookie", "vg_session=" + creds[0].cookie}});
        if (!r.ok()) return r.status();
        if (r->status == 503) {
            MarkUnavailable(imu_counters, ErrorMessageOf(*r));
        } else if (r->status != 200) {
            return Refused("GET /api/get_posture", *r);
        }
    }

    // 2. Streaming.
    const TimePoint now = WallNow();
    TimePoint start;
    if (options.speed == Speed::kMax) {
        // The replayed window ends before now (the server takes no future readings) and starts at the
        // scenario's local time of day, so that a seed replays the same day whenever it is run.
        start = MaxSpeedWindowStart(now, scenario);
    } else {
        start = FromUnixMillis((ToUnixMillis(now) / 1000 + 1) * 1000);
    }
    result.fleet = PlanFleet(scenario, start);
    const FleetPlan& fleet = result.fleet;
    result.stats.wearers = n;
    result.stats.window_start = start;
    result.stats.window_end = start + fleet.interval * fleet.slots();

    std::vector<StreamState> states(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        states[static_cast<size_t>(i)].sim = std::make_unique<WearerSimulator>(fleet, i);
        states[static_cast<size_t>(i)].auth = "Bearer " + creds[static_cast<size_t>(i)].device_token;
        states[static_cast<size_t>(i)].cookie = creds[static_cast<size_t>(i)].cookie;
        states[static_cast<size_t>(i)].session_used = SteadyClock::now();
    }
    std::vector<ImuCursor> imu_cursors(static_cast<size_t>(n));
    if (!imu_counters.unavailable.load()) {
        for (const ImuEventPlan& e : imu_plan.events) {
            if (e.wearer >= 0 && e.wearer < n) imu_cursors[static_cast<size_t>(e.wearer)].events.push_back(&e);
        }
    }
    const size_t imu_batch = scenario.imu ? static_cast<size_t>(scenario.imu->batch) : 1;
    auto expected = std::make_unique<std::atomic<int64_t>[]>(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) expected[static_cast<size_t>(i)].store(0);
    IngestCounters counters;
    const int64_t total_readings_estimate = static_cast<int64_t>(n) * fleet.slots();
    const auto t_stream = SteadyClock::now();
    {
        const int threads = std::min(options.connections, n);
        std::vector<std::thread> workers;
        for (int c = 0; c < threads; ++c) {
            workers.emplace_back([&, c] {
                HttpConnection http(*address, options.timeout);
                std::vector<SimReading> buffer;
                auto post = [&](int i, TimePoint until) {
                    StreamState& w = states[static_cast<size_t>(i)];
                    if (SteadyClock::now() - w.session_used >= kSessionUseInterval) {
                        auto me = SendRetrying(http, "GET", "/api/me", "", {{"Cookie", "vg_session=" + w.cookie}},
                                               counters.retries, error);
                        if (!me.ok() || me->status != 200) {
                            error.Set(me.ok() ? Refused("GET /api/me (keeping the session)", *me) : me.status());
                            return false;
                        }
                        w.session_used = SteadyClock::now();
                    }
                    buffer.clear();
                    w.sim->GenerateUntil(until, buffer);
                    if (!buffer.empty()) {
                        Status s = PostReadings(http, w, buffer, static_cast<size_t>(options.batch), counters,
                                                expected[static_cast<size_t>(i)], error);
                        if (!s.ok()) {
                            error.Set(s);
                            return false;
                        }
                    }
                    if (options.speed == Speed::kMax) {
                        // The IMU windows of the same slice of simulated time.
                        Status s = PostImuWindows(http, w.auth, imu_cursors[static_cast<size_t>(i)], start, until,
                                                  imu_batch, imu_counters, error, streams, i, /*settle=*/true);
                        if (!s.ok()) {
                            error.Set(s);
                            return false;
                        }
                    }
                    return true;
                };
                if (options.speed == Speed::kMax) {
                    // All of this connection's wearers advance through simulated time together, one
                    // batch-sized slice at a time.
                    const Milliseconds slice = fleet.interval * options.batch;
                    for (TimePoint until = start + slice; !error.failed(); until += slice) {
                        bool all_done = true;
                        for (int i = c; i < n && !error.failed(); i += threads) {
                            if (!post(i, until)) return;
                            all_done = all_done && states[static_cast<size_t>(i)].sim->done() &&
                                       (imu_cursors[static_cast<size_t>(i)].done() || imu_counters.unavailable.load());
                        }
                        if (all_done) return;
                    }
                } else {
                    for (int64_t slot = 0; slot < fleet.slots() && !error.failed(); ++slot) {
                        const TimePoint due = start + fleet.interval * slot;
                        std::this_thread::sleep_until(std::chrono::system_clock::time_point(due.time_since_epoch()));
                        for (int i = c; i < n && !error.failed(); i += threads) {
                            if (!post(i, due + Milliseconds(1))) return;
                        }
                    }
                }
            });
            if (options.speed == Speed::kRealtime) {
                // Realtime IMU: each window once its last sample's time has come, on its own connection.
                workers.emplace_back([&, c] {
                    HttpConnection http(*address, options.timeout);
                    while (!error.failed() && !imu_counters.unavailable.load()) {
                        std::optional<TimePoint> next;
                        for (int i = c; i < n; i += threads) {
                            const ImuCursor& cur = imu_cursors[static_cast<size_t>(i)];
                            if (!cur.done() && (!next || cur.NextEnd(start) < *next)) next = cur.NextEnd(start);
                        }
                        if (!next) return;
                        std::this_thread::sleep_until(std::chrono::system_clock::time_point(next->time_since_epoch()));
                        const TimePoint until = WallNow() + Milliseconds(1);
                        for (int i = c; i < n && !error.failed(); i += threads) {
                            Status s = PostImuWindows(http, states[static_cast<size_t>(i)].auth,
                                                      imu_cursors[static_cast<size_t>(i)], start, until, imu_batch,
                                                      imu_counters, error, streams, i, /*settle=*/false);
                            if (!s.ok()) return error.Set(s);
                        }
                    }
                });
            }
        }
        std::atomic<bool> finished{false};
        std::thread joiner([&] {
            for (auto& w : workers) w.join();
            finished.store(true);
        });
        while (!finished.load()) {
            if (options.progress) options.progress("stream", counters.sent.load(), total_readings_estimate);
            for (int k = 0; k < 20 && !finished.load(); ++k) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        joiner.join();
        if (error.failed()) return error.Get();
        if (options.progress) options.progress("stream", counters.sent.load(), counters.sent.load());
    }
    result.stats.stream_s = SecondsSince(t_stream);

    // 3. Draining: every evaluated reading produces one detection on its wearer's stream.
    const auto t_drain = SteadyClock::now();
    int64_t expected_total = 0;
    for (int i = 0; i < n; ++i) expected_total += expected[static_cast<size_t>(i)].load();
    auto outstanding = [&] {
        int64_t missing = 0;
        for (int i = 0; i < n; ++i) {
            missing += std::max<int64_t>(0, expected[static_cast<size_t>(i)].load() - streams.reading_detections(i));
        }
        return missing;
    };
    while (outstanding() > 0 && SteadyClock::now() - t_drain < options.drain) {
        if (options.progress) options.progress("drain", expected_total - outstanding(), expected_total);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // A fall suspicion still open is decided by the server's silence rule (30 s after the last window).
    const auto suspicion_wait = std::max<Milliseconds>(options.drain, Milliseconds(40'000));
    while (streams.open_suspicions() > 0 && SteadyClock::now() - t_drain < suspicion_wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    result.stats.drained = outstanding() == 0;
    if (options.progress) options.progress("drain", expected_total - outstanding(), expected_total);
    result.stats.drain_s = SecondsSince(t_drain);
    streams.Close();
    result.detections = streams.TakeDetections();
    result.postures = streams.TakePostures();
    result.incidents = streams.TakeIncidents();
    result.imu.open_suspicions_at_end = streams.open_suspicions();
    result.imu.posture_events = streams.posture_events();
    result.imu.available = !imu_counters.unavailable.load();
    {
        std::lock_guard lock(imu_counters.mu);
        result.imu.unavailable_reason = imu_counters.reason;
    }
    result.imu.windows_sent = imu_counters.windows.load();
    result.imu.requests = imu_counters.requests.load();
    result.imu.retries = imu_counters.retries.load();
    result.imu.late_windows = imu_counters.late.load();
    result.imu.settle_waits = imu_counters.settles.load();
    if (result.imu.available) {
        for (const ImuEventPlan& e : imu_plan.events) {
            ImuLabel l;
            l.wearer = e.wearer;
            l.kind = e.kind;
            l.dataset = e.dataset;
            l.placement = e.placement;
            l.group = e.group;
            l.subject = e.subject;
            l.activity = e.activity;
            l.file = e.file;
            l.onset = start + e.onset;
            l.end = start + e.end();
            if (e.impact) l.impact_at = start + e.onset + *e.impact;
            result.imu_events.push_back(std::move(l));
        }
    }

    for (int i = 0; i < n; ++i) {
        auto labels = states[static_cast<size_t>(i)].sim->Labels();
        result.events.insert(result.events.end(), labels.begin(), labels.end());
    }
    RunStats& st = result.stats;
    st.readings_sent = counters.sent.load();
    st.stored = counters.stored.load();
    st.duplicates = counters.duplicates.load();
    st.not_evaluated = counters.not_evaluated.load();
    st.requests = counters.requests.load();
    st.retries = counters.retries.load() + provision_retries.load();
    st.hellos = streams.hellos();
    st.detections = streams.detections();
    st.streams_lost = streams.lost();
    st.readings_per_s = st.stream_s > 0 ? static_cast<double>(st.readings_sent) / st.stream_s : 0.0;
    return result;
}

}  // namespace vg::sim
