#include "vg/models/status_model.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace vg::models {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 4> kCauseNames = {"heart_rate", "respiration_rate", "skin_temp", "spo2"};

struct Rows {
    Matrix matrix;
    std::vector<float> labels;
    std::set<std::string> wearers;
};

// Matrix rows of `fm` whose source row is selected, with labels from `label` (nullopt: skip the row).
Rows Select(const Dataset& data, const FeatureMatrix& fm, const std::function<bool(const LabelledReading&)>& keep,
            const std::function<std::optional<float>(const LabelledReading&)>& label) {
    Rows out;
    out.matrix.cols = kFeatureCount;
    for (size_t i = 0; i < fm.order.size(); ++i) {
        const LabelledReading& r = data.rows[fm.order[i]];
        if (!keep(r)) continue;
        const std::optional<float> y = label(r);
        if (!y) continue;
        const float* row = fm.matrix.values.data() + i * kFeatureCount;
        out.matrix.values.insert(out.matrix.values.end(), row, row + kFeatureCount);
        out.labels.push_back(*y);
        out.wearers.insert(r.wearer);
        ++out.matrix.rows;
    }
    return out;
}

Evaluation Score(const std::vector<float>& probabilities, const std::vector<float>& labels, int classes, int wearers) {
    Evaluation e;
    e.rows = static_cast<int>(labels.size());
    e.wearers = wearers;
    e.confusion.assign(static_cast<size_t>(classes), std::vector<int>(static_cast<size_t>(classes), 0));
    e.calibration.assign(10, Evaluation::Bin{});
    int correct = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
        int predicted = 0;
        double p = 0;
        if (classes == 2 && probabilities.size() == labels.size()) {
            const double p1 = probabilities[i];
            predicted = p1 >= 0.5 ? 1 : 0;
            p = predicted == 1 ? p1 : 1 - p1;
        } else {
            const float* row = probabilities.data() + i * static_cast<size_t>(classes);
            predicted = static_cast<int>(std::max_element(row, row + classes) - row);
            p = row[predicted];
        }
        const int truth = static_cast<int>(labels[i]);
        ++e.confusion[static_cast<size_t>(truth)][static_cast<size_t>(predicted)];
        correct += truth == predicted;
        auto& bin = e.calibration[static_cast<size_t>(std::min(9, static_cast<int>(p * 10)))];
        ++bin.count;
        bin.mean_probability += p;
        bin.accuracy += truth == predicted;
    }
    for (auto& bin : e.calibration) {
        if (bin.count > 0) {
            bin.mean_probability /= bin.count;
            bin.accuracy /= bin.count;
        }
    }
    e.accuracy = e.rows ? static_cast<double>(correct) / e.rows : 0;
    for (int c = 0; c < classes; ++c) {
        ClassMetrics m;
        int tp = e.confusion[static_cast<size_t>(c)][static_cast<size_t>(c)], predicted = 0;
        for (int t = 0; t < classes; ++t) {
            predicted += e.confusion[static_cast<size_t>(t)][static_cast<size_t>(c)];
            m.support += e.confusion[static_cast<size_t>(c)][static_cast<size_t>(t)];
        }
        m.precision = predicted ? static_cast<double>(tp) / predicted : 0;
        m.recall = m.support ? static_cast<double>(tp) / m.support : 0;
        m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
        e.macro_f1 += m.f1 / classes;
        e.classes.push_back(m);
    }
    return e;
}

Status WriteFile(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Status::Error(ErrorCode::kInternal, "Cannot write " + path + ".");
    return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::Error(ErrorCode::kNotFound, "Cannot read " + path + ".", {{"model", "is missing"}});
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> ClassNamesFor(ModelKind kind) {
    if (kind == ModelKind::kStatus) return {"normal", "caution", "danger"};
    return {"normal", "at fault"};
}

}  // namespace

