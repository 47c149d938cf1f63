#include "posture_input.hpp"

#include <cmath>
#include <limits>
#include <set>

#include "vg/api/json_input.hpp"

namespace vg::api {

Result<posture::TimedWindow> ReadPostureWindow(const boost::json::object& object, std::string_view prefix,
                                               bool measured_at_required, const PostureTimeRules& rules) {
    const std::string p(prefix);
    ObjectReader reader(object);
    std::vector<FieldError> shape;  // JSON-level problems inside `samples`
    constexpr size_t kMaxShapeProblems = 20;
    posture::ImuWindow in;
    in.sample_rate_hz = reader.Number("sample_rate_hz", true).value_or(std::numeric_limits<double>::quiet_NaN());
    if (auto placement = reader.String("placement", false)) {
        if (*placement == "waist") {
            in.placement = posture::Placement::kWaist;
        } else if (*placement != "wrist") {
            reader.AddProblem("placement", "must be \"wrist\" or \"waist\"");
        }
    }
    in.gravity_removed = reader.Boolean("gravity_removed", false).value_or(false);
    if (const boost::json::array* samples = reader.Array("samples", true)) {
        in.samples.reserve(samples->size());
        for (size_t i = 0; i < samples->size(); ++i) {
            std::vector<double>& s = in.samples.emplace_back();
            if (!(*samples)[i].is_array()) continue;  // the posture check says "must be 6 numbers"
            const boost::json::array& values = (*samples)[i].as_array();
            s.reserve(values.size());
            for (size_t c = 0; c < values.size(); ++c) {
                const boost::json::value& v = values[c];
                if (v.is_double() || v.is_int64() || v.is_uint64()) {
                    s.push_back(v.to_number<double>());
                } else {
                    s.push_back(std::numeric_limits<double>::quiet_NaN());
                    if (shape.size() < kMaxShapeProblems) {
                        shape.push_back(
                            {p + "samples[" + std::to_string(i) + "][" + std::to_string(c) + "]", "must be a number"});
                    }
                }
            }
        }
    }
    const std::optional<TimePoint> measured_at = reader.Timestamp("measured_at", measured_at_required);
    if (measured_at) {
        if (*measured_at > rules.now + rules.max_clock_skew) {
            reader.AddProblem("measured_at", "is in the future (is the watch's clock right?)");
        } else if (*measured_at < rules.now - rules.max_age) {
            reader.AddProblem(
                "measured_at",
                "is older than the " +
                    std::to_string(std::chrono::duration_cast<std::chrono::hours>(rules.max_age).count() / 24) +
                    " days VitalGuard accepts");
        }
    }
    Status read = reader.Finish();

    // One problem per field, the JSON's first: a missing rate is not also "out of range".
    std::vector<FieldError> problems;
    std::set<std::string> named;
    auto add = [&](FieldError e) {
        if (named.insert(e.field).second) problems.push_back(std::move(e));
    };
    for (const FieldError& e : read.fields()) add({p + e.field, e.problem});
    for (FieldError& e : shape) add(std::move(e));
    auto model_window = posture::ToModelWindow(in, prefix);
    if (!model_window.ok()) {
        for (const FieldError& e : model_window.status().fields()) add(e);
    }
    if (!problems.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "The IMU window needs to be corrected.",
                             std::move(problems));
    }
    posture::TimedWindow out;
    out.window = std::move(model_window).value();
    out.timing = posture::TimingOf(measured_at.value_or(rules.now), in.samples.size(), in.sample_rate_hz);
    return out;
}

}  // namespace vg::api
