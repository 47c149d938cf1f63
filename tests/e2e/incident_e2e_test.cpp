// Emergency response end to end: the real server, a danger reading, the countdown, the emergency call
// delivered to a real HTTP receiver started by the test (signed, idempotent), "I'm OK", SOS, a kill -9
// in the middle of a countdown, predict_model2, and who may see and act on whose incidents.
#include <csignal>
#include <mutex>
#include <thread>

#include "e2e_fixture.hpp"
#include "vg/http/server.hpp"
#include "vg/notify/webhook.hpp"
#include "vg/testing/websocket_client.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;
constexpr const char* kSecret = "e2e-webhook-secret-0123456789";
constexpr const char* kRewrite =
    "1. 지금 심박이 매우 빠릅니다.\n2. 원인은 부정맥일 수 있습니다.\n3. 바로 앉아서 쉬세요.\n4. 지금 119에 신고하세요.";

// An HTTP receiver on loopback that records what it is sent (the 119 dispatch centre, a care centre).
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
            if (r.path == "/v1/chat/completions") {  // an OpenAI-compatible endpoint for the guidance rewrite
                resp.status = 200;
                resp.set_header("Content-Type", "application/json");
                resp.body = json::serialize(json::object{
                    {"choices", json::array{json::object{
                                    {"message", json::object{{"role", "assistant"}, {"content", kRewrite}}}}}}});
                return resp;
            }
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
    // Waits until at least `n` requests reached `path`.
    std::vector<http::Request> WaitFor(const std::string& path, size_t n, std::chrono::seconds within) {
        const auto until = std::chrono::steady_clock::now() + within;
        while (std::chrono::steady_clock::now() < until) {
            auto got = Received(path);
            if (got.size() >= n) return got;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return Received(path);
    }

  private:
    std::mutex mu_;
    std::vector<http::Request> requests_;
    std::unique_ptr<http::Server> server_;
};

class IncidentE2eTest : public ServerTest {
  protected:
    void SetUp() override { Start(); }
    void Start() {
        StartServer({"--countdown", "5s", "--emergency-webhook-url", sink_.Url("/119"), "--guardian-webhook-url",
                     sink_.Url("/care"), "--webhook-secret", kSecret, "--public-url", "https://vg.example"});
    }
    static json::object Vitals(double hr, double spo2 = 97) {
        return json::object{{"heart_rate", hr}, {"respiration_rate", 16}, {"spo2", spo2}, {"skin_temp", 33.4},
                            {"steps", 0},       {"calories", 1.1}};
    }
    // Two danger readings: confirmed danger, an incident with a countdown.
    json::value OpenDanger(HttpClient& client) {
        for (int i = 0; i < 2; ++i) {
            auto r = client.Post("/api/update_status", Vitals(150, 88));
            EXPECT_EQ(r.status, 200) << r.body;
        }
        auto list = client.Get("/api/incidents");
        EXPECT_EQ(list.status, 200) << list.body;
        const json::value j = list.json();
        EXPECT_EQ(j.at("incidents").as_array().size(), 1u) << list.body;
        return j.at("incidents").as_array().at(0);
    }
    static std::string Login(HttpClient& client, const std::string& id) {
        auto login = client.Post("/api/login", json::object{{"id", id}, {"password", "correct horse"}});
        EXPECT_EQ(login.status, 200) << login.body;
        std::string csrf(login.json().at("csrf_token").as_string());
        client.SetDefaultHeader("X-CSRF-Token", csrf);
        return csrf;
    }

    Sink sink_;
};

