// The device quotas when they are shared between api servers (a token bucket that waits on the network,
// e.g. in Redis): never checked on an io thread, and charged when the request is admitted, not on the one
// thread that answers every caller of the bus.
#include <gtest/gtest.h>

#include "api_detail.hpp"
#include "vg/auth/token_bucket.hpp"

namespace vg::api {
namespace {

// A bucket of this process that says it waits on the network (what the Redis adapter says).
class NetworkBucket final : public auth::TokenBucketLimiter {
  public:
    explicit NetworkBucket(const Clock& clock) : local_(clock, {.capacity = 10, .refill_per_second = 1}) {}
    int RetryAfterSeconds(std::string_view key) const override { return local_.RetryAfterSeconds(key); }
    bool Charge(std::string_view key, double amount) override { return local_.Charge(key, amount); }
    double Available(std::string_view key) const override { return local_.Available(key); }
    double capacity() const override { return local_.capacity(); }
    bool waits_on_network() const override { return true; }

  private:
    auth::InProcessTokenBucketLimiter local_;
};

RequestContext Context(const http::Request& request) { return RequestContext{request, "127.0.0.1", {}, {}, {}, {}}; }

TEST(ApiQuotaTest, ASharedQuotaIsNeverCheckedOnAnIoThreadAndIsChargedUpFront) {
    ManualClock clock;
    NetworkBucket shared(clock);
    auth::InProcessTokenBucketLimiter local(clock, {.capacity = 10, .refill_per_second = 1});
    http::Request request;
    request.lane = http::Lane::kInline;
    EXPECT_TRUE(QuotaMustLeaveIoThread(&shared, Context(request)));
    EXPECT_FALSE(QuotaMustLeaveIoThread(&local, Context(request))) << "memory only: fine on an io thread";
    EXPECT_FALSE(QuotaMustLeaveIoThread(nullptr, Context(request))) << "no quota";
    for (http::Lane lane : {http::Lane::kUrgent, http::Lane::kWorker, http::Lane::kSlow}) {
        request.lane = lane;
        EXPECT_FALSE(QuotaMustLeaveIoThread(&shared, Context(request)));
    }
    EXPECT_TRUE(ChargesUpFront(&shared));
    EXPECT_FALSE(ChargesUpFront(&local));
    EXPECT_FALSE(ChargesUpFront(nullptr));
    // The check and the charge are the usual ones.
    ChargeQuota(&shared, 7, 10);
    EXPECT_EQ(CheckQuota(&shared, 7, 1, "readings").code(), ErrorCode::kRateLimited);
    EXPECT_TRUE(CheckQuota(&shared, 8, 1, "readings").ok());
}

}  // namespace
}  // namespace vg::api
