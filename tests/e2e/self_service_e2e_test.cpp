// Account self-service and the operator's `vitalguard user` end to end (issues 15, 16): the real server
// process, a real browser-like WebSocket, the CLI run as another process on the same data directory
// while the server runs.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <mutex>
#include <regex>
#include <thread>

#include "e2e_fixture.hpp"
#include "vg/http/server.hpp"
#include "vg/testing/websocket_client.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;
using testing::WebSocketClient;
constexpr const char* kGuardianPhone = "010-9876-5432";  // SignupBody's guard_phone_num

// A fake SMS gateway: records the JSON {"to","text"} it is sent.
class SmsSink {
  public:
    SmsSink() {
        http::ServerOptions o;
        o.address = "127.0.0.1";
        o.port = 0;
        o.error_response = [](ErrorCode, std::string message) {
            http::Response r;
            r.status = 500;
            r.body = std::move(message);
            return r;
        };
        server_ = std::make_unique<http::Server>(o, [this](const http::Request& r) {
            std::lock_guard lock(mu_);
            if (r.path == "/sms") bodies_.push_back(r.body);
            http::Response resp;
            resp.status = 202;
            resp.body = "{}";
            return resp;
        });
        EXPECT_TRUE(server_->Start().ok());
    }
    std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/sms"; }
    // The six digits of the `nth` SMS to `to`, waiting up to 10 s for it.
    std::string Code(const std::string& to, size_t nth) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (;;) {
            std::vector<std::string> texts;
            {
                std::lock_guard lock(mu_);
                for (const auto& b : bodies_) {
                    const json::value body = json::parse(b);
                    if (body.at("to").as_string() == to) texts.emplace_back(body.at("text").as_string());
                }
            }
            if (texts.size() >= nth) {
                std::smatch m;
                if (std::regex_search(texts[nth - 1], m, std::regex("\\b([0-9]{6})\\b"))) return m[1].str();
                return {};
            }
            if (std::chrono::steady_clock::now() > until) return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }

  private:
    std::mutex mu_;
    std::vector<std::string> bodies_;
    std::unique_ptr<http::Server> server_;
};

struct Output {
    int exit_code = -1;
    std::string text;  // stdout and stderr
};