TEST_F(IncidentE2eTest, DangerCountsDownAndTheSignedEmergencyCallGoesOutOnce) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "danger_kim");
    const json::value incident = OpenDanger(wearer);
    EXPECT_EQ(incident.at("phase").as_string(), "countdown");
    EXPECT_EQ(incident.at("status").as_int64(), 2);
    EXPECT_LE(incident.at("seconds_left").as_int64(), 5);
    // What was found, in plain words of both languages (the explanation stays the rules' English evidence).
    const std::string summary_ko(incident.at("summary").at("ko").as_string());
    EXPECT_NE(summary_ko.find("심박수가 너무 높습니다."), std::string::npos) << summary_ko;
    EXPECT_EQ(summary_ko.find("Heart rate"), std::string::npos) << summary_ko;
    EXPECT_NE(incident.at("summary").at("en").as_string().find("Heart rate is too high."), std::string::npos);
    // Guidance in the seed's four parts, Korean by default, saying to call 119 now.
    const json::value& g = incident.at("guidance");
    ASSERT_TRUE(g.is_object()) << json::serialize(incident);
    EXPECT_EQ(g.at("language").as_string(), "ko");
    EXPECT_TRUE(g.at("call_119").as_bool());
    EXPECT_FALSE(g.at("actions").as_array().empty());
    const std::string text(g.at("text").as_string());
    for (const char* part : {"1.", "2.", "3.", "4.", "119"}) EXPECT_NE(text.find(part), std::string::npos) << text;
    // English on request.
    auto en = wearer.Get("/api/incidents?lang=en");
    EXPECT_EQ(en.json().at("incidents").at(0).at("guidance").at("language").as_string(), "en");

    // The care centre heard of it at once; nobody answers, so the call goes out after 5 s.
    EXPECT_FALSE(sink_.WaitFor("/care", 1, std::chrono::seconds(5)).empty());
    auto calls = sink_.WaitFor("/119", 1, std::chrono::seconds(15));
    ASSERT_EQ(calls.size(), 1u);
    const http::Request& call = calls[0];
    EXPECT_TRUE(notify::VerifyWebhookSignature(kSecret, call.header("x-vitalguard-timestamp"), call.body,
                                               call.header("x-vitalguard-signature"), SystemClock::Instance().Now())
                    .ok());
    EXPECT_FALSE(call.header("idempotency-key").empty());
    EXPECT_NE(call.body.find("김영희"), std::string::npos) << "the report names the wearer: " << call.body;

    // The receiver has the call; the server records the delivery once the receiver's answer is back.
    const int64_t id = incident.at("id").as_int64();
    bool dispatch_delivered = false;
    std::string last_body;
    for (int attempt = 0; attempt < 50 && !dispatch_delivered; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto detail = wearer.Get("/api/incidents/" + std::to_string(id));
        ASSERT_EQ(detail.status, 200) << detail.body;
        last_body = detail.body;
        const json::value d = detail.json();
        EXPECT_EQ(d.at("incident").at("phase").as_string(), "dispatched");
        for (const auto& n : d.at("notifications").as_array()) {
            if (n.at("purpose").as_string() == "emergency_dispatch") {
                dispatch_delivered = n.at("state").as_string() == "delivered";
                EXPECT_EQ(n.at("to").as_string(), "119 dispatch") << "a receiver's URL is not shown at all";
            }
        }
    }
    EXPECT_TRUE(dispatch_delivered) << last_body;
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(sink_.Received("/119").size(), 1u) << "never a second call";
}

TEST_F(IncidentE2eTest, ImOkWithinTheCountdownCancelsTheCall) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "ok_park");
    const int64_t id = OpenDanger(wearer).at("id").as_int64();
    auto ok = wearer.Post("/api/incidents/" + std::to_string(id) + "/ok/", json::object{});
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.json().at("incident").at("phase").as_string(), "guardians");
    std::this_thread::sleep_for(std::chrono::seconds(7));
    EXPECT_TRUE(sink_.Received("/119").empty());
}

TEST_F(IncidentE2eTest, KillMinus9MidCountdownStillCallsExactlyOnce) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "crash_choi");
    OpenDanger(wearer);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    EXPECT_EQ(server_->Kill().signal, SIGKILL);
    EXPECT_TRUE(sink_.Received("/119").empty());
    Start();  // the deadline is in the stored incident; the new process fires it
    auto calls = sink_.WaitFor("/119", 1, std::chrono::seconds(20));
    ASSERT_EQ(calls.size(), 1u) << server_->LogTail();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(sink_.Received("/119").size(), 1u);
}

TEST_F(IncidentE2eTest, SosCallsWithTheLocationAndValidatesIt) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "sos_lee");
    auto bad = wearer.Post("/api/emergency_call/", json::object{{"latitude", 123.0}});
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(ErrorFields(bad), (std::vector<std::string>{"latitude", "longitude"}));
    EXPECT_TRUE(sink_.Received("/119").empty()) << "bad input changes nothing";
    auto sos = wearer.Post("/api/emergency_call/", json::object{{"latitude", 37.5725}, {"longitude", 126.9769}});
    ASSERT_EQ(sos.status, 201) << sos.body;
    // A new account (no verified phone, younger than a day): the call goes out when the 5 s countdown
    // runs out, with the location (AbuseE2eTest covers the established account's call at once).
    EXPECT_EQ(sos.json().at("incident").at("phase").as_string(), "countdown");
    auto calls = sink_.WaitFor("/119", 1, std::chrono::seconds(15));
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_NE(calls[0].body.find("37.57"), std::string::npos) << calls[0].body;
}

