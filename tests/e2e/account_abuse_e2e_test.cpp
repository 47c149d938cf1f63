// Issue 15, items 1 (sign-up limit), 3 (enumeration and lockout) and 5 (live streams after logout),
// end to end: the real binary over real HTTP and WebSocket.
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e_fixture.hpp"
#include "vg/testing/websocket_client.hpp"

namespace vg::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::HttpClient;
using testing::WebSocketClient;

class AccountAbuseE2eTest : public ServerTest {
  protected:
    std::string Origin() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
    testing::Headers StreamHeaders(const std::string& session) const {
        return {{"Cookie", "vg_session=" + session}, {"Origin", Origin()}};
    }
    // Opens /api/stream with `session` and reads its hello.
    void OpenStream(WebSocketClient& ws, const std::string& session) {
        auto handshake = ws.Connect(server_->port(), "/api/stream", StreamHeaders(session));
        ASSERT_TRUE(handshake.accepted()) << handshake.status << " " << handshake.body;
        auto hello = ws.ReceiveJson(seconds(5));
        ASSERT_TRUE(hello.has_value());
        ASSERT_EQ(hello->at("type").as_string(), "hello");
    }
};

// ---- item 1: sign-ups per address ----

TEST_F(AccountAbuseE2eTest, SignupsPerAddressAreLimitedWithRetryAfter) {
    StartServer({"--signups-per-address-per-hour", "2"});
    HttpClient client = Client();
    ASSERT_EQ(client.Post("/api/signup", SignupBody("farm_one")).status, 201);
    ASSERT_EQ(client.Post("/api/signup", SignupBody("farm_two")).status, 201);
    auto third = client.Post("/api/signup", SignupBody("farm_three"));
    ASSERT_EQ(third.status, 429) << third.body;
    EXPECT_EQ(ErrorCode(third), "rate_limited");
    const int retry_after = std::stoi(third.header("Retry-After"));
    EXPECT_GT(retry_after, 59 * 60);
    EXPECT_LE(retry_after, 3600);
    EXPECT_NE(third.body.find("at most 2 an hour"), std::string::npos) << third.body;
    EXPECT_TRUE(client.Get("/api/check_id?id=farm_three").json().at("available").as_bool()) << "nothing was created";
}

// ---- item 3: enumeration ----

// Sign-up's 409 answered "is this id taken?" without limit, beside check_id's per-address limit.
TEST_F(AccountAbuseE2eTest, SignupsTakenIdAnswersSpendCheckIdsBudget) {
    StartServer({"--check-id-per-minute", "3"});
    HttpClient client = Client();
    ASSERT_EQ(client.Post("/api/signup", SignupBody("taken_kim")).status, 201);  // a created account spends none
    for (int i = 0; i < 3; ++i) {
        auto taken = client.Post("/api/signup", SignupBody("taken_kim"));
        ASSERT_EQ(taken.status, 409) << i << " " << taken.body;
    }
    // The budget is spent: the same 429 whether the id is taken or free, and check_id is refused too.
    auto probe_taken = client.Post("/api/signup", SignupBody("taken_kim"));
    auto probe_free = client.Post("/api/signup", SignupBody("free_lee"));
    EXPECT_EQ(probe_taken.status, 429) << probe_taken.body;
    EXPECT_EQ(probe_free.status, 429) << probe_free.body;
    EXPECT_EQ(probe_taken.json().at("error"), probe_free.json().at("error"));
    EXPECT_FALSE(probe_taken.header("Retry-After").empty());
    auto check = client.Get("/api/check_id?id=someone");
    EXPECT_EQ(check.status, 429);
    EXPECT_FALSE(check.header("Retry-After").empty());
}