bool TukeyFences::Outside(const domain::VitalsReading& r) const {
    auto above = [](std::optional<double> v, double fence) { return v && *v > fence; };
    auto below = [](std::optional<double> v, double fence) { return v && *v < fence; };
    return above(r.get(domain::Metric::kHeartRate), heart_rate_high) ||
           above(r.get(domain::Metric::kRespirationRate), respiration_rate_high) ||
           above(r.get(domain::Metric::kCalories), calories_high) || below(r.get(domain::Metric::kSpo2), spo2_low);
}

TukeyFences FitTukeyFences(const std::vector<const domain::VitalsReading*>& rows) {
    auto quartiles = [&](domain::Metric m) {
        std::vector<double> v;
        for (const auto* r : rows) {
            if (auto x = r->get(m)) v.push_back(*x);
        }
        if (v.empty()) return std::pair<double, double>{-1e300, 1e300};
        std::sort(v.begin(), v.end());
        const auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]; };
        return std::pair<double, double>{at(0.25), at(0.75)};
    };
    TukeyFences f;
    auto upper = [&](domain::Metric m) {
        auto [q1, q3] = quartiles(m);
        return q3 + 1.5 * (q3 - q1);
    };
    f.heart_rate_high = upper(domain::Metric::kHeartRate);
    f.respiration_rate_high = upper(domain::Metric::kRespirationRate);
    f.calories_high = upper(domain::Metric::kCalories);
    auto [q1, q3] = quartiles(domain::Metric::kSpo2);
    f.spo2_low = q1 - 1.5 * (q3 - q1);
    return f;
}

std::string_view ModelKindName(ModelKind kind) { return kind == ModelKind::kStatus ? "status" : "cause"; }

