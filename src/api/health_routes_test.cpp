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

std::string SetCookie(const http::Response& r) {
    for (const http::Header& h : r.headers) {
        if (h.name == "Set-Cookie") return h.value;
    }
    return "";
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

// A database that cannot answer is not a logged-out person: the session cookie stays (a family's dashboard
// must not be logged out by a database restart); a session that is really gone ends the cookie.
TEST_F(HealthRoutesTest, AStoreOutageAnswers503AndKeepsTheSessionCookie) {
    domain::SignupInput kim;
    kim.profile.id = "grandma_kim";
    kim.password = "correct horse";
    kim.profile.name = "김영희";
    kim.profile.age = 78;
    kim.profile.address = "서울특별시 종로구 세종대로 1";
    kim.profile.phone_num = "010-1234-5678";
    ASSERT_TRUE(accounts_.Signup(kim).ok());
    auto login = accounts_.Login("grandma_kim", "correct horse", auth::ClientInfo{"127.0.0.1", ""});
    ASSERT_TRUE(login.ok()) << login.status().ToString();
    auto api = Make();
    const http::Header cookie{"cookie", "vg_session=" + login->token};
    EXPECT_EQ(api->Handle(Get("/api/me", {cookie})).status, 200);

    store_.Close();
    http::Response down = api->Handle(Get("/api/me", {cookie}));
    EXPECT_EQ(down.status, 503) << down.body;
    EXPECT_EQ(SetCookie(down), "") << "the cookie was ended by an outage";

    http::Response unknown = api->Handle(Get("/api/me", {{"cookie", "vg_session=not-a-session"}}));
    EXPECT_EQ(unknown.status, 503) << "unknown or not, the store cannot tell now";
}

TEST_F(HealthRoutesTest, AnUnknownSessionEndsTheCookie) {
    auto api = Make();
    http::Response r = api->Handle(Get("/api/me", {{"cookie", "vg_session=not-a-session"}}));
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_NE(SetCookie(r).find("vg_session="), std::string::npos);
    EXPECT_NE(SetCookie(r).find("Max-Age=0"), std::string::npos) << SetCookie(r);
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
