#pragma once
// LiveStreams (private to vg_sim): one WebSocket per simulated wearer on the
// server's live stream (GET /api/stream), all served by one I/O thread, which
// stamps each message with the wall-clock time it arrived and keeps the
// detections, posture events and incident events for scoring.
//
// Thread-safety: Open, counts and Close may be called from any thread; the
// sockets themselves are touched only by the I/O thread. TakeDetections only
// after Close.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_connection.hpp"
#include "vg/common/status.hpp"
#include "vg/sim/scorer.hpp"

namespace vg::sim {

struct LiveStreamsIo;  // the I/O context and its work guard (live_streams.cpp)

class LiveStreams {
  public:
    LiveStreams(ServerAddress server, int wearers, Milliseconds timeout);
    ~LiveStreams();  // closes everything still open
    LiveStreams(const LiveStreams&) = delete;
    LiveStreams& operator=(const LiveStreams&) = delete;

    // Opens wearer `index`'s stream with its session cookie and waits for the handshake (not for the
    // hello). kUnavailable / kUnauthenticated-like errors carry the server's answer.
    [[nodiscard]] Status Open(int index, const std::string& wearer_id, const std::string& session_cookie);

    // Reading-driven detections received so far for `index` (signal loss not counted).
    int64_t reading_detections(int index) const;
    int64_t detections() const { return detections_.load(std::memory_order_relaxed); }
    int64_t hellos() const { return hellos_.load(std::memory_order_relaxed); }
    // Streams the server closed or that failed while open.
    int64_t lost() const { return lost_.load(std::memory_order_relaxed); }

    // Wearers whose latest fall state on the stream is "suspected" (the server has not decided yet).
    int64_t open_suspicions() const { return open_suspicions_.load(std::memory_order_relaxed); }
    int64_t posture_events() const { return posture_events_.load(std::memory_order_relaxed); }
    // Fall decisions (confirmed or dismissed) received so far for `index`.
    int64_t fall_decisions(int index) const;

    // Closes every stream and stops the I/O thread. Idempotent.
    void Close();
    // Every detection received, each wearer's in arrival order. REQUIRES: Close() was called.
    std::vector<ObservedDetection> TakeDetections();
    // Every posture / incident event received, each wearer's in arrival order. REQUIRES: Close() was called.
    std::vector<ObservedPosture> TakePostures();
    std::vector<ObservedIncident> TakeIncidents();

  private:
    class Session;
    friend class Session;

    ServerAddress server_;
    Milliseconds timeout_;
    std::unique_ptr<LiveStreamsIo> io_;
    std::thread thread_;
    std::mutex sessions_mu_;
    std::vector<std::shared_ptr<Session>> sessions_;  // GUARDED_BY(sessions_mu_); by wearer index
    std::unique_ptr<std::atomic<int64_t>[]> per_wearer_;
    int wearers_;
    std::vector<ObservedDetection> received_;            // touched only by the I/O thread until Close()
    std::vector<ObservedPosture> postures_;              // likewise
    std::vector<ObservedIncident> incidents_;            // likewise
    std::vector<bool> suspected_;                        // likewise, by wearer
    std::unique_ptr<std::atomic<int64_t>[]> decisions_;  // by wearer
    std::atomic<int64_t> open_suspicions_{0};
    std::atomic<int64_t> posture_events_{0};
    std::atomic<int64_t> detections_{0};
    std::atomic<int64_t> hellos_{0};
    std::atomic<int64_t> lost_{0};
    std::atomic<bool> closing_{false};
    bool closed_ = false;
};

}  // namespace vg::sim