Result<StatusModel> StatusModel::Train(ModelKind kind, const Dataset& data, const TrainSettings& settings,
                                       const std::function<void(const std::string&)>& progress) {
    if (kind == ModelKind::kCause && !data.has_causes) {
        return Status::Error(ErrorCode::kValidationFailed, "The cause model needs the cause columns.",
                             {{"data", "has no cause_* columns (docs/models.md)"}});
    }
    StatusModel model;
    model.kind_ = kind;
    model.split_seed_ = settings.split_seed;
    auto in = [&](Split s) {
        return [&, s](const LabelledReading& r) { return SplitOf(r.wearer, settings.split_seed) == s; };
    };
    std::vector<std::pair<double, double>> movement;
    for (const auto& r : data.rows) {
        if (SplitOf(r.wearer, settings.split_seed) != Split::kTrain) continue;
        movement.emplace_back(r.reading.get(domain::Metric::kSteps).value_or(std::nan("")),
                              r.reading.get(domain::Metric::kCalories).value_or(std::nan("")));
    }
    auto pca = ExercisePca::Fit(movement);
    if (!pca.ok()) return pca.status();
    model.pca_ = *pca;
    const FeatureMatrix fm = BuildFeatures(data, model.pca_);

    std::vector<std::function<std::optional<float>(const LabelledReading&)>> targets;
    if (kind == ModelKind::kStatus) {
        targets.push_back([](const LabelledReading& r) { return std::optional<float>(static_cast<float>(r.status)); });
    } else {
        for (size_t k = 0; k < kCauseMetrics.size(); ++k) {
            targets.push_back([k](const LabelledReading& r) -> std::optional<float> {
                if (r.status == 0 || r.causes[k] < 0) return std::nullopt;
                return static_cast<float>(r.causes[k]);
            });
        }
    }
    json::array rounds, metrics;
    for (size_t t = 0; t < targets.size(); ++t) {
        std::function<bool(const LabelledReading&)> keep_train = in(Split::kTrain);
        if (settings.drop_outliers) {
            std::vector<const domain::VitalsReading*> rows;
            for (const auto& r : data.rows) {
                if (SplitOf(r.wearer, settings.split_seed) == Split::kTrain) rows.push_back(&r.reading);
            }
            const TukeyFences fences = FitTukeyFences(rows);
            keep_train = [fences, seed = settings.split_seed](const LabelledReading& r) {
                return SplitOf(r.wearer, seed) == Split::kTrain && !fences.Outside(r.reading);
            };
        }
        const Rows train = Select(data, fm, keep_train, targets[t]);
        const Rows valid = Select(data, fm, in(Split::kValidation), targets[t]);
        const Rows test = Select(data, fm, in(Split::kTest), targets[t]);
        const std::string what = kind == ModelKind::kStatus ? "status" : "cause " + std::string(kCauseNames[t]);
        if (train.matrix.rows == 0 || valid.matrix.rows == 0 || test.matrix.rows == 0) {
            return Status::Error(ErrorCode::kValidationFailed,
                                 "Too few wearers for a split by wearer (" + what + ": train " +
                                     std::to_string(train.wearers.size()) + ", validation " +
                                     std::to_string(valid.wearers.size()) + ", test " +
                                     std::to_string(test.wearers.size()) + ").",
                                 {{"data", "needs more wearers (at least about 10)"}});
        }
        TrainOptions options = settings.booster;
        if (kind == ModelKind::kCause) options.objective = "binary:logistic";
        const auto on_round = options.on_round;
        options.on_round = [&](int round, double train_loss, double valid_loss) {
            if (on_round) on_round(round, train_loss, valid_loss);
        };
        if (progress) {
            progress(what + ": " + std::to_string(train.matrix.rows) + " training rows of " +
                     std::to_string(train.wearers.size()) + " wearers, " + std::to_string(valid.matrix.rows) +
                     " validation rows of " + std::to_string(valid.wearers.size()) + " wearers");
        }
        auto booster = Booster::Train(train.matrix, train.labels, valid.matrix, valid.labels, options);
        if (!booster.ok()) return booster.status();
        auto p = booster->Predict(test.matrix);
        if (!p.ok()) return p.status();
        const int classes = kind == ModelKind::kStatus ? 3 : 2;
        model.test_.push_back(Score(*p, test.labels, classes, static_cast<int>(test.wearers.size())));
        rounds.push_back(json::object{
            {"target", what}, {"rounds", booster->rounds()}, {"best_validation_loss", booster->best_valid_loss()}});
        metrics.push_back(
            json::object{{"target", what}, {"test", EvaluationJson(model.test_.back(), ClassNamesFor(kind))}});
        auto saved = booster->SaveJson();
        if (!saved.ok()) return saved.status();
        auto ensemble = TreeEnsemble::FromXgboostJson(*saved);
        if (!ensemble.ok()) return ensemble.status();
        model.ensembles_.push_back(std::move(ensemble).value());
        model.boosters_.push_back(std::move(booster).value());
    }
    json::array features;
    for (auto f : FeatureNames()) features.emplace_back(f);
    const TrainOptions& o = settings.booster;
    model.manifest_ = json::object{
        {"format_version", 1},
        {"kind", ModelKindName(kind)},
        {"classes", kind == ModelKind::kStatus ? json::array{"normal", "caution", "danger"}
                                               : json::array{"heart_rate", "respiration_rate", "skin_temp", "spo2"}},
        {"features", std::move(features)},
        {"exercise_pca", json::object{{"steps_mean", model.pca_.steps_mean},
                                      {"steps_sd", model.pca_.steps_sd},
                                      {"calories_mean", model.pca_.calories_mean},
                                      {"calories_sd", model.pca_.calories_sd},
                                      {"w_steps", model.pca_.w_steps},
                                      {"w_calories", model.pca_.w_calories},
                                      {"exercise_threshold", model.pca_.exercise_threshold}}},
        {"data", settings.data_description},
        {"outliers", settings.drop_outliers ? "training rows outside Tukey's fences left out" : "kept"},
        {"split", json::object{{"by", "wearer"}, {"seed", settings.split_seed}, {"validation", 0.15}, {"test", 0.2}}},
        {"hyper_parameters", json::object{{"eta", o.eta},
                                          {"max_depth", o.max_depth},
                                          {"subsample", o.subsample},
                                          {"colsample_bytree", o.colsample_bytree},
                                          {"min_child_weight", o.min_child_weight},
                                          {"max_rounds", o.max_rounds},
                                          {"early_stopping_rounds", o.early_stopping_rounds},
                                          {"seed", o.seed}}},
        {"rounds", std::move(rounds)},
        {"metrics", std::move(metrics)},
        {"command", settings.command}};
    return model;
}

