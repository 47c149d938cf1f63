// The event model's training, the ablation and the shipped files.
#include "vg/fall/training/fall_model_training.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>

#include "vg/fall/fall_event_model.hpp"
#include "vg/models/tree_ensemble.hpp"

namespace vg::fall::training {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

json::value Round(double v) { return std::round(v * 10000.0) / 10000.0; }

std::string Fixed(double v, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::vector<size_t> Indices(const EventData& data, imu::Split split) {
    std::vector<size_t> rows;
    for (size_t e = 0; e < data.events.size(); ++e) {
        if (data.events[e].label >= 0 && data.trials[data.events[e].trial].split == split) rows.push_back(e);
    }
    return rows;
}

std::vector<float> Labels(const EventData& data, const std::vector<size_t>& rows) {
    std::vector<float> labels;
    labels.reserve(rows.size());
    for (size_t e : rows) labels.push_back(static_cast<float>(data.events[e].label));
    return labels;
}

std::vector<size_t> Group(FeatureGroup group) {
    std::vector<size_t> out;
    for (size_t f = 0; f < kNumEventFeatures; ++f) {
        if (FeatureGroupOf(f) == group) out.push_back(f);
    }
    return out;
}

size_t FeatureIndex(std::string_view name) {
    const auto names = EventFeatureNames();
    for (size_t f = 0; f < names.size(); ++f) {
        if (names[f] == name) return f;
    }
    return names.size();
}

std::vector<size_t> Without(std::vector<size_t> features, std::initializer_list<std::string_view> names) {
    for (std::string_view n : names) std::erase(features, FeatureIndex(n));
    return features;
}

std::string Citation(const std::string& dataset) {
    if (dataset == "sisfall") {
        return "Sucerquia A., López J.D., Vargas-Bonilla J.F. \"SisFall: A Fall and Movement Dataset.\" Sensors "
               "17(1):198, 2017. doi:10.3390/s17010198";
    }
    if (dataset == "umafall") {
        return "Casilari E., Santoyo-Ramón J.A., Cano-García J.M. \"UMAFall: A Multisensor Dataset for the Research "
               "on Automatic Fall Detection.\" Procedia Computer Science 110:32-39, 2017";
    }
    if (dataset == "hifd") {
        return "Nho Y.-H., Lim J.G., Kwon D.-S. \"Cluster-Analysis-based User-Adaptive Fall Detection using Fusion "
               "of Heart Rate Sensor and Accelerometer in a Wearable Device.\" IEEE Access 8, 2020";
    }
    if (dataset == "wedafall") {
        return "Marques J., Moreno P. \"Online Fall Detection Using Wrist Devices.\" Sensors 23(3):1146, 2023. "
               "doi:10.3390/s23031146";
    }
    if (dataset == "fallalld") {
        return "Saleh M., Abbas M., Le Bouquin Jeannès R. \"FallAllD: An Open Dataset of Human Falls and Activities "
               "of Daily Living for Classical and Deep Learning Applications.\" IEEE Sensors Journal "
               "21(2):1849-1858, 2021. doi:10.1109/JSEN.2020.3018335";
    }
    return "see ../shared/data/" + dataset + "/README.md";
}

std::string IsoNow() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// The ablation's summary of one evaluation: falls and false falls per placement and overall.
json::object SummaryJson(const TrialEvaluation& ev) {
    json::object o;
    for (const GroupOutcome& g : ev.groups) {
        o[g.name] = {{"falls_detected", g.falls.k},
                     {"fall_trials", g.falls.n},
                     {"adl_false_falls", g.adl_false.k},
                     {"adl_trials", g.adl_false.n}};
    }
    return o;
}

}  // namespace

models::Matrix FeatureMatrix(const EventData& data, const std::vector<size_t>& rows, const std::vector<size_t>& keep) {
    models::Matrix m;
    m.rows = rows.size();
    m.cols = kNumEventFeatures;
    m.values.assign(m.rows * m.cols, kMissing);
    std::array<bool, kNumEventFeatures> kept{};
    for (size_t f = 0; f < kNumEventFeatures; ++f) kept[f] = keep.empty();
    for (size_t f : keep) kept[f] = true;
    for (size_t r = 0; r < rows.size(); ++r) {
        const EventFeatures& features = data.events[rows[r]].features;
        for (size_t f = 0; f < kNumEventFeatures; ++f) {
            if (kept[f]) m.values[r * m.cols + f] = features[f];
        }
    }
    return m;
}

std::vector<FeatureSet> AblationFeatureSets() {
    std::vector<size_t> all(kNumEventFeatures);
    for (size_t f = 0; f < kNumEventFeatures; ++f) all[f] = f;
    const std::vector<size_t> context = Group(FeatureGroup::kContext);
    auto with_context = [&](std::vector<size_t> features) {
        features.insert(features.begin(), context.begin(), context.end());
        return features;
    };
    return {
        {"impact + network (shipped)", all},
        {"network's fall probability only",
         with_context({FeatureIndex("net_fall_max"), FeatureIndex("net_fall_mean")})},
        {"network features only", with_context(Group(FeatureGroup::kNetwork))},
        {"impact features only", with_context(Group(FeatureGroup::kImpact))},
        {"all but the descent (free fall, velocity)",
         Without(all, {"freefall_min_acc_g", "freefall_s", "vertical_velocity_m_s"})},
        {"all but the repeated-blow counts", Without(all, {"peaks_before", "peaks_after"})},
        {"all but what follows the impact",
         Without(all, {"orientation_change_deg", "post_acc_std_g", "post_acc_std_late_g", "post_gyro_rms_dps",
                       "post_acc_max_g", "post_periodicity", "net_fall_after", "net_lying_after", "net_upright_after",
                       "net_locomotion_after", "net_other_after"})},
    };
}

Result<FallTrainingResult> TrainFallModel(const EventData& data, const FallTrainSettings& settings) {
    const std::vector<size_t> train = Indices(data, imu::Split::kTrain);
    const std::vector<size_t> valid = Indices(data, imu::Split::kValidation);
    const std::vector<float> train_labels = Labels(data, train);
    const std::vector<float> valid_labels = Labels(data, valid);
    auto has_both = [](const std::vector<float>& labels) {
        return std::count(labels.begin(), labels.end(), 1.0F) > 0 && std::count(labels.begin(), labels.end(), 0.0F) > 0;
    };
    if (!has_both(train_labels) || !has_both(valid_labels)) {
        return Status::Error(ErrorCode::kValidationFailed,
                             "training and validation subjects must both have fall and activity events (train " +
                                 std::to_string(train.size()) + ", validation " + std::to_string(valid.size()) + ")");
    }
    std::vector<size_t> every(data.events.size());
    for (size_t e = 0; e < every.size(); ++e) every[e] = e;

    models::TrainOptions options = settings.booster;
    options.objective = "binary:logistic";
    std::optional<FallTrainingResult> result;
    std::vector<AblationRow> ablation;
    for (const FeatureSet& set : AblationFeatureSets()) {
        const bool shipped = !result.has_value();
        if (!shipped && !settings.ablation) break;
        if (settings.on_round) {
            options.on_round = [&](int round, double train_loss, double valid_loss) {
                settings.on_round(set.name, round, train_loss, valid_loss);
            };
        }
        auto booster = models::Booster::Train(FeatureMatrix(data, train, set.features), train_labels,
                                              FeatureMatrix(data, valid, set.features), valid_labels, options);
        if (!booster.ok()) return booster.status();
        // Probabilities from the served trees (TreeEnsemble), not XGBoost's own prediction: the thresholds and
        // every number below are then exactly what `eval fall` and a server compute (they agree to ~1e-7, but a
        // threshold sits on a validation fall's probability).
        auto saved = booster->SaveJson();
        if (!saved.ok()) return saved.status();
        auto served = models::TreeEnsemble::FromXgboostJson(*saved);
        if (!served.ok()) return served.status();
        const models::Matrix rows = FeatureMatrix(data, every, set.features);
        std::vector<float> probabilities(rows.rows);
        for (size_t r = 0; r < rows.rows; ++r) served->Predict(&rows.values[r * rows.cols], &probabilities[r]);
        AblationRow row;
        row.feature_set = set.name;
        row.rounds = booster->rounds();
        row.thresholds = ChooseThresholds(data, probabilities, settings.threshold_rule);
        row.validation = EvaluateTrials(data, probabilities, row.thresholds, imu::Split::kValidation);
        row.test = EvaluateTrials(data, probabilities, row.thresholds, imu::Split::kTest);
        if (shipped) {
            result.emplace(FallTrainingResult{
                std::move(booster).value(), row.thresholds, row.validation, row.test, {}, std::move(probabilities)});
        }
        ablation.push_back(std::move(row));
    }
    result->ablation = std::move(ablation);
    return std::move(*result);
}

std::vector<CandidateRecall> MeasureCandidateRecall(const EventData& data, imu::Split split) {
    std::map<std::string, CandidateRecall> by_group;
    CandidateRecall all;
    all.group = "all";
    all.least_impact_peak_g = std::numeric_limits<float>::infinity();
    for (const TrialRecord& t : data.trials) {
        if (t.split != split) continue;
        CandidateRecall& g = by_group[GroupName(t)];
        if (g.group.empty()) {
            g.group = GroupName(t);
            g.least_impact_peak_g = std::numeric_limits<float>::infinity();
        }
        for (CandidateRecall* r : {&g, &all}) {
            if (t.is_fall_trial) {
                ++r->fall_trials;
                r->impact_is_candidate += t.impact_is_candidate ? 1 : 0;
                r->impact_is_scored += t.impact_is_scored ? 1 : 0;
                if (t.impact) r->least_impact_peak_g = std::min(r->least_impact_peak_g, t.impact_peak_g);
            } else {
                ++r->adl_trials;
                r->adl_hours += t.duration_s / 3600.0;
                r->adl_candidates += t.candidates;
            }
        }
    }
    std::vector<CandidateRecall> out;
    for (auto& [name, r] : by_group) out.push_back(r);
    out.push_back(all);
    return out;
}

std::string CandidateRecallText(const std::vector<CandidateRecall>& recall) {
    std::string out;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-16s %12s %14s %12s %16s %14s\n", "group", "fall trials", "impact is cand.",
                  "with span", "least peak (g)", "ADL cand./hour");
    out += buf;
    for (const CandidateRecall& r : recall) {
        std::snprintf(buf, sizeof buf, "%-16s %12zu %14zu %12zu %16.2f %14.0f\n", r.group.c_str(), r.fall_trials,
                      r.impact_is_candidate, r.impact_is_scored, r.fall_trials ? r.least_impact_peak_g : 0.0F,
                      r.adl_hours > 0 ? static_cast<double>(r.adl_candidates) / r.adl_hours : 0.0);
        out += buf;
    }
    return out;
}

