#include "vg/messages/verdict_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vg::messages {
namespace {

using domain::Metric;

std::string Summary(std::vector<Metric> causes, std::vector<std::string> rules, Language language) {
    return VerdictSummary(causes, rules, language);
}

TEST(VerdictSummary, SaysWhatEachRuleFoundInKoreanAndEnglish) {
    EXPECT_EQ(
        Summary({Metric::kHeartRate, Metric::kSpo2}, {"heart_rate.high.danger", "spo2.low.danger"}, Language::kKorean),
        "심박수가 너무 높습니다. 산소포화도가 너무 낮습니다.");
    EXPECT_EQ(
        Summary({Metric::kHeartRate, Metric::kSpo2}, {"heart_rate.high.danger", "spo2.low.danger"}, Language::kEnglish),
        "Heart rate is too high. SpO2 is too low.");
    EXPECT_EQ(Summary({Metric::kGlucose}, {"glucose.trend.fall"}, Language::kKorean),
              "혈당이 빠르게 떨어지고 있습니다.");
    EXPECT_EQ(Summary({Metric::kGlucose}, {"glucose.sustained.high"}, Language::kEnglish),
              "Glucose has been high for a long time.");
    EXPECT_EQ(Summary({Metric::kSkinTemp}, {"skin_temp.baseline.low"}, Language::kKorean),
              "피부 온도가 평소보다 많이 낮습니다.");
    EXPECT_EQ(Summary({Metric::kRespirationRate}, {"respiration_rate.low.mild"}, Language::kKorean),
              "호흡수가 너무 낮습니다.");
}

// Every rule id of the shipped profiles reads as a finding of its own metric, never as "out of range".
TEST(VerdictSummary, EveryShippedRuleIdHasItsOwnWords) {
    const std::vector<std::pair<std::string, Metric>> ids = {
        {"glucose.baseline.high", Metric::kGlucose},
        {"glucose.baseline.low", Metric::kGlucose},
        {"glucose.high.caution", Metric::kGlucose},
        {"glucose.low.caution", Metric::kGlucose},
        {"glucose.low.danger", Metric::kGlucose},
        {"glucose.sustained.high", Metric::kGlucose},
        {"glucose.sustained.low", Metric::kGlucose},
        {"glucose.trend.fall", Metric::kGlucose},
        {"glucose.trend.rise", Metric::kGlucose},
        {"heart_rate.exercise", Metric::kHeartRate},
        {"heart_rate.high.danger", Metric::kHeartRate},
        {"heart_rate.high.mild", Metric::kHeartRate},
        {"heart_rate.high.moderate", Metric::kHeartRate},
        {"heart_rate.low.danger", Metric::kHeartRate},
        {"heart_rate.low.mild", Metric::kHeartRate},
        {"heart_rate.trend.rise", Metric::kHeartRate},
        {"respiration_rate.high.danger", Metric::kRespirationRate},
        {"respiration_rate.high.moderate", Metric::kRespirationRate},
        {"respiration_rate.low.danger", Metric::kRespirationRate},
        {"respiration_rate.low.mild", Metric::kRespirationRate},
        {"skin_temp.baseline.high", Metric::kSkinTemp},
        {"skin_temp.baseline.low", Metric::kSkinTemp},
        {"spo2.low.danger", Metric::kSpo2},
        {"spo2.low.mild", Metric::kSpo2},
        {"spo2.low.moderate", Metric::kSpo2},
        {"spo2.trend.fall", Metric::kSpo2},
    };
    const std::string out_of_range_ko = "평소 범위를 벗어났습니다";
    for (const auto& [id, metric] : ids) {
        for (Language language : {Language::kKorean, Language::kEnglish}) {
            const std::string text = Summary({metric}, {id}, language);
            EXPECT_FALSE(text.empty()) << id;
            EXPECT_EQ(text.find(out_of_range_ko), std::string::npos) << id << ": " << text;
            EXPECT_EQ(text.find("out of its usual range"), std::string::npos) << id << ": " << text;
            EXPECT_EQ(text.find(std::string(MetricLabel(metric, Language::kKorean))) == 0,
                      language == Language::kKorean)
                << id << ": " << text;
        }
    }
}

TEST(VerdictSummary, ASilenceAndACauseWithoutARuleOfItsOwn) {
    EXPECT_EQ(Summary({}, {"signal_loss"}, Language::kKorean),
              "시계에서 측정값이 들어오지 않습니다. 시계를 착용했는지, 충전과 연결 상태를 확인해 주세요.");
    EXPECT_EQ(Summary({}, {"glucose.signal_loss"}, Language::kEnglish),
              "No readings from the glucose sensor: check that it is worn and connected.");
    // The status model named a metric no rule fired for.
    EXPECT_EQ(Summary({Metric::kRespirationRate}, {"heart_rate.high.danger"}, Language::kKorean),
              "호흡수가 평소 범위를 벗어났습니다.");
    // A held danger and the silence after it: both said, the metric first.
    EXPECT_EQ(Summary({Metric::kSpo2}, {"spo2.low.danger", "signal_loss"}, Language::kEnglish),
              "SpO2 is too low. No readings from the watch: check that it is worn, charged and connected.");
    EXPECT_EQ(Summary({}, {}, Language::kKorean), "");
}

TEST(VerdictSummary, TheMeasuredValuesAreSaidWithTheirUnits) {
    const std::vector<Metric> causes = {Metric::kHeartRate, Metric::kSpo2};
    const std::vector<std::string> rules = {"heart_rate.high.danger", "spo2.low.danger"};
    const std::vector<std::pair<Metric, double>> values = {{Metric::kHeartRate, 150}, {Metric::kSpo2, 86.04}};
    EXPECT_EQ(VerdictSummary(causes, rules, Language::kKorean, values),
              "심박수가 너무 높습니다(분당 150회). 산소포화도가 너무 낮습니다(86%).");
    EXPECT_EQ(VerdictSummary(causes, rules, Language::kEnglish, values),
              "Heart rate is too high (150 bpm). SpO2 is too low (86%).");
    EXPECT_EQ(ValueText(Metric::kSkinTemp, 37.46, Language::kKorean), "37.5°C");
    EXPECT_EQ(ValueText(Metric::kGlucose, 250, Language::kEnglish), "250 mg/dL");
    EXPECT_EQ(ValueText(Metric::kRespirationRate, 28, Language::kKorean), "분당 28회");
}

TEST(VerdictSummary, LanguageCodesAndWords) {
    EXPECT_EQ(LanguageFromCode("en"), Language::kEnglish);
    EXPECT_EQ(LanguageFromCode("en-GB"), Language::kEnglish);
    EXPECT_EQ(LanguageFromCode("ko"), Language::kKorean);
    EXPECT_EQ(LanguageFromCode(""), Language::kKorean);
    EXPECT_EQ(LevelWord(domain::Level::kDanger, Language::kKorean), "위험");
    EXPECT_EQ(LevelWord(domain::Level::kCaution, Language::kEnglish), "caution");
    EXPECT_EQ(MetricLabel(Metric::kSpo2, Language::kKorean), "산소포화도");
}

}  // namespace
}  // namespace vg::messages
