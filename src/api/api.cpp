#include "api_impl.hpp"

namespace vg::api {

// Every route: method, pattern, who may call it, and its lane (src/api/README.md, "Lanes"):
//   kInline  handlers that touch no database: the handler runs on the io thread that read the
//            request (health, metrics, rule profile names; the dashboard's files in Api::LaneOf).
//   kSlow    password hashing (Argon2id, ~90 ms and 64 MiB each): a pool of its own.
//   kUrgent  what a life may hang on: a watch's readings and windows, the seed's update_status, an SOS,
//            and the answers to an incident ("I'm OK", a guardian's acknowledgement): a pool and a queue
//            of their own, so a flood of anything else (or a login storm) cannot delay them. Only a
//            request that carries a credential (a session cookie or a bearer token) gets in; the rest
//            of those routes' callers are refused on the worker lane (LaneOf), so a stranger cannot
//            fill the urgent lane. Each wearer's share of it is bounded by the device quotas.
//   Hot paths (HotPath, router.hpp): update_status with a credential runs on the io thread first
//            (kInlineFirst), authenticated from a copy of the session or device at most 1 s old, and
//            answers later from the verdict stage (http::Response::Later); without a fresh copy it moves
//            to its table lane. get_status authenticates from the same copies on its lane (kCachedAuth).
//   kWorker  everything that commits (status, ingest, SOS, incidents, ...), and the database reads
//            too: measured, get_status on the io threads was slower than on the workers and its p99
//            ten times worse (SQLite takes its locks per read transaction; README). Dispatch keeps a
//            session read declared kInline safe all the same: what would write goes to the workers.
std::span<const Api::Impl::RouteSpec> Api::Impl::RouteTable() {
    using L = http::Lane;
    constexpr HotPath kInlineFirst = HotPath::kInlineFirst;  // router.hpp
    constexpr HotPath kCachedAuth = HotPath::kCachedAuth;
    static const RouteSpec kRoutes[] = {
        {"POST", "/api/signup", Access::kPublic, L::kSlow, Handler<&Impl::account_routes_, &AccountRoutes::Signup>},
        {"GET", "/api/check_id", Access::kPublic, L::kWorker, Handler<&Impl::account_routes_, &AccountRoutes::CheckId>},
        {"POST", "/api/login", Access::kPublic, L::kSlow, Handler<&Impl::account_routes_, &AccountRoutes::Login>},
        {"POST", "/api/logout", Access::kSession, L::kWorker, Handler<&Impl::account_routes_, &AccountRoutes::Logout>},
        {"GET", "/api/me", Access::kSession, L::kWorker, Handler<&Impl::account_routes_, &AccountRoutes::Me>},
        {"POST", "/api/devices", Access::kSession, L::kWorker,
         Handler<&Impl::account_routes_, &AccountRoutes::PairDevice>},
        {"GET", "/api/devices", Access::kSession, L::kWorker,
         Handler<&Impl::account_routes_, &AccountRoutes::ListDevices>},
        {"DELETE", "/api/devices/{device_id}", Access::kSession, L::kWorker,
         Handler<&Impl::account_routes_, &AccountRoutes::RevokeDevice>},
        {"POST", "/api/update_status", Access::kSessionOrDevice, L::kUrgent,
         Handler<&Impl::vitals_routes_, &VitalsRoutes::UpdateStatus>, kInlineFirst},
        {"GET", "/api/get_status", Access::kSession, L::kWorker,
         Handler<&Impl::vitals_routes_, &VitalsRoutes::GetStatus>, kCachedAuth},
        {"POST", "/api/devices/readings", Access::kDevice, L::kUrgent,
         Handler<&Impl::vitals_routes_, &VitalsRoutes::IngestBatch>},
        {"GET", "/api/vitals", Access::kSession, L::kWorker,
         Handler<&Impl::vitals_routes_, &VitalsRoutes::RecentVitals>},
        {"GET", "/api/rule_profiles", Access::kPublic, L::kInline,
         Handler<&Impl::vitals_routes_, &VitalsRoutes::ListRuleProfiles>},
        {"PUT", "/api/me/rule_profile", Access::kSession, L::kWorker,
         Handler<&Impl::vitals_routes_, &VitalsRoutes::SetRuleProfile>},
        {"POST", "/api/update_posture", Access::kSessionOrDevice, L::kUrgent,
         Handler<&Impl::posture_routes_, &PostureRoutes::UpdatePosture>},
        {"GET", "/api/get_posture", Access::kSession, L::kWorker,
         Handler<&Impl::posture_routes_, &PostureRoutes::GetPosture>},
        {"POST", "/api/devices/posture", Access::kDevice, L::kUrgent,
         Handler<&Impl::posture_routes_, &PostureRoutes::PostureBatch>},
        {"GET", "/api/incidents", Access::kSession, L::kWorker,
         Handler<&Impl::incident_routes_, &IncidentRoutes::ListIncidents>},
        {"GET", "/api/incidents/{incident_id}", Access::kSession, L::kWorker,
         Handler<&Impl::incident_routes_, &IncidentRoutes::GetIncident>},
        {"POST", "/api/incidents/{incident_id}/ok", Access::kSession, L::kUrgent,
         Handler<&Impl::incident_routes_, &IncidentRoutes::IncidentOk>},
        {"POST", "/api/incidents/{incident_id}/ack", Access::kSession, L::kUrgent,
         Handler<&Impl::incident_routes_, &IncidentRoutes::IncidentAck>},
        {"POST", "/api/incidents/{incident_id}/snooze", Access::kSession, L::kUrgent,
         Handler<&Impl::incident_routes_, &IncidentRoutes::IncidentSnooze>},
        {"POST", "/api/incidents/{incident_id}/resolve", Access::kSession, L::kUrgent,
         Handler<&Impl::incident_routes_, &IncidentRoutes::IncidentResolve>},
        {"POST", "/api/emergency_call", Access::kSessionOrDevice, L::kUrgent,
         Handler<&Impl::incident_routes_, &IncidentRoutes::EmergencyCall>},
        {"POST", "/api/predict_model2", Access::kSessionOrDevice, L::kWorker,
         Handler<&Impl::incident_routes_, &IncidentRoutes::PredictModel2>},
        {"GET", "/api/guardians", Access::kSession, L::kWorker,
         Handler<&Impl::guardian_routes_, &GuardianRoutes::ListGuardians>},
        {"POST", "/api/guardians", Access::kSession, L::kWorker,
         Handler<&Impl::guardian_routes_, &GuardianRoutes::RequestGuardianLink>},
        {"POST", "/api/guardians/{link_id}/accept", Access::kSession, L::kWorker,
         Handler<&Impl::guardian_routes_, &GuardianRoutes::AcceptGuardianLink>},
        {"DELETE", "/api/guardians/{link_id}", Access::kSession, L::kWorker,
         Handler<&Impl::guardian_routes_, &GuardianRoutes::EndGuardianLink>},
        // Self-service (self_service_routes.cpp): re-authenticated changes hash a password, hence kSlow.
        {"PATCH", "/api/me", Access::kSession, L::kSlow,
         Handler<&Impl::self_service_routes_, &SelfServiceRoutes::UpdateMe>},
        {"POST", "/api/me/password", Access::kSession, L::kSlow,
         Handler<&Impl::self_service_routes_, &SelfServiceRoutes::ChangePassword>},
        {"POST", "/api/me/address/confirm", Access::kSession, L::kWorker,
         Handler<&Impl::self_service_routes_, &SelfServiceRoutes::ConfirmAddress>},
        {"GET", "/api/me/sessions", Access::kSession, L::kWorker,
         Handler<&Impl::self_service_routes_, &SelfServiceRoutes::ListSessions>},
        {"DELETE", "/api/me/sessions", Access::kSession, L::kWorker,
         Handler<&Impl::self_service_routes_, &SelfServiceRoutes::EndOtherSessions>},
        {"DELETE", "/api/me/sessions/{session_id}", Access::kSession, L::kWorker,
         Handler<&Impl::self_service_routes_, &SelfServiceRoutes::EndSession>},
        {"PUT", "/api/me/guard_email", Access::kSession, L::kSlow,
         Handler<&Impl::phone_routes_, &PhoneRoutes::SetGuardEmail>},  // re-auth: Argon2id
        {"POST", "/api/phone/verification", Access::kSession, L::kWorker,
         Handler<&Impl::phone_routes_, &PhoneRoutes::SendPhoneCode>},
        {"POST", "/api/phone/verification/confirm", Access::kSession, L::kWorker,
         Handler<&Impl::phone_routes_, &PhoneRoutes::ConfirmPhoneCode>},
        {"GET", "/healthz", Access::kPublic, L::kInline,
         Handler<&Impl::operations_routes_, &OperationsRoutes::Healthz>},
        {"GET", "/readyz", Access::kPublic, L::kWorker, Handler<&Impl::operations_routes_, &OperationsRoutes::Readyz>},
        {"GET", "/metrics", Access::kPublic, L::kInline,
         Handler<&Impl::operations_routes_, &OperationsRoutes::Metrics>},
        {"GET", "/api/openapi.json", Access::kPublic, L::kInline,
         Handler<&Impl::operations_routes_, &OperationsRoutes::OpenApi>},
    };
    return kRoutes;
}

void Api::Impl::AddRoutes() {
    for (const RouteSpec& spec : RouteTable()) {
        router_.Add(
            std::string(spec.method), std::string(spec.pattern), spec.access, spec.lane,
            [this, fn = spec.handler](RequestContext& ctx) { return fn(*this, ctx); }, spec.hot);
    }
}

const Router& Api::Impl::LaneRouter() {
    static const Router router = [] {
        Router r;
        for (const RouteSpec& spec : RouteTable()) {
            r.Add(std::string(spec.method), std::string(spec.pattern), spec.access, spec.lane, nullptr, spec.hot);
        }
        return r;
    }();
    return router;
}

http::WebSocketDecision Api::Impl::UpgradeWebSocket(const http::Request& request) {
    http::WebSocketDecision decision;
    auto refuse = [&](const Status& s) {
        http::Response r = ErrorResponse(s);
        ApplyCommonHeaders(r);
        decision.refusal = std::move(r);
        return decision;
    };
    if (Router::Split(request.path) != std::vector<std::string_view>{"api", "stream"}) {
        return refuse(Status::Error(ErrorCode::kNotFound, "There is no live stream at " + request.path));
    }
    // Browsers send Origin on WebSocket handshakes; refusing foreign origins stops another site from
    // opening the stream with the wearer's cookie (cross-site WebSocket hijacking).
    if (Status s = CheckOrigin(request); !s.ok()) return refuse(s);
    if (Status s = live_streams_.Upgrade(request, ClientAddress(request), decision); !s.ok()) return refuse(s);
    return decision;
}

Api::Api(ApiServices services, ApiOptions options)
    : impl_(std::make_unique<Impl>(*this, std::move(services), std::move(options))) {}

http::WebSocketDecision Api::UpgradeWebSocket(const http::Request& request) { return impl_->UpgradeWebSocket(request); }

Api::~Api() = default;

http::Response Api::Handle(const http::Request& request) { return impl_->Handle(request); }

namespace {

// Whether the request carries something that may be a session cookie or a device token (not checked:
// the classifier runs on an io thread and must not touch the database; the handler authenticates).
bool CarriesCredential(const http::Request& request) {
    return !request.header("authorization").empty() || !CookieValue(request, kSessionCookie).empty();
}

}  // namespace

http::Lane Api::LaneOf(const http::Request& request) {
    const Router::Match match = Impl::LaneRouter().Find(request.method, request.path);
    if (match.route != nullptr) {
        const bool credential = CarriesCredential(request);
        if (match.route->lane == http::Lane::kUrgent && !credential) return http::Lane::kWorker;
        if (match.route->hot == HotPath::kInlineFirst && credential) return http::Lane::kInline;
        return match.route->lane;
    }
    // No route: the dashboard's files (or a 404) are read from the page cache on the io thread,
    // like any web server's; the rest (a 404 or 405 under /api) is not worth a special case.
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (get && match.allowed_methods.empty() && !Impl::IsApiPath(request.path)) return http::Lane::kInline;
    return http::Lane::kWorker;
}

prometheus::Registry& Api::metrics_registry() { return impl_->registry(); }

}  // namespace vg::api
