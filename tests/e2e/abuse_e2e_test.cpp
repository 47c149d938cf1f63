// Abuse end to end (issue 15, item 1): nobody can turn VitalGuard into a 119 or SMS cannon against a
// stranger. The real server, a fake SMS gateway and a fake 119 receiver started by the test: SMS only to
// verified numbers (a code sent once, 5 attempts), SOS and dispatch limits that bite on an
// open → resolve → open loop but never on a first SOS, a new account's SOS after the countdown, and
// names with invisible direction overrides refused at sign-up.
#include <sqlite3.h>

#include <mutex>
#include <regex>
#include <thread>

#include "e2e_fixture.hpp"
#include "vg/http/server.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;
constexpr const char* kSecret = "e2e-webhook-secret-0123456789";
constexpr const char* kGuardianPhone = "010-9876-5432";  // SignupBody's guard_phone_num

// Records what it is sent: the SMS gateway (/sms, JSON {"to","text","reference"}) and 119 (/119).
class Sink {
  public:
    Sink() {
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
            requests_.push_back(r);
            http::Response resp;
            resp.status = 202;
            resp.body = "{}";
            return resp;
        });
        EXPECT_TRUE(server_->Start().ok());
    }
    std::string Url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    }
    std::vector<http::Request> Received(const std::string& path) {
        std::lock_guard lock(mu_);
        std::vector<http::Request> out;
        for (const auto& r : requests_) {
            if (r.path == path) out.push_back(r);
        }
        return out;
    }
    // The texts of the SMS sent to `to`.
    std::vector<std::string> SmsTo(const std::string& to) {
        std::vector<std::string> texts;
        for (const auto& r : Received("/sms")) {
            const json::value body = json::parse(r.body);
            if (body.at("to").as_string() == to) texts.emplace_back(body.at("text").as_string());
        }
        return texts;
    }
    // Waits until at least `n` SMS reached `to`.
    std::vector<std::string> WaitForSms(const std::string& to, size_t n, std::chrono::seconds within) {
        const auto until = std::chrono::steady_clock::now() + within;
        while (std::chrono::steady_clock::now() < until && SmsTo(to).size() < n) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return SmsTo(to);
    }
    std::vector<http::Request> WaitFor(const std::string& path, size_t n, std::chrono::seconds within) {
        const auto until = std::chrono::steady_clock::now() + within;
        while (std::chrono::steady_clock::now() < until && Received(path).size() < n) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return Received(path);
    }

  private:
    std::mutex mu_;
    std::vector<http::Request> requests_;
    std::unique_ptr<http::Server> server_;
};

class AbuseE2eTest : public ServerTest {
  protected:
    void SetUp() override { Start(); }
    void Start() {
        StartServer({"--countdown", "5s", "--emergency-webhook-url", sink_.Url("/119"), "--webhook-secret", kSecret,
                     "--sms-gateway-url", sink_.Url("/sms")});
    }

    // The six digits of the latest verification SMS to `to`.
    std::string LatestCode(const std::string& to, size_t nth) {
        const auto texts = sink_.WaitForSms(to, nth, std::chrono::seconds(10));
        EXPECT_GE(texts.size(), nth) << "no verification SMS reached " << to;
        if (texts.size() < nth) return {};
        std::smatch m;
        const std::string& text = texts[nth - 1];
        EXPECT_TRUE(std::regex_search(text, m, std::regex("\\b([0-9]{6})\\b"))) << text;
        return m.size() > 1 ? m[1].str() : std::string();
    }

    // The wearer verifies the guardian's number with the code the guardian received.
    void VerifyGuardianPhone(HttpClient& wearer) {
        const size_t before = sink_.SmsTo(kGuardianPhone).size();
        auto sent = wearer.Post("/api/phone/verification", json::object{});
        ASSERT_EQ(sent.status, 202) << sent.body;
        const std::string code = LatestCode(kGuardianPhone, before + 1);
        auto confirmed = wearer.Post("/api/phone/verification/confirm", json::object{{"code", code}});
        ASSERT_EQ(confirmed.status, 200) << confirmed.body;
        EXPECT_TRUE(wearer.Get("/api/me").json().at("user").at("guard_phone_verified").as_bool());
    }

