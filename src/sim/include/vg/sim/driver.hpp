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
//    With an imu section, the replayed IMU events (imu_replay.hpp, planned and
//    loaded before provisioning, so that missing data fail fast) are posted
//    beside the readings on the same connection, each wearer's windows in time
//    order, in batches of imu.batch to POST /api/devices/posture: at max speed
//    in the same slices of simulated time as the readings, in realtime each
//    window once its last sample's time has come. At max speed, when an event
//    ends with a fall suspicion open, the wearer's next event waits (up to
//    40 s) until the server's silence rule has decided it, as the real gap
//    would have in realtime. Before streaming the
//    simulator asks GET /api/get_posture; a 503 there (no posture model) skips
//    the IMU part and the run reports "posture not available".
// 3. Draining: waits until every evaluated reading's detection has arrived on
//    the streams (or `drain` passes), and until no wearer has a fall suspicion
//    the server has not decided (its silence rule decides within 30 s), then
//    closes them.
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

struct ImuRunStats {
    bool requested = false;  // the scenario has an imu section
    bool available = true;   // false: the server has no posture model (503)
    std::string unavailable_reason;
    int events = 0;
    int64_t windows_sent = 0;
    int64_t requests = 0;
    int64_t retries = 0;       // 429/503 answers retried
    int64_t late_windows = 0;  // answered "late" (should be 0: each wearer's windows go in order)
    int64_t settle_waits = 0;  // max speed: waits for the server to decide a suspicion left open (below)
    int64_t posture_events = 0;
    int64_t open_suspicions_at_end = 0;
    double plan_s = 0;  // listing, loading and cutting the trials
    std::vector<std::string> warnings;
};

struct RunResult {
    FleetPlan fleet;
    std::vector<std::string> wearer_ids;  // by wearer index
    std::vector<LabelledEvent> events;
    std::vector<ObservedDetection> detections;
    RunStats stats;
    std::vector<ImuLabel> imu_events;  // the replayed IMU events, in simulated time
    std::vector<ObservedPosture> postures;
    std::vector<ObservedIncident> incidents;
    ImuRunStats imu;
};

// Where a max-speed run's window starts: at the scenario's start_time (local), the latest such
// moment that lets the window end at least a minute before `now`.
TimePoint MaxSpeedWindowStart(TimePoint now, const Scenario& scenario);

// kValidationFailed (field "server", "connections", "batch") for bad options, or (field "imu") when no
// IMU trial fits an event; kNotFound when the IMU data are missing; kUnavailable when the
// server cannot be reached or a stream cannot open; kInternal with the request and the server's answer
// when the server refuses something the simulator sends (that is a bug on one side or the other).
[[nodiscard]] Result<RunResult> RunSimulation(const Scenario& scenario, const DriverOptions& options);

}  // namespace vg::sim
