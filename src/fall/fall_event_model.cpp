#include "vg/fall/fall_event_model.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

namespace vg::fall {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class ManifestReader {
  public:
    ManifestReader(const json::object& manifest, std::string_view source) : m_(manifest), source_(source) {}

    Status Error(const std::string& field, const std::string& problem) const {
        return Status::Error(ErrorCode::kValidationFailed, std::string(source_) + ": " + field + " " + problem,
                             {{field, problem}});
    }
    // The value at a dotted path ("event.samples_after"), or nullptr.
    const json::value* Find(std::string_view path) const {
        const json::object* object = &m_;
        while (true) {
            const size_t dot = path.find('.');
            const json::value* v = object->if_contains(path.substr(0, dot));
            if (dot == std::string_view::npos || v == nullptr) return v;
            if (!v->is_object()) return nullptr;
            object = &v->as_object();
            path = path.substr(dot + 1);
        }
    }
    Result<std::string> String(std::string_view path) const {
        const json::value* v = Find(path);
        if (v == nullptr || !v->is_string() || v->as_string().empty()) {
            return Error(std::string(path), "must be a non-empty string");
        }
        return std::string(v->as_string());
    }
    Result<double> Number(std::string_view path, double lo, double hi) const {
        const json::value* v = Find(path);
        if (v == nullptr || !v->is_number() || !(v->to_number<double>() >= lo) || !(v->to_number<double>() <= hi)) {
            return Error(std::string(path), "must be a number from " + Text(lo) + " to " + Text(hi));
        }
        return v->to_number<double>();
    }
    // An integer that must equal what this build computes its features with.
    Status Equals(std::string_view path, int64_t expected) const {
        const json::value* v = Find(path);
        if (v == nullptr || !v->is_int64() || v->as_int64() != expected) {
            return Error(std::string(path), "must be " + std::to_string(expected) +
                                                " (this build's features; retrain the model with this build)");
        }
        return Status::Ok();
    }

  private:
    static std::string Text(double v) {
        std::ostringstream s;
        s << v;
        return s.str();
    }
    const json::object& m_;
    std::string_view source_;
};

Result<std::string> ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::Error(ErrorCode::kNotFound, path.string() + " does not exist");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

Result<FallEventModel> FallEventModel::FromJson(std::string_view manifest_json, std::string_view model_json,
                                                std::string_view source) {
    boost::system::error_code ec;
    const json::value parsed = json::parse(manifest_json, ec);
    if (ec || !parsed.is_object()) {
        return Status::Error(ErrorCode::kInvalidJson, std::string(source) + ": not a JSON object");
    }
    const ManifestReader m(parsed.as_object(), source);
    VG_RETURN_IF_ERROR(m.Equals("format_version", 1));
    auto version = m.String("version");
    if (!version.ok()) return version.status();
    auto posture_model = m.String("posture_model");
    if (!posture_model.ok()) return posture_model.status();

    const json::value* names = m.Find("features");
    if (names == nullptr || !names->is_array()) return m.Error("features", "must be the list of feature names");
    const auto expected = EventFeatureNames();
    if (names->as_array().size() != expected.size()) {
        return m.Error("features", "has " + std::to_string(names->as_array().size()) + " names; this build computes " +
                                       std::to_string(expected.size()));
    }
    for (size_t i = 0; i < expected.size(); ++i) {
        const json::value& n = names->as_array()[i];
        if (!n.is_string() || n.as_string() != expected[i]) {
            return m.Error("features[" + std::to_string(i) + "]", "must be " + std::string(expected[i]));
        }
    }
    VG_RETURN_IF_ERROR(m.Equals("event.samples_before", static_cast<int64_t>(kSamplesBefore)));
    VG_RETURN_IF_ERROR(m.Equals("event.samples_after", static_cast<int64_t>(kSamplesAfter)));
    VG_RETURN_IF_ERROR(m.Equals("event.rate_hz", static_cast<int64_t>(kRateHz)));

    CandidateParams candidates;
    auto with_gravity = m.Number("candidates.min_peak_with_gravity_g", 1.0, 16.0);
    if (!with_gravity.ok()) return with_gravity.status();
    auto gravity_removed = m.Number("candidates.min_peak_gravity_removed_g", 0.05, 16.0);
    if (!gravity_removed.ok()) return gravity_removed.status();
    auto radius = m.Number("candidates.suppression_radius", 1, 500);
    if (!radius.ok()) return radius.status();
    candidates.min_peak_with_gravity_g = *with_gravity;
    candidates.min_peak_gravity_removed_g = *gravity_removed;
    candidates.suppression_radius = static_cast<size_t>(*radius);

    auto wrist = m.Number("thresholds.wrist", 0.0, 1.0);
    if (!wrist.ok()) return wrist.status();
    auto waist = m.Number("thresholds.waist", 0.0, 1.0);
    if (!waist.ok()) return waist.status();

    auto trees = models::TreeEnsemble::FromXgboostJson(model_json);
    if (!trees.ok()) {
        return Status::Error(ErrorCode::kValidationFailed, std::string(source) + ": model: " + trees.status().message(),
                             {{"model", trees.status().message()}});
    }
    if (trees->num_features() != kNumEventFeatures || trees->num_outputs() != 1) {
        return m.Error("model", "must be a binary model over " + std::to_string(kNumEventFeatures) +
                                    " features (it has " + std::to_string(trees->num_features()) + " features and " +
                                    std::to_string(trees->num_outputs()) + " outputs)");
    }
    FallEventModel model(std::move(*trees));
    model.version_ = std::move(*version);
    model.posture_model_ = std::move(*posture_model);
    model.candidates_ = candidates;
    model.wrist_threshold_ = static_cast<float>(*wrist);
    model.waist_threshold_ = static_cast<float>(*waist);
    return model;
}

Result<FallEventModel> FallEventModel::Load(const fs::path& models_dir) {
    const fs::path manifest_path = models_dir / kManifestFile;
    auto manifest = ReadFile(manifest_path);
    if (!manifest.ok()) return manifest.status();
    std::string model_name = kModelFile;
    {
        boost::system::error_code ec;
        const json::value parsed = json::parse(*manifest, ec);
        if (!ec && parsed.is_object()) {
            if (const json::value* v = parsed.as_object().if_contains("model"); v != nullptr) {
                if (!v->is_string() || v->as_string().empty() || v->as_string().find('/') != json::string::npos) {
                    return Status::Error(ErrorCode::kValidationFailed,
                                         manifest_path.string() + ": model must be a file name in the model folder",
                                         {{"model", "must be a file name in the model folder"}});
                }
                model_name = std::string(v->as_string());
            }
        }
    }
    auto model_json = ReadFile(models_dir / model_name);
    if (!model_json.ok()) return model_json.status();
    return FromJson(*manifest, *model_json, manifest_path.string());
}

float FallEventModel::Probability(const EventFeatures& features) const {
    float p = 0;
    trees_.Predict(features.data(), &p);
    return p;
}

float FallEventModel::Threshold(posture::Placement placement) const {
    return placement == posture::Placement::kWaist ? waist_threshold_ : wrist_threshold_;
}

Status FallEventModel::CheckPostureModel(const posture::ClassifierInfo& classifier) const {
    if (classifier.version == posture_model_) return Status::Ok();
    return Status::Error(ErrorCode::kValidationFailed,
                         "the fall event model " + version_ + " was trained on the posture network " + posture_model_ +
                             ", not " + classifier.version + "; retrain it (vitalguard train fall)",
                         {{"posture_model", "is " + posture_model_ + ", the loaded network is " + classifier.version}});
}

}  // namespace vg::fall
