#pragma once
// Booster: a gradient-boosted tree model through XGBoost's C API (docs/models.md): training with
// early stopping on a validation set, prediction from dense rows, and saving/loading as XGBoost's
// JSON model format (identical predictions after a round trip).
//
// Thread-safety: Predict is const and may be called from several threads at once (XGBoost's
// in-place prediction keeps its output per thread); Train and Load make new objects.
// Ownership: a Booster owns its XGBoost handle (move-only).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"

namespace vg::models {

// Row-major float rows; NaN is a missing value.
struct Matrix {
    size_t rows = 0;
    size_t cols = 0;
    std::vector<float> values;  // rows * cols
};

struct TrainOptions {
    std::string objective = "multi:softprob";  // or "binary:logistic"
    int num_class = 3;                         // multi-class only
    int max_rounds = 400;
    int early_stopping_rounds = 25;  // stop when the validation loss has not improved for this many rounds
    double eta = 0.1;
    int max_depth = 5;
    double subsample = 0.9;
    double colsample_bytree = 0.9;
    double min_child_weight = 1;
    int threads = 2;
    uint64_t seed = 20261123;
    // Every round: (round, train loss, validation loss); for progress bars.
    std::function<void(int, double, double)> on_round;
};

class Booster {
  public:
    Booster(Booster&&) noexcept;
    Booster& operator=(Booster&&) noexcept;
    ~Booster();

    // Trains on `train` (labels: class index, or 0/1 for binary) with early stopping on `valid`; the
    // returned model keeps the rounds up to the best validation loss. kValidationFailed for shapes
    // that do not match or labels out of range; kInternal with XGBoost's message otherwise.
    static Result<Booster> Train(const Matrix& train, const std::vector<float>& train_labels, const Matrix& valid,
                                 const std::vector<float>& valid_labels, const TrainOptions& options);
    // A model saved by SaveJson. kInvalidJson / kValidationFailed with XGBoost's message.
    static Result<Booster> LoadJson(std::string_view json);

    // Probabilities: rows * num_class values (multi-class), or rows values of P(1) (binary).
    Result<std::vector<float>> Predict(const Matrix& rows) const;
    Result<std::string> SaveJson() const;

    int rounds() const { return rounds_; }            // boosting rounds kept
    double best_valid_loss() const { return best_; }  // at training time; NaN for a loaded model
    size_t num_features() const { return num_features_; }

  private:
    Booster() = default;
    void* handle_ = nullptr;
    int rounds_ = 0;
    double best_ = 0;
    size_t num_features_ = 0;
};

}  // namespace vg::models
