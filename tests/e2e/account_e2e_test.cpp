// The seed's account API end to end: the real binary, real HTTP, a real SQLite file.
#include <thread>

#include "e2e_fixture.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;

class AccountE2eTest : public ServerTest {
  protected:
    void SetUp() override { StartServer(); }
};

TEST_F(AccountE2eTest, SignupCheckIdLoginMeLogout) {
    HttpClient client = Client();
    auto before = client.Get("/api/check_id?id=grandma_kim");
    ASSERT_EQ(before.status, 200) << before.body;
    EXPECT_TRUE(before.json().at("available").as_bool());

    auto signup = client.Post("/api/signup", SignupBody("grandma_kim"));
    ASSERT_EQ(signup.status, 201) << signup.body;
    const json::value signup_json = signup.json();
    const auto& user = signup_json.at("user");
    EXPECT_EQ(user.at("id").as_string(), "grandma_kim");
    EXPECT_EQ(user.at("name").as_string(), "김영희");
    EXPECT_EQ(user.at("guard_phone_num").as_string(), "010-9876-5432");
    EXPECT_EQ(user.at("danger_degree").as_int64(), 0);
    EXPECT_TRUE(user.at("user_posture").is_null());
    EXPECT_FALSE(user.as_object().contains("password"));
    EXPECT_EQ(signup.body.find("argon2"), std::string::npos);

    auto after = client.Get("/api/check_id/?id=grandma_kim");  // trailing slash too
    ASSERT_EQ(after.status, 200);
    EXPECT_FALSE(after.json().at("available").as_bool());

    auto login = client.Post("/api/login", json::object{{"id", "grandma_kim"}, {"password", "correct horse"}});
    ASSERT_EQ(login.status, 200) << login.body;
    const std::string set_cookie = login.header("Set-Cookie");
    EXPECT_NE(set_cookie.find("vg_session="), std::string::npos);
    EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
    EXPECT_EQ(set_cookie.find("Secure"), std::string::npos);  // plain HTTP without --secure-cookies
    const std::string csrf(login.json().at("csrf_token").as_string());
    EXPECT_EQ(csrf.size(), 43u);
    EXPECT_EQ(client.cookie("vg_session")->size(), 43u);

    auto me = client.Get("/api/me");
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(me.json().at("user").at("id").as_string(), "grandma_kim");
    EXPECT_EQ(me.json().at("csrf_token").as_string(), csrf);
    EXPECT_EQ(me.header("Cache-Control"), "no-store");

    auto logout = client.Post("/api/logout/", json::object{}, {{"X-CSRF-Token", csrf}});
    ASSERT_EQ(logout.status, 200) << logout.body;
    EXPECT_FALSE(client.cookie("vg_session").has_value());  // cleared by Max-Age=0

    auto me_after = client.Get("/api/me");
    EXPECT_EQ(me_after.status, 401);
    EXPECT_EQ(ErrorCode(me_after), "unauthenticated");
}

TEST_F(AccountE2eTest, TheOldSessionTokenIsDeadAfterLogout) {
    HttpClient client = Client();
    std::string csrf = SignupAndLogin(client, "lee_sunja");
    const std::string token = *client.cookie("vg_session");
    ASSERT_EQ(client.Post("/api/logout", json::object{}).status, 200);
    HttpClient replay = Client();
    replay.SetCookie("vg_session", token);
    EXPECT_EQ(replay.Get("/api/me").status, 401);
}

TEST_F(AccountE2eTest, DuplicateIdIsConflict409AndKeepsTheFirstAccount) {
    HttpClient client = Client();
    ASSERT_EQ(client.Post("/api/signup", SignupBody("park_minsu")).status, 201);
    json::object second = SignupBody("park_minsu");
    second["password"] = "another password";
    auto dup = client.Post("/api/signup", second);
    ASSERT_EQ(dup.status, 409) << dup.body;
    EXPECT_EQ(ErrorCode(dup), "conflict");
    EXPECT_EQ(ErrorFields(dup), std::vector<std::string>{"id"});
    // The first password still works; the second was never stored.
    EXPECT_EQ(client.Post("/api/login", json::object{{"id", "park_minsu"}, {"password", "correct horse"}}).status, 200);
    EXPECT_EQ(client.Post("/api/login", json::object{{"id", "park_minsu"}, {"password", "another password"}}).status,
              401);
}

struct BadSignup {
    const char* name;
    std::function<void(json::object&)> change;
    std::vector<std::string> fields;
};

