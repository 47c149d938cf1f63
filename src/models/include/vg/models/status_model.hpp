#pragma once
// The status model (0 normal, 1 caution, 2 danger) and the cause model (one binary output each for
// heart rate, respiration, skin temperature and SpO2, trained on caution/danger rows): training with
// a split by wearer, evaluation on held-out wearers, and the files in models/ (docs/models.md):
//   <name>.json           the XGBoost model(s)
//   <name>.manifest.json  version, feature list, exercise_pca parameters, data description,
//                         hyper-parameters, held-out metrics, the command that made it
//
// Thread-safety: a loaded model is immutable; Predict may be called from any thread.

#include <array>
#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vg/models/booster.hpp"
#include "vg/models/dataset.hpp"
#include "vg/models/features.hpp"
#include "vg/models/tree_ensemble.hpp"

namespace vg::models {

enum class ModelKind { kStatus, kCause };
std::string_view ModelKindName(ModelKind kind);  // "status", "cause"

struct TrainSettings {
    uint64_t split_seed = 20261123;  // the split by wearer
    TrainOptions booster;
    std::string data_description;  // e.g. "simulated fleet sim/scenarios/training.json, seed 1"
    std::string command;           // the command line that trains it (written to the manifest)
    // The seed's outlier removal, read as Tukey's fences: training rows (never validation or test)
    // with heart rate, respiration or calories above Q3 + 1.5 IQR, or SpO2 below Q1 - 1.5 IQR, of
    // the training split are left out. Off by default (docs/models.md says why).
    bool drop_outliers = false;
};

// The fences of the training rows: [low, high] per column; NaN where a side is not used.
struct TukeyFences {
    double heart_rate_high = 0, respiration_rate_high = 0, calories_high = 0, spo2_low = 0;
    bool Outside(const domain::VitalsReading& r) const;
};
TukeyFences FitTukeyFences(const std::vector<const domain::VitalsReading*>& rows);

// Held-out metrics. Status: 3 classes. Cause: per metric, a 2-class table (0 normal, 1 at fault).
struct ClassMetrics {
    double precision = 0, recall = 0, f1 = 0;
    int support = 0;
};
struct Evaluation {
    int rows = 0;
    int wearers = 0;
    double accuracy = 0;
    std::vector<ClassMetrics> classes;
    std::vector<std::vector<int>> confusion;  // [true][predicted]
    // Calibration: rows binned by the predicted class's probability (10 bins of 0.1): count, mean
    // predicted probability, observed accuracy.
    struct Bin {
        int count = 0;
        double mean_probability = 0;
        double accuracy = 0;
    };
    std::vector<Bin> calibration;
    double macro_f1 = 0;
};

class StatusModel {
  public:
    // Trains on the training wearers of `data`, stops early on the validation wearers, evaluates on
    // the test wearers. Cause models train one booster per cause metric on rows with status >= 1.
    // kValidationFailed when a split is empty or the cause columns are missing for kCause.
    static Result<StatusModel> Train(ModelKind kind, const Dataset& data, const TrainSettings& settings,
                                     const std::function<void(const std::string&)>& progress = {});
    // Loads the trees only (TreeEnsemble), not XGBoost's copy of them: what serving and Evaluate need.
    static Result<StatusModel> Load(const std::string& dir, const std::string& name);
    // kBadRequest for a loaded model: only one trained in this run (which has XGBoost's
    // boosters) can be saved.
    Status Save(const std::string& dir, const std::string& name) const;

    ModelKind kind() const { return kind_; }
    const ExercisePca& pca() const { return pca_; }
    const boost::json::object& manifest() const { return manifest_; }
    // The held-out evaluation made at training time (status: one; cause: one per metric).
    const std::vector<Evaluation>& test_metrics() const { return test_; }

    // Status: 3 probabilities. Cause: 4 probabilities (kCauseMetrics order). A few microseconds.
    Result<std::vector<float>> Predict(const FeatureVector& features) const;
    // Probabilities per row: 3 (status) or 4 (cause).
    size_t num_outputs() const;
    // Many rows at once (the detector's batch): `rows` holds n rows of kFeatureCount features, one after
    // the other; out[n * num_outputs()] receives exactly what Predict gives for each row, in a fraction
    // of the time per row (TreeEnsemble::PredictBatch). kValidationFailed when Predict would fail, or
    // when the sizes do not match.
    Status PredictBatch(std::span<const float> rows, std::span<float> out) const;
    // Evaluates on the rows of `data` whose wearer is in `split` (all rows when nullopt), with the trees
    // serving uses (TreeEnsemble equals XGBoost's predictions; tree_ensemble_test.cpp).
    Result<std::vector<Evaluation>> Evaluate(const Dataset& data, std::optional<Split> split) const;

  private:
    ModelKind kind_ = ModelKind::kStatus;
    ExercisePca pca_;
    std::vector<Booster> boosters_;        // status: 1; cause: 4 (after Train only; Save writes them)
    std::vector<TreeEnsemble> ensembles_;  // the same models, evaluated natively for serving
    boost::json::object manifest_;
    std::vector<Evaluation> test_;
    uint64_t split_seed_ = 0;
};

boost::json::object EvaluationJson(const Evaluation& e, const std::vector<std::string>& class_names);
// A self-contained HTML page with the confusion matrix as a coloured table, and the calibration.
std::string EvaluationHtml(const std::string& title, const Evaluation& e, const std::vector<std::string>& class_names);
std::string EvaluationText(const Evaluation& e, const std::vector<std::string>& class_names);

}  // namespace vg::models
