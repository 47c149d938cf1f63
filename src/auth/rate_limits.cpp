#include "vg/auth/rate_limits.hpp"

#include <stdexcept>
#include <string>

namespace vg::auth {
namespace {

void CheckName(std::string_view name) {
    if (!IsRateLimitName(name)) {
        throw std::invalid_argument("a rate limit's name must be 1 to 64 of a-z and '_': \"" + std::string(name) +
                                    "\"");
    }
}

class InProcess final : public RateLimits {
  protected:
    std::unique_ptr<SlidingWindowLimiter> MakeSlidingWindow(std::string_view, const Clock& clock,
                                                            SlidingWindowLimiter::Options options) override {
        return std::make_unique<InProcessSlidingWindowLimiter>(clock, options);
    }
    std::unique_ptr<TokenBucketLimiter> MakeTokenBucket(std::string_view, const Clock& clock,
                                                        TokenBucketLimiter::Options options) override {
        return std::make_unique<InProcessTokenBucketLimiter>(clock, options);
    }
    std::unique_ptr<auth::LoginThrottle> MakeLoginThrottle(std::string_view, const Clock& clock,
                                                           LoginThrottleOptions options) override {
        return std::make_unique<InProcessLoginThrottle>(clock, options);
    }
};

}  // namespace

bool IsRateLimitName(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
    }
    return true;
}

std::unique_ptr<SlidingWindowLimiter> RateLimits::SlidingWindow(std::string_view name, const Clock& clock,
                                                                SlidingWindowLimiter::Options options) {
    CheckName(name);
    return MakeSlidingWindow(name, clock, options);
}

std::unique_ptr<TokenBucketLimiter> RateLimits::TokenBucket(std::string_view name, const Clock& clock,
                                                            TokenBucketLimiter::Options options) {
    CheckName(name);
    return MakeTokenBucket(name, clock, TokenBucketLimiter::Sane(options));
}

std::unique_ptr<auth::LoginThrottle> RateLimits::LoginThrottle(std::string_view name, const Clock& clock,
                                                               LoginThrottleOptions options) {
    CheckName(name);
    return MakeLoginThrottle(name, clock, options);
}

std::shared_ptr<RateLimits> InProcessRateLimits() {
    static const std::shared_ptr<RateLimits> instance = std::make_shared<InProcess>();
    return instance;
}

}  // namespace vg::auth
