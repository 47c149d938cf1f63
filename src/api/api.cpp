#include "api_impl.hpp"

namespace vg::api {

void Api::Impl::AddRoutes() {
    auto bind = [this](http::Response (Impl::*fn)(RequestContext&)) {
        return [this, fn](RequestContext& ctx) { return (this->*fn)(ctx); };
    };
    router_.Add("POST", "/api/signup", Access::kPublic, bind(&Impl::Signup));
    router_.Add("GET", "/api/check_id", Access::kPublic, bind(&Impl::CheckId));
    router_.Add("POST", "/api/login", Access::kPublic, bind(&Impl::Login));
    router_.Add("POST", "/api/logout", Access::kSession, bind(&Impl::Logout));
    router_.Add("GET", "/api/me", Access::kSession, bind(&Impl::Me));
    router_.Add("POST", "/api/devices", Access::kSession, bind(&Impl::PairDevice));
    router_.Add("GET", "/api/devices", Access::kSession, bind(&Impl::ListDevices));
    router_.Add("DELETE", "/api/devices/{device_id}", Access::kSession, bind(&Impl::RevokeDevice));
    router_.Add("POST", "/api/update_status", Access::kSessionOrDevice, bind(&Impl::UpdateStatus));
    router_.Add("GET", "/api/get_status", Access::kSession, bind(&Impl::GetStatus));
    router_.Add("POST", "/api/devices/readings", Access::kDevice, bind(&Impl::IngestBatch));
    router_.Add("GET", "/api/vitals", Access::kSession, bind(&Impl::RecentVitals));
    router_.Add("GET", "/api/rule_profiles", Access::kPublic, bind(&Impl::ListRuleProfiles));
    router_.Add("PUT", "/api/me/rule_profile", Access::kSession, bind(&Impl::SetRuleProfile));
    router_.Add("POST", "/api/update_posture", Access::kSessionOrDevice, bind(&Impl::UpdatePosture));
    router_.Add("GET", "/api/get_posture", Access::kSession, bind(&Impl::GetPosture));
    router_.Add("POST", "/api/devices/posture", Access::kDevice, bind(&Impl::PostureBatch));
    router_.Add("GET", "/api/incidents", Access::kSession, bind(&Impl::ListIncidents));
    router_.Add("GET", "/api/incidents/{incident_id}", Access::kSession, bind(&Impl::GetIncident));
    router_.Add("POST", "/api/incidents/{incident_id}/ok", Access::kSession, bind(&Impl::IncidentOk));
    router_.Add("POST", "/api/incidents/{incident_id}/ack", Access::kSession, bind(&Impl::IncidentAck));
    router_.Add("POST", "/api/incidents/{incident_id}/snooze", Access::kSession, bind(&Impl::IncidentSnooze));
    router_.Add("POST", "/api/incidents/{incident_id}/resolve", Access::kSession, bind(&Impl::IncidentResolve));
    router_.Add("POST", "/api/emergency_call", Access::kSessionOrDevice, bind(&Impl::EmergencyCall));
    router_.Add("POST", "/api/predict_model2", Access::kSessionOrDevice, bind(&Impl::PredictModel2));
    router_.Add("GET", "/api/guardians", Access::kSession, bind(&Impl::ListGuardians));
    router_.Add("POST", "/api/guardians", Access::kSession, bind(&Impl::RequestGuardianLink));
    router_.Add("POST", "/api/guardians/{link_id}/accept", Access::kSession, bind(&Impl::AcceptGuardianLink));
    router_.Add("DELETE", "/api/guardians/{link_id}", Access::kSession, bind(&Impl::EndGuardianLink));
    router_.Add("GET", "/healthz", Access::kPublic, bind(&Impl::Healthz));
    router_.Add("GET", "/readyz", Access::kPublic, bind(&Impl::Readyz));
    router_.Add("GET", "/metrics", Access::kPublic, bind(&Impl::Metrics));
}

http::Response Api::Impl::Healthz(RequestContext&) {
    return JsonResponse(200, json::object{{"status", "ok"}, {"version", options_.version}});
}

http::Response Api::Impl::Readyz(RequestContext&) {
    if (api_.draining_.load()) {
        return ErrorResponse(Status::Error(ErrorCode::kUnavailable, "VitalGuard is shutting down.").WithRetryAfter(5));
    }
    Status store = store_.CheckHealth();
    if (!store.ok()) {
        Status s = Status::Error(ErrorCode::kUnavailable, "The database is not ready: " + store.message());
        s.WithRetryAfter(5);
        return ErrorResponse(s);
    }
    return JsonResponse(200, json::object{{"status", "ready"}, {"store", "ok"}});
}

http::Response Api::Impl::Metrics(RequestContext&) {
    http::Response r;
    r.status = 200;
    r.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = prometheus::TextSerializer().Serialize(registry_->Collect());
    return r;
}

Api::Api(ApiServices services, ApiOptions options)
    : impl_(std::make_unique<Impl>(*this, std::move(services), std::move(options))) {}

http::WebSocketDecision Api::UpgradeWebSocket(const http::Request& request) { return impl_->UpgradeWebSocket(request); }

Api::~Api() = default;

http::Response Api::Handle(const http::Request& request) { return impl_->Handle(request); }

prometheus::Registry& Api::metrics_registry() { return impl_->registry(); }

}  // namespace vg::api
