#include "wire.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <cstdio>

#include "vg/common/time_text.hpp"

namespace vg::sim::wire {
namespace {

namespace json = boost::json;

constexpr std::array<domain::Metric, domain::kMetricCount> kAllMetrics = {
    domain::Metric::kHeartRate, domain::Metric::kRespirationRate, domain::Metric::kSpo2,    domain::Metric::kSkinTemp,
    domain::Metric::kGlucose,   domain::Metric::kSteps,           domain::Metric::kCalories};

void AppendNumber(std::string& out, double v) {
    char buf[32];
    // Values are rounded to at most two decimals by the model; %.10g prints them exactly and briefly.
    const int n = std::snprintf(buf, sizeof(buf), "%.10g", v);
    out.append(buf, static_cast<size_t>(n));
}

void AppendInt(std::string& out, int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, end);
}

std::optional<TimePoint> TimeField(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) return std::nullopt;
    auto t = ParseIso8601(it->value().as_string());
    if (!t.ok()) return std::nullopt;
    return *t;
}

}  // namespace

std::string ReadingsBatchJson(std::span<const SimReading> readings) {
    std::string out;
    out.reserve(32 + readings.size() * 170);
    out += "{\"readings\":[";
    bool first = true;
    for (const SimReading& r : readings) {
        if (!first) out += ',';
        first = false;
        out += "{\"seq\":";
        AppendInt(out, r.seq);
        out += ",\"timestamp\":";
        AppendInt(out, ToUnixMillis(r.reading.measured_at));
        for (domain::Metric m : kAllMetrics) {
            if (auto v = r.reading.get(m)) {
                out += ",\"";
                out += domain::MetricName(m);
                out += "\":";
                AppendNumber(out, *v);
            }
        }
        out += '}';
    }
    out += "]}";
    return out;
}

std::string PostureBatchJson(std::span<const PostureWindowRef> windows) {
    std::string out;
    out.reserve(32 + windows.size() * 128 * 6 * 9);
    out += "{\"windows\":[";
    char buf[32];
    for (size_t w = 0; w < windows.size(); ++w) {
        const PostureWindowRef& ref = windows[w];
        if (w) out += ',';
        out += "{\"sample_rate_hz\":50,\"placement\":\"";
        out += ImuPlacementName(ref.event->placement);
        out += "\",\"gravity_removed\":";
        out += ref.event->gravity_removed ? "true" : "false";
        out += ",\"measured_at\":";
        AppendInt(out, ToUnixMillis(ref.measured_at));
        out += ",\"samples\":[";
        const ImuSamples& samples = ref.event->windows[ref.index];
        for (size_t i = 0; i < samples.size(); ++i) {
            if (i) out += ',';
            out += '[';
            for (size_t c = 0; c < imu::kChannels; ++c) {
                if (c) out += ',';
                // 6 significant digits: finer than the sensors' resolution (SisFall: 1/256 g, 1/14 °/s).
                const int n = std::snprintf(buf, sizeof(buf), "%.6g", static_cast<double>(samples[i][c]));
                out.append(buf, static_cast<size_t>(n));
            }
            out += ']';
        }
        out += "]}";
    }
    out += "]}";
    return out;
}

