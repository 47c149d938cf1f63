#include "vg/demo/demo.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "http_connection.hpp"
#include "vg/sim/imu_replay.hpp"
#include "vg/sim/physiology.hpp"
#include "wire.hpp"

namespace vg::demo {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

// 20 characters of [A-Za-z0-9]: ~119 bits, from the kernel's generator.
Result<std::string> RandomPassword() {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    while (out.size() < 20) {
        unsigned char bytes[32];
        if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
            return Status::Error(ErrorCode::kUnavailable, std::string("getrandom failed: ") + std::strerror(errno));
        }
        for (unsigned char b : bytes) {
            if (b < 248 && out.size() < 20) out += kAlphabet[b % 62];  // 248 = 4·62: no modulo bias
        }
    }
    return out;
}

Status Invalid(const fs::path& path, const std::string& why) {
    return Status::Error(ErrorCode::kValidationFailed,
                         path.string() + ": " + why +
                             " (it holds the demo accounts' passwords; delete the data directory to start the "
                             "demo afresh)");
}

}  // namespace

Result<DemoCredentials> LoadOrCreateCredentials(const std::string& data_dir) {
    const fs::path path = fs::path(data_dir) / kCredentialsFile;
    std::error_code ec;
    if (fs::exists(path, ec)) {
        std::ifstream in(path);
        if (!in) return Status::Error(ErrorCode::kUnavailable, "cannot read " + path.string());
        DemoCredentials c;
        bool wearer = false, guardian = false;
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::istringstream fields(line);
            std::string id, password, rest;
            if (!(fields >> id >> password) || (fields >> rest))
                return Invalid(path, "a line is not \"<id> <password>\"");
            if (id == kWearerId) {
                c.wearer_password = password, wearer = true;
            } else if (id == kGuardianId) {
                c.guardian_password = password, guardian = true;
            } else {
                return Invalid(path, "unknown id " + id);
            }
        }
        if (!wearer || !guardian) return Invalid(path, "it must name both demo_wearer and demo_guardian");
        return c;
    }
    DemoCredentials c;
    auto wearer = RandomPassword();
    if (!wearer.ok()) return wearer.status();
    auto guardian = RandomPassword();
    if (!guardian.ok()) return guardian.status();
    c.wearer_password = *wearer;
    c.guardian_password = *guardian;
    const std::string text = std::string("# vitalguard serve --demo: the demo accounts (id password)\n") + kWearerId +
                             " " + c.wearer_password + "\n" + kGuardianId + " " + c.guardian_password + "\n";
    const std::string tmp = path.string() + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Status::Error(ErrorCode::kUnavailable, "cannot create " + tmp + ": " + std::strerror(errno));
    ::fchmod(fd, 0600);  // whatever the umask, and an older .tmp's mode
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const bool closed = ::close(fd) == 0;
    if (!written || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
        return Status::Error(ErrorCode::kUnavailable, "cannot write " + path.string() + ": " + std::strerror(errno));
    }
    return c;
}

std::string LoginBanner(const DemoCredentials& c, uint16_t port) {
    return std::string("Demo: log in as wearer ") + kWearerId + " / " + c.wearer_password + " and as guardian " +
           kGuardianId + " / " + c.guardian_password + " at http://localhost:" + std::to_string(port);
}

namespace {

struct Session {
    std::string cookie;
    std::string csrf;
    Headers headers() const { return {{"Cookie", "vg_session=" + cookie}, {"X-CSRF-Token", csrf}}; }
};

std::optional<json::value> ParseBody(const sim::HttpReply& r) {
    std::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec) return std::nullopt;
    return v;
}