Result<std::map<std::string, std::set<std::string>>> TrainingSubjects(const fs::path& models_dir) {
    const fs::path path = models_dir / kManifestFile;
    std::ifstream in(path);
    if (!in) return Status::Error(ErrorCode::kNotFound, path.string() + " does not exist");
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    const json::value manifest = json::parse(text.str(), ec);
    if (ec || !manifest.is_object())
        return Status::Error(ErrorCode::kInvalidJson, path.string() + ": not a JSON object");
    const json::value* subjects = manifest.as_object().if_contains("subjects");
    std::map<std::string, std::set<std::string>> out;
    for (const char* split : {"train", "validation"}) {
        const json::value* by_dataset =
            subjects && subjects->is_object() ? subjects->as_object().if_contains(split) : nullptr;
        if (by_dataset == nullptr || !by_dataset->is_object()) {
            return Status::Error(ErrorCode::kValidationFailed,
                                 path.string() + ": subjects." + split + " must list the subjects per data set",
                                 {{std::string("subjects.") + split, "is required"}});
        }
        for (const auto& [dataset, ids] : by_dataset->as_object()) {
            if (!ids.is_array()) continue;
            for (const json::value& id : ids.as_array()) {
                if (id.is_string()) out[std::string(dataset)].insert(std::string(id.as_string()));
            }
        }
    }
    return out;
}