TEST_F(AccountE2eTest, EveryValidationErrorNamesItsFieldAndWritesNothing) {
    const std::vector<BadSignup> cases = {
        {"id too short", [](json::object& b) { b["id"] = "abc"; }, {"id"}},
        {"id uppercase", [](json::object& b) { b["id"] = "Grandma"; }, {"id"}},
        {"id too long", [](json::object& b) { b["id"] = std::string(33, 'a'); }, {"id"}},
        {"id missing", [](json::object& b) { b.erase("id"); }, {"id"}},
        {"password short", [](json::object& b) { b["password"] = "1234567"; }, {"password"}},
        {"password equals id", [](json::object& b) { b["password"] = "valid_id_1"; }, {"password"}},
        {"name missing", [](json::object& b) { b.erase("name"); }, {"name"}},
        {"name blank", [](json::object& b) { b["name"] = "   "; }, {"name"}},
        {"name too long", [](json::object& b) { b["name"] = std::string(101, 'x'); }, {"name"}},
        {"name with newline", [](json::object& b) { b["name"] = "Kim\nLee"; }, {"name"}},
        {"age zero", [](json::object& b) { b["age"] = 0; }, {"age"}},
        {"age 131", [](json::object& b) { b["age"] = 131; }, {"age"}},
        {"age fraction", [](json::object& b) { b["age"] = 78.5; }, {"age"}},
        {"age as text", [](json::object& b) { b["age"] = "78"; }, {"age"}},
        {"address missing", [](json::object& b) { b.erase("address"); }, {"address"}},
        {"address too long", [](json::object& b) { b["address"] = std::string(256, 'x'); }, {"address"}},
        {"detailed address too long",
         [](json::object& b) { b["detailed_address"] = std::string(256, 'x'); },
         {"detailed_address"}},
        {"phone malformed", [](json::object& b) { b["phone_num"] = "call me"; }, {"phone_num"}},
        {"phone as number", [](json::object& b) { b["phone_num"] = 1012345678; }, {"phone_num"}},
        {"guard phone without name", [](json::object& b) { b.erase("guard_name"); }, {"guard_name"}},
        {"guard name without phone", [](json::object& b) { b.erase("guard_phone_num"); }, {"guard_phone_num"}},
        {"guard phone malformed", [](json::object& b) { b["guard_phone_num"] = "+0"; }, {"guard_phone_num"}},
        {"unknown field", [](json::object& b) { b["phone_number"] = "010-1234-5678"; }, {"phone_number"}},
        {"server-owned field", [](json::object& b) { b["danger_degree"] = 2; }, {"danger_degree"}},
        {"several at once",
         [](json::object& b) {
             b["id"] = "X";
             b["age"] = -1;
             b["phone_num"] = "";
         },
         {"id", "age", "phone_num"}},
    };
    HttpClient client = Client();
    for (const auto& c : cases) {
        json::object body = SignupBody("valid_id_1");
        c.change(body);
        auto r = client.Post("/api/signup", body);
        EXPECT_EQ(r.status, 400) << c.name << ": " << r.body;
        EXPECT_EQ(ErrorCode(r), "validation_failed") << c.name;
        auto fields = ErrorFields(r);
        std::sort(fields.begin(), fields.end());
        auto expected = c.fields;
        std::sort(expected.begin(), expected.end());
        EXPECT_EQ(fields, expected) << c.name << ": " << r.body;
        const json::value error_json = r.json();
        for (const auto& f : error_json.at("error").at("fields").as_array()) {
            EXPECT_FALSE(f.at("problem").as_string().empty()) << c.name;
        }
    }
    // Nothing was written by any of them.
    EXPECT_TRUE(client.Get("/api/check_id?id=valid_id_1").json().at("available").as_bool());
    EXPECT_EQ(client.Post("/api/signup", SignupBody("valid_id_1")).status, 201);
}

TEST_F(AccountE2eTest, MalformedBodiesGetClearErrorsAndChangeNothing) {
    HttpClient client = Client();
    auto broken = client.PostRaw("/api/signup", R"({"id": "kim_ok", "age": )");
    EXPECT_EQ(broken.status, 400);
    EXPECT_EQ(ErrorCode(broken), "invalid_json");

    auto not_object = client.PostRaw("/api/signup", R"(["kim_ok"])");
    EXPECT_EQ(not_object.status, 400);
    EXPECT_EQ(ErrorCode(not_object), "invalid_json");

    auto wrong_type = client.PostRaw("/api/signup", json::serialize(SignupBody("kim_ok")), "text/plain");
    EXPECT_EQ(wrong_type.status, 415);
    EXPECT_EQ(ErrorCode(wrong_type), "unsupported_media_type");

    auto form = client.PostRaw("/api/login", "id=kim_ok&password=x", "application/x-www-form-urlencoded");
    EXPECT_EQ(form.status, 415);

    auto empty = client.PostRaw("/api/login", "");
    EXPECT_EQ(empty.status, 400);
    EXPECT_EQ(ErrorCode(empty), "invalid_json");

    EXPECT_TRUE(client.Get("/api/check_id?id=kim_ok").json().at("available").as_bool());
}

