#include "vg/notify/emergency.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sinks.hpp"

namespace vg::notify {
namespace {

using namespace std::chrono_literals;
using testing::HttpSink;

EmergencyReport FullReport() {
    EmergencyReport report;
    report.incident_id = "inc-20261123-0042";
    report.wearer_name = "김영희";
    report.age = 82;
    report.address = "서울특별시 종로구 세종대로 175, 101동 1203호";
    report.phone = "010-1234-5678";
    // 2026-11-23 07:29:10 UTC = 16:29 KST; detected a minute later.
    report.location = GeoLocation{37.5665, 126.978, 15.0, FromUnixMillis(1'795'418'950'000)};
    report.vitals.heart_rate_bpm = 128;
    report.vitals.spo2_percent = 88;
    report.vitals.respiratory_rate_per_min = 28;
    report.vitals.skin_temperature_c = 38.4;
    report.vitals.systolic_mmhg = 150;
    report.vitals.diastolic_mmhg = 95;
    report.vitals.glucose_mg_dl = 65;
    report.causes = {EmergencyCause::kFall, EmergencyCause::kNoResponse, EmergencyCause::kSpo2Low};
    report.detail = "no movement for 60 s";
    report.detected_at = FromUnixMillis(1'795'419'010'000);
    report.link = "https://vg.example/i/inc-20261123-0042";
    return report;
}

void ExpectContains(const std::string& text, const std::string& part) {
    EXPECT_NE(text.find(part), std::string::npos) << "missing \"" << part << "\" in:\n" << text;
}

TEST(EmergencyReportTest, KoreanHasEveryField) {
    const std::string text = RenderEmergencyReport(FullReport(), ReportLanguage::kKorean);
    ExpectContains(text, "[VitalGuard 응급신고]");
    ExpectContains(text, "이름: 김영희 (82세)");
    ExpectContains(text, "주소: 서울특별시 종로구 세종대로 175, 101동 1203호");
    ExpectContains(text, "위치: 37.56650,126.97800 (오차 15m, 16:29)");
    ExpectContains(text, "심박 128회/분");
    ExpectContains(text, "산소포화도 88%");
    ExpectContains(text, "호흡 28회/분");
    ExpectContains(text, "체온 38.4℃");
    ExpectContains(text, "혈압 150/95");
    ExpectContains(text, "혈당 65 mg/dL");
    ExpectContains(text, "원인: 낙상, 응답 없음, 산소포화도 저하 - no movement for 60 s");
    ExpectContains(text, "시각: 2026-11-23 16:30 (UTC+09:00)");
    ExpectContains(text, "연락처: 010-1234-5678");
    ExpectContains(text, "사건: inc-20261123-0042");
    ExpectContains(text, "https://vg.example/i/inc-20261123-0042");
}

TEST(EmergencyReportTest, EnglishHasEveryField) {
    const std::string text = RenderEmergencyReport(FullReport(), ReportLanguage::kEnglish);
    ExpectContains(text, "[VitalGuard EMERGENCY]");
    ExpectContains(text, "Name: 김영희, age 82");
    ExpectContains(text, "Address: 서울특별시 종로구 세종대로 175, 101동 1203호");
    ExpectContains(text, "Location: 37.56650,126.97800 (accuracy 15 m, at 16:29)");
    ExpectContains(text, "Vitals: HR 128/min, SpO2 88%, RR 28/min, Temp 38.4C, BP 150/95, Glucose 65 mg/dL");
    ExpectContains(text, "Cause: fall, no response, low SpO2 - no movement for 60 s");
    ExpectContains(text, "Time: 2026-11-23 16:30 (UTC+09:00)");
    ExpectContains(text, "Phone: 010-1234-5678");
    ExpectContains(text, "Incident: inc-20261123-0042");
    ExpectContains(text, "https://vg.example/i/inc-20261123-0042");
}

TEST(EmergencyReportTest, SaysWhatIsMissing) {
    EmergencyReport report;
    report.incident_id = "inc-1";
    report.wearer_name = "Jane Doe";
    report.causes = {EmergencyCause::kManualSos};
    report.detected_at = FromUnixMillis(1'782'907'200'000);  // 2026-07-01T12:00:00Z
    report.time_zone = "America/St_Johns";                   // UTC-02:30 in summer (NDT)
    const std::string en = RenderEmergencyReport(report, ReportLanguage::kEnglish);
    ExpectContains(en, "Name: Jane Doe\n");
    ExpectContains(en, "Address: not registered");
    ExpectContains(en, "Location: unknown");
    ExpectContains(en, "Vitals: no recent readings");
    ExpectContains(en, "Cause: SOS pressed by the wearer\n");
    ExpectContains(en, "Time: 2026-07-01 09:30 (UTC-02:30)");
    // The same wearer in winter: the zone's rules, not a fixed offset (NST, UTC-03:30).
    report.detected_at = FromUnixMillis(1'795'419'000'000);  // 2026-11-23T07:30:00Z
    ExpectContains(RenderEmergencyReport(report, ReportLanguage::kEnglish), "Time: 2026-11-23 04:00 (UTC-03:30)");
    EXPECT_EQ(en.find("Phone:"), std::string::npos);
    const std::string ko = RenderEmergencyReport(report, ReportLanguage::kKorean);
    ExpectContains(ko, "주소: 미등록");
    ExpectContains(ko, "위치: 정보 없음");
    ExpectContains(ko, "생체: 최근 측정값 없음");
    ExpectContains(ko, "원인: 본인 SOS 신고");
}

TEST(EmergencyReportTest, EveryCauseIsNamedInBothLanguages) {
    for (int c = 0; c <= static_cast<int>(EmergencyCause::kSignalLoss); ++c) {
        const auto cause = static_cast<EmergencyCause>(c);
        EXPECT_NE(EmergencyCauseName(cause, ReportLanguage::kKorean), "알 수 없음") << c;
        EXPECT_NE(EmergencyCauseName(cause, ReportLanguage::kEnglish), "unknown") << c;
    }
}

TEST(EmergencyReportTest, LengthFitsAFewSmsSegments) {
    const SmsLength ko = MeasureSms(RenderEmergencyReport(FullReport(), ReportLanguage::kKorean));
    EXPECT_TRUE(ko.ucs2);
    // Everything filled in (seven vitals, three causes, detail, phone, link): the longest usual case.
    EXPECT_LE(ko.units, 340u);
    EXPECT_LE(ko.segments, 6u);
    EmergencyReport ascii = FullReport();
    ascii.wearer_name = "Younghee Kim";
    ascii.address = "175 Sejong-daero, Jongno-gu, Seoul, apt 101-1203";
    const SmsLength en = MeasureSms(RenderEmergencyReport(ascii, ReportLanguage::kEnglish));
    EXPECT_FALSE(en.ucs2);
    EXPECT_LE(en.units, 430u);
    EXPECT_LE(en.segments, 3u);
    // The usual watch: heart rate, SpO2 and temperature, one cause, no detail.
    EmergencyReport usual = FullReport();
    usual.vitals = VitalsSnapshot{};
    usual.vitals.heart_rate_bpm = 128;
    usual.vitals.spo2_percent = 88;
    usual.vitals.skin_temperature_c = 36.1;
    usual.causes = {EmergencyCause::kFall};
    usual.detail.clear();
    const SmsLength usual_ko = MeasureSms(RenderEmergencyReport(usual, ReportLanguage::kKorean));
    EXPECT_LE(usual_ko.segments, 4u);
    std::cout << "report length: full ko " << ko.units << " UCS-2 units, " << ko.segments << " segments; usual ko "
              << usual_ko.units << " units, " << usual_ko.segments << " segments; full en " << en.units
              << " GSM-7 septets, " << en.segments << " segments\n";
}

TEST(SmsLengthTest, CountsGsmAndUcs2Segments) {
    EXPECT_EQ(MeasureSms(std::string(160, 'a')).segments, 1u);
    EXPECT_EQ(MeasureSms(std::string(161, 'a')).segments, 2u);
    EXPECT_EQ(MeasureSms(std::string(306, 'a')).segments, 2u);
    EXPECT_EQ(MeasureSms(std::string(80, '{')).units, 160u);  // extension characters take two septets
    EXPECT_FALSE(MeasureSms("é à ü £ €").ucs2);
    const SmsLength korean = MeasureSms("가나다라마바사아자차카타파하");
    EXPECT_TRUE(korean.ucs2);
    EXPECT_EQ(korean.units, 14u);
    EXPECT_EQ(korean.segments, 1u);
    std::string seventy_one;
    for (int i = 0; i < 71; ++i) seventy_one += "한";
    EXPECT_EQ(MeasureSms(seventy_one).segments, 2u);
    EXPECT_EQ(MeasureSms("😀").units, 2u);  // outside the BMP: a surrogate pair
    EXPECT_TRUE(MeasureSms("`").ucs2);
}

TEST(EmergencyReportTest, JsonCarriesEveryFieldAndTheText) {
    const auto json = boost::json::parse(EmergencyReportJson(FullReport(), ReportLanguage::kKorean)).as_object();
    EXPECT_EQ(json.at("incident_id").as_string(), "inc-20261123-0042");
    EXPECT_EQ(json.at("wearer").at("name").as_string(), "김영희");
    EXPECT_EQ(json.at("wearer").at("age").as_int64(), 82);
    EXPECT_EQ(json.at("location").at("latitude").as_double(), 37.5665);
    EXPECT_EQ(json.at("vitals").at("heart_rate_bpm").as_double(), 128);
    EXPECT_EQ(json.at("causes").as_array().size(), 3u);
    EXPECT_EQ(json.at("causes").as_array()[0].as_string(), "fall");
    EXPECT_EQ(json.at("detected_at").as_string(), "2026-11-23T07:30:10.000Z");
    EXPECT_EQ(json.at("text").as_string(), RenderEmergencyReport(FullReport(), ReportLanguage::kKorean));
}

TEST(EmergencyDispatchChannelTest, SendsTheReportToTheConfiguredSmsTarget) {
    HttpSink sink;
    ManualClock clock;
    EmergencyDispatchOptions options;
    options.target = EmergencyDispatchOptions::Target::kSmsGateway;
    options.recipient = "119";
    options.sms.url = sink.Url("/sms");
    auto channel = EmergencyDispatchChannel::Create(options, clock);
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    OutboxItem item;
    item.id = 1;
    item.channel = std::string(kEmergencyChannel);
    item.recipient = "010-9999-9999";  // replaced by the configured dispatch number
    item.body = RenderEmergencyReport(FullReport(), ReportLanguage::kKorean);
    item.idempotency_key = "inc-20261123-0042/119";
    ASSERT_TRUE(channel.value()->Deliver(item).ok());
    const auto body = boost::json::parse(sink.requests().at(0).body).as_object();
    EXPECT_EQ(body.at("to").as_string(), "119");
    EXPECT_EQ(body.at("text").as_string(), item.body);
}

TEST(EmergencyDispatchChannelTest, SendsSignedJsonToAWebhookTarget) {
    HttpSink sink;
    ManualClock clock;
    EmergencyDispatchOptions options;
    options.target = EmergencyDispatchOptions::Target::kWebhook;
    options.recipient = sink.Url("/dispatch");
    options.webhook.secret = "dispatch-secret-0123456789";
    auto channel = EmergencyDispatchChannel::Create(options, clock);
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    OutboxItem item;
    item.channel = std::string(kEmergencyChannel);
    item.payload_json = EmergencyReportJson(FullReport(), ReportLanguage::kEnglish);
    item.idempotency_key = "inc-20261123-0042/119";
    ASSERT_TRUE(channel.value()->Deliver(item).ok());
    const auto request = sink.requests().at(0);
    EXPECT_EQ(request.target, "/dispatch");
    auto sent = boost::json::parse(request.body).as_object();
    EXPECT_EQ(sent.at("idempotency_key").as_string(), "inc-20261123-0042/119") << "signed, inside the body";
    sent.erase("idempotency_key");
    EXPECT_EQ(sent, boost::json::parse(item.payload_json).as_object());
    EXPECT_TRUE(VerifyWebhookSignature("dispatch-secret-0123456789", request.header("x-vitalguard-timestamp"),
                                       request.body, request.header("x-vitalguard-signature"), clock.Now())
                    .ok());

    options.webhook.secret = "";
    EXPECT_EQ(EmergencyDispatchChannel::Create(options, clock).status().code(), ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace vg::notify
