#pragma once
// LiveStreams: the live stream (GET /api/stream's WebSocket upgrade), the streams' registry and their
// sweeper, and the ending of streams whose session or guardian link ended (logout, ended sessions,
// a changed password, an ended guardian link). Given by reference to the groups that end streams.
// Thread-safety: all methods are called concurrently (HTTP lanes, io threads, the sweeper's thread);
// the registry and guardian_streams_ have their own locks.
// Ownership: borrows the account service, the store, the clock, the live hub and WearerAccess; they
// must outlive it. The sweeper's thread is stopped (StopSweeper, or the destructor) before anything
// it uses goes.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api_detail.hpp"
#include "vg/auth/account_service.hpp"
#include "vg/http/server.hpp"
#include "vg/live/live_hub.hpp"
#include "vg/live/stream_registry.hpp"
#include "wearer_access.hpp"

namespace vg::api {

// Runs `tick` every `interval` on a thread of its own until destroyed (the live streams' session
// sweeper). The destructor stops and joins the thread.
class StreamSweeper {
  public:
    StreamSweeper(std::chrono::milliseconds interval, std::function<void()> tick)
        : thread_([this, interval, tick = std::move(tick)] {
              std::unique_lock lock(mu_);
              while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
                  lock.unlock();
                  tick();
                  lock.lock();
              }
          }) {}
    ~StreamSweeper() {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    StreamSweeper(const StreamSweeper&) = delete;
    StreamSweeper& operator=(const StreamSweeper&) = delete;

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;   // GUARDED_BY(mu_)
    std::thread thread_;  // last: starts once the members above exist
};

class LiveStreams {
  public:
    // `max_streams_per_user`: ApiOptions::max_streams_per_user. The sweeper runs while `live` is set.
    LiveStreams(auth::AccountService& accounts, store::AccountStore& store, const Clock& clock, live::LiveHub* live,
                WearerAccess& access, int max_streams_per_user);
    ~LiveStreams() { StopSweeper(); }
    LiveStreams(const LiveStreams&) = delete;
    LiveStreams& operator=(const LiveStreams&) = delete;

    // GET /api/stream, once Api::Impl checked the path and the origin: the callbacks of the wearer's
    // live events in `decision`, or the error to refuse the upgrade with. `client_address`: the
    // request's (client_address.hpp), for the audit of a guardian's read.
    Status Upgrade(const http::Request& request, const std::string& client_address, http::WebSocketDecision& decision);
    // Closes the live streams of the session `token_hash` (code 4401, `reason`).
    void EndSession(const std::string& token_hash, const std::string& reason) {
        streams_.EndSession(token_hash, reason);
    }
    // Closes the live streams of sessions that ended (code 4401, `reason`).
    void EndSessionStreams(const std::vector<std::string>& token_hashes, const std::string& reason);
    // Closes the streams `guardian` opened on `wearer` (their link ended).
    void CloseGuardianStreams(int64_t guardian, int64_t wearer);
    // Stops and joins the sweeper's thread (Api::Impl's destructor, before the registry and the services go).
    void StopSweeper() { stream_sweeper_.reset(); }

  private:
    // Ends the live streams whose session has expired or was ended elsewhere (the sweeper's tick).
    void SweepStreams();

    auth::AccountService& accounts_;
    store::AccountStore& store_;
    const Clock& clock_;
    live::LiveHub* live_;
    WearerAccess& access_;
    // Live streams a guardian opened on a wearer, closed when their link ends (a guardian who is no
    // longer linked must not keep watching through a socket opened before).
    std::mutex guardian_streams_mu_;
    std::multimap<std::pair<int64_t, int64_t>, std::weak_ptr<http::WebSocketConnection>>
        guardian_streams_;  // GUARDED_BY(guardian_streams_mu_); (guardian, wearer)
    // Live streams per user and per session: capped, and ended when their session ends (Logout ends
    // them at once; the sweeper ends those whose session expired or was ended elsewhere).
    live::StreamRegistry streams_;
    std::unique_ptr<StreamSweeper> stream_sweeper_;  // while live_ is set; stopped before streams_ goes
};

}  // namespace vg::api