    // Makes `id`'s account two days old, as an account that has been in use is: the server is stopped,
    // the row's creation time moved back in the database file, and the server started again (on another
    // port: LoggedIn gives a client of it).
    void AgeAccount(const std::string& id) {
        server_->Terminate();
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((data_dir_.file("data") + "/vitalguard.db").c_str(), &db), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE users SET created_at = created_at - 172800000 WHERE id = ?1", -1, &st,
                                     nullptr),
                  SQLITE_OK);
        sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
        EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
        EXPECT_EQ(sqlite3_changes(db), 1);
        sqlite3_finalize(st);
        sqlite3_close(db);
        Start();
    }
    // A client of the restarted server, logged in as `id`.
    HttpClient LoggedIn(const std::string& id) {
        HttpClient client = Client();
        auto login = client.Post("/api/login", json::object{{"id", id}, {"password", "correct horse"}});
        EXPECT_EQ(login.status, 200) << login.body;
        client.SetDefaultHeader("X-CSRF-Token", std::string(login.json().at("csrf_token").as_string()));
        return client;
    }

    static std::string Path(const testing::HttpResult& sos) {
        return "/api/incidents/" + std::to_string(sos.json().at("incident").at("id").as_int64());
    }

    Sink sink_;
};

TEST_F(AbuseE2eTest, SosResolveLoopOfANewAccountSendsNoSmsNoCallAndIsCutOff) {
    HttpClient attacker = Client();
    SignupAndLogin(attacker, "loop_new");
    int opened = 0;
    testing::HttpResult refused;
    for (int round = 0; round < 8; ++round) {
        auto sos = attacker.Post("/api/emergency_call/", json::object{});
        if (sos.status == 429) {
            refused = sos;
            break;
        }
        ASSERT_EQ(sos.status, 201) << sos.body;
        ++opened;
        EXPECT_EQ(sos.json().at("incident").at("phase").as_string(), "countdown") << "a new account waits";
        ASSERT_EQ(attacker.Post(Path(sos) + "/resolve", json::object{}).status, 200);
    }
    EXPECT_EQ(opened, 5) << "5 SOS an hour per account; the sixth in the loop is refused";
    ASSERT_EQ(refused.status, 429) << refused.body;
    EXPECT_GE(std::stoi(refused.header("retry-after")), 1);
    EXPECT_NE(refused.json().at("error").at("message").as_string().find("5 SOS"), std::string::npos) << refused.body;
    std::this_thread::sleep_for(std::chrono::seconds(7));  // past every countdown
    EXPECT_TRUE(sink_.Received("/119").empty()) << "every countdown was cancelled by the resolve";
    EXPECT_TRUE(sink_.SmsTo(kGuardianPhone).empty()) << "the number was never verified";
}

TEST_F(AbuseE2eTest, SosResolveLoopOfAnEstablishedVerifiedAccountStopsAtTheHourlyDispatchLimit) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "loop_old");
    VerifyGuardianPhone(wearer);
    AgeAccount("loop_old");
    wearer = LoggedIn("loop_old");
    const size_t code_sms = sink_.SmsTo(kGuardianPhone).size();
    int dispatched = 0;
    testing::HttpResult refused;
    for (int round = 0; round < 6; ++round) {
        auto sos = wearer.Post("/api/emergency_call/", json::object{});
        if (sos.status == 429) {
            refused = sos;
            break;
        }
        ASSERT_EQ(sos.status, 201) << sos.body;
        EXPECT_EQ(sos.json().at("incident").at("phase").as_string(), "dispatched");
        ++dispatched;
        ASSERT_EQ(wearer.Post(Path(sos) + "/resolve", json::object{}).status, 200);
    }
    EXPECT_EQ(dispatched, 3);
    ASSERT_EQ(refused.status, 429) << refused.body;
    EXPECT_GE(std::stoi(refused.header("retry-after")), 1);
    EXPECT_NE(refused.json().at("error").at("message").as_string().find("3 emergency calls"), std::string::npos)
        << refused.body;
    EXPECT_EQ(sink_.WaitFor("/119", 3, std::chrono::seconds(10)).size(), 3u);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(sink_.Received("/119").size(), 3u);
    // Per round: the SOS alert and the all clear; nothing for the refused round.
    EXPECT_LE(sink_.SmsTo(kGuardianPhone).size(), code_sms + 6);
}

