#pragma once
// TreeEnsemble: evaluates a trained XGBoost model (its JSON file) natively, for serving: a few
// microseconds per reading instead of XGBoost's per-call overhead. Loaded from the same file the
// Booster saves; a test checks that its probabilities equal XGBoost's on held-out rows.
//
// Supported: gbtree models with numerical splits, objectives multi:softprob / multi:softmax (class
// probabilities by softmax) and binary:logistic (P(1)). Anything else is refused at load time.
// Thread-safety: immutable after loading; Predict from any thread.

#include <cstdint>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"

namespace vg::models {

class TreeEnsemble {
  public:
    // kValidationFailed (field "model") for JSON that is not a supported XGBoost model.
    static Result<TreeEnsemble> FromXgboostJson(std::string_view json);

    size_t num_features() const { return num_features_; }
    size_t num_outputs() const { return num_class_ > 1 ? num_class_ : 1; }
    // Probabilities for one row of num_features() values (NaN = missing) into out[num_outputs()].
    void Predict(const float* row, float* out) const;

  private:
    struct Node {
        int32_t left = -1;  // -1: leaf
        int32_t right = -1;
        uint32_t feature = 0;
        float value = 0;  // split threshold (go left when x < value), or the leaf's weight
        bool default_left = false;
    };
    struct Tree {
        std::vector<Node> nodes;
        uint32_t output = 0;  // class this tree adds to
    };
    std::vector<Tree> trees_;
    size_t num_features_ = 0;
    size_t num_class_ = 1;
    bool logistic_ = false;
    float base_margin_ = 0;
};

}  // namespace vg::models
