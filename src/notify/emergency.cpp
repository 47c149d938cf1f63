#include "vg/notify/emergency.hpp"

#include <boost/json.hpp>
#include <cstdio>

#include "vg/tz/tz.hpp"

namespace vg::notify {
namespace {

std::string FormatNumber(double value, int decimals) {
    char out[48];
    std::snprintf(out, sizeof(out), "%.*f", decimals, value);
    return out;
}

// The local date, time and "UTC+09:00" of `t` in `zone` (the wearer's IANA zone; tz::ToLocal's fallback
// for a name that is not one).
tz::LocalTime ToLocal(TimePoint t, const std::string& zone) { return tz::ToLocal(t, zone); }

std::string JoinCauses(const std::vector<EmergencyCause>& causes, ReportLanguage language) {
    std::string out;
    for (EmergencyCause cause : causes) {
        if (!out.empty()) out += ", ";
        out += EmergencyCauseName(cause, language);
    }
    return out;
}

std::string VitalsLine(const VitalsSnapshot& v, ReportLanguage language) {
    const bool ko = language == ReportLanguage::kKorean;
    std::vector<std::string> parts;
    if (v.heart_rate_bpm)
        parts.push_back((ko ? "심박 " : "HR ") + FormatNumber(*v.heart_rate_bpm, 0) + (ko ? "회/분" : "/min"));
    if (v.spo2_percent) parts.push_back((ko ? "산소포화도 " : "SpO2 ") + FormatNumber(*v.spo2_percent, 0) + "%");
    if (v.respiratory_rate_per_min) {
        parts.push_back((ko ? "호흡 " : "RR ") + FormatNumber(*v.respiratory_rate_per_min, 0) +
                        (ko ? "회/분" : "/min"));
    }
    if (v.skin_temperature_c)
        parts.push_back((ko ? "체온 " : "Temp ") + FormatNumber(*v.skin_temperature_c, 1) + (ko ? "℃" : "C"));
    if (v.systolic_mmhg && v.diastolic_mmhg) {
        parts.push_back((ko ? "혈압 " : "BP ") + std::to_string(*v.systolic_mmhg) + "/" +
                        std::to_string(*v.diastolic_mmhg));
    }
    if (v.glucose_mg_dl) parts.push_back((ko ? "혈당 " : "Glucose ") + FormatNumber(*v.glucose_mg_dl, 0) + " mg/dL");
    if (parts.empty()) return ko ? "최근 측정값 없음" : "no recent readings";
    std::string out;
    for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
    return out;
}

// Decodes one UTF-8 code point at `i` (advancing it); U+FFFD for malformed input.
char32_t NextCodePoint(std::string_view text, size_t& i) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (length == 0 || i + length > text.size()) {
        ++i;
        return 0xFFFD;
    }
    char32_t cp = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) cp = (cp << 6) | (byte(i + k) & 0x3F);
    i += length;
    return cp;
}

// Septets for one character in GSM 03.38: 1 basic, 2 extension, 0 not representable.
int GsmSeptets(char32_t c) {
    static constexpr std::u32string_view kBasicNonAscii = U"£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà";
    static constexpr std::u32string_view kExtension = U"^{}\\[~]|€\f";
    if (kExtension.find(c) != std::u32string_view::npos) return 2;
    if (c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7F && c != '`')) return 1;
    if (kBasicNonAscii.find(c) != std::u32string_view::npos) return 1;
    return 0;
}

}  // namespace