Output RunCommand(const std::string& command) {
    Output out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return out;
    std::array<char, 4096> buf{};
    while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.text.append(buf.data(), n);
    const int status = ::pclose(pipe);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

class SelfServiceE2eTest : public ServerTest {
  protected:
    void SetUp() override { StartServer({"--sms-gateway-url", sms_.Url()}); }

    std::string Origin() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
    // Opens the session's live stream and reads its hello.
    void OpenStream(WebSocketClient& ws, HttpClient& client) {
        auto handshake = ws.Connect(server_->port(), "/api/stream",
                                    {{"Cookie", "vg_session=" + *client.cookie("vg_session")}, {"Origin", Origin()}});
        ASSERT_TRUE(handshake.accepted()) << handshake.status << " " << handshake.body;
        auto hello = ws.ReceiveJson(std::chrono::seconds(5));
        ASSERT_TRUE(hello.has_value());
    }
    // A second login of `id` (another device).
    HttpClient LoginAgain(const std::string& id, const std::string& password = "correct horse") {
        HttpClient other = Client();
        auto login = other.Post("/api/login", json::object{{"id", id}, {"password", password}});
        EXPECT_EQ(login.status, 200) << login.body;
        if (login.status == 200)
            other.SetDefaultHeader("X-CSRF-Token", std::string(login.json().at("csrf_token").as_string()));
        return other;
    }
    testing::HttpResult Patch(HttpClient& client, const json::object& body) {
        return client.Send("PATCH", "/api/me", json::serialize(body), {{"Content-Type", "application/json"}});
    }
    Output User(const std::string& args) {
        return RunCommand("'" + testing::FindBinary("vitalguard") + "' user " + args + " --data-dir '" +
                          data_dir_.file("data") + "'");
    }

    SmsSink sms_;
};

TEST_F(SelfServiceE2eTest, ChangingThePasswordEndsTheOtherSessionAndItsStream) {
    HttpClient phone = Client();
    SignupAndLogin(phone, "self_pw");
    HttpClient tablet = LoginAgain("self_pw");
    WebSocketClient tablet_stream;
    OpenStream(tablet_stream, tablet);

    auto wrong = phone.Post("/api/me/password",
                            json::object{{"current_password", "not it at all"}, {"new_password", "battery staple 2"}});
    EXPECT_EQ(wrong.status, 401) << wrong.body;
    EXPECT_EQ(tablet.Get("/api/me").status, 200) << "a wrong current password ends nothing";

    auto weak =
        phone.Post("/api/me/password", json::object{{"current_password", "correct horse"}, {"new_password", "x"}});
    EXPECT_EQ(weak.status, 400);
    EXPECT_EQ(ErrorFields(weak), std::vector<std::string>{"new_password"});

    auto changed = phone.Post(
        "/api/me/password", json::object{{"current_password", "correct horse"}, {"new_password", "battery staple 2"}});
    ASSERT_EQ(changed.status, 200) << changed.body;
    EXPECT_EQ(changed.json().at("sessions_ended").as_int64(), 1);
    EXPECT_EQ(tablet.Get("/api/me").status, 401) << "the other session ended";
    EXPECT_TRUE(tablet_stream.WaitClosed(std::chrono::seconds(3))) << "its live stream closed";
    EXPECT_EQ(tablet_stream.close_code(), 4401);
    EXPECT_EQ(phone.Get("/api/me").status, 200) << "the current session stays";

    HttpClient fresh = Client();
    EXPECT_EQ(fresh.Post("/api/login", json::object{{"id", "self_pw"}, {"password", "correct horse"}}).status, 401);
    EXPECT_EQ(fresh.Post("/api/login", json::object{{"id", "self_pw"}, {"password", "battery staple 2"}}).status, 200);
}

TEST_F(SelfServiceE2eTest, SessionsAreListedAndEndedOneByOneOrAllButThisOne) {
    HttpClient phone = Client();
    SignupAndLogin(phone, "self_sessions");
    HttpClient tablet = LoginAgain("self_sessions");
    HttpClient laptop = LoginAgain("self_sessions");
    auto listed = phone.Get("/api/me/sessions");
    ASSERT_EQ(listed.status, 200) << listed.body;
    const json::value listed_body = listed.json();
    const json::array& sessions = listed_body.at("sessions").as_array();
    ASSERT_EQ(sessions.size(), 3u);
    int current = 0;
    std::string other_id;
    for (const auto& s : sessions) {
        EXPECT_EQ(s.at("id").as_string().size(), 16u);
        EXPECT_EQ(s.at("client_address").as_string(), "127.0.0.1");
        if (s.at("current").as_bool()) {
            ++current;
        } else if (other_id.empty()) {
            other_id = std::string(s.at("id").as_string());
        }
    }
    EXPECT_EQ(current, 1);
    EXPECT_EQ(phone.Delete("/api/me/sessions/0123456789abcdef").status, 404);
    // Another user's session id: the same answer.
    HttpClient stranger = Client();
    SignupAndLogin(stranger, "self_stranger");
    EXPECT_EQ(stranger.Delete("/api/me/sessions/" + other_id).status, 404);

    EXPECT_EQ(phone.Delete("/api/me/sessions/" + other_id).status, 204);
    const int alive = (tablet.Get("/api/me").status == 200) + (laptop.Get("/api/me").status == 200);
    EXPECT_EQ(alive, 1) << "exactly the named session ended";
    auto rest = phone.Delete("/api/me/sessions");
    ASSERT_EQ(rest.status, 200) << rest.body;
    EXPECT_EQ(rest.json().at("sessions_ended").as_int64(), 1);
    EXPECT_EQ(tablet.Get("/api/me").status, 401);
    EXPECT_EQ(laptop.Get("/api/me").status, 401);
    EXPECT_EQ(phone.Get("/api/me/sessions").json().at("sessions").as_array().size(), 1u);
}

TEST_F(SelfServiceE2eTest, PatchWithABadFieldChangesNothingAndAGoodOneChangesTheProfile) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "self_patch");
    const json::value before = wearer.Get("/api/me").json().at("user");
    EXPECT_TRUE(before.at("address_confirmed_at").is_null());
    EXPECT_TRUE(before.at("address_confirm_due").as_bool());

    auto bad = Patch(
        wearer,
        json::object{
            {"current_password", "correct horse"}, {"name", "이영희"}, {"phone_num", "not a phone"}, {"age", 500}});
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(ErrorFields(bad), (std::vector<std::string>{"age", "phone_num"}));
    auto unknown = Patch(wearer, json::object{{"current_password", "correct horse"}, {"nickname", "x"}});
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(ErrorFields(unknown), std::vector<std::string>{"nickname"});
    auto wrong = Patch(wearer, json::object{{"current_password", "wrong password"}, {"name", "이영희"}});
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(wearer.Get("/api/me").json().at("user"), before) << "nothing changed";

    auto good = Patch(wearer, json::object{{"current_password", "correct horse"},
                                           {"name", "이영희"},
                                           {"address", "부산광역시 중구 중앙대로 1"}});
    ASSERT_EQ(good.status, 200) << good.body;
    const json::value user = good.json().at("user");
    EXPECT_EQ(user.at("name").as_string(), "이영희");
    EXPECT_EQ(user.at("address").as_string(), "부산광역시 중구 중앙대로 1");
    EXPECT_TRUE(user.at("address_confirmed_at").is_string()) << "a changed address is a confirmed one";
    EXPECT_FALSE(user.at("address_confirm_due").as_bool());
    EXPECT_EQ(wearer.Get("/api/me").json().at("user"), user);
}