Status Unexpected(const std::string& what, const sim::HttpReply& r) {
    return Status::Error(ErrorCode::kInternal,
                         what + " answered HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 300));
}

const json::object* ObjectAt(const json::value& v, std::string_view key) {
    if (!v.is_object()) return nullptr;
    const json::value* f = v.as_object().if_contains(key);
    return f && f->is_object() ? &f->as_object() : nullptr;
}

std::string StringAt(const json::object& o, std::string_view key) {
    const json::value* f = o.if_contains(key);
    return f && f->is_string() ? std::string(f->as_string()) : std::string();
}

int64_t IntAt(const json::object& o, std::string_view key) {
    const json::value* f = o.if_contains(key);
    return f && f->is_int64() ? f->as_int64() : -1;
}

// 401: the account does not exist (or has another password): nullopt.
Result<std::optional<Session>> Login(sim::HttpConnection& http, const std::string& id, const std::string& password) {
    auto r = http.Send("POST", "/api/login", json::serialize(json::object{{"id", id}, {"password", password}}));
    if (!r.ok()) return r.status();
    if (r->status == 401) return std::optional<Session>();
    if (r->status != 200) return Unexpected("login of " + id, *r);
    Session s;
    for (const std::string& sc : r->set_cookies) {
        if (auto v = sim::wire::CookieFromSetCookie(sc, "vg_session")) s.cookie = *v;
    }
    if (auto body = ParseBody(*r); body && body->is_object()) s.csrf = StringAt(body->as_object(), "csrf_token");
    if (s.cookie.empty() || s.csrf.empty()) return Unexpected("login of " + id + " (no cookie or CSRF token)", *r);
    return std::optional<Session>(s);
}

// Logs in, signing up first when the account does not exist yet.
Result<Session> EnsureAccount(sim::HttpConnection& http, const std::string& id, const std::string& password,
                              const std::string& name, int age, const std::string& phone) {
    auto logged = Login(http, id, password);
    if (!logged.ok()) return logged.status();
    if (*logged) return **logged;
    json::object body{{"id", id},   {"password", password},      {"name", name},
                      {"age", age}, {"address", "Seoul (demo)"}, {"phone_num", phone}};
    auto r = http.Send("POST", "/api/signup", json::serialize(body));
    if (!r.ok()) return r.status();
    if (r->status == 409) {
        return Status::Error(ErrorCode::kConflict,
                             "the demo account " + id +
                                 " exists but its password is not the one in demo-credentials; use a fresh "
                                 "--data-dir for the demo, or reset it with `vitalguard user`");
    }
    if (r->status != 201) return Unexpected("sign-up of " + id, *r);
    logged = Login(http, id, password);
    if (!logged.ok()) return logged.status();
    if (!*logged) return Status::Error(ErrorCode::kInternal, "cannot log in as " + id + " right after signing up");
    return **logged;
}

// The link wearer → guardian, accepted; asked for when missing. The link is looked up from the guardian's side
// (its "wearers"), since an invitation's answer need not say whether the id exists.
Status EnsureGuardianLink(sim::HttpConnection& wearer_http, const Session& wearer, sim::HttpConnection& guardian_http,
                          const Session& guardian) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto r = guardian_http.Send("GET", "/api/guardians", "", guardian.headers());
        if (!r.ok()) return r.status();
        if (r->status != 200) return Unexpected("GET /api/guardians", *r);
        auto body = ParseBody(*r);
        int64_t link_id = -1;
        std::string state, requested_by;
        if (body && body->is_object()) {
            if (const json::value* links = body->as_object().if_contains("wearers"); links && links->is_array()) {
                for (const json::value& l : links->as_array()) {
                    const json::object* w = ObjectAt(l, "wearer");
                    if (!w || StringAt(*w, "id") != kWearerId) continue;
                    link_id = IntAt(l.as_object(), "id");
                    state = StringAt(l.as_object(), "state");
                    requested_by = StringAt(l.as_object(), "requested_by");
                }
            }
        }
        if (state == "active") return Status::Ok();
        if (link_id >= 0) {
            // Only the side that did not ask accepts.
            const bool guardian_accepts = requested_by != "guardian";
            sim::HttpConnection& http = guardian_accepts ? guardian_http : wearer_http;
            const Session& who = guardian_accepts ? guardian : wearer;
            r = http.Send("POST", "/api/guardians/" + std::to_string(link_id) + "/accept", "{}", who.headers());
            if (!r.ok()) return r.status();
            if (r->status != 200) return Unexpected("accepting the guardian link", *r);
            return Status::Ok();
        }
        r = wearer_http.Send("POST", "/api/guardians", json::serialize(json::object{{"guardian_id", kGuardianId}}),
                             wearer.headers());
        if (!r.ok()) return r.status();
        if (r->status != 201 && r->status != 202) return Unexpected("the guardian invitation", *r);
    }
    return Status::Error(ErrorCode::kInternal, "the guardian invitation did not reach demo_guardian");
}

