#pragma once
// StreamRegistry: the live streams that are open, per user and per login session, so that a user's
// streams can be capped and a session's streams ended when the session ends (logout, expiry).
//
// A stream takes a place with Reserve before its connection exists (so that parallel opens cannot
// all pass the cap) and holds it through the returned StreamSlot: the place is given back when the
// last reference to the slot goes (the connection's callbacks are destroyed), whatever happened to the
// connection. Attach gives the slot its way to end the connection; a session ended between Reserve
// and Attach ends the stream at Attach.
// Sessions are opaque keys (a token hash); their end times are what the caller last learned.
// Sweep asks the caller about sessions that are due (their end time passed, or not checked for
// `recheck` time) and ends the streams of those that are over.
// Knows nothing of WebSockets or sessions' storage: ending is a callback (code, reason).
// Thread-safety: every method may be called from any thread. Callbacks that end streams run outside
// the registry's lock.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vg::live {

// The same type as vg::TimePoint (common/clock.hpp): wall-clock milliseconds.
using StreamTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;
// Ends a stream's connection with a close code and a reason.
using StreamEnder = std::function<void(uint16_t code, const std::string& reason)>;

class StreamRegistry;

// One stream's place. Destroying the last reference gives the place back.
class StreamSlot {
  public:
    ~StreamSlot();
    StreamSlot(const StreamSlot&) = delete;
    StreamSlot& operator=(const StreamSlot&) = delete;
    // The connection exists: how to end it. Ends it at once when its session has already ended.
    void Attach(StreamEnder ender);

  private:
    friend class StreamRegistry;
    StreamSlot(StreamRegistry& registry, uint64_t id) : registry_(registry), id_(id) {}
    StreamRegistry& registry_;
    const uint64_t id_;
};

class StreamRegistry {
  public:
    // Close code for a stream whose session ended (an application code, like HTTP 401).
    static constexpr uint16_t kSessionEnded = 4401;

    explicit StreamRegistry(size_t max_per_user);
    ~StreamRegistry();

    // A place for a stream of `user` opened with session `session_key`, which ends at `session_ends_at`
    // (as far as the caller knows). nullptr when the user already has max_per_user streams.
    std::shared_ptr<StreamSlot> Reserve(int64_t user, const std::string& session_key, StreamTime session_ends_at);

    // Ends every stream of the session with kSessionEnded and `reason`; returns how many were open.
    int EndSession(const std::string& session_key, const std::string& reason);

    // What the caller knows now of a session: its end time, or nullopt when it is over.
    using SessionCheck = std::function<std::optional<StreamTime>(const std::string& session_key)>;
    // Checks the sessions whose end time is <= now or that were last checked `recheck` ago or more,
    // one call of `check` per session (outside the lock), and ends the streams of those that are over
    // with `reason`. Returns how many streams it ended.
    int Sweep(StreamTime now, std::chrono::milliseconds recheck, const SessionCheck& check, const std::string& reason);

    size_t max_per_user() const { return max_per_user_; }
    size_t open_streams() const;
    size_t streams_of(int64_t user) const;

  private:
    friend class StreamSlot;
    struct Entry {
        int64_t user = 0;
        std::string session_key;
        StreamEnder ender;  // empty until Attach
        bool ended = false;
    };
    struct Session {
        StreamTime ends_at;
        StreamTime checked_at;
        int streams = 0;
    };
    void Release(uint64_t id);
    void Attach(uint64_t id, StreamEnder ender);
    // REQUIRES: mu_ held. Marks the session's streams ended and collects their enders.
    void CollectEnders(const std::string& session_key, std::vector<StreamEnder>& out);

    const size_t max_per_user_;
    mutable std::mutex mu_;
    uint64_t next_id_ = 1;                     // GUARDED_BY(mu_)
    std::map<uint64_t, Entry> streams_;        // GUARDED_BY(mu_)
    std::map<int64_t, size_t> per_user_;       // GUARDED_BY(mu_)
    std::map<std::string, Session> sessions_;  // GUARDED_BY(mu_); only sessions with open streams
};

}  // namespace vg::live
