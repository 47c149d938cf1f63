#pragma once
// The emergency (119) report and its dispatch.
//
// RenderEmergencyReport turns what escalation knows about an emergency into the text a dispatch
// centre reads: who (name, age), where (address, last known location), what (current vitals,
// cause), when (time of detection in the wearer's time zone), and the incident id and link —
// in Korean or English. It is pure and allocation-only: escalation renders the report when it
// writes the outbox row, so the text is fixed at that moment and every retry sends the same one.
//
// Length: one line per item, no decoration; missing data is said, not skipped ("위치: 정보 없음" /
// "Location: unknown"). Korean goes as UCS-2 (70 characters per SMS, 67 per part): a report with
// every field filled in is about 330 characters (5 parts; one Korean LMS, limit 2,000 bytes), a
// usual one (three vitals, one cause) about 260 (4 parts). In English with an ASCII address the
// full report is about 430 GSM-7 septets (3 parts of 153). MeasureSms counts; the numbers are
// checked in emergency_test.cpp and listed in docs/notifications.md.
// EmergencyDispatchChannel sends the report to the configured dispatch target, either an SMS
// gateway (the text) or a webhook (the JSON of EmergencyReportJson, signed).
// Thread-safety: the functions are pure; the channel's Deliver may be called from any thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/notify/channel.hpp"
#include "vg/notify/sms.hpp"
#include "vg/notify/webhook.hpp"

namespace vg::notify {

enum class ReportLanguage { kKorean, kEnglish };

enum class EmergencyCause {
    kManualSos,   // the wearer pressed SOS
    kFall,        // a fall was detected
    kNoResponse,  // no "I'm OK" within the countdown
    kHeartRateHigh,
    kHeartRateLow,
    kSpo2Low,
    kRespiratoryRateHigh,
    kRespiratoryRateLow,
    kTemperatureHigh,
    kTemperatureLow,
    kGlucoseHigh,
    kGlucoseLow,
    kSignalLoss,  // the watch stopped reporting
};

// The cause's name in `language`, e.g. "낙상" / "fall".
std::string_view EmergencyCauseName(EmergencyCause cause, ReportLanguage language);

struct GeoLocation {
    double latitude = 0;   // WGS84 degrees
    double longitude = 0;  // WGS84 degrees
    std::optional<double> accuracy_m;
    TimePoint at{};  // when the fix was taken
};

// The latest readings; an absent value was not measured recently.
struct VitalsSnapshot {
    std::optional<double> heart_rate_bpm;
    std::optional<double> spo2_percent;
    std::optional<double> respiratory_rate_per_min;
    std::optional<double> skin_temperature_c;
    std::optional<int> systolic_mmhg;
    std::optional<int> diastolic_mmhg;
    std::optional<double> glucose_mg_dl;
};

struct EmergencyReport {
    std::string incident_id;
    std::string wearer_name;
    std::optional<int> age;
    std::string address;  // as the wearer registered it
    std::string phone;    // the wearer's phone number; empty when unknown
    std::optional<GeoLocation> location;
    VitalsSnapshot vitals;
    std::vector<EmergencyCause> causes;  // at least one in practice; the first is the headline
    std::string detail;                  // the detector's explanation, copied as it is (may be empty)
    TimePoint detected_at{};
    std::string time_zone = "Asia/Seoul";  // the wearer's IANA zone: every time is written in it
    std::string link;                      // URL of the incident page
};

// The report as plain text, lines separated by '\n'. See the header comment for its shape.
std::string RenderEmergencyReport(const EmergencyReport& report, ReportLanguage language);

// The report as a JSON object for webhook dispatch: every field, machine-readable (ISO 8601
// times, numbers, cause codes), plus "text" with RenderEmergencyReport's output.
std::string EmergencyReportJson(const EmergencyReport& report, ReportLanguage language);

// How an SMS text is sent: GSM-7 when every character is in the GSM 03.38 alphabet (its
// extension characters such as {}[]~ count twice), UCS-2 otherwise (Korean); then the number of
// segments (160/153 septets, or 70/67 UTF-16 units, for one or several).
struct SmsLength {
    bool ucs2 = false;
    size_t units = 0;  // septets (GSM-7) or UTF-16 code units (UCS-2)
    size_t segments = 0;
};
SmsLength MeasureSms(std::string_view utf8_text);

struct EmergencyDispatchOptions {
    enum class Target { kSmsGateway, kWebhook };
    Target target = Target::kSmsGateway;
    // The dispatch centre's number (SMS) or URL (webhook). When set it replaces the outbox
    // item's recipient, so the target is the operator's choice and not the data's.
    std::string recipient;
    SmsGatewayOptions sms;   // used when target == kSmsGateway
    WebhookOptions webhook;  // used when target == kWebhook
};

class EmergencyDispatchChannel final : public Channel {
  public:
    // kValidationFailed when the chosen target's options are unusable. The clock (webhook
    // timestamps) must outlive the channel.
    static Result<std::unique_ptr<EmergencyDispatchChannel>> Create(EmergencyDispatchOptions options,
                                                                    const Clock& clock);

    // The item's body is the report text (SMS); its payload_json is EmergencyReportJson (webhook).
    Result<DeliveryReceipt> Deliver(const OutboxItem& item) override;

  private:
    EmergencyDispatchChannel(std::string recipient, std::unique_ptr<Channel> target);
    const std::string recipient_;
    const std::unique_ptr<Channel> target_;
};

}  // namespace vg::notify
