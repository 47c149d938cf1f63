#pragma once
// Driver: runs a scenario against a live VitalGuard server over real HTTP and
// WebSocket, the way a fleet of watches and their owners' dashboards would.
//
// 1. Provisioning, over a few concurrent connections (sign-up and login cost
//    the server ~90 ms of Argon2id each): for every wearer, sign up, log in,
//    pair a watch (device token), select the group's rule profile, and open
//    the wearer's live stream (waits for its hello).
// 2. Streaming, over `connections` keep-alive connections, each wearer always
//    on the same one so that its readings arrive in order. Realtime: one
//    reading per wearer per interval, timestamped now. Max speed: a window of
//    the scenario's duration that ends before now and starts at its
//    start_time (local) is replayed as fast as the server accepts, in batches
//    of `batch` readings per request, all wearers advancing together through
//    simulated time. 429/503 answers are retried after Retry-After.
// 3. Draining: waits until every evaluated reading's detection has arrived on
//    the streams (or `drain` passes), then closes them.
//
// The result holds what the scorer needs: the labelled events (with knowable
// times) and every detection received, stamped with its arrival time.
// Thread-safety: RunSimulation may run concurrently with itself (nothing is
// shared); it blocks until the run ends. The progress callback is called from
// the calling thread.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/sim/physiology.hpp"
#include "vg/sim/scenario.hpp"
#include "vg/sim/scorer.hpp"

namespace vg::sim {

enum class Speed { kRealtime, kMax };

struct DriverOptions {
    std::string server;  // "http://127.0.0.1:8080"
    Speed speed = Speed::kMax;
    int connections = 4;            // ingest connections
    int provision_connections = 4;  // sign-up/login connections
    int batch = 60;                 // readings per request at max speed (1..1000)
    Milliseconds drain{30'000};     // longest wait for outstanding detections after the last reading
    Milliseconds timeout{30'000};   // per HTTP request / WebSocket handshake
    std::string id_prefix;          // wearer ids are <prefix><index>; empty: "sim" + 6 random hex + "-"
    // Called about once a second: stage ("provision", "stream", "drain"), work done, work total.
    std::function<void(std::string_view stage, int64_t done, int64_t total)> progress;
};

struct RunStats {
    int wearers = 0;
    TimePoint window_start;
    TimePoint window_end;
    int64_t readings_sent = 0;
    int64_t stored = 0;
    int64_t duplicates = 0;
    int64_t not_evaluated = 0;
    int64_t requests = 0;
    int64_t retries = 0;  // 429/503 answers retried
    int64_t hellos = 0;
    int64_t detections = 0;
    int64_t streams_lost = 0;
    bool drained = false;  // every evaluated reading's detection arrived
    double provision_s = 0;
    double stream_s = 0;
    double drain_s = 0;
    double readings_per_s = 0;  // readings_sent / stream_s
};

struct RunResult {
    FleetPlan fleet;
    std::vector<std::string> wearer_ids;  // by wearer index
    std::vector<LabelledEvent> events;
    std::vector<ObservedDetection> detections;
    RunStats stats;
};

// Where a max-speed run's window starts: at the scenario's start_time (local), the latest such
// moment that lets the window end at least a minute before `now`.
TimePoint MaxSpeedWindowStart(TimePoint now, const Scenario& scenario);

// kValidationFailed (field "server", "connections", "batch") for bad options; kUnavailable when the
// server cannot be reached or a stream cannot open; kInternal with the request and the server's answer
// when the server refuses something the simulator sends (that is a bug on one side or the other).
[[nodiscard]] Result<RunResult> RunSimulation(const Scenario& scenario, const DriverOptions& options);

}  // namespace vg::sim