TEST_F(AccountE2eTest, CheckIdValidatesItsParameter) {
    HttpClient client = Client();
    auto missing = client.Get("/api/check_id");
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(ErrorFields(missing), std::vector<std::string>{"id"});
    auto invalid = client.Get("/api/check_id?id=NO%20WAY");
    EXPECT_EQ(invalid.status, 400);
    EXPECT_EQ(ErrorFields(invalid), std::vector<std::string>{"id"});
    auto unknown = client.Get("/api/check_id?id=kim_ok&user=x");
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(ErrorFields(unknown), std::vector<std::string>{"user"});
}

TEST_F(AccountE2eTest, StateChangesWithoutTheCsrfTokenAreRefused) {
    HttpClient client = Client();
    const std::string csrf = SignupAndLogin(client, "choi_jiwoo");
    client.RemoveDefaultHeader("X-CSRF-Token");

    auto no_token = client.Post("/api/logout", json::object{});
    EXPECT_EQ(no_token.status, 403);
    EXPECT_EQ(ErrorCode(no_token), "csrf_failed");
    auto wrong_token = client.Post("/api/logout", json::object{}, {{"X-CSRF-Token", std::string(43, 'A')}});
    EXPECT_EQ(wrong_token.status, 403);
    EXPECT_EQ(ErrorCode(wrong_token), "csrf_failed");
    auto pair = client.Post("/api/devices", json::object{{"name", "watch"}});
    EXPECT_EQ(pair.status, 403);

    // Nothing happened: the session is alive and no device was paired.
    EXPECT_EQ(client.Get("/api/me").status, 200);
    EXPECT_EQ(client.Get("/api/devices").json().at("devices").as_array().size(), 0u);

    // A cross-site page cannot log anyone in or out, even with a token.
    auto cross_site =
        client.Post("/api/logout", json::object{}, {{"X-CSRF-Token", csrf}, {"Origin", "https://evil.example"}});
    EXPECT_EQ(cross_site.status, 403);
    EXPECT_EQ(ErrorCode(cross_site), "forbidden");
    auto cross_login = client.Post("/api/login", json::object{{"id", "choi_jiwoo"}, {"password", "correct horse"}},
                                   {{"Origin", "https://evil.example"}});
    EXPECT_EQ(cross_login.status, 403);

    // The same page's origin is fine.
    const std::string own_origin = "http://127.0.0.1:" + std::to_string(server_->port());
    EXPECT_EQ(client.Post("/api/logout", json::object{}, {{"X-CSRF-Token", csrf}, {"Origin", own_origin}}).status, 200);
}

TEST_F(AccountE2eTest, WrongPasswordAndUnknownIdLookTheSame) {
    HttpClient client = Client();
    ASSERT_EQ(client.Post("/api/signup", SignupBody("jung_hoon")).status, 201);
    auto wrong = client.Post("/api/login", json::object{{"id", "jung_hoon"}, {"password", "wrong password"}});
    auto unknown = client.Post("/api/login", json::object{{"id", "nobody_here"}, {"password", "wrong password"}});
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(ErrorCode(wrong), "invalid_credentials");
    EXPECT_EQ(wrong.json().at("error").at("message"), unknown.json().at("error").at("message"));
    auto missing = client.Post("/api/login", json::object{{"id", "jung_hoon"}});
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(ErrorFields(missing), std::vector<std::string>{"password"});
}