std::string_view EmergencyCauseName(EmergencyCause cause, ReportLanguage language) {
    const bool ko = language == ReportLanguage::kKorean;
    switch (cause) {
        case EmergencyCause::kManualSos:
            return ko ? "본인 SOS 신고" : "SOS pressed by the wearer";
        case EmergencyCause::kFall:
            return ko ? "낙상" : "fall";
        case EmergencyCause::kNoResponse:
            return ko ? "응답 없음" : "no response";
        case EmergencyCause::kHeartRateHigh:
            return ko ? "빈맥(심박 높음)" : "high heart rate";
        case EmergencyCause::kHeartRateLow:
            return ko ? "서맥(심박 낮음)" : "low heart rate";
        case EmergencyCause::kSpo2Low:
            return ko ? "산소포화도 저하" : "low SpO2";
        case EmergencyCause::kRespiratoryRateHigh:
            return ko ? "호흡 빠름" : "rapid breathing";
        case EmergencyCause::kRespiratoryRateLow:
            return ko ? "호흡 느림" : "slow breathing";
        case EmergencyCause::kTemperatureHigh:
            return ko ? "고체온" : "high temperature";
        case EmergencyCause::kTemperatureLow:
            return ko ? "저체온" : "low temperature";
        case EmergencyCause::kGlucoseHigh:
            return ko ? "고혈당" : "high blood glucose";
        case EmergencyCause::kGlucoseLow:
            return ko ? "저혈당" : "low blood glucose";
        case EmergencyCause::kSignalLoss:
            return ko ? "신호 끊김" : "signal lost";
    }
    return ko ? "알 수 없음" : "unknown";
}

std::string RenderEmergencyReport(const EmergencyReport& report, ReportLanguage language) {
    const bool ko = language == ReportLanguage::kKorean;
    const tz::LocalTime when = ToLocal(report.detected_at, report.time_zone);
    std::string out;
    out.reserve(512);
    out += ko ? "[VitalGuard 응급신고]\n" : "[VitalGuard EMERGENCY]\n";

    out += ko ? "이름: " : "Name: ";
    out += report.wearer_name;
    if (report.age) out += ko ? " (" + std::to_string(*report.age) + "세)" : ", age " + std::to_string(*report.age);
    out += '\n';

    out += ko ? "주소: " : "Address: ";
    out += report.address.empty() ? (ko ? "미등록" : "not registered") : report.address;
    out += '\n';

    out += ko ? "위치: " : "Location: ";
    if (report.location) {
        const GeoLocation& at = *report.location;
        out += FormatNumber(at.latitude, 5) + "," + FormatNumber(at.longitude, 5);
        const tz::LocalTime fix = ToLocal(at.at, report.time_zone);
        const std::string fix_time = fix.date == when.date ? fix.time : fix.date + " " + fix.time;
        if (at.accuracy_m) {
            out += ko ? " (오차 " + FormatNumber(*at.accuracy_m, 0) + "m, " + fix_time + ")"
                      : " (accuracy " + FormatNumber(*at.accuracy_m, 0) + " m, at " + fix_time + ")";
        } else {
            out += ko ? " (" + fix_time + ")" : " (at " + fix_time + ")";
        }
    } else {
        out += ko ? "정보 없음" : "unknown";
    }
    out += '\n';

    out += ko ? "생체: " : "Vitals: ";
    out += VitalsLine(report.vitals, language);
    out += '\n';

    out += ko ? "원인: " : "Cause: ";
    out += report.causes.empty() ? (ko ? "알 수 없음" : "unknown") : JoinCauses(report.causes, language);
    if (!report.detail.empty()) out += " - " + report.detail;
    out += '\n';

    out += ko ? "시각: " : "Time: ";
    out += when.date + " " + when.time + " (" + when.offset + ")\n";

    if (!report.phone.empty()) out += (ko ? "연락처: " : "Phone: ") + report.phone + "\n";
    out += (ko ? "사건: " : "Incident: ") + report.incident_id;
    if (!report.link.empty()) out += "\n" + report.link;
    return out;
}

