#include "vg/models/booster.hpp"

#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace vg::models {
namespace {

Status XgbError(std::string_view what) {
    return Status::Error(ErrorCode::kInternal, std::string(what) + ": " + XGBGetLastError());
}

// Owns a DMatrix.
struct DMatrix {
    DMatrixHandle h = nullptr;
    ~DMatrix() {
        if (h != nullptr) XGDMatrixFree(h);
    }
};

Status MakeDMatrix(const Matrix& m, const std::vector<float>& labels, DMatrix& out) {
    if (m.values.size() != m.rows * m.cols) {
        return Status::Error(ErrorCode::kValidationFailed, "matrix shape and values disagree");
    }
    if (labels.size() != m.rows) {
        return Status::Error(ErrorCode::kValidationFailed, "one label per row is needed");
    }
    if (XGDMatrixCreateFromMat(m.values.data(), m.rows, m.cols, std::numeric_limits<float>::quiet_NaN(), &out.h) != 0) {
        return XgbError("creating the training matrix");
    }
    if (XGDMatrixSetFloatInfo(out.h, "label", labels.data(), labels.size()) != 0) return XgbError("setting labels");
    return Status::Ok();
}

// "[12]\ttrain-mlogloss:0.123\tvalid-mlogloss:0.456" → the value after `name-`.
double MetricOf(const char* text, std::string_view name) {
    std::string_view s(text);
    const std::string key = std::string(name) + "-";
    size_t at = s.find(key);
    if (at == std::string_view::npos) return std::nan("");
    at = s.find(':', at);
    if (at == std::string_view::npos) return std::nan("");
    return std::strtod(std::string(s.substr(at + 1)).c_str(), nullptr);
}

}  // namespace

Booster::Booster(Booster&& o) noexcept
    : handle_(std::exchange(o.handle_, nullptr)), rounds_(o.rounds_), best_(o.best_), num_features_(o.num_features_) {}

Booster& Booster::operator=(Booster&& o) noexcept {
    if (this != &o) {
        if (handle_ != nullptr) XGBoosterFree(handle_);
        handle_ = std::exchange(o.handle_, nullptr);
        rounds_ = o.rounds_;
        best_ = o.best_;
        num_features_ = o.num_features_;
    }
    return *this;
}

Booster::~Booster() {
    if (handle_ != nullptr) XGBoosterFree(handle_);
}