constexpr const char* kWatchName = "VitalGuard demo watch";

// A fresh device token for the demo watch; the previous start's demo watch is unpaired first, so restarts
// do not pile up devices (the token is shown once and not stored).
Result<std::string> PairWatch(sim::HttpConnection& http, const Session& wearer) {
    auto r = http.Send("GET", "/api/devices", "", wearer.headers());
    if (!r.ok()) return r.status();
    if (r->status != 200) return Unexpected("GET /api/devices", *r);
    if (auto body = ParseBody(*r); body && body->is_object()) {
        if (const json::value* devices = body->as_object().if_contains("devices"); devices && devices->is_array()) {
            for (const json::value& d : devices->as_array()) {
                if (!d.is_object() || StringAt(d.as_object(), "name") != kWatchName) continue;
                const json::value* active = d.as_object().if_contains("active");
                if (!active || !active->is_bool() || !active->as_bool()) continue;
                const json::value* id = d.as_object().if_contains("device_id");
                std::string device_id = id && id->is_string()  ? std::string(id->as_string())
                                        : id && id->is_int64() ? std::to_string(id->as_int64())
                                                               : std::string();
                if (!device_id.empty()) (void)http.Send("DELETE", "/api/devices/" + device_id, "", wearer.headers());
            }
        }
    }
    r = http.Send("POST", "/api/devices", json::serialize(json::object{{"name", kWatchName}}), wearer.headers());
    if (!r.ok()) return r.status();
    if (r->status != 201) return Unexpected("pairing the demo watch", *r);
    auto body = ParseBody(*r);
    std::string token = body && body->is_object() ? StringAt(body->as_object(), "device_token") : "";
    if (token.empty()) return Unexpected("pairing the demo watch (no token)", *r);
    return token;
}

// The fall replayed in every loop: a real fall trial of WEDA-FALL (worn on the wrist, like the watch) or,
// failing that, SisFall (waist), cut to the window before the impact onwards plus a short lying-still tail.
Result<sim::ImuEventPlan> LoadFall(const std::string& data_dir) {
    sim::ImuSpec spec;
    spec.data_dir = data_dir;
    spec.split = sim::ImuSplit::kTest;  // people the shipped posture model has not seen
    std::string why;
    for (sim::ImuDataset dataset : {sim::ImuDataset::kWedaFall, sim::ImuDataset::kSisFall}) {
        spec.datasets = {dataset};
        auto catalog = sim::LoadImuCatalog(spec);
        if (!catalog.ok()) {
            why += std::string(sim::ImuDatasetName(dataset)) + ": " + catalog.status().message() + "; ";
            continue;
        }
        for (const sim::ImuTrialRef& ref : catalog->falls) {
            auto track = sim::LoadReplayTrack(ref.info, std::chrono::milliseconds(7'680));
            if (!track.ok() || !track->impact) continue;
            const auto impact_window = static_cast<size_t>(*track->impact / sim::kReplayWindowLength);
            const size_t first = impact_window > 1 ? impact_window - 1 : 0;
            sim::ImuEventPlan plan;
            plan.kind = sim::ImuKind::kFall;
            plan.dataset = dataset;
            plan.placement = ref.placement;
            plan.gravity_removed = ref.info.gravity_removed;
            plan.subject = ref.info.subject;
            plan.activity = ref.info.activity_code;
            plan.activity_name = ref.info.activity_name;
            plan.file = ref.info.path.filename().string();
            plan.windows.assign(track->windows.begin() + static_cast<std::ptrdiff_t>(first), track->windows.end());
            plan.impact = *track->impact - sim::kReplayWindowLength * static_cast<int64_t>(first);
            return plan;
        }
        why += std::string(sim::ImuDatasetName(dataset)) + ": no replayable fall trial in the test split; ";
    }
    return Status::Error(ErrorCode::kNotFound, why);
}

enum class Phase { kNormal, kExercise, kFall, kLowSpo2 };

const char* PhaseName(Phase p) {
    switch (p) {
        case Phase::kNormal:
            return "a normal morning";
        case Phase::kExercise:
            return "an exercise bout";
        case Phase::kFall:
            return "a fall";
        case Phase::kLowSpo2:
            return "low SpO2";
    }
    return "";
}

// 0 → 1 over the first `ramp` of the phase, 1 → 0 over its last `ramp`.
double Envelope(double progress, double ramp) {
    return std::clamp(std::min(progress / ramp, (1.0 - progress) / ramp), 0.0, 1.0);
}

}  // namespace

struct DemoRunner::Impl {
    DemoOptions options;
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;  // GUARDED_BY(mu)
    std::thread thread;

    explicit Impl(DemoOptions o) : options(std::move(o)) {}

    // false when stopped.
    bool SleepFor(std::chrono::milliseconds d) {
        std::unique_lock lock(mu);
        return !cv.wait_for(lock, d, [this] { return stop; });
    }

    void Run();
};

DemoRunner::DemoRunner(DemoOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    impl_->thread = std::thread([this] { impl_->Run(); });
}

DemoRunner::~DemoRunner() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->stop = true;
    }
    impl_->cv.notify_all();
    impl_->thread.join();
}