// A guardian-link request answered 422 "no account has this id" for unknown ids and 201 with the
// wearer's real name for known ones.
TEST_F(AccountAbuseE2eTest, GuardianLinkRequestsSayTheSameForUnknownAndKnownIdsAndHideNames) {
    StartServer();
    HttpClient wearer = Client();
    json::object wearer_body = SignupBody("secret_kim");
    wearer_body["name"] = "박비밀";  // every other fixture account is 김영희
    ASSERT_EQ(wearer.Post("/api/signup", wearer_body).status, 201);
    auto wearer_login = wearer.Post("/api/login", json::object{{"id", "secret_kim"}, {"password", "correct horse"}});
    ASSERT_EQ(wearer_login.status, 200);
    wearer.SetDefaultHeader("X-CSRF-Token", std::string(wearer_login.json().at("csrf_token").as_string()));
    HttpClient asker = Client();
    SignupAndLogin(asker, "curious_lee");

    auto known = asker.Post("/api/guardians", json::object{{"wearer_id", "secret_kim"}});
    auto unknown = asker.Post("/api/guardians", json::object{{"wearer_id", "nobody_here"}});
    ASSERT_EQ(known.status, unknown.status) << known.body << " / " << unknown.body;
    EXPECT_EQ(known.status, 202);
    json::object known_body = known.json().as_object();
    json::object unknown_body = unknown.json().as_object();
    EXPECT_EQ(known_body.at("wearer_id"), "secret_kim");
    EXPECT_EQ(unknown_body.at("wearer_id"), "nobody_here");
    known_body.erase("wearer_id");
    unknown_body.erase("wearer_id");
    EXPECT_EQ(known_body, unknown_body);
    EXPECT_EQ(known.body.find("박비밀"), std::string::npos) << "no name in the answer";
    // Asking again (already pending) gives the same answer as well.
    EXPECT_EQ(asker.Post("/api/guardians", json::object{{"wearer_id", "secret_kim"}}).status, 202);

    // The asker's own list: the request, with no name until it is accepted.
    auto mine = asker.Get("/api/guardians");
    ASSERT_EQ(mine.status, 200);
    const json::value mine_json = mine.json();
    const auto& pending = mine_json.at("wearers").as_array();
    ASSERT_EQ(pending.size(), 1u) << mine.body;
    EXPECT_EQ(pending[0].at("wearer").at("id").as_string(), "secret_kim");
    EXPECT_TRUE(pending[0].at("wearer").at("name").is_null()) << mine.body;
    EXPECT_EQ(mine.body.find("박비밀"), std::string::npos) << mine.body;
    // The wearer sees who asks (the asker chose to tell), accepts, and then the asker sees the name.
    auto theirs = wearer.Get("/api/guardians");
    const json::value theirs_json = theirs.json();
    const auto& incoming = theirs_json.at("guardians").as_array();
    ASSERT_EQ(incoming.size(), 1u) << theirs.body;
    EXPECT_EQ(incoming[0].at("guardian").at("name").as_string(), "김영희");  // the asker's
    const int64_t link = incoming[0].at("id").as_int64();
    ASSERT_EQ(wearer.Post("/api/guardians/" + std::to_string(link) + "/accept", json::object{}).status, 200);
    EXPECT_EQ(asker.Get("/api/guardians").json().at("wearers").at(0).at("wearer").at("name").as_string(), "박비밀");
}

// ---- item 3: lockout ----

TEST_F(AccountAbuseE2eTest, AnAttackersFailuresDoNotLockTheOwnerOutAndSlowTheAttackerDown) {
    // Two client addresses from one test: a proxy on loopback says who the client is.
    StartServer({"--trust-proxy"});
    auto from = [](const std::string& address) { return testing::Headers{{"X-Forwarded-For", address}}; };
    HttpClient setup = Client();
    ASSERT_EQ(setup.Post("/api/signup", SignupBody("guardian_park"), from("198.51.100.1")).status, 201);
    HttpClient attacker = Client();
    std::optional<testing::HttpResult> refused;
    for (int i = 0; i < 8 && !refused; ++i) {
        auto r = attacker.Post("/api/login",
                               json::object{{"id", "guardian_park"}, {"password", "guess " + std::to_string(i)}},
                               from("203.0.113.66"));
        if (r.status == 429) {
            refused = r;
        } else {
            EXPECT_EQ(r.status, 401) << r.body;
        }
    }
    ASSERT_TRUE(refused.has_value()) << "the attacker was never slowed down";
    EXPECT_EQ(refused->header("Retry-After"), "1") << refused->body;  // then 2 s, 4 s, ...
    EXPECT_EQ(ErrorCode(*refused), "rate_limited");
    // The owner, from an address that has not failed, logs in at once.
    HttpClient owner = Client();
    auto in = owner.Post("/api/login", json::object{{"id", "guardian_park"}, {"password", "correct horse"}},
                         from("198.51.100.20"));
    EXPECT_EQ(in.status, 200) << in.body;
}