TEST_F(AbuseE2eTest, AnUnverifiedNumberGetsNoSmsAndTheIncidentSaysWhy) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "unverified_kim");
    EXPECT_FALSE(wearer.Get("/api/me").json().at("user").at("guard_phone_verified").as_bool());
    auto sos = wearer.Post("/api/emergency_call/", json::object{});
    ASSERT_EQ(sos.status, 201) << sos.body;
    auto detail = wearer.Get(Path(sos));
    ASSERT_EQ(detail.status, 200) << detail.body;
    bool skipped = false;
    const json::value d = detail.json();
    for (const auto& e : d.at("events").as_array()) {
        if (e.at("type").as_string() == "sms_skipped") {
            skipped = true;
            EXPECT_NE(e.at("detail").as_string().find("not verified"), std::string::npos) << detail.body;
            EXPECT_EQ(e.at("detail").as_string().find("9876"), std::string::npos) << "the number is masked";
        }
    }
    EXPECT_TRUE(skipped) << detail.body;
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_TRUE(sink_.SmsTo(kGuardianPhone).empty());
}

TEST_F(AbuseE2eTest, AVerifiedNumberGetsTheSmsAndACodeIsSentOnceAMinute) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "verified_kim");
    VerifyGuardianPhone(wearer);
    EXPECT_EQ(sink_.SmsTo(kGuardianPhone).size(), 1u) << "one code, one SMS";
    // Asking again at once: refused, with when to try again, and no SMS.
    auto again = wearer.Post("/api/phone/verification", json::object{{"field", "phone_num"}});
    EXPECT_EQ(again.status, 202) << "another number of the account has its own code: " << again.body;
    auto resend = wearer.Post("/api/phone/verification", json::object{});
    EXPECT_EQ(resend.status, 200) << "already verified: nothing to send " << resend.body;
    EXPECT_TRUE(resend.json().at("verified").as_bool());
    auto resend_own = wearer.Post("/api/phone/verification", json::object{{"field", "phone_num"}});
    ASSERT_EQ(resend_own.status, 429) << resend_own.body;
    EXPECT_GE(std::stoi(resend_own.header("retry-after")), 50);
    auto sos = wearer.Post("/api/emergency_call/", json::object{});
    ASSERT_EQ(sos.status, 201) << sos.body;
    const auto texts = sink_.WaitForSms(kGuardianPhone, 2, std::chrono::seconds(10));
    ASSERT_EQ(texts.size(), 2u);
    EXPECT_NE(texts[1].find("SOS"), std::string::npos) << texts[1];
}

TEST_F(AbuseE2eTest, FiveWrongCodesLockTheCode) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "guesser_kim");
    ASSERT_EQ(wearer.Post("/api/phone/verification", json::object{}).status, 202);
    const std::string code = LatestCode(kGuardianPhone, 1);
    ASSERT_EQ(code.size(), 6u);
    const std::string wrong = code.substr(0, 5) + (code[5] == '9' ? "0" : std::string(1, char(code[5] + 1)));
    for (int i = 0; i < 5; ++i) {
        auto r = wearer.Post("/api/phone/verification/confirm", json::object{{"code", wrong}});
        ASSERT_EQ(r.status, 400) << r.body;
        EXPECT_EQ(ErrorFields(r), std::vector<std::string>{"code"});
    }
    auto locked = wearer.Post("/api/phone/verification/confirm", json::object{{"code", code}});
    EXPECT_EQ(locked.status, 409) << "five wrong tries use the code up: " << locked.body;
    EXPECT_FALSE(wearer.Get("/api/me").json().at("user").at("guard_phone_verified").as_bool());
    auto malformed = wearer.Post("/api/phone/verification/confirm", json::object{{"code", "12ab"}});
    EXPECT_EQ(malformed.status, 400);
    HttpClient stranger = Client();
    EXPECT_EQ(stranger.Post("/api/phone/verification", json::object{}).status, 401) << "only a session";
}

