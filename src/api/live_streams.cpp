// The live stream (GET /api/stream): the WebSocket upgrade, the streams' registry and sweeper, and the
// ending of streams whose session or guardian link ended.
#include "live_streams.hpp"

#include "vg/auth/crypto.hpp"

namespace vg::api {
namespace {

// A LiveHub subscriber that forwards to a WebSocket without keeping it alive.
class WebSocketSubscriber final : public live::LiveSubscriber {
  public:
    explicit WebSocketSubscriber(std::weak_ptr<http::WebSocketConnection> connection)
        : connection_(std::move(connection)) {}
    bool Deliver(const std::string& message) override {
        auto c = connection_.lock();
        return c && c->SendText(message);
    }

  private:
    std::weak_ptr<http::WebSocketConnection> connection_;
};

}  // namespace

LiveStreams::LiveStreams(auth::AccountService& accounts, store::AccountStore& store, const Clock& clock,
                         live::LiveHub* live, WearerAccess& access, int max_streams_per_user)
    : accounts_(accounts),
      store_(store),
      clock_(clock),
      live_(live),
      access_(access),
      streams_(static_cast<size_t>(std::max(1, max_streams_per_user))) {
    if (live_ != nullptr) {
        stream_sweeper_ = std::make_unique<StreamSweeper>(std::chrono::milliseconds(250), [this] { SweepStreams(); });
    }
}

Status LiveStreams::Upgrade(const http::Request& request, const std::string& client_address,
                            http::WebSocketDecision& decision) {
    if (!live_) return Unavailable("The live stream");
    const std::string session_token = CookieValue(request, kSessionCookie);
    auto auth = accounts_.Authenticate(session_token);
    if (!auth.ok()) return auth.status();
    const int64_t viewer = auth->user.unique_num;
    int64_t wearer = auth->user.unique_num;
    std::string wearer_id = auth->user.profile.id;
    int level = auth->user.danger_degree;
    if (const std::string* requested = request.query_param("wearer"); requested && *requested != wearer_id) {
        // A guardian watching a linked wearer: the same check (and audit) as every other read.
        RequestContext ctx{request, client_address, {}, *auth, {}, std::nullopt};
        auto target = access_.TargetWearer(ctx, "GET /api/stream");
        if (!target.ok()) return target.status();
        auto user = store_.FindUserByUniqueNum(*target);
        if (!user.ok()) return user.status();
        wearer = user->unique_num;
        wearer_id = user->profile.id;
        level = user->danger_degree;
    }
    // A place among the user's streams, held by the callbacks below: given back when the connection's
    // callbacks go, however it ended. The stream ends with its session (Logout, SweepStreams).
    const TimePoint session_ends_at =
        std::min(auth->session.expires_at, auth->session.last_seen_at + accounts_.options().idle_timeout);
    std::shared_ptr<live::StreamSlot> slot = streams_.Reserve(viewer, auth::HashToken(session_token), session_ends_at);
    if (!slot) {
        Status s = Status::Error(ErrorCode::kRateLimited,
                                 "You have " + std::to_string(streams_.max_per_user()) + " live views open (at most " +
                                     std::to_string(streams_.max_per_user()) +
                                     " per person, in all tabs and devices). Close one and try again.");
        s.WithRetryAfter(10);
        return s;
    }
    auto subscriber = std::make_shared<std::shared_ptr<WebSocketSubscriber>>();
    live::LiveHub* hub = live_;
    decision.callbacks.on_open = [this, hub, viewer, wearer, wearer_id, level, subscriber,
                                  slot](std::shared_ptr<http::WebSocketConnection> connection) {
        slot->Attach(
            [weak = std::weak_ptr<http::WebSocketConnection>(connection)](uint16_t code, const std::string& reason) {
                if (auto c = weak.lock()) c->Close(code, reason);
            });
        if (viewer != wearer) {
            std::lock_guard lock(guardian_streams_mu_);
            for (auto it = guardian_streams_.begin(); it != guardian_streams_.end();) {
                it = it->second.expired() ? guardian_streams_.erase(it) : std::next(it);  // tidy up closed ones
            }
            guardian_streams_.emplace(std::make_pair(viewer, wearer), connection);
        }
        connection->SendText(
            json::serialize(json::object{{"type", "hello"},
                                         {"wearer", wearer_id},
                                         {"status", level},
                                         {"level", domain::LevelName(static_cast<domain::Level>(level))}}));
        *subscriber = std::make_shared<WebSocketSubscriber>(connection);
        hub->Subscribe(wearer, *subscriber);
    };
    decision.callbacks.on_message = [](std::string) {};  // the stream is one-way; client messages are ignored
    decision.callbacks.on_close = [hub, wearer, subscriber, slot] {
        if (*subscriber) hub->Unsubscribe(wearer, subscriber->get());
    };
    spdlog::info("live stream opened for {}", wearer_id);
    return Status::Ok();
}

void LiveStreams::SweepStreams() {
    const TimePoint now = clock_.Now();
    streams_.Sweep(
        now, std::chrono::seconds(5),
        [&](const std::string& session_key) -> std::optional<TimePoint> {
            auto ends_at = accounts_.SessionEndsAt(session_key);
            if (ends_at.ok()) return *ends_at;
            if (ends_at.status().code() == ErrorCode::kUnauthenticated) return std::nullopt;
            return now + std::chrono::seconds(5);  // the store did not answer: look again later, keep the stream
        },
        "Your session has expired or ended. Please log in again.");
}

void LiveStreams::EndSessionStreams(const std::vector<std::string>& token_hashes, const std::string& reason) {
    for (const std::string& hash : token_hashes) streams_.EndSession(hash, reason);
}

void LiveStreams::CloseGuardianStreams(int64_t guardian, int64_t wearer) {
    std::vector<std::shared_ptr<http::WebSocketConnection>> open;
    {
        std::lock_guard lock(guardian_streams_mu_);
        auto [first, last] = guardian_streams_.equal_range({guardian, wearer});
        for (auto it = first; it != last; ++it) {
            if (auto c = it->second.lock()) open.push_back(std::move(c));
        }
        guardian_streams_.erase(first, last);
    }
    for (auto& c : open) c->Close();
}

}  // namespace vg::api
