#include "vg/messages/verdict_text.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <optional>

namespace vg::messages {
namespace {

struct MetricWords {
    std::string_view ko;  // "심박수"
    std::string_view
        ko_subject;  // "심박수가": the label with its subject particle (가 after a vowel, 이 after a consonant)
    std::string_view en;          // "heart rate"
    std::string_view en_subject;  // "Heart rate": at the start of a sentence
};

constexpr std::array<MetricWords, domain::kMetricCount> kMetrics = {{
    {"심박수", "심박수가", "heart rate", "Heart rate"},
    {"호흡수", "호흡수가", "respiration rate", "Respiration rate"},
    {"산소포화도", "산소포화도가", "SpO2", "SpO2"},
    {"피부 온도", "피부 온도가", "skin temperature", "Skin temperature"},
    {"혈당", "혈당이", "glucose", "Glucose"},
    {"걸음 수", "걸음 수가", "step cadence", "Step cadence"},
    {"소모 열량", "소모 열량이", "calories", "Calories"},
}};

const MetricWords& Words(domain::Metric m) { return kMetrics[static_cast<size_t>(m)]; }

enum class Finding {
    kHigh,
    kLow,
    kRising,
    kFalling,
    kLongHigh,
    kLongLow,
    kAboveUsual,
    kBelowUsual,
    kAfterActivity,
    kOutOfRange
};

// What a rule id says about its metric, by the profiles' naming convention.
Finding FindingOf(std::string_view rule) {
    const auto has = [&](std::string_view part) { return rule.find(part) != std::string_view::npos; };
    if (has(".trend.rise")) return Finding::kRising;
    if (has(".trend.fall")) return Finding::kFalling;
    if (has(".sustained.high")) return Finding::kLongHigh;
    if (has(".sustained.low")) return Finding::kLongLow;
    if (has(".baseline.high")) return Finding::kAboveUsual;
    if (has(".baseline.low")) return Finding::kBelowUsual;
    if (has(".exercise")) return Finding::kAfterActivity;
    if (has(".high")) return Finding::kHigh;
    if (has(".low")) return Finding::kLow;
    return Finding::kOutOfRange;
}

std::string_view Predicate(Finding f, Language language) {
    const bool ko = language == Language::kKorean;
    switch (f) {
        case Finding::kHigh:
            return ko ? "너무 높습니다" : "is too high";
        case Finding::kLow:
            return ko ? "너무 낮습니다" : "is too low";
        case Finding::kRising:
            return ko ? "빠르게 오르고 있습니다" : "is rising fast";
        case Finding::kFalling:
            return ko ? "빠르게 떨어지고 있습니다" : "is falling fast";
        case Finding::kLongHigh:
            return ko ? "오랫동안 높은 상태입니다" : "has been high for a long time";
        case Finding::kLongLow:
            return ko ? "오랫동안 낮은 상태입니다" : "has been low for a long time";
        case Finding::kAboveUsual:
            return ko ? "평소보다 많이 높습니다" : "is well above the usual";
        case Finding::kBelowUsual:
            return ko ? "평소보다 많이 낮습니다" : "is well below the usual";
        case Finding::kAfterActivity:
            return ko ? "활동 중이거나 활동 뒤에도 높습니다. 속도를 줄이고 쉬세요"
                      : "is high with activity; slow down and rest";
        case Finding::kOutOfRange:
            return ko ? "평소 범위를 벗어났습니다" : "is out of its usual range";
    }
    return "";
}

bool IsSilence(std::string_view rule) {
    return rule == "signal_loss" || (rule.size() > 12 && rule.substr(rule.size() - 12) == ".signal_loss");
}

// The metric a rule id names ("spo2.low.danger" → spo2), if any.
std::optional<domain::Metric> MetricOfRule(std::string_view rule) {
    const size_t dot = rule.find('.');
    return domain::MetricFromName(rule.substr(0, dot));
}

}  // namespace

Language LanguageFromCode(std::string_view code) {
    return code.substr(0, 2) == "en" ? Language::kEnglish : Language::kKorean;
}

std::string_view MetricLabel(domain::Metric metric, Language language) {
    return language == Language::kKorean ? Words(metric).ko : Words(metric).en;
}

std::string_view LevelWord(domain::Level level, Language language) {
    const bool ko = language == Language::kKorean;
    switch (level) {
        case domain::Level::kDanger:
            return ko ? "위험" : "danger";
        case domain::Level::kCaution:
            return ko ? "주의" : "caution";
        case domain::Level::kNormal:
            return ko ? "정상" : "normal";
    }
    return "";
}

std::string ValueText(domain::Metric metric, double value, Language language) {
    const bool ko = language == Language::kKorean;
    char number[32];
    const double rounded = std::round(value * 10) / 10;
    std::snprintf(number, sizeof(number), std::fabs(rounded - std::round(rounded)) < 1e-9 ? "%.0f" : "%.1f", rounded);
    const std::string n = number;
    switch (metric) {
        case domain::Metric::kHeartRate:
            return ko ? "분당 " + n + "회" : n + " bpm";
        case domain::Metric::kRespirationRate:
            return ko ? "분당 " + n + "회" : n + " breaths/min";
        case domain::Metric::kSpo2:
            return n + "%";
        case domain::Metric::kSkinTemp:
            return ko ? n + "°C" : n + " °C";
        case domain::Metric::kGlucose:
            return n + " mg/dL";
        case domain::Metric::kSteps:
            return ko ? "분당 " + n + "보" : n + " steps/min";
        case domain::Metric::kCalories:
            return n + " kcal/min";
    }
    return n;
}

std::string VerdictSummary(std::span<const domain::Metric> causes, std::span<const std::string> rules,
                           Language language, std::span<const std::pair<domain::Metric, double>> values) {
    const bool ko = language == Language::kKorean;
    std::string out;
    auto sentence = [&](domain::Metric m, std::string_view subject, std::string_view predicate) {
        if (!out.empty()) out += ' ';
        out.append(subject).append(" ").append(predicate);
        for (const auto& [metric, value] : values) {
            if (metric != m || !std::isfinite(value)) continue;
            out += (ko ? "(" : " (") + ValueText(m, value, language) + ")";
            break;
        }
        out += '.';
    };
    for (domain::Metric m : causes) {
        Finding finding = Finding::kOutOfRange;
        for (const std::string& rule : rules) {
            if (!IsSilence(rule) && MetricOfRule(rule) == m) {
                finding = FindingOf(rule);
                break;
            }
        }
        sentence(m, ko ? Words(m).ko_subject : Words(m).en_subject, Predicate(finding, language));
    }
    for (const std::string& rule : rules) {
        if (!IsSilence(rule)) continue;
        const bool glucose = MetricOfRule(rule) == domain::Metric::kGlucose;
        if (!out.empty()) out += ' ';
        if (ko) {
            out += glucose
                       ? "혈당 센서에서 측정값이 들어오지 않습니다. 센서를 착용했는지, 연결 상태를 확인해 주세요."
                       : "시계에서 측정값이 들어오지 않습니다. 시계를 착용했는지, 충전과 연결 상태를 확인해 주세요.";
        } else {
            out += glucose ? "No readings from the glucose sensor: check that it is worn and connected."
                           : "No readings from the watch: check that it is worn, charged and connected.";
        }
        break;
    }
    return out;
}

}  // namespace vg::messages
