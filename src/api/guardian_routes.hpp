#pragma once
// GuardianRoutes: guardian links: the list, a request (either side), acceptance and the end of a link,
// which closes the guardian's live streams of the wearer (guardian_routes.cpp).
// Thread-safety: handlers are called concurrently from the HTTP lanes; the request limiter is thread-safe.
// Ownership: borrows the guardian store, the account store, the clock and LiveStreams, which must
// outlive it; owns the guardian-request limiter (made by the RateLimits, "guardian_request").

#include "api_detail.hpp"
#include "live_streams.hpp"
#include "vg/auth/rate_limiter.hpp"
#include "vg/auth/rate_limits.hpp"

namespace vg::api {

class GuardianRoutes {
  public:
    // `requests_per_hour`: ApiOptions::guardian_requests_per_hour.
    GuardianRoutes(store::GuardianStore& guardians, store::AccountStore& accounts, const Clock& clock,
                   LiveStreams& streams, auth::RateLimits& rate_limits, int requests_per_hour)
        : guardians_(guardians),
          accounts_(accounts),
          clock_(clock),
          streams_(streams),
          requests_per_hour_(requests_per_hour),
          guardian_request_limiter_(rate_limits.SlidingWindow("guardian_request", clock,
                                                              {requests_per_hour, std::chrono::hours(1), 100'000})) {}

    http::Response ListGuardians(RequestContext& ctx);
    http::Response RequestGuardianLink(RequestContext& ctx);
    http::Response AcceptGuardianLink(RequestContext& ctx);
    http::Response EndGuardianLink(RequestContext& ctx);

  private:
    store::GuardianStore& guardians_;
    store::AccountStore& accounts_;
    const Clock& clock_;
    LiveStreams& streams_;
    const int requests_per_hour_;
    const std::unique_ptr<auth::SlidingWindowLimiter> guardian_request_limiter_;  // per account (unique_num)
};

}  // namespace vg::api
