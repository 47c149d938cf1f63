// The live stream end to end: a watch posts over HTTP, the wearer's page hears it over WebSocket.
#include <chrono>

#include "e2e_fixture.hpp"
#include "vg/testing/websocket_client.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;
using testing::WebSocketClient;

class StreamE2eTest : public ServerTest {
  protected:
    void SetUp() override { StartServer(); }

    std::string Origin() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
    testing::Headers StreamHeaders(HttpClient& client) const {
        return {{"Cookie", "vg_session=" + *client.cookie("vg_session")}, {"Origin", Origin()}};
    }
    static int64_t NowMs() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    static json::object Reading(int seq, int64_t ts, double hr, double spo2) {
        return json::object{{"seq", seq},   {"timestamp", ts},        {"heart_rate", hr},
                            {"spo2", spo2}, {"respiration_rate", 16}, {"skin_temp", 33.4},
                            {"steps", 0},   {"calories", 1.1}};
    }
};

TEST_F(StreamE2eTest, AWatchsDangerReadingsArePushedToTheWearersPage) {
    HttpClient person = Client();
    SignupAndLogin(person, "stream_kim");
    auto paired = person.Post("/api/devices", json::object{{"name", "watch"}});
    ASSERT_EQ(paired.status, 201);
    const std::string token(paired.json().at("device_token").as_string());

    WebSocketClient page;
    auto handshake = page.Connect(server_->port(), "/api/stream", StreamHeaders(person));
    ASSERT_TRUE(handshake.accepted()) << handshake.status << " " << handshake.body;
    auto hello = page.ReceiveJson(std::chrono::seconds(5));
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(hello->at("type").as_string(), "hello");
    EXPECT_EQ(hello->at("wearer").as_string(), "stream_kim");

    // Three readings a minute apart: normal, then severe tachycardia with hypoxaemia twice (confirmed).
    const int64_t t0 = NowMs() - 3 * 60'000;
    json::array readings{Reading(1, t0, 72, 97), Reading(2, t0 + 60'000, 178, 84), Reading(3, t0 + 120'000, 180, 83)};
    HttpClient watch = Client();
    auto posted = watch.Post("/api/devices/readings", json::object{{"readings", readings}},
                             {{"Authorization", "Bearer " + token}});
    ASSERT_EQ(posted.status, 200) << posted.body;

    std::vector<json::value> events;
    while (events.size() < 3) {
        auto event = page.ReceiveJson(std::chrono::seconds(5));
        ASSERT_TRUE(event.has_value()) << "only " << events.size() << " detection events arrived";
        if (event->at("type").as_string() == "detection") events.push_back(*event);
    }
    EXPECT_EQ(events[0].at("status").as_int64(), 0);
    EXPECT_EQ(events[2].at("status").as_int64(), 2) << json::serialize(events[2]);
    EXPECT_TRUE(events[2].at("changed").as_bool() || events[1].at("changed").as_bool());
    EXPECT_FALSE(events[2].at("causes").as_array().empty());
    EXPECT_FALSE(events[2].at("explanation").as_string().empty());
    EXPECT_TRUE(events[2].at("reading_at").is_string());
    EXPECT_TRUE(events[2].at("detected_at").is_string());
    // The danger was recorded for the seed's status history too.
    EXPECT_EQ(person.Get("/api/get_status").json().at("statuses").at(0).at("status").as_int64(), 2);
}

TEST_F(StreamE2eTest, TheStreamNeedsASessionFromThisSite) {
    HttpClient person = Client();
    SignupAndLogin(person, "stream_lee");

    WebSocketClient anonymous;
    auto refused = anonymous.Connect(server_->port(), "/api/stream", {{"Origin", Origin()}});
    EXPECT_EQ(refused.status, 401) << refused.body;

    WebSocketClient cross_site;
    auto hijack = cross_site.Connect(
        server_->port(), "/api/stream",
        {{"Cookie", "vg_session=" + *person.cookie("vg_session")}, {"Origin", "https://evil.example"}});
    EXPECT_EQ(hijack.status, 403) << hijack.body;

    WebSocketClient elsewhere;
    EXPECT_EQ(elsewhere.Connect(server_->port(), "/api/elsewhere", StreamHeaders(person)).status, 404);
}

TEST_F(StreamE2eTest, OneWearersEventsDoNotReachAnother) {
    HttpClient kim = Client();
    SignupAndLogin(kim, "private_kim");
    HttpClient lee = Client();
    SignupAndLogin(lee, "private_lee");
    WebSocketClient lee_page;
    ASSERT_TRUE(lee_page.Connect(server_->port(), "/api/stream", StreamHeaders(lee)).accepted());
    ASSERT_TRUE(lee_page.ReceiveJson(std::chrono::seconds(5)).has_value());  // hello
    ASSERT_EQ(kim.Post("/api/update_status", json::object{{"heart_rate", 72}, {"spo2", 97}}).status, 200);
    EXPECT_FALSE(lee_page.Receive(std::chrono::milliseconds(500)).has_value());
}

}  // namespace
}  // namespace vg::e2e