TEST_F(IncidentE2eTest, GuidanceIsRewrittenByTheConfiguredLlmWithoutWaitingForIt) {
    StartServer({"--countdown", "5s", "--llm-base-url", sink_.Url(""), "--llm-model", "test-model"});
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "llm_han");
    const json::value incident = OpenDanger(wearer);
    // The first read never waits: the composed guidance, and the rewrite pending.
    EXPECT_FALSE(incident.at("guidance").at("text").as_string().empty());
    EXPECT_EQ(incident.at("guidance").at("rewrite").at("state").as_string(), "pending");
    const std::string path = "/api/incidents/" + std::to_string(incident.at("id").as_int64());
    std::string state, text;
    for (int i = 0; i < 50 && state != "done"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const json::value rewrite = wearer.Get(path).json().at("incident").at("guidance").at("rewrite");
        state = std::string(rewrite.at("state").as_string());
        if (state == "done") text = std::string(rewrite.at("text").as_string());
    }
    EXPECT_EQ(state, "done");
    EXPECT_EQ(text, kRewrite);
    EXPECT_FALSE(sink_.Received("/v1/chat/completions").empty());
}

// Issue 19: predict_model2 returns the LLM's four parts too, as the seed's does: the same values ask the
// endpoint once ("pending", then "done"); a wearer who varies them to start paid calls gets 20 an hour,
// then the knowledge base's text with the rewrite "fallback", reason "rate_limited".
TEST_F(IncidentE2eTest, PredictModel2ReturnsTheRewriteAndLimitsTheCallsItStarts) {
    StartServer({"--llm-base-url", sink_.Url(""), "--llm-model", "test-model"});
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "predict_llm");
    auto first = wearer.Post("/api/predict_model2", Vitals(150, 88));
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.json().at("guidance").at("rewrite").at("state").as_string(), "pending");
    EXPECT_FALSE(first.json().at("guidance").at("text").as_string().empty());
    std::string state, text;
    for (int i = 0; i < 50 && state != "done"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto again = wearer.Post("/api/predict_model2", Vitals(150, 88));
        ASSERT_EQ(again.status, 200) << again.body;
        const json::value rewrite = again.json().at("guidance").at("rewrite");
        state = std::string(rewrite.at("state").as_string());
        if (state == "done") text = std::string(rewrite.at("text").as_string());
    }
    EXPECT_EQ(state, "done");
    EXPECT_EQ(text, kRewrite);
    EXPECT_EQ(sink_.Received("/v1/chat/completions").size(), 1u) << "the same values ask once";

    // 19 more distinct values start 19 more rewrites; the 21st is refused without a call.
    std::string last_state, last_reason;
    for (int hr = 151; hr <= 171; ++hr) {
        auto r = wearer.Post("/api/predict_model2", Vitals(hr, 88));
        ASSERT_EQ(r.status, 200) << r.body;
        const json::value rewrite = r.json().at("guidance").at("rewrite");
        last_state = std::string(rewrite.at("state").as_string());
        if (rewrite.as_object().contains("reason")) last_reason = std::string(rewrite.at("reason").as_string());
    }
    EXPECT_EQ(last_state, "fallback");
    EXPECT_EQ(last_reason, "rate_limited");
}

TEST_F(IncidentE2eTest, PredictModel2NamesTheAbnormalVitalsWithGuidance) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "predict_jung");
    auto r = wearer.Post("/api/predict_model2", Vitals(150, 88));
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value j = r.json();
    EXPECT_EQ(j.at("status").as_int64(), 2);
    EXPECT_TRUE(j.at("abnormal").at("heart_rate").as_bool());
    EXPECT_TRUE(j.at("abnormal").at("spo2").as_bool());
    EXPECT_FALSE(j.at("abnormal").at("respiration_rate").as_bool());
    EXPECT_FALSE(j.at("abnormal").at("skin_temp").as_bool());
    EXPECT_TRUE(j.at("guidance").at("call_119").as_bool());
    // The shipped status model's opinion comes with it (docs/models.md).
    ASSERT_TRUE(j.at("model").is_object()) << r.body;
    EXPECT_GT(j.at("model").at("danger").to_number<double>(), 0.5) << r.body;
    auto normal = wearer.Post("/api/predict_model2", Vitals(72));
    EXPECT_EQ(normal.json().at("status").as_int64(), 0);
    EXPECT_TRUE(normal.json().at("guidance").is_null());
    EXPECT_TRUE(wearer.Get("/api/incidents").json().at("incidents").as_array().empty()) << "nothing stored";
    auto bad = wearer.Post("/api/predict_model2", json::object{{"heart_rate", 900}});
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(ErrorFields(bad), std::vector<std::string>{"heart_rate"});
}