TEST_F(AccountE2eTest, DevicesArePairedListedAndRevokedByTheirOwnerOnly) {
    HttpClient kim = Client();
    SignupAndLogin(kim, "kim_device");
    auto paired = kim.Post("/api/devices", json::object{{"name", "Galaxy Watch 6"}});
    ASSERT_EQ(paired.status, 201) << paired.body;
    const std::string token(paired.json().at("device_token").as_string());
    EXPECT_EQ(token.size(), 43u);
    const int64_t device_id = paired.json().at("device").at("device_id").as_int64();

    auto list = kim.Get("/api/devices");
    ASSERT_EQ(list.status, 200);
    ASSERT_EQ(list.json().at("devices").as_array().size(), 1u);
    EXPECT_EQ(list.body.find(token), std::string::npos);  // never shown again

    HttpClient lee = Client();
    SignupAndLogin(lee, "lee_device");
    EXPECT_EQ(lee.Delete("/api/devices/" + std::to_string(device_id)).status, 404);
    EXPECT_EQ(lee.Get("/api/devices").json().at("devices").as_array().size(), 0u);

    EXPECT_EQ(kim.Delete("/api/devices/not-a-number").status, 400);
    auto revoked = kim.Delete("/api/devices/" + std::to_string(device_id));
    EXPECT_EQ(revoked.status, 200) << revoked.body;
    EXPECT_EQ(kim.Delete("/api/devices/" + std::to_string(device_id)).status, 404);
    EXPECT_FALSE(kim.Get("/api/devices").json().at("devices").at(0).at("active").as_bool());

    EXPECT_EQ(kim.Post("/api/devices", json::object{{"name", ""}}).status, 400);
}

class RateLimitE2eTest : public ServerTest {
  protected:
    void SetUp() override {
        StartServer({"--max-failed-logins-per-id", "3", "--max-failed-logins-per-address", "6", "--failed-login-window",
                     "10m", "--check-id-per-minute", "5"});
    }
};

TEST_F(RateLimitE2eTest, FailedLoginsLockTheIdWithRetryAfter) {
    HttpClient client = Client();
    ASSERT_EQ(client.Post("/api/signup", SignupBody("yoon_hee")).status, 201);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(
            client
                .Post("/api/login", json::object{{"id", "yoon_hee"}, {"password", "guess number " + std::to_string(i)}})
                .status,
            401);
    }
    auto locked = client.Post("/api/login", json::object{{"id", "yoon_hee"}, {"password", "correct horse"}});
    EXPECT_EQ(locked.status, 429) << locked.body;
    EXPECT_EQ(ErrorCode(locked), "rate_limited");
    const int retry_after = std::stoi(locked.header("Retry-After"));
    EXPECT_GT(retry_after, 0);
    EXPECT_LE(retry_after, 600);
}

TEST_F(RateLimitE2eTest, FailedLoginsLockTheClientAddressAcrossIds) {
    HttpClient client = Client();
    for (int i = 0; i < 6; ++i) {
        auto r = client.Post("/api/login",
                             json::object{{"id", "someone_" + std::to_string(i)}, {"password", "wrong password"}});
        EXPECT_EQ(r.status, 401) << i;
    }
    auto locked = client.Post("/api/login", json::object{{"id", "someone_new"}, {"password", "wrong password"}});
    EXPECT_EQ(locked.status, 429);
    EXPECT_FALSE(locked.header("Retry-After").empty());
}

TEST_F(RateLimitE2eTest, DuplicateIdChecksAreLimitedPerAddress) {
    HttpClient client = Client();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(client.Get("/api/check_id?id=user_" + std::to_string(i)).status, 200);
    auto limited = client.Get("/api/check_id?id=user_x");
    EXPECT_EQ(limited.status, 429);
    EXPECT_FALSE(limited.header("Retry-After").empty());
}

class SessionExpiryE2eTest : public ServerTest {};

TEST_F(SessionExpiryE2eTest, IdleSessionExpiresAndTheCookieIsCleared) {
    StartServer({"--session-idle-timeout", "1500ms", "--session-ttl", "1h"});
    HttpClient client = Client();
    SignupAndLogin(client, "idle_user");
    ASSERT_EQ(client.Get("/api/me").status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    auto expired = client.Get("/api/me");
    EXPECT_EQ(expired.status, 401);
    EXPECT_EQ(ErrorCode(expired), "session_expired");
    EXPECT_FALSE(client.cookie("vg_session").has_value());
}

TEST_F(SessionExpiryE2eTest, SessionEndsAtItsAbsoluteLifetimeEvenWhenUsed) {
    StartServer({"--session-idle-timeout", "2s", "--session-ttl", "2s"});
    HttpClient client = Client();
    SignupAndLogin(client, "ttl_user");
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        ASSERT_EQ(client.Get("/api/me").status, 200) << i;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    EXPECT_EQ(client.Get("/api/me").status, 401);
}

}  // namespace
}  // namespace vg::e2e
