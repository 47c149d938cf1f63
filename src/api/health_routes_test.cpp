// /readyz and /metrics (issue 15 item 8): a code instead of the store's words; /metrics behind a token.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "vg/api/api.hpp"
#include "vg/store/memory_store.hpp"

namespace vg::api {
namespace {

http::Request Get(std::string path, std::vector<http::Header> headers = {}) {
    http::Request r;
    r.method = "GET";
    r.path = std::move(path);
    r.target = r.path;
    r.remote_address = "127.0.0.1";
    r.headers = std::move(headers);
    return r;
}

class HealthRoutesTest : public ::testing::Test {
  protected:
    HealthRoutesTest() : accounts_(store_, clock_, auth::AccountOptions{}) {}
    std::unique_ptr<Api> Make(ApiOptions options = {}) {
        return std::make_unique<Api>(accounts_, store_, clock_, std::move(options));
    }
    store::MemoryStore store_;
    ManualClock clock_;
    auth::AccountService accounts_;
};

TEST_F(HealthRoutesTest, ReadyzAnswersACodeAndKeepsTheStoresWordsForTheLog) {
    auto api = Make();
    EXPECT_EQ(api->Handle(Get("/readyz")).status, 200);
    store_.Close();
    const std::string store_words = store_.CheckHealth().message();
    ASSERT_FALSE(store_words.empty());
    http::Response r = api->Handle(Get("/readyz"));
    EXPECT_EQ(r.status, 503);
    auto body = boost::json::parse(r.body);
    EXPECT_EQ(body.at("error").at("code").as_string(), "unavailable");
    EXPECT_EQ(body.at("error").at("message").as_string(), "The database is not ready.");
    EXPECT_EQ(r.body.find(store_words), std::string::npos) << r.body;
}

TEST_F(HealthRoutesTest, MetricsArePublicWithoutAToken) {
    auto api = Make();
    EXPECT_EQ(api->Handle(Get("/healthz")).status, 200);  // something to count
    http::Response r = api->Handle(Get("/metrics"));
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("vitalguard_http_requests_total"), std::string::npos);
}

TEST_F(HealthRoutesTest, MetricsNeedTheBearerTokenWhenSet) {
    ApiOptions options;
    options.metrics_token = "metrics-token-0123456789";
    auto api = Make(options);
    EXPECT_EQ(api->Handle(Get("/healthz")).status, 200);
    for (const std::vector<http::Header>& headers : std::vector<std::vector<http::Header>>{
             {},
             {{"authorization", "Bearer wrong-token-000000000"}},
             {{"authorization", "Bearer metrics-token-012345678"}},
             {{"authorization", "Bearer metrics-token-01234567890"}},
             {{"authorization", "metrics-token-0123456789"}},
             {{"authorization", "Basic metrics-token-0123456789"}},
             {{"authorization", "Bearer "}},
         }) {
        http::Response r = api->Handle(Get("/metrics", headers));
        EXPECT_EQ(r.status, 401) << (headers.empty() ? "" : headers[0].value);
        EXPECT_EQ(r.body.find("vitalguard_http_requests_total"), std::string::npos);
    }
    http::Response ok = api->Handle(Get("/metrics", {{"authorization", "Bearer metrics-token-0123456789"}}));
    EXPECT_EQ(ok.status, 200);
    EXPECT_NE(ok.body.find("vitalguard_http_requests_total"), std::string::npos);
    EXPECT_EQ(api->Handle(Get("/healthz")).status, 200);
}

}  // namespace
}  // namespace vg::api