TEST_F(AbuseE2eTest, ANewAccountsSosReachesTheEmergencyLineOnlyAfterTheCountdownAndCanBeCancelled) {
    HttpClient mistaken = Client();
    SignupAndLogin(mistaken, "new_mistake");
    auto sos = mistaken.Post("/api/emergency_call/", json::object{});
    ASSERT_EQ(sos.status, 201) << sos.body;
    EXPECT_EQ(sos.json().at("incident").at("phase").as_string(), "countdown");
    EXPECT_LE(sos.json().at("incident").at("seconds_left").as_int64(), 5);
    auto ok = mistaken.Post(Path(sos) + "/ok", json::object{});
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.json().at("incident").at("phase").as_string(), "guardians");

    HttpClient real = Client();
    SignupAndLogin(real, "new_real");
    auto help = real.Post("/api/emergency_call/", json::object{{"latitude", 37.5725}, {"longitude", 126.9769}});
    ASSERT_EQ(help.status, 201) << help.body;
    EXPECT_EQ(help.json().at("incident").at("phase").as_string(), "countdown");
    EXPECT_TRUE(sink_.Received("/119").empty()) << "not at once";
    auto calls = sink_.WaitFor("/119", 1, std::chrono::seconds(15));
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_NE(calls[0].body.find("37.57"), std::string::npos) << "the unanswered one, with its location";
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(sink_.Received("/119").size(), 1u) << "the cancelled one never went out";
}

TEST_F(AbuseE2eTest, AnEstablishedVerifiedAccountsSosDispatchesAtOnce) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "established_kim");
    VerifyGuardianPhone(wearer);
    AgeAccount("established_kim");
    wearer = LoggedIn("established_kim");
    const auto started = std::chrono::steady_clock::now();
    auto sos = wearer.Post("/api/emergency_call/", json::object{});
    ASSERT_EQ(sos.status, 201) << sos.body;
    EXPECT_EQ(sos.json().at("incident").at("phase").as_string(), "dispatched");
    ASSERT_EQ(sink_.WaitFor("/119", 1, std::chrono::seconds(5)).size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4)) << "no countdown";
    // Pressing again joins the open incident: no second call, no 429.
    auto again = wearer.Post("/api/emergency_call/", json::object{});
    ASSERT_EQ(again.status, 201) << again.body;
    EXPECT_EQ(again.json().at("incident").at("id"), sos.json().at("incident").at("id"));
    std::this_thread::sleep_for(std::chrono::seconds(1));
    EXPECT_EQ(sink_.Received("/119").size(), 1u);
}

TEST_F(AbuseE2eTest, NamesWithInvisibleDirectionOverridesAreRefusedAtSignup) {
    HttpClient client = Client();
    json::object body = SignupBody("bidi_kim");
    body["name"] =
        "\xe2\x80\xae"
        "Kim";                               // U+202E RIGHT-TO-LEFT OVERRIDE
    body["guard_name"] = "Lee\xe2\x80\x8b";  // U+200B ZERO WIDTH SPACE
    auto r = client.Post("/api/signup", body);
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(ErrorFields(r), (std::vector<std::string>{"name", "guard_name"}));
    EXPECT_EQ(client.Post("/api/login", json::object{{"id", "bidi_kim"}, {"password", "correct horse"}}).status, 401)
        << "nothing was created";
}

}  // namespace
}  // namespace vg::e2e