Status StatusModel::Save(const std::string& dir, const std::string& name) const {
    if (boosters_.size() != ensembles_.size()) {
        return Status::Error(ErrorCode::kBadRequest, "Only a model trained in this run can be saved.");
    }
    for (size_t i = 0; i < boosters_.size(); ++i) {
        auto text = boosters_[i].SaveJson();
        if (!text.ok()) return text.status();
        const std::string suffix = kind_ == ModelKind::kStatus ? "" : "." + std::string(kCauseNames[i]);
        VG_RETURN_IF_ERROR(WriteFile(dir + "/" + name + suffix + ".json", *text));
    }
    return WriteFile(dir + "/" + name + ".manifest.json", json::serialize(manifest_) + "\n");
}

Result<StatusModel> StatusModel::Load(const std::string& dir, const std::string& name) {
    auto manifest_text = ReadFile(dir + "/" + name + ".manifest.json");
    if (!manifest_text.ok()) return manifest_text.status();
    StatusModel model;
    try {
        model.manifest_ = json::parse(*manifest_text).as_object();
        const auto& m = model.manifest_;
        model.kind_ = m.at("kind").as_string() == "cause" ? ModelKind::kCause : ModelKind::kStatus;
        const auto& f = m.at("features").as_array();
        if (f.size() != kFeatureCount) {
            return Status::Error(ErrorCode::kValidationFailed, "The model was trained on other features.",
                                 {{"features", "has " + std::to_string(f.size()) + "; this build computes " +
                                                   std::to_string(kFeatureCount)}});
        }
        for (size_t i = 0; i < f.size(); ++i) {
            if (f[i].as_string() != FeatureNames()[i]) {
                return Status::Error(
                    ErrorCode::kValidationFailed, "The model was trained on other features.",
                    {{"features[" + std::to_string(i) + "]", "is not " + std::string(FeatureNames()[i])}});
            }
        }
        const auto& p = m.at("exercise_pca").as_object();
        model.pca_.steps_mean = p.at("steps_mean").to_number<double>();
        model.pca_.steps_sd = p.at("steps_sd").to_number<double>();
        model.pca_.calories_mean = p.at("calories_mean").to_number<double>();
        model.pca_.calories_sd = p.at("calories_sd").to_number<double>();
        model.pca_.w_steps = p.at("w_steps").to_number<double>();
        model.pca_.w_calories = p.at("w_calories").to_number<double>();
        model.pca_.exercise_threshold = p.at("exercise_threshold").to_number<double>();
        model.split_seed_ = m.at("split").at("seed").to_number<uint64_t>();
    } catch (const std::exception& e) {
        return Status::Error(ErrorCode::kValidationFailed, "The model manifest is not valid: " + std::string(e.what()),
                             {{"manifest", "is not a VitalGuard model manifest"}});
    }
    const size_t n = model.kind_ == ModelKind::kStatus ? 1 : kCauseNames.size();
    for (size_t i = 0; i < n; ++i) {
        const std::string suffix = model.kind_ == ModelKind::kStatus ? "" : "." + std::string(kCauseNames[i]);
        auto text = ReadFile(dir + "/" + name + suffix + ".json");
        if (!text.ok()) return text.status();
        // Trees only: XGBoost's copy of the same model would double what serving keeps in memory.
        auto ensemble = TreeEnsemble::FromXgboostJson(*text);
        if (!ensemble.ok()) return ensemble.status();
        model.ensembles_.push_back(std::move(ensemble).value());
    }
    return model;
}