StreamMessage ParseStreamMessage(std::string_view text, TimePoint client_received_at) {
    StreamMessage msg;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return msg;
    const json::object& o = v.as_object();
    auto str = [&](std::string_view key) -> std::string {
        auto it = o.find(key);
        return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
    };
    msg.wearer_id = str("wearer");
    const std::string type = str("type");
    if (type == "hello") {
        msg.kind = MessageKind::kHello;
        return msg;
    }
    if (type == "posture") {
        ObservedPosture& p = msg.posture;
        p.client_received_at = client_received_at;
        auto at = TimeField(o, "at");
        const std::string fall = str("fall");
        if (!at) return msg;
        if (fall == "none") {
            p.fall = FallPhase::kNone;
        } else if (fall == "suspected") {
            p.fall = FallPhase::kSuspected;
        } else if (fall == "confirmed") {
            p.fall = FallPhase::kConfirmed;
        } else if (fall == "dismissed") {
            p.fall = FallPhase::kDismissed;
        } else {
            return msg;
        }
        p.at = *at;
        if (auto it = o.find("posture"); it != o.end() && it->value().is_int64()) {
            p.posture = static_cast<int>(it->value().as_int64());
        }
        msg.kind = MessageKind::kPosture;
        return msg;
    }
    if (type == "incident") {
        auto it = o.find("incident");
        if (it == o.end() || !it->value().is_object()) return msg;
        const json::object& inc = it->value().as_object();
        auto id = inc.find("id");
        auto kind = inc.find("kind");
        if (id == inc.end() || !id->value().is_int64() || kind == inc.end() || !kind->value().is_string()) return msg;
        ObservedIncident& i = msg.incident;
        i.client_received_at = client_received_at;
        i.id = id->value().as_int64();
        i.kind = std::string(kind->value().as_string());
        if (auto ph = inc.find("phase"); ph != inc.end() && ph->value().is_string()) {
            i.phase = std::string(ph->value().as_string());
        }
        if (auto w = inc.find("wearer"); w != inc.end() && w->value().is_string()) {
            msg.wearer_id = std::string(w->value().as_string());
        }
        msg.kind = MessageKind::kIncident;
        return msg;
    }
    if (type != "detection") {
        msg.kind = MessageKind::kOther;
        return msg;
    }
    ObservedDetection& d = msg.detection;
    d.client_received_at = client_received_at;
    auto status = o.find("status");
    auto detected = TimeField(o, "detected_at");
    if (status == o.end() || !status->value().is_int64() || !detected) return msg;
    d.status = static_cast<int>(status->value().as_int64());
    d.detected_at = *detected;
    d.reading_at = TimeField(o, "reading_at");
    d.received_at = TimeField(o, "received_at");
    if (auto a = o.find("advice_only"); a != o.end() && a->value().is_bool()) d.advice_only = a->value().as_bool();
    if (auto c = o.find("causes"); c != o.end() && c->value().is_array()) {
        for (const json::value& name : c->value().as_array()) {
            if (!name.is_string()) continue;
            if (auto m = domain::MetricFromName(name.as_string())) d.metrics |= MetricBit(*m);
        }
    }
    if (auto r = o.find("rules"); r != o.end() && r->value().is_array()) {
        for (const json::value& rule : r->value().as_array()) {
            if (!rule.is_object()) continue;
            const json::object& ro = rule.as_object();
            auto kind = ro.find("kind");
            if (kind != ro.end() && kind->value().is_string() && kind->value().as_string() == "signal_loss") {
                d.signal_loss = true;
            }
            auto level = ro.find("level");
            auto metric = ro.find("metric");
            const bool above_normal =
                level != ro.end() && level->value().is_string() && level->value().as_string() != "normal";
            if (above_normal && metric != ro.end() && metric->value().is_string()) {
                if (auto m = domain::MetricFromName(metric->value().as_string())) d.metrics |= MetricBit(*m);
            }
            auto id = ro.find("rule");
            if (above_normal && id != ro.end() && id->value().is_string())
                d.rules.emplace_back(id->value().as_string());
        }
    }
    if (!d.reading_at) d.signal_loss = true;  // only silence has no reading
    msg.kind = MessageKind::kDetection;
    return msg;
}

std::optional<std::string> CookieFromSetCookie(std::string_view set_cookie, std::string_view name) {
    const size_t eq = set_cookie.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = set_cookie.substr(0, eq);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key != name) return std::nullopt;
    std::string_view value = set_cookie.substr(eq + 1);
    value = value.substr(0, value.find(';'));
    return std::string(value);
}

}  // namespace vg::sim::wire
