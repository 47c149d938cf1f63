#include "wire.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http_connection.hpp"
#include "vg/common/time_text.hpp"

namespace vg::sim {
namespace {

using domain::Metric;
namespace json = boost::json;

TEST(WireTest, BatchesAreWhatTheIngestEndpointTakes) {
    std::vector<SimReading> readings(2);
    readings[0].seq = 1;
    readings[0].reading.measured_at = FromUnixMillis(1'795'392'000'000);
    readings[0].reading.set(Metric::kHeartRate, 72);
    readings[0].reading.set(Metric::kSkinTemp, 33.41);
    readings[0].reading.set(Metric::kCalories, 1.1);
    readings[1].seq = 3;
    readings[1].reading.measured_at = FromUnixMillis(1'795'392'120'000);
    readings[1].reading.set(Metric::kGlucose, 104);
    const std::string text = wire::ReadingsBatchJson(readings);
    EXPECT_EQ(text,
              R"({"readings":[{"seq":1,"timestamp":1795392000000,"heart_rate":72,"skin_temp":33.41,"calories":1.1},)"
              R"({"seq":3,"timestamp":1795392120000,"glucose":104}]})");
    EXPECT_NO_THROW((void)boost::json::parse(text));
}

// The server's times are read with vg::ParseIso8601 (vg/common/time_text.hpp, tested there); a time that
// is not on the calendar makes the message invalid instead of landing on another day (issue 15 item 11).
TEST(WireTest, MessagesWithTimesThatDoNotExistAreInvalid) {
    const TimePoint now = FromUnixMillis(1'795'392'000'000);
    EXPECT_EQ(wire::ParseStreamMessage(R"({"type":"posture","fall":"none","at":"2026-11-30T16:30:02.540Z"})", now).kind,
              wire::MessageKind::kPosture);
    for (const char* at : {"2026-11-31T16:30:02.540Z", "2026-02-29T00:00:00Z", "2026-11-23T24:00:00Z"}) {
        const std::string text = std::string(R"({"type":"posture","fall":"none","at":")") + at + "\"}";
        EXPECT_EQ(wire::ParseStreamMessage(text, now).kind, wire::MessageKind::kInvalid) << at;
    }
}

TEST(WireTest, DetectionMessagesParse) {
    const TimePoint now = FromUnixMillis(1'795'392'000'500);
    const auto msg = wire::ParseStreamMessage(
        R"({"type":"detection","wearer":"kim","status":2,"level":"danger","changed":true,"previous_status":0,)"
        R"("causes":["heart_rate"],"rules":[{"rule":"spo2.low","kind":"threshold","metric":"spo2","level":"caution",)"
        R"("value":92,"detail":"x"},{"rule":"rr.base","kind":"baseline","metric":"respiration_rate","level":"normal",)"
        R"("value":1,"detail":"y"}],"explanation":"e","advice_only":false,"reading_at":"2026-11-23T00:00:00.000Z",)"
        R"("received_at":"2026-11-23T00:00:00.400Z","detected_at":"2026-11-23T00:00:00.401Z"})",
        now);
    ASSERT_EQ(msg.kind, wire::MessageKind::kDetection);
    EXPECT_EQ(msg.wearer_id, "kim");
    const ObservedDetection& d = msg.detection;
    EXPECT_EQ(d.status, 2);
    EXPECT_FALSE(d.advice_only);
    EXPECT_FALSE(d.signal_loss);
    EXPECT_EQ(d.metrics, MetricBit(Metric::kHeartRate) | MetricBit(Metric::kSpo2));  // not the "normal" rule's
    EXPECT_EQ(d.rules, std::vector<std::string>{"spo2.low"});
    EXPECT_EQ(d.reading_at, FromUnixMillis(1'795'392'000'000));
    EXPECT_EQ(d.received_at, FromUnixMillis(1'795'392'000'400));
    EXPECT_EQ(d.client_received_at, now);

    const auto loss = wire::ParseStreamMessage(
        R"({"type":"detection","wearer":"kim","status":1,"causes":[],"rules":[{"rule":"silence","kind":"signal_loss",)"
        R"("metric":"heart_rate","level":"caution","value":600,"detail":"z"}],"advice_only":false,"reading_at":null,)"
        R"("received_at":null,"detected_at":"2026-11-23T00:10:00.000Z"})",
        now);
    ASSERT_EQ(loss.kind, wire::MessageKind::kDetection);
    EXPECT_TRUE(loss.detection.signal_loss);
    EXPECT_FALSE(loss.detection.reading_at.has_value());

    EXPECT_EQ(wire::ParseStreamMessage(R"({"type":"hello","wearer":"kim","status":0,"level":"normal"})", now).kind,
              wire::MessageKind::kHello);
    EXPECT_EQ(wire::ParseStreamMessage(R"({"type":"incident"})", now).kind, wire::MessageKind::kInvalid);
    EXPECT_EQ(wire::ParseStreamMessage(R"({"type":"guidance"})", now).kind, wire::MessageKind::kOther);
    EXPECT_EQ(wire::ParseStreamMessage("not json", now).kind, wire::MessageKind::kInvalid);
    EXPECT_EQ(wire::ParseStreamMessage(R"({"type":"detection","status":"high"})", now).kind,
              wire::MessageKind::kInvalid);
}

TEST(WireTest, PostureAndIncidentEventsParse) {
    const TimePoint now = FromUnixMillis(1'795'392'000'000);
    auto p = wire::ParseStreamMessage(
        R"({"type":"posture","wearer":"kim01","posture":7,"name":"Fall","previous_posture":5,"changed":true,)"
        R"("fall":"suspected","at":"2026-11-23T16:30:02.540Z"})",
        now);
    ASSERT_EQ(p.kind, wire::MessageKind::kPosture);
    EXPECT_EQ(p.wearer_id, "kim01");
    EXPECT_EQ(p.posture.posture, 7);
    EXPECT_EQ(p.posture.fall, FallPhase::kSuspected);
    EXPECT_EQ(p.posture.at, *ParseIso8601("2026-11-23T16:30:02.540Z"));
    EXPECT_EQ(p.posture.client_received_at, now);
    EXPECT_EQ(wire::ParseStreamMessage(R"({"type":"posture","fall":"maybe","at":"2026-11-23T16:30:02Z"})", now).kind,
              wire::MessageKind::kInvalid);
    EXPECT_EQ(wire::ParseStreamMessage(R"({"type":"posture","fall":"none"})", now).kind, wire::MessageKind::kInvalid);

    auto i = wire::ParseStreamMessage(
        R"({"type":"incident","incident":{"id":12,"wearer":"kim01","kind":"fall","phase":"countdown"},)"
        R"("notices":["wearer_countdown"]})",
        now);
    ASSERT_EQ(i.kind, wire::MessageKind::kIncident);
    EXPECT_EQ(i.wearer_id, "kim01");
    EXPECT_EQ(i.incident.id, 12);
    EXPECT_EQ(i.incident.kind, "fall");
    EXPECT_EQ(i.incident.phase, "countdown");
}

TEST(WireTest, PostureBatchCarriesEveryWindowField) {
    ImuEventPlan e;
    e.placement = ImuPlacement::kWrist;
    e.gravity_removed = true;
    e.windows.assign(2, ImuSamples(kReplayWindowSamples, {0.5F, -0.25F, 0.0F, 10.0F, 0.0F, -1.5F}));
    const TimePoint start = FromUnixMillis(1'795'392'000'000);
    std::vector<wire::PostureWindowRef> refs = {{&e, 0, start + e.WindowEnd(0)}, {&e, 1, start + e.WindowEnd(1)}};
    const json::value v = json::parse(wire::PostureBatchJson(refs));
    const json::array& windows = v.at("windows").as_array();
    ASSERT_EQ(windows.size(), 2u);
    const json::object& w = windows[1].as_object();
    EXPECT_EQ(w.at("sample_rate_hz").to_number<double>(), 50);
    EXPECT_EQ(w.at("placement").as_string(), "wrist");
    EXPECT_TRUE(w.at("gravity_removed").as_bool());
    EXPECT_EQ(w.at("measured_at").to_number<int64_t>(), 1'795'392'000'000 + 5'120 - 20);
    ASSERT_EQ(w.at("samples").as_array().size(), 128u);
    const json::array& first = w.at("samples").as_array()[0].as_array();
    ASSERT_EQ(first.size(), 6u);
    EXPECT_DOUBLE_EQ(first[1].to_number<double>(), -0.25);
    EXPECT_DOUBLE_EQ(first[5].to_number<double>(), -1.5);
}

TEST(WireTest, SessionCookieIsReadFromSetCookie) {
    EXPECT_EQ(wire::CookieFromSetCookie("vg_session=abc123; Path=/; HttpOnly; SameSite=Strict", "vg_session"),
              "abc123");
    EXPECT_FALSE(wire::CookieFromSetCookie("other=1; Path=/", "vg_session").has_value());
    EXPECT_FALSE(wire::CookieFromSetCookie("garbage", "vg_session").has_value());
}

TEST(WireTest, ServerUrlsParse) {
    auto a = ParseServerUrl("http://127.0.0.1:8080");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 8080);
    EXPECT_EQ(a->origin(), "http://127.0.0.1:8080");
    EXPECT_EQ(ParseServerUrl("http://localhost/")->port, 80);
    EXPECT_FALSE(ParseServerUrl("https://127.0.0.1:8443").ok());
    EXPECT_FALSE(ParseServerUrl("127.0.0.1:8080").ok());
    EXPECT_FALSE(ParseServerUrl("http://127.0.0.1:99999").ok());
    EXPECT_FALSE(ParseServerUrl("http://127.0.0.1:8080/api").ok());
    EXPECT_EQ(ParseServerUrl("http://:80").status().fields()[0].field, "server");
}

}  // namespace
}  // namespace vg::sim