Result<Booster> Booster::Train(const Matrix& train, const std::vector<float>& train_labels, const Matrix& valid,
                               const std::vector<float>& valid_labels, const TrainOptions& o) {
    const bool multi = o.objective.rfind("multi:", 0) == 0;
    for (const std::vector<float>* labels : {&train_labels, &valid_labels}) {
        for (float l : *labels) {
            const float hi = multi ? static_cast<float>(o.num_class - 1) : 1.0f;
            if (!(l >= 0 && l <= hi) || l != std::floor(l)) {
                return Status::Error(
                    ErrorCode::kValidationFailed, "A label is out of range.",
                    {{"label", "must be a whole number from 0 to " + std::to_string(static_cast<int>(hi))}});
            }
        }
    }
    if (train.cols != valid.cols || train.rows == 0 || valid.rows == 0) {
        return Status::Error(ErrorCode::kValidationFailed, "Training and validation rows must be non-empty and alike.");
    }
    DMatrix dtrain, dvalid;
    VG_RETURN_IF_ERROR(MakeDMatrix(train, train_labels, dtrain));
    VG_RETURN_IF_ERROR(MakeDMatrix(valid, valid_labels, dvalid));
    DMatrixHandle both[2] = {dtrain.h, dvalid.h};
    BoosterHandle h = nullptr;
    if (XGBoosterCreate(both, 2, &h) != 0) return XgbError("creating the booster");
    Booster b;
    b.handle_ = h;
    b.num_features_ = train.cols;
    auto set = [&](const char* k, const std::string& v) { return XGBoosterSetParam(h, k, v.c_str()) == 0; };
    const std::string metric = multi ? "mlogloss" : "logloss";
    bool ok = set("objective", o.objective) && set("eval_metric", metric) && set("eta", std::to_string(o.eta)) &&
              set("max_depth", std::to_string(o.max_depth)) && set("subsample", std::to_string(o.subsample)) &&
              set("colsample_bytree", std::to_string(o.colsample_bytree)) &&
              set("min_child_weight", std::to_string(o.min_child_weight)) &&
              set("nthread", std::to_string(o.threads)) && set("seed", std::to_string(o.seed)) &&
              set("tree_method", "hist") && set("verbosity", "0");
    if (ok && multi) ok = set("num_class", std::to_string(o.num_class));
    if (!ok) return XgbError("setting parameters");

    const char* names[2] = {"train", "valid"};
    double best = std::numeric_limits<double>::infinity();
    int best_round = -1;
    for (int round = 0; round < o.max_rounds; ++round) {
        if (XGBoosterUpdateOneIter(h, round, dtrain.h) != 0) return XgbError("training");
        const char* eval = nullptr;
        if (XGBoosterEvalOneIter(h, round, both, names, 2, &eval) != 0) return XgbError("evaluating");
        const double train_loss = MetricOf(eval, "train");
        const double valid_loss = MetricOf(eval, "valid");
        if (o.on_round) o.on_round(round, train_loss, valid_loss);
        if (valid_loss < best - 1e-9) {
            best = valid_loss;
            best_round = round;
        } else if (round - best_round >= o.early_stopping_rounds) {
            break;
        }
    }
    // Keep the rounds up to the best one (early stopping).
    BoosterHandle sliced = nullptr;
    if (XGBoosterSlice(h, 0, best_round + 1, 1, &sliced) != 0) return XgbError("keeping the best rounds");
    XGBoosterFree(h);
    b.handle_ = sliced;
    b.rounds_ = best_round + 1;
    b.best_ = best;
    return b;
}

Result<Booster> Booster::LoadJson(std::string_view json) {
    BoosterHandle h = nullptr;
    if (XGBoosterCreate(nullptr, 0, &h) != 0) return XgbError("creating the booster");
    Booster b;
    b.handle_ = h;
    if (XGBoosterLoadModelFromBuffer(h, json.data(), json.size()) != 0) {
        return Status::Error(ErrorCode::kValidationFailed, std::string("not an XGBoost model: ") + XGBGetLastError());
    }
    int rounds = 0;
    if (XGBoosterBoostedRounds(h, &rounds) != 0) return XgbError("reading the model");
    bst_ulong features = 0;
    if (XGBoosterGetNumFeature(h, &features) != 0) return XgbError("reading the model");
    b.rounds_ = rounds;
    b.num_features_ = features;
    b.best_ = std::nan("");
    return b;
}

Result<std::vector<float>> Booster::Predict(const Matrix& m) const {
    if (m.values.size() != m.rows * m.cols || m.cols != num_features_) {
        return Status::Error(ErrorCode::kValidationFailed,
                             "Rows must have " + std::to_string(num_features_) + " features.");
    }
    if (m.rows == 0) return std::vector<float>{};
    char interface[256];
    std::snprintf(interface, sizeof interface,
                  R"({"data": [%llu, true], "shape": [%zu, %zu], "typestr": "<f4", "version": 3})",
                  static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(m.values.data())), m.rows, m.cols);
    static constexpr const char* kConfig =
        R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false, "cache_id": 0, "missing": NaN})";
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    if (XGBoosterPredictFromDense(handle_, interface, kConfig, nullptr, &shape, &dim, &out) != 0) {
        return XgbError("predicting");
    }
    size_t n = 1;
    for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
    return std::vector<float>(out, out + n);
}

Result<std::string> Booster::SaveJson() const {
    bst_ulong len = 0;
    const char* data = nullptr;
    if (XGBoosterSaveModelToBuffer(handle_, R"({"format": "json"})", &len, &data) != 0) return XgbError("saving");
    return std::string(data, len);
}

}  // namespace vg::models
