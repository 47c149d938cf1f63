// update_posture's window as JSON: every problem named by its field (also inside a batch), JSON type
// errors and value errors together, measured_at's rules.
#include "posture_input.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace vg::api {
namespace {

namespace json = boost::json;

const TimePoint kNow = FromUnixMillis(1'800'000'000'000);

json::object Window(size_t n = 128, double rate = 50) {
    json::array samples;
    for (size_t i = 0; i < n; ++i) samples.push_back(json::array{0.01, -0.02, 0.99, 1.5, -0.5, 0.25});
    return json::object{{"sample_rate_hz", rate}, {"samples", std::move(samples)}};
}

std::vector<FieldError> Problems(const json::object& o, std::string_view prefix = "", bool batch = false) {
    auto r = ReadPostureWindow(o, prefix, batch, PostureTimeRules{kNow});
    EXPECT_FALSE(r.ok());
    if (r.ok()) return {};
    EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
    return r.status().fields();
}

std::vector<std::string> Fields(const std::vector<FieldError>& problems) {
    std::vector<std::string> out;
    for (const auto& p : problems) out.push_back(p.field);
    return out;
}

TEST(ReadPostureWindow, AValidWindowWithDefaults) {
    auto r = ReadPostureWindow(Window(), "", false, PostureTimeRules{kNow});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->window.placement, posture::Placement::kWrist);
    EXPECT_FALSE(r->window.gravity_removed);
    EXPECT_EQ(r->timing.end, kNow);  // measured_at defaults to now
    EXPECT_EQ(r->timing.end - r->timing.first, Milliseconds(2540));
    EXPECT_FLOAT_EQ(r->window.values[2], 0.99F);
}

TEST(ReadPostureWindow, EveryOptionalField) {
    json::object o = Window(256, 100);
    o["placement"] = "waist";
    o["gravity_removed"] = true;
    o["measured_at"] = "2027-01-15T07:59:00Z";
    for (auto& s : o["samples"].as_array()) s.as_array()[2] = 0.01;  // no gravity
    auto r = ReadPostureWindow(o, "", false, PostureTimeRules{kNow});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->window.placement, posture::Placement::kWaist);
    EXPECT_TRUE(r->window.gravity_removed);
    EXPECT_EQ(FormatIso8601(r->timing.end), "2027-01-15T07:59:00.000Z");
    EXPECT_EQ(r->timing.period, Milliseconds(10));
}

TEST(ReadPostureWindow, MissingAndWrongTypesAreNamedOnce) {
    EXPECT_EQ(Fields(Problems(json::object{})), (std::vector<std::string>{"sample_rate_hz", "samples"}));
    json::object o = Window();
    o["sample_rate_hz"] = "50";
    o["placement"] = "ankle";
    o["gravity_removed"] = "no";
    o["measured_at"] = "yesterday";
    o["accel_units"] = "g";
    auto problems = Problems(o);
    EXPECT_EQ(Fields(problems), (std::vector<std::string>{"sample_rate_hz", "placement", "gravity_removed",
                                                          "measured_at", "accel_units"}));
    EXPECT_EQ(problems[0].problem, "must be a number");  // not also "must be between 20 and 200"
    EXPECT_EQ(problems[1].problem, "must be \"wrist\" or \"waist\"");
    EXPECT_EQ(problems[2].problem, "must be true or false");
    EXPECT_EQ(problems[4].problem, "is not a known field");
    o = Window();
    o["samples"] = "lots";
    EXPECT_EQ(Fields(Problems(o)), (std::vector<std::string>{"samples"}));
}

TEST(ReadPostureWindow, SamplesAreNamedToTheValue) {
    json::object o = Window();
    auto& samples = o["samples"].as_array();
    samples[3] = "x";                         // not a list
    samples[5] = json::array{0, 0, 1, 0, 0};  // five numbers
    samples[12].as_array()[3] = "fast";       // not a number
    samples[20].as_array()[0] = 17.5;         // beyond 16 g
    samples[21].as_array()[4] = -2500;        // beyond 2000 °/s
    samples[22].as_array()[1] = nullptr;      // null is not a number either
    auto problems = Problems(o);
    EXPECT_EQ(Fields(problems), (std::vector<std::string>{"samples[12][3]", "samples[22][1]", "samples[3]",
                                                          "samples[5]", "samples[20][0]", "samples[21][4]"}));
    EXPECT_EQ(problems[0].problem, "must be a number");
}

TEST(ReadPostureWindow, CountAndRateAndUnits) {
    EXPECT_EQ(Fields(Problems(Window(100))), (std::vector<std::string>{"samples"}));
    EXPECT_EQ(Fields(Problems(Window(128, 500))), (std::vector<std::string>{"sample_rate_hz"}));
    json::object o = Window();
    for (auto& s : o["samples"].as_array()) s.as_array()[2] = 9.81;
    auto problems = Problems(o);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].field, "samples");
    EXPECT_NE(problems[0].problem.find("looks like m/s²; send g"), std::string::npos) << problems[0].problem;
}

TEST(ReadPostureWindow, NumbersBeyondDoubleAreNotFinite) {
    json::value v = json::parse(R"({"sample_rate_hz": 50, "samples": [[0, 0, 1e999, 0, 0, 0]]})");
    auto problems = Problems(v.as_object());
    // 1e999 parses as infinity: named as not finite (and the count is wrong as well).
    EXPECT_EQ(Fields(problems), (std::vector<std::string>{"samples", "samples[0][2]"}));
}

TEST(ReadPostureWindow, MeasuredAtRules) {
    json::object o = Window();
    o["measured_at"] = "2027-01-15T08:06:00Z";  // 6 min ahead of the server
    EXPECT_EQ(Problems(o).at(0).problem, "is in the future (is the watch's clock right?)");
    o["measured_at"] = ToUnixMillis(kNow - std::chrono::hours(24 * 31));
    EXPECT_EQ(Problems(o).at(0).problem, "is older than the 30 days VitalGuard accepts");
    o["measured_at"] = ToUnixMillis(kNow - std::chrono::hours(24 * 29));
    EXPECT_TRUE(ReadPostureWindow(o, "", false, PostureTimeRules{kNow}).ok());
    // In a batch it is required.
    EXPECT_EQ(Fields(Problems(Window(), "windows[0].", true)), (std::vector<std::string>{"windows[0].measured_at"}));
}

TEST(ReadPostureWindow, ABatchPrefixNamesTheWindow) {
    json::object o = Window();
    o["measured_at"] = "2027-01-15T07:59:00Z";
    o["samples"].as_array()[12].as_array()[0] = 99;
    o["extra"] = 1;
    auto problems = Problems(o, "windows[3].", true);
    EXPECT_EQ(Fields(problems), (std::vector<std::string>{"windows[3].extra", "windows[3].samples[12][0]"}));
}

}  // namespace
}  // namespace vg::api