TEST_F(IncidentE2eTest, StrangersAndUnlinkedGuardiansSeeNothingLinkedGuardiansAct) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "role_wearer");
    const int64_t id = OpenDanger(wearer).at("id").as_int64();
    const std::string path = "/api/incidents/" + std::to_string(id);

    HttpClient stranger = Client();
    SignupAndLogin(stranger, "role_stranger");
    for (const std::string& p :
         {path, std::string("/api/incidents?wearer=role_wearer"), std::string("/api/get_status/?wearer=role_wearer"),
          std::string("/api/vitals?wearer=role_wearer"), std::string("/api/incidents?wearer=no_such_user")}) {
        EXPECT_EQ(stranger.Get(p).status, 404) << p;
    }
    for (const char* action : {"/ok", "/ack", "/resolve"}) {
        EXPECT_EQ(stranger.Post(path + action, json::object{}).status, 404) << action;
    }
    EXPECT_EQ(stranger.Post(path + "/snooze", json::object{{"minutes", 10}}).status, 404);

    // A guardian asks; until the wearer accepts, still nothing.
    HttpClient guardian = Client();
    SignupAndLogin(guardian, "role_guardian");
    auto ask = guardian.Post("/api/guardians", json::object{{"wearer_id", "role_wearer"}});
    ASSERT_EQ(ask.status, 202) << ask.body;  // the answer does not say whether the id exists
    const int64_t link = guardian.Get("/api/guardians").json().at("wearers").at(0).at("id").as_int64();
    EXPECT_EQ(guardian.Get(path).status, 404);
    EXPECT_EQ(guardian.Post("/api/guardians/" + std::to_string(link) + "/accept", json::object{}).status, 403)
        << "the asker cannot accept their own request";
    EXPECT_EQ(stranger.Post("/api/guardians/" + std::to_string(link) + "/accept", json::object{}).status, 404);
    ASSERT_EQ(wearer.Post("/api/guardians/" + std::to_string(link) + "/accept", json::object{}).status, 200);

    // Linked: the guardian reads and acknowledges; the wearer cannot acknowledge, the guardian cannot say I'm OK.
    auto seen = guardian.Get(path);
    ASSERT_EQ(seen.status, 200) << seen.body;
    EXPECT_EQ(seen.json().at("role").as_string(), "guardian");
    EXPECT_EQ(guardian.Get("/api/get_status/?wearer=role_wearer").status, 200);
    EXPECT_EQ(guardian.Post(path + "/ok", json::object{}).status, 403);
    EXPECT_EQ(wearer.Post(path + "/ack", json::object{}).status, 403);
    EXPECT_EQ(guardian.Post(path + "/snooze", json::object{{"minutes", 10}}).status, 409) << "danger is never snoozed";
    auto ack = guardian.Post(path + "/ack", json::object{});
    ASSERT_EQ(ack.status, 200) << ack.body;
    EXPECT_EQ(ack.json().at("incident").at("acknowledged_by").as_string(), "role_guardian");
    std::this_thread::sleep_for(std::chrono::seconds(6));
    EXPECT_TRUE(sink_.Received("/119").empty()) << "the acknowledgement cancelled the countdown";

    // The guardian watches live; a stranger cannot open that stream.
    const std::string origin = "http://127.0.0.1:" + std::to_string(server_->port());
    testing::WebSocketClient live;
    auto opened = live.Connect(server_->port(), "/api/stream?wearer=role_wearer",
                               {{"Cookie", "vg_session=" + *guardian.cookie("vg_session")}, {"Origin", origin}});
    ASSERT_TRUE(opened.accepted()) << opened.status << " " << opened.body;
    auto hello = live.ReceiveJson(std::chrono::seconds(5));
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(hello->at("wearer").as_string(), "role_wearer");
    testing::WebSocketClient snoop;
    EXPECT_EQ(snoop
                  .Connect(server_->port(), "/api/stream?wearer=role_wearer",
                           {{"Cookie", "vg_session=" + *stranger.cookie("vg_session")}, {"Origin", origin}})
                  .status,
              404);

    // Either side ends the link; then the guardian sees nothing again, and the open stream is closed.
    ASSERT_EQ(wearer.Delete("/api/guardians/" + std::to_string(link)).status, 200);
    EXPECT_EQ(guardian.Get(path).status, 404);
    EXPECT_TRUE(live.WaitClosed(std::chrono::seconds(5))) << "a former guardian must not keep watching";
}

}  // namespace
}  // namespace vg::e2e
