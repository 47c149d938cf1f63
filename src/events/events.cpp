#include "vg/events/events.hpp"

#include <boost/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vg/messages/verdict_text.hpp"

namespace vg::events {

namespace json = boost::json;

json::object SummaryJson(std::span<const domain::Metric> causes, std::span<const std::string> rules,
                         std::span<const std::pair<domain::Metric, double>> values = {}) {
    return json::object{{"ko", messages::VerdictSummary(causes, rules, messages::Language::kKorean, values)},
                        {"en", messages::VerdictSummary(causes, rules, messages::Language::kEnglish, values)}};
}

json::object DetectionJson(const domain::Detection& d) {
    json::array causes;
    for (domain::Metric m : d.causes) causes.emplace_back(domain::MetricName(m));
    json::array rules;
    for (const domain::FiredRule& r : d.fired) {
        rules.push_back(json::object{{"rule", r.rule},
                                     {"kind", r.kind},
                                     {"metric", domain::MetricName(r.metric)},
                                     {"level", domain::LevelName(r.level)},
                                     {"value", r.value},
                                     {"detail", r.detail}});
    }
    json::object o{{"status", static_cast<int>(d.level)}, {"level", domain::LevelName(d.level)},
                   {"causes", std::move(causes)},         {"rules", std::move(rules)},
                   {"explanation", d.explanation},        {"advice_only", d.advice_only}};
    if (d.level != domain::Level::kNormal) {
        // The rules that decided the level (a held one names the rule that set it).
        std::vector<std::string> deciding;
        std::vector<std::pair<domain::Metric, double>> values;  // measured ones: not a trend's %, not a silence's s
        for (const domain::FiredRule& r : d.fired) {
            if (r.level != d.level) continue;
            deciding.push_back(r.rule);
            if (r.kind != "trend" && r.kind != "signal_loss") values.emplace_back(r.metric, r.value);
        }
        o["summary"] = SummaryJson(d.causes, deciding, values);
    }
    if (d.model_probabilities) {
        const auto& p = *d.model_probabilities;
        json::array model_causes;
        for (domain::Metric m : d.model_causes) model_causes.emplace_back(domain::MetricName(m));
        o["model"] =
            json::object{{"normal", p[0]}, {"caution", p[1]}, {"danger", p[2]}, {"causes", std::move(model_causes)}};
    }
    return o;
}

std::string DetectionEvent(std::string_view wearer_id, const domain::Detection& detection, domain::Level previous,
                           std::optional<TimePoint> reading_at, std::optional<TimePoint> received_at,
                           TimePoint detected_at) {
    json::object o = DetectionJson(detection);
    o["type"] = "detection";
    o["wearer"] = wearer_id;
    o["changed"] = detection.level != previous;
    o["previous_status"] = static_cast<int>(previous);
    o["reading_at"] = reading_at ? json::value(FormatIso8601(*reading_at)) : json::value(nullptr);
    o["received_at"] = received_at ? json::value(FormatIso8601(*received_at)) : json::value(nullptr);
    o["detected_at"] = FormatIso8601(detected_at);
    return json::serialize(o);
}

std::string PostureLiveEvent(std::string_view wearer_id, const posture::PostureEvent& event) {
    json::object o{{"type", "posture"},
                   {"wearer", wearer_id},
                   {"posture", static_cast<int>(event.posture)},
                   {"name", posture::WireName(event.posture)},
                   {"changed", event.changed},
                   {"fall", posture::FallStateName(event.fall)},
                   {"at", FormatIso8601(event.at)}};
    o["previous_posture"] = event.previous ? json::value(static_cast<int>(*event.previous)) : json::value(nullptr);
    return json::serialize(o);
}

json::object IncidentJson(const domain::Incident& i, std::string_view wearer_id, TimePoint now) {
    json::array causes, rules;
    for (domain::Metric m : i.causes) causes.emplace_back(domain::MetricName(m));
    for (const auto& r : i.rules) rules.emplace_back(r);
    json::object o{{"id", i.id},
                   {"wearer", wearer_id},
                   {"kind", domain::IncidentKindName(i.kind)},
                   {"phase", domain::IncidentPhaseName(i.phase)},
                   {"status", static_cast<int>(i.level)},
                   {"level", domain::LevelName(i.level)},
                   {"max_status", static_cast<int>(i.max_level)},
                   {"causes", std::move(causes)},
                   {"rules", std::move(rules)},
                   {"explanation", i.explanation},
                   {"summary", SummaryJson(i.causes, i.rules)},
                   {"opened_at", FormatIso8601(i.opened_at)},
                   {"updated_at", FormatIso8601(i.updated_at)},
                   {"reraise_count", i.reraise_count},
                   {"acknowledged_by", i.acknowledged_by},
                   {"close_reason", domain::CloseReasonName(i.close_reason)}};
    auto put = [&](const char* key, const std::optional<TimePoint>& t) {
        if (t) o[key] = FormatIso8601(*t);
    };
    if (i.phase == domain::IncidentPhase::kCountdown && i.deadline) {
        put("deadline", i.deadline);
        o["seconds_left"] = std::max<int64_t>(0, (ToUnixMillis(*i.deadline) - ToUnixMillis(now) + 999) / 1000);
    }
    if (i.phase == domain::IncidentPhase::kGuidance) put("escalate_at", i.escalate_at);
    put("guardians_notified_at", i.guardians_notified_at);
    put("dispatched_at", i.dispatched_at);
    put("acknowledged_at", i.acknowledged_at);
    put("wearer_ok_at", i.wearer_ok_at);
    put("snoozed_until", i.snoozed_until);
    put("closed_at", i.closed_at);
    return o;
}

std::string IncidentEvent(const domain::Incident& incident, std::string_view wearer_id,
                          const std::vector<std::string>& notices, TimePoint now) {
    json::array n;
    for (const auto& x : notices) n.emplace_back(x);
    return json::serialize(json::object{
        {"type", "incident"}, {"incident", IncidentJson(incident, wearer_id, now)}, {"notices", std::move(n)}});
}

}  // namespace vg::events
