#pragma once
// Api: VitalGuard's HTTP API as one http::Handler.
//
// Owns the routes (the seed's account API, devices, health and metrics), the
// security every request gets (authentication by session cookie, the CSRF
// token on state-changing requests, a same-origin check on state-changing
// requests that carry an Origin header, security headers, no caching), the
// per-route Prometheus metrics and the access log.
// Lanes: each route declares where the HTTP server runs it (LaneOf, for
// http::ServerOptions::classify): kInline for handlers that touch no database,
// kSlow for those that hash passwords, kWorker for the rest (commits and, as
// measured, database reads). Whatever the table says, Handle() running on
// kInline never writes: it answers http::Response::RunOnWorker() when the
// request needs a write (a session touch is due, a device is authenticated, a
// guardian's read is to be audit-logged); see src/api/README.md.
// Thread-safety: Handle() and LaneOf() are called concurrently, from io threads,
// the worker pool and the slow pool.
// Ownership: borrows the services and the store; they must outlive the Api.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vg/auth/account_service.hpp"
#include "vg/auth/rate_limits.hpp"
#include "vg/common/clock.hpp"
#include "vg/common/ip_range.hpp"
#include "vg/escalation/escalation_service.hpp"
#include "vg/guidance/async_rewriter.hpp"
#include "vg/guidance/knowledge_base.hpp"
#include "vg/http/server.hpp"
#include "vg/ingest/ingest_service.hpp"
#include "vg/live/live_hub.hpp"
#include "vg/models/status_model.hpp"
#include "vg/posture/posture_service.hpp"
#include "vg/rules/rules.hpp"
#include "vg/store/store.hpp"

namespace prometheus {
class Registry;
}

namespace vg::api {

struct ApiOptions {
    std::string version = "dev";
    // Adds "Secure" to cookies; set when clients reach the server over TLS (a reverse proxy).
    bool secure_cookies = false;
    // The operator's reverse proxies: X-Forwarded-For is believed only from a peer in one of these
    // ranges, and the client is its right-most entry that is not itself one of them (client_address.hpp).
    // Empty: the header is ignored and the peer is the client.
    std::vector<IpRange> trusted_proxies;
    // A bearer token GET /metrics requires (Authorization: Bearer <token>); empty: /metrics is public.
    std::string metrics_token;
    // Origins (e.g. "https://care.example.org") allowed to make state-changing requests besides the
    // server's own (the Host header).
    std::vector<std::string> allowed_origins;
    // Duplicate-id checks allowed per client address per minute (id enumeration guard).
    int check_id_per_minute = 60;
    // Live streams (/api/stream) one user may have open at once; the next is refused with 429.
    int max_streams_per_user = 8;
    // Guardian-link requests one account may send per hour (429 after that): each says nothing of
    // whether the id exists, but the asker's own list of requests does, so they are counted.
    int guardian_requests_per_hour = 20;
    // Trend queries (GET /api/vitals with from/to) one account may make per minute (429 after that): each
    // reads up to a range's worth of stored readings. A chart page makes one per range it shows.
    int trend_queries_per_minute = 30;
    // What one wearer's devices (and the wearer's own update_status/update_posture) may send: a day's
    // quota, refilled continuously, so a watch may upload in one burst what it kept while offline, up to
    // a day's worth. It bounds the database's growth and each wearer's share of ingest and detection
    // (issue 15, "device quotas"). A watch sending a reading a second uses 86,400 a day; continuous
    // 50 Hz IMU windows of 128 samples are 33,750. 0: no quota (load tests).
    int64_t readings_per_wearer_per_day = 500'000;
    int64_t windows_per_wearer_per_day = 100'000;
    // The built web dashboard (web/dist): served at / for GET and HEAD outside /api, with long-lived
    // caching for Vite's hashed /assets/ and a content security policy. Empty: no dashboard.
    std::string web_dir;
    // `serve --demo` (docs/demo.md): GET /healthz says "demo": true, and the dashboard shows its banner.
    bool demo = false;
};

// What the API calls into. The optional services switch on their routes (vitals ingest, live stream,
// rule profiles); without them those routes answer 503.
struct ApiServices {
    auth::AccountService& accounts;
    store::Store& store;
    const Clock& clock;
    ingest::IngestService* ingest = nullptr;
    live::LiveHub* live = nullptr;
    const rules::ProfileRegistry* profiles = nullptr;
    // Called after a wearer's rule profile changed, so detection forgets the old state.
    std::function<void(int64_t wearer)> on_rule_profile_changed;
    // Emergency response (incidents, SOS) and what-to-do guidance; routes answer 503 without them.
    escalation::EscalationService* escalation = nullptr;
    const guidance::KnowledgeBase* knowledge = nullptr;
    // Optional LLM rewrite of incident guidance (docs/guidance.md); without it, none is offered.
    guidance::AsyncRewriter* rewriter = nullptr;
    // The status and cause models for predict_model2 (docs/models.md); rules only without them.
    const models::StatusModel* status_model = nullptr;
    const models::StatusModel* cause_model = nullptr;
    // Posture and fall detection (docs/api.md, "Posture and falls"); its routes answer 503 without it.
    // The Api installs its Prometheus hooks on it (PostureService::SetMetrics) and removes them when
    // destroyed.
    posture::PostureService* posture = nullptr;
    // The registry /metrics serves, shared with the app's own metrics; null: the Api makes its own.
    std::shared_ptr<prometheus::Registry> metrics_registry;
    // Where the routes' limiters come from (check_id, guardian_request, sos_address, readings_quota,
    // windows_quota): shared by the api servers of a deployment (the app's Redis adapter); null:
    // auth::InProcessRateLimits(), this process's own counts.
    std::shared_ptr<auth::RateLimits> rate_limits;
};

class Api {
  public:
    Api(ApiServices services, ApiOptions options);
    Api(auth::AccountService& accounts, store::Store& store, const Clock& clock, ApiOptions options)
        : Api(ApiServices{accounts, store, clock, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                          nullptr, nullptr, nullptr, nullptr, nullptr},
              std::move(options)) {}
    ~Api();
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;

    http::Response Handle(const http::Request& request);
    // The lane of the route `request` is for: the route table's, kInline for a GET or HEAD outside
    // /api that matches no route (the dashboard's files, or a 404), kWorker for anything else that
    // matches no route. Cheap, never blocks, depends only on the method and the path.
    static http::Lane LaneOf(const http::Request& request);
    // Decides on a WebSocket upgrade: GET /api/stream with a session cookie subscribes to the
    // wearer's live events (see docs/api.md); anything else is refused with an error response.
    http::WebSocketDecision UpgradeWebSocket(const http::Request& request);

    // One route the Api answers: the route table's (method, pattern exactly as routed, e.g.
    // "/api/incidents/{incident_id}"), plus the live stream's WebSocket upgrade (websocket = true).
    struct RouteInfo {
        std::string_view method;
        std::string_view pattern;
        bool websocket = false;
    };
    // Every route, in table order; what docs/openapi.json must describe (openapi_test.cpp). Static
    // data: safe from any thread, the views live as long as the program.
    static std::vector<RouteInfo> RouteList();
    // The OpenAPI 3.1 document (docs/openapi.json) as it was when this program was built; served at
    // GET /api/openapi.json. Static data, valid for the program's lifetime.
    static std::string_view OpenApiDocument();

    // Marks the service as draining (shutdown): /readyz answers 503 from then on.
    void SetDraining() { draining_.store(true); }

    // The registry behind /metrics, for other modules to register their metrics in.
    prometheus::Registry& metrics_registry();

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
    std::atomic<bool> draining_{false};
};

}  // namespace vg::api