std::string AblationText(const std::vector<AblationRow>& ablation) {
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf, "%-42s %7s %7s | %-14s %-14s | %-14s %-14s | %-14s %-14s\n", "feature set",
                  "t wrist", "t waist", "wrist falls", "wrist ADL f.f.", "waist falls", "waist ADL f.f.", "all falls",
                  "all ADL f.f.");
    out += buf;
    auto cell = [](const GroupOutcome* g, bool falls) {
        if (g == nullptr) return std::string("—");
        const Proportion& p = falls ? g->falls : g->adl_false;
        return std::to_string(p.k) + "/" + std::to_string(p.n) + " " + Fixed(100 * p.rate(), 1) + "%";
    };
    for (const AblationRow& r : ablation) {
        const GroupOutcome* wrist = r.test.Find("wrist");
        const GroupOutcome* waist = r.test.Find("waist");
        const GroupOutcome* all = r.test.Find("all");
        std::snprintf(buf, sizeof buf, "%-42s %7.3f %7.3f | %-14s %-14s | %-14s %-14s | %-14s %-14s\n",
                      r.feature_set.c_str(), r.thresholds[0], r.thresholds[1], cell(wrist, true).c_str(),
                      cell(wrist, false).c_str(), cell(waist, true).c_str(), cell(waist, false).c_str(),
                      cell(all, true).c_str(), cell(all, false).c_str());
        out += buf;
    }
    return out;
}