std::string EmergencyReportJson(const EmergencyReport& report, ReportLanguage language) {
    boost::json::object object;
    object["type"] = "emergency";
    object["incident_id"] = report.incident_id;
    object["language"] = language == ReportLanguage::kKorean ? "ko" : "en";
    boost::json::object wearer;
    wearer["name"] = report.wearer_name;
    wearer["age"] = report.age ? boost::json::value(*report.age) : boost::json::value(nullptr);
    wearer["address"] = report.address;
    wearer["phone"] = report.phone;
    object["wearer"] = std::move(wearer);
    if (report.location) {
        boost::json::object location;
        location["latitude"] = report.location->latitude;
        location["longitude"] = report.location->longitude;
        location["accuracy_m"] = report.location->accuracy_m ? boost::json::value(*report.location->accuracy_m)
                                                             : boost::json::value(nullptr);
        location["at"] = FormatIso8601(report.location->at);
        object["location"] = std::move(location);
    } else {
        object["location"] = nullptr;
    }
    boost::json::object vitals;
    const auto put = [&vitals](const char* name, auto value) {
        if (value) vitals[name] = *value;
    };
    put("heart_rate_bpm", report.vitals.heart_rate_bpm);
    put("spo2_percent", report.vitals.spo2_percent);
    put("respiratory_rate_per_min", report.vitals.respiratory_rate_per_min);
    put("skin_temperature_c", report.vitals.skin_temperature_c);
    put("systolic_mmhg", report.vitals.systolic_mmhg);
    put("diastolic_mmhg", report.vitals.diastolic_mmhg);
    put("glucose_mg_dl", report.vitals.glucose_mg_dl);
    object["vitals"] = std::move(vitals);
    boost::json::array causes;
    for (EmergencyCause cause : report.causes) causes.emplace_back(EmergencyCauseName(cause, ReportLanguage::kEnglish));
    object["causes"] = std::move(causes);
    object["detail"] = report.detail;
    object["detected_at"] = FormatIso8601(report.detected_at);
    const tz::LocalTime local = ToLocal(report.detected_at, report.time_zone);
    object["time_zone"] = local.zone;
    object["utc_offset_minutes"] = local.utc_offset.count();
    object["link"] = report.link;
    object["text"] = RenderEmergencyReport(report, language);
    return boost::json::serialize(object);
}

SmsLength MeasureSms(std::string_view utf8_text) {
    size_t septets = 0;
    size_t utf16_units = 0;
    bool gsm = true;
    for (size_t i = 0; i < utf8_text.size();) {
        const char32_t c = NextCodePoint(utf8_text, i);
        utf16_units += c > 0xFFFF ? 2 : 1;
        const int cost = GsmSeptets(c);
        if (cost == 0) gsm = false;
        septets += static_cast<size_t>(cost);
    }
    SmsLength length;
    length.ucs2 = !gsm;
    length.units = gsm ? septets : utf16_units;
    const size_t single = gsm ? 160 : 70;
    const size_t part = gsm ? 153 : 67;
    length.segments = length.units == 0 ? 0 : length.units <= single ? 1 : (length.units + part - 1) / part;
    return length;
}

EmergencyDispatchChannel::EmergencyDispatchChannel(std::string recipient, std::unique_ptr<Channel> target)
    : recipient_(std::move(recipient)), target_(std::move(target)) {}

Result<std::unique_ptr<EmergencyDispatchChannel>> EmergencyDispatchChannel::Create(EmergencyDispatchOptions options,
                                                                                   const Clock& clock) {
    std::unique_ptr<Channel> target;
    if (options.target == EmergencyDispatchOptions::Target::kSmsGateway) {
        auto sms = SmsGatewayChannel::Create(std::move(options.sms));
        if (!sms.ok()) return sms.status();
        target = std::move(sms).value();
    } else {
        auto webhook = WebhookChannel::Create(std::move(options.webhook), clock);
        if (!webhook.ok()) return webhook.status();
        target = std::move(webhook).value();
    }
    return std::unique_ptr<EmergencyDispatchChannel>(
        new EmergencyDispatchChannel(std::move(options.recipient), std::move(target)));
}

Result<DeliveryReceipt> EmergencyDispatchChannel::Deliver(const OutboxItem& item) {
    if (recipient_.empty()) return target_->Deliver(item);
    OutboxItem routed = item;
    routed.recipient = recipient_;
    return target_->Deliver(routed);
}

}  // namespace vg::notify
