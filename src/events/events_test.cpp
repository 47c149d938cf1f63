// The live events' shapes (docs/api.md, "Live stream"): what a dashboard or an integration parses.
#include "vg/events/events.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace vg::events {
namespace {

namespace json = boost::json;

const TimePoint kNow = FromUnixMillis(1'800'000'000'000);

TEST(DetectionEvent, HasTheDocumentedShape) {
    domain::Detection d;
    d.level = domain::Level::kDanger;
    d.causes = {domain::Metric::kHeartRate};
    d.explanation = "Heart rate is very high.";
    const json::value v =
        json::parse(DetectionEvent("grandma_kim", d, domain::Level::kNormal, kNow - std::chrono::seconds(2),
                                   kNow - std::chrono::seconds(1), kNow));
    EXPECT_EQ(v.at("type"), "detection");
    EXPECT_EQ(v.at("wearer"), "grandma_kim");
    EXPECT_EQ(v.at("status"), 2);
    EXPECT_EQ(v.at("level"), "danger");
    EXPECT_EQ(v.at("changed"), true);
    EXPECT_EQ(v.at("previous_status"), 0);
    EXPECT_EQ(v.at("causes"), json::parse(R"(["heart_rate"])"));
    EXPECT_EQ(v.at("explanation"), "Heart rate is very high.");
    EXPECT_EQ(v.at("reading_at"), "2027-01-15T07:59:58.000Z");
    EXPECT_EQ(v.at("received_at"), "2027-01-15T07:59:59.000Z");
    EXPECT_EQ(v.at("detected_at"), "2027-01-15T08:00:00.000Z");
    EXPECT_FALSE(v.as_object().contains("model"));  // no model ran
    // Signal loss has no reading.
    const json::value silence = json::parse(DetectionEvent("grandma_kim", d, domain::Level::kDanger, {}, {}, kNow));
    EXPECT_TRUE(silence.at("reading_at").is_null());
    EXPECT_EQ(silence.at("changed"), false);
}

TEST(IncidentEvent, HasTheDocumentedShape) {
    domain::Incident i;
    i.id = 42;
    i.wearer = 7;
    i.kind = domain::IncidentKind::kFall;
    i.phase = domain::IncidentPhase::kCountdown;
    i.level = domain::Level::kDanger;
    i.opened_at = kNow;
    i.updated_at = kNow;
    i.deadline = kNow + std::chrono::milliseconds(59'001);
    const json::value v = json::parse(IncidentEvent(i, "grandma_kim", {"wearer_countdown"}, kNow));
    EXPECT_EQ(v.at("type"), "incident");
    EXPECT_EQ(v.at("notices"), json::parse(R"(["wearer_countdown"])"));
    const json::value& incident = v.at("incident");
    EXPECT_EQ(incident.at("id"), 42);
    EXPECT_EQ(incident.at("wearer"), "grandma_kim");
    EXPECT_EQ(incident.at("kind"), "fall");
    EXPECT_EQ(incident.at("phase"), "countdown");
    EXPECT_EQ(incident.at("seconds_left"), 60);  // rounded up: never shows 0 while time is left
    EXPECT_FALSE(incident.as_object().contains("closed_at"));
}

TEST(PostureLiveEvent, HasTheDocumentedShape) {
    posture::PostureEvent e;
    e.wearer = 7;
    e.posture = posture::Posture::kLying;
    e.previous = posture::Posture::kFall;
    e.changed = true;
    e.fall = posture::FallState::kConfirmed;
    e.at = kNow;
    const json::value v = json::parse(PostureLiveEvent("grandma_kim", e));
    EXPECT_EQ(v, json::parse(R"({"type": "posture", "wearer": "grandma_kim", "posture": 6, "name": "Lying",
                                 "previous_posture": 7, "changed": true, "fall": "confirmed",
                                 "at": "2027-01-15T08:00:00.000Z"})"));
    e.previous.reset();
    EXPECT_TRUE(json::parse(PostureLiveEvent("grandma_kim", e)).at("previous_posture").is_null());
    // The names are the seed's labels (its API table), not the model's class names.
    e.posture = posture::Posture::kSitting;
    EXPECT_EQ(json::parse(PostureLiveEvent("grandma_kim", e)).at("name").as_string(), "Sitdown");
    e.posture = posture::Posture::kStanding;
    EXPECT_EQ(json::parse(PostureLiveEvent("grandma_kim", e)).at("name").as_string(), "StandUp");
}

}  // namespace
}  // namespace vg::events