Status SaveFallModel(const fs::path& dir, const FallTrainingResult& result, const EventData& data,
                     const ManifestInfo& info) {
    auto model_json = result.booster.SaveJson();
    if (!model_json.ok()) return model_json.status();

    json::array features;
    json::object groups{{"context", json::array{}}, {"impact", json::array{}}, {"network", json::array{}}};
    const auto names = EventFeatureNames();
    for (size_t f = 0; f < names.size(); ++f) {
        features.push_back(json::string(names[f]));
        const char* group = FeatureGroupOf(f) == FeatureGroup::kContext  ? "context"
                            : FeatureGroupOf(f) == FeatureGroup::kImpact ? "impact"
                                                                         : "network";
        groups[group].as_array().push_back(json::string(names[f]));
    }
    json::array offsets;
    for (int o : kEventWindowOffsets) offsets.push_back(o);
    json::array datasets;
    for (const std::string& d : data.datasets) datasets.push_back({{"name", d}, {"citation", Citation(d)}});
    json::object subjects{{"train", json::object{}}, {"validation", json::object{}}, {"test", json::object{}}};
    for (const auto& [dataset, by_subject] : data.splits) {
        for (const auto& [subject, split] : by_subject) {
            json::object& s = subjects[imu::SplitName(split)].as_object();
            if (!s.contains(dataset)) s[dataset] = json::array{};
            s[dataset].as_array().push_back(json::string(subject));
        }
    }
    json::object events;
    for (imu::Split split : {imu::Split::kTrain, imu::Split::kValidation, imu::Split::kTest}) {
        size_t falls = 0, adl = 0, left_out = 0;
        for (const EventRow& e : data.events) {
            if (data.trials[e.trial].split != split) continue;
            falls += e.label == 1 ? 1 : 0;
            adl += e.label == 0 ? 1 : 0;
            left_out += e.label < 0 ? 1 : 0;
        }
        events[imu::SplitName(split)] = {{"fall", falls}, {"activity", adl}, {"left_out", left_out}};
    }
    json::array recall;
    for (const CandidateRecall& r : MeasureCandidateRecall(data, imu::Split::kTrain)) {
        recall.push_back({{"group", r.group},
                          {"fall_trials", r.fall_trials},
                          {"impact_is_candidate", r.impact_is_candidate},
                          {"impact_has_span", r.impact_is_scored},
                          {"least_impact_peak_g", Round(r.least_impact_peak_g)},
                          {"activity_candidates_per_hour",
                           Round(r.adl_hours > 0 ? static_cast<double>(r.adl_candidates) / r.adl_hours : 0)}});
    }
    json::array ablation;
    for (const AblationRow& r : result.ablation) {
        json::array kept;
        for (const FeatureSet& set : AblationFeatureSets()) {
            if (set.name != r.feature_set) continue;
            for (size_t f : set.features) kept.push_back(json::string(names[f]));
        }
        ablation.push_back({{"feature_set", r.feature_set},
                            {"features", std::move(kept)},
                            {"rounds", r.rounds},
                            {"thresholds", {{"wrist", Round(r.thresholds[0])}, {"waist", Round(r.thresholds[1])}}},
                            {"validation", SummaryJson(r.validation)},
                            {"test", SummaryJson(r.test)}});
    }
    const models::TrainOptions& b = info.settings.booster;
    json::object manifest{
        {"format_version", 1},
        {"kind", "fall_event"},
        {"version", info.version},
        {"model", kModelFile},
        {"posture_model", data.posture_model},
        {"features", std::move(features)},
        {"feature_groups", std::move(groups)},
        {"candidates",
         {{"min_peak_with_gravity_g", info.candidates.min_peak_with_gravity_g},
          {"min_peak_gravity_removed_g", info.candidates.min_peak_gravity_removed_g},
          {"suppression_radius", info.candidates.suppression_radius},
          {"rule",
           "local maxima of |a| at or above the threshold of the stream's gravity flag, the largest within "
           "± suppression_radius samples"}}},
        {"event",
         {{"rate_hz", static_cast<int64_t>(kRateHz)},
          {"samples_before", kSamplesBefore},
          {"samples_after", kSamplesAfter},
          {"decide_after_impact_s", static_cast<double>(kSamplesAfter) / kRateHz},
          {"network_window_offsets", std::move(offsets)}}},
        {"labels",
         {{"fall", "in a fall trial, the candidate nearest the labelled impact (imu::LabelSamples) within 1 s"},
          {"activity", "every candidate of an activity trial"},
          {"left_out", "the other candidates of fall trials"},
          {"detection_window_s", kDetectionWindowS}}},
        {"thresholds", {{"wrist", result.thresholds[0]}, {"waist", result.thresholds[1]}}},
        {"threshold_rule", info.settings.threshold_rule.Describe()},
        {"data_sets", std::move(datasets)},
        {"split",
         {{"by", "subject"}, {"seed", info.split_seed}, {"ratio", "7:1:2 train:validation:test (imu::AssignSplits)"}}},
        {"subjects", std::move(subjects)},
        {"events", std::move(events)},
        {"candidate_recall_train", std::move(recall)},
        {"hyper_parameters",
         {{"objective", "binary:logistic"},
          {"eta", b.eta},
          {"max_depth", b.max_depth},
          {"subsample", b.subsample},
          {"colsample_bytree", b.colsample_bytree},
          {"min_child_weight", b.min_child_weight},
          {"max_rounds", b.max_rounds},
          {"early_stopping_rounds", b.early_stopping_rounds},
          {"seed", b.seed}}},
        {"rounds", result.booster.rounds()},
        {"best_validation_loss", Round(result.booster.best_valid_loss())},
        {"metrics", {{"validation", result.validation.ToJson()}, {"test", result.test.ToJson()}}},
        {"ablation", std::move(ablation)},
        {"training",
         {{"command", info.command},
          {"data", info.data_root},
          {"seconds", Round(info.training_seconds)},
          {"date", IsoNow()}}},
    };
    std::error_code ec;
    fs::create_directories(dir, ec);
    const fs::path model_path = dir / kModelFile;
    const fs::path manifest_path = dir / kManifestFile;
    std::ofstream model_out(model_path, std::ios::binary | std::ios::trunc);
    model_out << *model_json;
    model_out.close();
    std::ofstream manifest_out(manifest_path, std::ios::binary | std::ios::trunc);
    manifest_out << json::serialize(manifest) << "\n";
    manifest_out.close();
    if (!model_out || !manifest_out) {
        return Status::Error(ErrorCode::kInternal,
                             "cannot write " + model_path.string() + " or " + manifest_path.string());
    }
    return Status::Ok();
}

}  // namespace vg::fall::training