Result<std::vector<float>> StatusModel::Predict(const FeatureVector& features) const {
    std::vector<float> out;
    for (const TreeEnsemble& e : ensembles_) {
        if (e.num_features() != kFeatureCount) {
            return Status::Error(ErrorCode::kValidationFailed, "The model expects other features.");
        }
        const size_t at = out.size();
        out.resize(at + e.num_outputs());
        e.Predict(features.data(), out.data() + at);
    }
    return out;
}

size_t StatusModel::num_outputs() const {
    size_t n = 0;
    for (const TreeEnsemble& e : ensembles_) n += e.num_outputs();
    return n;
}

Status StatusModel::PredictBatch(std::span<const float> rows, std::span<float> out) const {
    const size_t n = rows.size() / kFeatureCount;
    const size_t k = num_outputs();
    if (rows.size() != n * kFeatureCount || out.size() != n * k) {
        return Status::Error(ErrorCode::kValidationFailed, "The rows and the outputs do not match.");
    }
    for (const TreeEnsemble& e : ensembles_) {
        if (e.num_features() != kFeatureCount) {
            return Status::Error(ErrorCode::kValidationFailed, "The model expects other features.");
        }
    }
    if (ensembles_.size() == 1) {
        ensembles_[0].PredictBatch(rows.data(), n, out.data());
        return Status::Ok();
    }
    std::vector<float> part;
    size_t at = 0;
    for (const TreeEnsemble& e : ensembles_) {
        const size_t m = e.num_outputs();
        part.resize(n * m);
        e.PredictBatch(rows.data(), n, part.data());
        for (size_t r = 0; r < n; ++r) {
            for (size_t c = 0; c < m; ++c) out[r * k + at + c] = part[r * m + c];
        }
        at += m;
    }
    return Status::Ok();
}

Result<std::vector<Evaluation>> StatusModel::Evaluate(const Dataset& data, std::optional<Split> split) const {
    const FeatureMatrix fm = BuildFeatures(data, pca_);
    auto keep = [&](const LabelledReading& r) { return !split || SplitOf(r.wearer, split_seed_) == *split; };
    std::vector<Evaluation> out;
    for (size_t t = 0; t < ensembles_.size(); ++t) {
        const Rows rows = Select(data, fm, keep, [&](const LabelledReading& r) -> std::optional<float> {
            if (kind_ == ModelKind::kStatus) return static_cast<float>(r.status);
            if (r.status == 0 || r.causes[t] < 0) return std::nullopt;
            return static_cast<float>(r.causes[t]);
        });
        if (rows.matrix.rows == 0) {
            return Status::Error(ErrorCode::kValidationFailed, "No rows to evaluate.", {{"data", "has no such rows"}});
        }
        if (rows.matrix.cols != ensembles_[t].num_features()) {
            return Status::Error(ErrorCode::kValidationFailed, "The model expects other features.");
        }
        std::vector<float> p(rows.matrix.rows * ensembles_[t].num_outputs());
        ensembles_[t].PredictBatch(rows.matrix.values.data(), rows.matrix.rows, p.data());
        out.push_back(
            Score(p, rows.labels, kind_ == ModelKind::kStatus ? 3 : 2, static_cast<int>(rows.wearers.size())));
    }
    return out;
}

json::object EvaluationJson(const Evaluation& e, const std::vector<std::string>& names) {
    json::array classes, confusion, calibration;
    for (size_t c = 0; c < e.classes.size(); ++c) {
        classes.push_back(json::object{{"class", c < names.size() ? names[c] : std::to_string(c)},
                                       {"precision", e.classes[c].precision},
                                       {"recall", e.classes[c].recall},
                                       {"f1", e.classes[c].f1},
                                       {"support", e.classes[c].support}});
    }
    for (const auto& row : e.confusion) {
        json::array r;
        for (int v : row) r.push_back(v);
        confusion.push_back(std::move(r));
    }
    for (size_t b = 0; b < e.calibration.size(); ++b) {
        const auto& bin = e.calibration[b];
        if (bin.count == 0) continue;
        calibration.push_back(json::object{{"from", b / 10.0},
                                           {"to", (b + 1) / 10.0},
                                           {"count", bin.count},
                                           {"mean_probability", bin.mean_probability},
                                           {"accuracy", bin.accuracy}});
    }
    return json::object{{"rows", e.rows},
                        {"wearers", e.wearers},
                        {"accuracy", e.accuracy},
                        {"macro_f1", e.macro_f1},
                        {"classes", std::move(classes)},
                        {"confusion", std::move(confusion)},
                        {"calibration", std::move(calibration)}};
}