// ---- item 5: live streams end with their session ----

TEST_F(AccountAbuseE2eTest, LogoutClosesTheSessionsStreamsWithinASecond) {
    StartServer();
    HttpClient person = Client();
    SignupAndLogin(person, "stream_logout");
    const std::string session = *person.cookie("vg_session");
    WebSocketClient page, other_tab;
    OpenStream(page, session);
    OpenStream(other_tab, session);
    // Another session of the same person stays open (logging out on one device is not everywhere).
    HttpClient phone = Client();
    ASSERT_EQ(phone.Post("/api/login", json::object{{"id", "stream_logout"}, {"password", "correct horse"}}).status,
              200);
    WebSocketClient phone_page;
    OpenStream(phone_page, *phone.cookie("vg_session"));

    const auto before = std::chrono::steady_clock::now();
    ASSERT_EQ(person.Post("/api/logout", json::object{}).status, 200);
    ASSERT_TRUE(page.WaitClosed(seconds(2))) << "the stream is still open after logout";
    const auto took = std::chrono::steady_clock::now() - before;
    EXPECT_LT(took, seconds(1));
    EXPECT_EQ(page.close_code(), 4401);
    EXPECT_NE(page.close_reason().find("logged out"), std::string::npos) << page.close_reason();
    ASSERT_TRUE(other_tab.WaitClosed(seconds(2)));
    EXPECT_EQ(other_tab.close_code(), 4401);
    EXPECT_FALSE(phone_page.WaitClosed(milliseconds(500))) << "another session's stream was closed";
    // The old cookie cannot open a new one.
    WebSocketClient again;
    EXPECT_EQ(again.Connect(server_->port(), "/api/stream", StreamHeaders(session)).status, 401);
}

TEST_F(AccountAbuseE2eTest, AnExpiredSessionsStreamClosesAtExpiry) {
    StartServer({"--session-ttl", "2s", "--session-idle-timeout", "2s"});
    HttpClient person = Client();
    SignupAndLogin(person, "stream_expiry");
    const auto logged_in = std::chrono::steady_clock::now();
    WebSocketClient page;
    OpenStream(page, *person.cookie("vg_session"));
    ASSERT_TRUE(page.WaitClosed(seconds(5))) << "the stream outlived its session";
    const auto after = std::chrono::steady_clock::now() - logged_in;
    EXPECT_GE(after, milliseconds(1900)) << "closed before the session ended";
    EXPECT_LT(after, milliseconds(3500)) << "closed long after the session ended";
    EXPECT_EQ(page.close_code(), 4401);
    EXPECT_NE(page.close_reason().find("expired"), std::string::npos) << page.close_reason();
}

TEST_F(AccountAbuseE2eTest, StreamsPerUserAreCappedAtEight) {
    StartServer();
    HttpClient person = Client();
    SignupAndLogin(person, "many_tabs");
    const std::string session = *person.cookie("vg_session");
    std::vector<WebSocketClient> tabs(8);
    for (auto& tab : tabs) OpenStream(tab, session);
    WebSocketClient ninth;
    auto refused = ninth.Connect(server_->port(), "/api/stream", StreamHeaders(session));
    ASSERT_EQ(refused.status, 429) << refused.body;
    EXPECT_NE(refused.body.find("at most 8"), std::string::npos) << refused.body;
    EXPECT_FALSE(refused.header("Retry-After").empty());
    // Closing one frees its place.
    tabs[0].Close();
    bool reopened = false;
    for (int i = 0; i < 20 && !reopened; ++i) {
        WebSocketClient retry;
        reopened = retry.Connect(server_->port(), "/api/stream", StreamHeaders(session)).accepted();
        if (reopened) {
            retry.Close();
        } else {
            std::this_thread::sleep_for(milliseconds(100));
        }
    }
    EXPECT_TRUE(reopened);
}

}  // namespace
}  // namespace vg::e2e