// Issue 19: each wearer has an IANA time zone — the browser's at sign-up, Korea's when a client sends none —
// checked against the time-zone database, changed like the rest of the profile.
TEST_F(SelfServiceE2eTest, TheTimeZoneIsTakenAtSignUpCheckedAndChangeable) {
    HttpClient seoul = Client();
    SignupAndLogin(seoul, "tz_seoul");
    EXPECT_EQ(seoul.Get("/api/me").json().at("user").at("time_zone").as_string(), "Asia/Seoul");

    HttpClient visitor = Client();
    json::object body = SignupBody("tz_berlin");
    body["time_zone"] = "Europe/Berlin";
    auto created = visitor.Post("/api/signup", body);
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json().at("user").at("time_zone").as_string(), "Europe/Berlin");

    json::object wrong = SignupBody("tz_nowhere");
    wrong["time_zone"] = "+09:00";
    auto refused = Client().Post("/api/signup", wrong);
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_EQ(ErrorFields(refused), std::vector<std::string>{"time_zone"});

    auto bad = Patch(seoul, json::object{{"current_password", "correct horse"}, {"time_zone", "Mars/Olympus"}});
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(ErrorFields(bad), std::vector<std::string>{"time_zone"});
    EXPECT_EQ(seoul.Get("/api/me").json().at("user").at("time_zone").as_string(), "Asia/Seoul");
    auto moved = Patch(seoul, json::object{{"current_password", "correct horse"}, {"time_zone", "America/New_York"}});
    ASSERT_EQ(moved.status, 200) << moved.body;
    EXPECT_EQ(seoul.Get("/api/me").json().at("user").at("time_zone").as_string(), "America/New_York");
}

TEST_F(SelfServiceE2eTest, AChangedGuardianPhoneIsUnverifiedAndAnUnchangedOneStaysVerified) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "self_phone");
    ASSERT_EQ(wearer.Post("/api/phone/verification", json::object{}).status, 202);
    const std::string code = sms_.Code(kGuardianPhone, 1);
    ASSERT_EQ(code.size(), 6u);
    ASSERT_EQ(wearer.Post("/api/phone/verification/confirm", json::object{{"code", code}}).status, 200);
    ASSERT_TRUE(wearer.Get("/api/me").json().at("user").at("guard_phone_verified").as_bool());

    // The same number written differently, and another field: still verified.
    auto same = Patch(wearer, json::object{{"current_password", "correct horse"},
                                           {"guard_phone_num", "+821098765432"},
                                           {"guard_name", "김철수 아들"}});
    ASSERT_EQ(same.status, 200) << same.body;
    EXPECT_TRUE(same.json().at("user").at("guard_phone_verified").as_bool());

    auto other =
        Patch(wearer, json::object{{"current_password", "correct horse"}, {"guard_phone_num", "010-2222-3333"}});
    ASSERT_EQ(other.status, 200) << other.body;
    EXPECT_FALSE(other.json().at("user").at("guard_phone_verified").as_bool());
    // Back to the number verified before: asked again (its owner may have changed meanwhile).
    auto back = Patch(wearer, json::object{{"current_password", "correct horse"}, {"guard_phone_num", kGuardianPhone}});
    ASSERT_EQ(back.status, 200) << back.body;
    EXPECT_FALSE(back.json().at("user").at("guard_phone_verified").as_bool());
}