void DemoRunner::Impl::Run() {
    const sim::ServerAddress server{options.host, options.port};
    const std::chrono::milliseconds timeout(10'000);
    sim::HttpConnection watch(server, timeout), wearer_http(server, timeout), guardian_http(server, timeout);

    auto credentials = LoadOrCreateCredentials(options.data_dir);
    if (!credentials.ok()) {
        spdlog::error("demo: {}; the demo does not run", credentials.status().message());
        return;
    }
    auto wearer = EnsureAccount(wearer_http, kWearerId, credentials->wearer_password, "데모 착용자 Demo Wearer", 78,
                                "010-0000-0001");
    auto guardian = wearer.ok() ? EnsureAccount(guardian_http, kGuardianId, credentials->guardian_password,
                                                "데모 보호자 Demo Guardian", 49, "010-0000-0002")
                                : Result<Session>(wearer.status());
    Status linked =
        guardian.ok() ? EnsureGuardianLink(wearer_http, *wearer, guardian_http, *guardian) : guardian.status();
    auto token = linked.ok() ? PairWatch(wearer_http, *wearer) : Result<std::string>(linked);
    if (!token.ok()) {
        spdlog::error("demo: setting up the demo accounts failed: {}; the demo does not run", token.status().message());
        return;
    }
    const std::string line = LoginBanner(*credentials, options.port);
    if (options.announce) {
        options.announce(line);
    } else {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
    }
    spdlog::info("demo: {} (passwords kept in {})", line, (fs::path(options.data_dir) / kCredentialsFile).string());

    std::optional<sim::ImuEventPlan> fall;
    if (options.imu_data_dir.empty() || !fs::is_directory(options.imu_data_dir)) {
        spdlog::warn("demo: the IMU data folder {} is absent: the demo skips the fall (see docs/demo.md)",
                     options.imu_data_dir.empty() ? std::string("(none given)") : options.imu_data_dir);
    } else if (auto loaded = LoadFall(options.imu_data_dir); !loaded.ok()) {
        spdlog::warn("demo: no fall trial in {} ({}): the demo skips the fall", options.imu_data_dir,
                     loaded.status().message());
    } else {
        fall = std::move(loaded).value();
        spdlog::info("demo: the fall is {} {} {} ({}, {} windows)", sim::ImuDatasetName(fall->dataset), fall->subject,
                     fall->activity, fall->activity_name, fall->windows.size());
    }

    const Headers device = {{"Authorization", "Bearer " + *token}};
    std::mt19937 rng(20261206);
    std::normal_distribution<double> noise(0.0, 1.0);
    int64_t seq = 0;
    struct Seen {
        Phase opened_in;   // the phase during which it was seen first
        std::string kind;  // "fall", "vitals", "sos", ...
        std::optional<std::chrono::steady_clock::time_point> countdown_since;  // when its countdown was first seen
    };
    std::map<int64_t, Seen> seen;
    bool incident_open = false;  // at the last poll
    auto last_poll = std::chrono::steady_clock::time_point();

    // The simulated wearer: "I'm OK" to every countdown after ok_after (a countdown that starts again, as a danger
    // still there 10 min after an "I'm OK" does, is answered again); a fall incident is resolved right after (the
    // wearer got up). A vitals incident is left to the server's all clear: resolving it while the profile still holds
    // the danger (5 min after the value eased) would only open a new one.
    auto answer_incidents = [&](Phase phase, bool now_please) {
        const auto now = std::chrono::steady_clock::now();
        if (!now_please && now - last_poll < std::chrono::seconds(1)) return;
        last_poll = now;
        auto r = wearer_http.Send("GET", "/api/incidents?limit=10", "", wearer->headers());
        if (!r.ok() || r->status != 200) return;
        auto body = ParseBody(*r);
        const json::value* list = body && body->is_object() ? body->as_object().if_contains("incidents") : nullptr;
        if (!list || !list->is_array()) return;
        incident_open = false;
        for (const json::value& v : list->as_array()) {
            if (!v.is_object()) continue;
            const json::object& incident = v.as_object();
            const int64_t id = IntAt(incident, "id");
            if (id < 0 || !StringAt(incident, "closed_at").empty()) continue;
            incident_open = true;
            const std::string kind = StringAt(incident, "kind");
            auto [it, fresh] = seen.emplace(id, Seen{phase, kind, std::nullopt});
            if (fresh) spdlog::info("demo: incident {} ({}) opened during {}", id, kind, PhaseName(phase));
            const std::string path = "/api/incidents/" + std::to_string(id);
            if (StringAt(incident, "phase") == "countdown") {
                if (!it->second.countdown_since) it->second.countdown_since = now;
                if (now - *it->second.countdown_since >= options.ok_after) {
                    (void)wearer_http.Send("POST", path + "/ok", "{}", wearer->headers());
                    spdlog::info("demo: the demo wearer answered \"I'm OK\" to incident {}", id);
                    it->second.countdown_since.reset();
                }
                continue;
            }
            it->second.countdown_since.reset();
            if (kind == "fall" && !StringAt(incident, "wearer_ok_at").empty()) {
                (void)wearer_http.Send("POST", path + "/resolve", "{}", wearer->headers());
                spdlog::info("demo: the demo wearer resolved incident {}", id);
            }
        }
    };

    const auto quarter = options.cycle / 4;
    // Has a fall incident newer than since_id been seen?
    auto fall_seen_since = [&](int64_t since_id) {
        for (const auto& [id, s] : seen)
            if (id > since_id && s.kind == "fall") return true;
        return false;
    };
    for (int loop = 1;; ++loop) {
        constexpr std::array<Phase, 4> kPlan = {Phase::kNormal, Phase::kExercise, Phase::kFall, Phase::kLowSpo2};
        bool fall_retried = false;
        for (size_t step = 0; step < kPlan.size(); ++step) {
            const Phase planned = kPlan[step];
            Phase phase = planned;
            answer_incidents(phase, /*now_please=*/true);
            if ((planned == Phase::kFall || planned == Phase::kLowSpo2) && incident_open) {
                // One episode at a time: a fall during an open incident would join it instead of opening its own.
                spdlog::info(
                    "demo: loop {}: {} waits until the open incident closes (the server holds a danger "
                    "alert until the value has been out of its range for 5 min)",
                    loop, PhaseName(planned));
                phase = Phase::kNormal;
            }
            std::chrono::milliseconds length = quarter;
            if (phase == Phase::kFall && fall)
                length = std::max<std::chrono::milliseconds>(quarter, fall->end() + std::chrono::seconds(2));
            if (phase == Phase::kFall && !fall) spdlog::info("demo: loop {}: no IMU data, no fall", loop);
            spdlog::info("demo: loop {}: {}", loop, PhaseName(phase));
            const auto start = std::chrono::steady_clock::now();
            const auto start_wall = std::chrono::time_point_cast<Milliseconds>(std::chrono::system_clock::now());
            const int64_t last_seen_id = seen.empty() ? 0 : seen.rbegin()->first;
            size_t next_window = 0;
            for (auto next_reading = start;;) {
                const auto now = std::chrono::steady_clock::now();
                const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
                // The fall phase also waits (a little) for its incident's "I'm OK" and resolve, so that the next
                // episode opens an incident of its own.
                if (elapsed >= length && !(phase == Phase::kFall && incident_open &&
                                           elapsed < length + options.ok_after + std::chrono::seconds(5)))
                    break;
                const double p = static_cast<double>(elapsed.count()) / static_cast<double>(length.count());
                if (now >= next_reading) {
                    next_reading += options.reading_every;
                    double hr = 72 + 2 * noise(rng), rr = 15 + 0.7 * noise(rng), spo2 = 97 + 0.5 * noise(rng);
                    double skin = 33.4 + 0.05 * noise(rng), steps = std::max(0.0, 4 + 4 * noise(rng)), kcal = 1.2;
                    if (phase == Phase::kExercise) {
                        // Brisk walking: heart rate up with the steps, below the levels that alarm anyone walking.
                        const double e = Envelope(p, 0.3);
                        hr += 30 * e, rr += 3 * e, steps = 118 + 4 * noise(rng), kcal = 5.5;
                    } else if (phase == Phase::kLowSpo2) {
                        const double e = Envelope(p, 0.15);
                        spo2 -= 10 * e, hr += 12 * e, rr += 4 * e, steps = 0;
                    } else if (phase == Phase::kFall) {
                        hr += 6, steps = 0;
                    }
                    sim::SimReading reading;
                    reading.seq = ++seq;
                    reading.reading.measured_at =
                        std::chrono::time_point_cast<Milliseconds>(std::chrono::system_clock::now());
                    reading.reading.set(domain::Metric::kHeartRate, std::round(hr));
                    reading.reading.set(domain::Metric::kRespirationRate, std::round(rr));
                    reading.reading.set(domain::Metric::kSpo2, std::round(std::min(100.0, spo2)));
                    reading.reading.set(domain::Metric::kSkinTemp, std::round(skin * 100) / 100);
                    reading.reading.set(domain::Metric::kSteps, std::round(steps));
                    reading.reading.set(domain::Metric::kCalories, kcal);
                    auto r =
                        watch.Send("POST", "/api/devices/readings",
                                   sim::wire::ReadingsBatchJson(std::span<const sim::SimReading>(&reading, 1)), device);
                    if (!r.ok() || r->status != 200) {
                        spdlog::warn(
                            "demo: a reading was not taken: {}",
                            r.ok() ? std::to_string(r->status) + " " + r->body.substr(0, 200) : r.status().message());
                    }
                }
                // The fall's windows, each once its last sample's time has come, stamped with that time as a
                // watch stamps them from its own clock: a demo slowed down (a busy machine, a sanitizer build)
                // sends the late ones at once, and their times still are the trial's.
                while (phase == Phase::kFall && fall && next_window < fall->windows.size() &&
                       elapsed >= fall->WindowEnd(next_window) + sim::kReplaySamplePeriod) {
                    sim::wire::PostureWindowRef ref{&*fall, next_window, start_wall + fall->WindowEnd(next_window)};
                    auto r = watch.Send(
                        "POST", "/api/devices/posture",
                        sim::wire::PostureBatchJson(std::span<const sim::wire::PostureWindowRef>(&ref, 1)), device);
                    if (!r.ok() || r->status != 200) {
                        spdlog::warn(
                            "demo: an IMU window was not taken: {}",
                            r.ok() ? std::to_string(r->status) + " " + r->body.substr(0, 200) : r.status().message());
                    }
                    ++next_window;
                }
                answer_incidents(phase, /*now_please=*/false);
                if (!SleepFor(std::chrono::milliseconds(100))) return;
            }
            if (phase == Phase::kFall && fall && !fall_seen_since(last_seen_id) && !fall_retried) {
                // The fall opened no incident (a window lost, the model not sure of this replay): once more
                // before the low-SpO2 episode, whose incident the server holds for minutes after.
                answer_incidents(phase, /*now_please=*/true);
                if (!fall_seen_since(last_seen_id)) {
                    spdlog::warn("demo: loop {}: the fall opened no incident; it is replayed once more", loop);
                    fall_retried = true;
                    --step;
                }
            }
        }
    }
}

}  // namespace vg::demo
