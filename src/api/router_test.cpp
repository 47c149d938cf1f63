#include "vg/api/router.hpp"

#include <gtest/gtest.h>

namespace vg::api {
namespace {

http::Response Ok(RequestContext&) { return {}; }

TEST(RouterTest, MatchesWithAndWithoutTrailingSlash) {
    Router router;
    router.Add("POST", "/api/signup", Access::kPublic, Ok);
    EXPECT_NE(router.Find("POST", "/api/signup").route, nullptr);
    EXPECT_NE(router.Find("POST", "/api/signup/").route, nullptr);
    EXPECT_EQ(router.Find("POST", "/api/signups").route, nullptr);
    EXPECT_EQ(router.Find("POST", "/api").route, nullptr);
}

TEST(RouterTest, ExtractsPathParameters) {
    Router router;
    router.Add("DELETE", "/api/devices/{device_id}", Access::kSession, Ok);
    auto m = router.Find("DELETE", "/api/devices/42");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.params.at("device_id"), "42");
    EXPECT_EQ(m.route->pattern, "/api/devices/{device_id}");
}

TEST(RouterTest, TellsWrongMethodFromUnknownPath) {
    Router router;
    router.Add("GET", "/api/me", Access::kSession, Ok);
    router.Add("POST", "/api/devices", Access::kSession, Ok);
    router.Add("GET", "/api/devices", Access::kSession, Ok);
    auto m = router.Find("PUT", "/api/devices");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"POST", "GET"}));
    auto none = router.Find("GET", "/nope");
    EXPECT_EQ(none.route, nullptr);
    EXPECT_TRUE(none.allowed_methods.empty());
}

TEST(RouterTest, HeadIsServedByGet) {
    Router router;
    router.Add("GET", "/healthz", Access::kPublic, Ok);
    EXPECT_NE(router.Find("HEAD", "/healthz").route, nullptr);
}

TEST(RouterTest, RoutesCarryTheirLaneWorkerUnlessSaid) {
    Router router;
    router.Add("GET", "/healthz", Access::kPublic, http::Lane::kInline, Ok);
    router.Add("POST", "/api/login", Access::kPublic, http::Lane::kSlow, Ok);
    router.Add("POST", "/api/update_status", Access::kSession, Ok);
    EXPECT_EQ(router.Find("GET", "/healthz/").route->lane, http::Lane::kInline);
    EXPECT_EQ(router.Find("HEAD", "/healthz").route->lane, http::Lane::kInline);
    EXPECT_EQ(router.Find("POST", "/api/login").route->lane, http::Lane::kSlow);
    EXPECT_EQ(router.Find("POST", "/api/update_status").route->lane, http::Lane::kWorker);
}

}  // namespace
}  // namespace vg::api