std::string EvaluationText(const Evaluation& e, const std::vector<std::string>& names) {
    std::ostringstream o;
    o.setf(std::ios::fixed);
    o.precision(3);
    o << "rows " << e.rows << " of " << e.wearers << " wearers; accuracy " << e.accuracy << ", macro-F1 " << e.macro_f1
      << "\n";
    for (size_t c = 0; c < e.classes.size(); ++c) {
        o << "  " << (c < names.size() ? names[c] : std::to_string(c)) << ": precision " << e.classes[c].precision
          << ", recall " << e.classes[c].recall << ", F1 " << e.classes[c].f1 << " (n=" << e.classes[c].support
          << ")\n";
    }
    o << "  confusion [true][predicted]:";
    for (const auto& row : e.confusion) {
        o << " [";
        for (size_t i = 0; i < row.size(); ++i) o << (i ? " " : "") << row[i];
        o << "]";
    }
    o << "\n  calibration (predicted probability -> accuracy):";
    for (const auto& bin : e.calibration) {
        if (bin.count > 0) o << " " << bin.mean_probability << "->" << bin.accuracy << " (n=" << bin.count << ")";
    }
    o << "\n";
    return o.str();
}

std::string EvaluationHtml(const std::string& title, const Evaluation& e, const std::vector<std::string>& names) {
    std::ostringstream o;
    o << "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>" << title
      << "</title><style>body{font:16px system-ui;margin:2em;color:#111}td,th{border:1px solid #999;padding:.5em "
         "1em;text-align:right}table{border-collapse:collapse;margin:1em 0}</style><h1>"
      << title << "</h1><p>" << e.rows << " held-out rows of " << e.wearers << " wearers; accuracy " << e.accuracy
      << ", macro-F1 " << e.macro_f1
      << "</p><h2>Confusion matrix (rows: truth, columns: predicted)</h2><table><tr><th></th>";
    for (const auto& n : names) o << "<th>" << n << "</th>";
    o << "</tr>";
    for (size_t t = 0; t < e.confusion.size(); ++t) {
        int total = 0;
        for (int v : e.confusion[t]) total += v;
        o << "<tr><th>" << (t < names.size() ? names[t] : std::to_string(t)) << "</th>";
        for (size_t p = 0; p < e.confusion[t].size(); ++p) {
            const double share = total ? static_cast<double>(e.confusion[t][p]) / total : 0;
            const int light = 100 - static_cast<int>(share * 60);
            o << "<td style=\"background:hsl(" << (t == p ? 140 : 0) << ",60%," << light << "%)\">" << e.confusion[t][p]
              << "</td>";
        }
        o << "</tr>";
    }
    o << "</table><h2>Per "
         "class</h2><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>n</th></tr>";
    for (size_t c = 0; c < e.classes.size(); ++c) {
        o << "<tr><th>" << (c < names.size() ? names[c] : std::to_string(c)) << "</th><td>" << e.classes[c].precision
          << "</td><td>" << e.classes[c].recall << "</td><td>" << e.classes[c].f1 << "</td><td>" << e.classes[c].support
          << "</td></tr>";
    }
    o << "</table><h2>Calibration</h2><table><tr><th>predicted probability</th><th>observed "
         "accuracy</th><th>rows</th></tr>";
    for (const auto& bin : e.calibration) {
        if (bin.count > 0) {
            o << "<tr><td>" << bin.mean_probability << "</td><td>" << bin.accuracy << "</td><td>" << bin.count
              << "</td></tr>";
        }
    }
    o << "</table></html>\n";
    return o.str();
}

}  // namespace vg::models
