#pragma once
// IncidentRoutes: emergency response (the seed's 3.1.3 and 6): incidents, "I'm OK", acknowledgement,
// snooze, resolve, SOS (emergency_call) and predict_model2 (incident_routes.cpp).
// Thread-safety: handlers are called concurrently from the HTTP lanes; the SOS address limiter and the
// Prometheus counters are thread-safe.
// Ownership: borrows the store, the clock, the escalation service, the knowledge base, the rewriter,
// the rule profiles, the models, WearerAccess and the metrics registry, which must outlive it; owns
// the SOS address limiter (made by the RateLimits, "sos_address").

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "api_detail.hpp"
#include "vg/auth/rate_limiter.hpp"
#include "vg/auth/rate_limits.hpp"
#include "vg/escalation/escalation_service.hpp"
#include "vg/guidance/async_rewriter.hpp"
#include "vg/guidance/knowledge_base.hpp"
#include "vg/models/fusion.hpp"
#include "vg/models/status_model.hpp"
#include "vg/rules/rules.hpp"
#include "wearer_access.hpp"

namespace vg::api {

class IncidentRoutes {
  public:
    // The pointers are optional: emergency response, guidance, its rewrite, rule profiles, the models.
    IncidentRoutes(store::IncidentStore& incidents, store::OutboxStore& outbox, store::AccountStore& users,
                   store::ReadingStore& readings, const Clock& clock, escalation::EscalationService* escalation,
                   const guidance::KnowledgeBase* knowledge, guidance::AsyncRewriter* rewriter,
                   const rules::ProfileRegistry* profiles, const models::StatusModel* status_model,
                   const models::StatusModel* cause_model, WearerAccess& access, auth::RateLimits& rate_limits,
                   prometheus::Registry& registry)
        : incidents_(incidents),
          outbox_(outbox),
          users_(users),
          readings_(readings),
          clock_(clock),
          escalation_(escalation),
          knowledge_(knowledge),
          rewriter_(rewriter),
          profiles_(profiles),
          status_model_(status_model),
          cause_model_(cause_model),
          access_(access),
          sos_address_limiter_(rate_limits.SlidingWindow("sos_address", clock, {10, std::chrono::hours(1), 100'000})),
          predict_rewrite_limiter_(rate_limits.SlidingWindow(
              "predict_rewrite", clock, {kPredictRewritesPerHour, std::chrono::hours(1), 100'000})),
          sos_refused_(prometheus::BuildCounter()
                           .Name("vitalguard_sos_refused_total")
                           .Help("SOS presses refused by a limit (answered 429)")
                           .Register(registry)) {}

    http::Response ListIncidents(RequestContext& ctx);
    http::Response GetIncident(RequestContext& ctx);
    http::Response IncidentOk(RequestContext& ctx);
    http::Response IncidentAck(RequestContext& ctx);
    http::Response IncidentSnooze(RequestContext& ctx);
    http::Response IncidentResolve(RequestContext& ctx);
    http::Response EmergencyCall(RequestContext& ctx);
    http::Response PredictModel2(RequestContext& ctx);

  private:
    store::IncidentStore& incidents_;
    store::OutboxStore& outbox_;  // an incident's deliveries
    store::AccountStore& users_;
    store::ReadingStore& readings_;  // a wearer's recent vitals
    const Clock& clock_;
    escalation::EscalationService* escalation_;
    const guidance::KnowledgeBase* knowledge_;
    guidance::AsyncRewriter* rewriter_;
    const rules::ProfileRegistry* profiles_;
    const models::StatusModel* status_model_;  // predict_model2: fused with the rules by models::Fuse
    const models::StatusModel* cause_model_;
    // predict_model2's fusion options: the defaults, which are the detector's (serve leaves ModelSet::fusion
    // as it is); ApiServices is the place for them should they ever be configured.
    const models::FusionOptions fusion_{};
    WearerAccess& access_;
    // New SOS incidents of accounts that are not established (EscalationService::Established), per client
    // address: many throw-away accounts from one place cannot loop SOS (docs/escalation.md, "Limits").
    const std::unique_ptr<auth::SlidingWindowLimiter> sos_address_limiter_;
    // LLM rewrites predict_model2 may start per wearer per hour: each is a paid call to the endpoint, and
    // predict's values are the caller's to vary. Beyond it the rewrite is "fallback", reason "rate_limited".
    static constexpr int kPredictRewritesPerHour = 20;
    const std::unique_ptr<auth::SlidingWindowLimiter> predict_rewrite_limiter_;
    // SOS presses refused (429), by the limit that refused them: account_sos, account_calls, address.
    prometheus::Family<prometheus::Counter>& sos_refused_;
};

}  // namespace vg::api
