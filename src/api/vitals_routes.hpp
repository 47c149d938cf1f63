#pragma once
// VitalsRoutes: the seed's status API (update_status, get_status), the device's batch of readings,
// the recent vitals and the rule profiles (vitals_routes.cpp).
// Thread-safety: handlers are called concurrently from the HTTP lanes (update_status also on the io
// threads); the readings quota is thread-safe.
// Ownership: borrows the store, the clock, the ingest service, the rule profiles and WearerAccess,
// which must outlive it; owns the readings quota (made by the RateLimits, "readings_quota"), shared with
// the verdict stage's callbacks (which may run after the Api is gone).

#include <functional>
#include <memory>

#include "api_detail.hpp"
#include "vg/ingest/ingest_service.hpp"
#include "vg/rules/rules.hpp"
#include "wearer_access.hpp"

namespace vg::api {

class VitalsRoutes {
  public:
    // `ingest`, `profiles`: optional (their routes answer 503 without them). `on_rule_profile_changed`:
    // ApiServices's. `readings_per_day`: ApiOptions::readings_per_wearer_per_day.
    VitalsRoutes(store::ReadingStore& readings, store::StatusStore& statuses, store::AccountStore& users,
                 const Clock& clock, ingest::IngestService* ingest, const rules::ProfileRegistry* profiles,
                 std::function<void(int64_t)> on_rule_profile_changed, WearerAccess& access,
                 auth::RateLimits& rate_limits, int64_t readings_per_day, int trend_queries_per_minute)
        : readings_(readings),
          statuses_(statuses),
          users_(users),
          clock_(clock),
          ingest_(ingest),
          profiles_(profiles),
          on_rule_profile_changed_(std::move(on_rule_profile_changed)),
          access_(access),
          readings_quota_(MakeDailyQuota(rate_limits, "readings_quota", clock, readings_per_day)),
          trend_queries_per_minute_(trend_queries_per_minute),
          trend_limiter_(rate_limits.SlidingWindow("vitals_trend", clock,
                                                   {trend_queries_per_minute, std::chrono::minutes(1), 100'000})) {}

    http::Response UpdateStatus(RequestContext& ctx);
    http::Response GetStatus(RequestContext& ctx);
    http::Response IngestBatch(RequestContext& ctx);
    // GET /api/vitals: the latest readings, or with from/to a trend (docs/api.md, "Trends").
    http::Response RecentVitals(RequestContext& ctx);
    http::Response ListRuleProfiles(RequestContext& ctx);
    http::Response SetRuleProfile(RequestContext& ctx);

  private:
    store::ReadingStore& readings_;
    store::StatusStore& statuses_;
    store::AccountStore& users_;  // the rule profile
    const Clock& clock_;
    ingest::IngestService* ingest_;
    const rules::ProfileRegistry* profiles_;
    std::function<void(int64_t)> on_rule_profile_changed_;
    WearerAccess& access_;
    // The wearers' daily quota of readings (ApiOptions); null when unlimited. Shared: update_status
    // charges it when its verdict comes, on the verdict stage's thread, which may be after this Api is gone.
    std::shared_ptr<auth::TokenBucketLimiter> readings_quota_;
    // Trend queries (GET /api/vitals with from/to) per signed-in account per minute: each reads up to a
    // range's worth of readings (a month at one reading per 5 s is ~520,000 rows), twice with the baseline.
    int trend_queries_per_minute_;
    std::unique_ptr<auth::SlidingWindowLimiter> trend_limiter_;

    http::Response Trend(RequestContext& ctx);
};

}  // namespace vg::api
