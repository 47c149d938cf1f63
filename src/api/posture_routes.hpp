#pragma once
// PostureRoutes: the seed's posture API (update_posture, get_posture) and the device's batch of IMU
// windows, through posture::PostureService (posture_routes.cpp).
// Thread-safety: handlers are called concurrently from the HTTP lanes; the windows quota is thread-safe.
// Ownership: borrows the store, the clock, the posture service and WearerAccess, which must outlive
// it; owns the windows quota (made by the RateLimits, "windows_quota").

#include <memory>

#include "api_detail.hpp"
#include "vg/posture/posture_service.hpp"
#include "wearer_access.hpp"

namespace vg::api {

class PostureRoutes {
  public:
    // `posture`: optional (the routes answer 503 without it). `windows_per_day`:
    // ApiOptions::windows_per_wearer_per_day.
    PostureRoutes(store::StatusStore& store, const Clock& clock, posture::PostureService* posture, WearerAccess& access,
                  auth::RateLimits& rate_limits, int64_t windows_per_day)
        : store_(store),
          clock_(clock),
          posture_(posture),
          access_(access),
          windows_quota_(MakeDailyQuota(rate_limits, "windows_quota", clock, windows_per_day)) {}

    http::Response UpdatePosture(RequestContext& ctx);
    http::Response PostureBatch(RequestContext& ctx);
    http::Response GetPosture(RequestContext& ctx);

  private:
    store::StatusStore& store_;  // the posture rows
    const Clock& clock_;
    posture::PostureService* posture_;
    WearerAccess& access_;
    // The wearers' daily quota of IMU windows (ApiOptions); null when unlimited.
    // Shared with answers given later (Response::Later), which may come from the verdict stage after the api.
    std::shared_ptr<auth::TokenBucketLimiter> windows_quota_;
};

}  // namespace vg::api