TEST_F(SelfServiceE2eTest, OperatorLocksUnlocksAndResetsWhileTheServerRuns) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "self_lock");
    WebSocketClient stream;
    OpenStream(stream, wearer);

    Output listed = User("list --json");
    ASSERT_EQ(listed.exit_code, 0) << listed.text;
    EXPECT_NE(listed.text.find("\"id\":\"self_lock\""), std::string::npos) << listed.text;
    EXPECT_EQ(listed.text.find("argon2"), std::string::npos) << "no password hashes";

    Output unknown = User("lock nobody_here");
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_NE(unknown.text.find("nobody_here"), std::string::npos) << unknown.text;

    Output locked = User("lock self_lock --reason 'reported stolen'");
    ASSERT_EQ(locked.exit_code, 0) << locked.text;
    EXPECT_EQ(wearer.Get("/api/me").status, 401) << "the open session ended";
    EXPECT_TRUE(stream.WaitClosed(std::chrono::seconds(10))) << "its stream closes within the re-check interval";
    HttpClient again = Client();
    auto refused = again.Post("/api/login", json::object{{"id", "self_lock"}, {"password", "correct horse"}});
    EXPECT_EQ(refused.status, 403) << refused.body;
    EXPECT_EQ(ErrorCode(refused), "account_locked");

    ASSERT_EQ(User("unlock self_lock").exit_code, 0);
    EXPECT_EQ(again.Post("/api/login", json::object{{"id", "self_lock"}, {"password", "correct horse"}}).status, 200);

    Output reset = User("reset-password self_lock");
    ASSERT_EQ(reset.exit_code, 0) << reset.text;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(reset.text, m, std::regex("is now:\\n([A-Za-z0-9_-]{20})\\n"))) << reset.text;
    const std::string printed = m[1].str();
    EXPECT_EQ(again.Get("/api/me").status, 401) << "reset ends every session";
    HttpClient after = Client();
    EXPECT_EQ(after.Post("/api/login", json::object{{"id", "self_lock"}, {"password", "correct horse"}}).status, 401);
    EXPECT_EQ(after.Post("/api/login", json::object{{"id", "self_lock"}, {"password", printed}}).status, 200);
}

TEST_F(SelfServiceE2eTest, CookiesAreSecureByDefaultBehindAnHttpsPublicUrlAndCanBeTurnedOff) {
    auto login_cookie = [&] {
        HttpClient c = Client();
        c.Post("/api/signup", SignupBody("self_cookie_" + std::to_string(server_->port())));
        auto login = c.Post("/api/login", json::object{{"id", "self_cookie_" + std::to_string(server_->port())},
                                                       {"password", "correct horse"}});
        EXPECT_EQ(login.status, 200) << login.body;
        return login.header("set-cookie");
    };
    EXPECT_EQ(login_cookie().find("Secure"), std::string::npos) << "plain local server: no Secure";
    StartServer({"--public-url", "https://care.example.org"});
    EXPECT_NE(login_cookie().find("; Secure"), std::string::npos);
    StartServer({"--public-url", "https://care.example.org", "--no-secure-cookies"});
    EXPECT_EQ(login_cookie().find("Secure"), std::string::npos);
    StartServer({"--secure-cookies"});
    EXPECT_NE(login_cookie().find("; Secure"), std::string::npos);
}

}  // namespace
}  // namespace vg::e2e
