#pragma once
// TreeEnsemble: evaluates a trained XGBoost model (its JSON file) natively, for serving: about a
// microsecond per reading instead of XGBoost's per-call overhead. Loaded from the same file the
// Booster saves; a test checks that its probabilities equal XGBoost's on held-out rows, and that they
// are bit-for-bit those of a plain walk of the file's trees.
//
// Layout (docs/models.md, "Serving"): every tree's nodes in one flat array of 8-byte nodes (threshold,
// feature, relative offset), tree by tree, breadth first, so a split's two children are adjacent (left,
// then right); leaf weights in a parallel array. A leaf loops onto itself, so a tree is walked in exactly
// its depth in steps with no branch on the data. Missing values: each row is first widened to two copies
// of its values, NaN as +inf in one and -inf in the other, and a split reads the copy that sends a
// missing value its default way (XGBoost's default_left), so a step is one load and one comparison.
// PredictBatch walks each tree for a block of rows (trees outer, rows inner, 8 rows interleaved), so
// the nodes stay in cache and the rows' walks overlap; it gives the same numbers as Predict row by row
// (each row's margins are summed in the same tree order, in double precision).
//
// Supported: gbtree models with numerical splits at finite thresholds, objectives multi:softprob /
// multi:softmax (class probabilities by softmax) and binary:logistic (P(1)), at most 64 classes, 4,095
// features and 32,768 nodes per tree. Anything else is refused at load time.
// Thread-safety: immutable after loading; Predict and PredictBatch from any thread.

#include <cstddef>
#include <cstdint>
#include <limits>
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
    size_t num_trees() const { return trees_.size(); }
    size_t num_nodes() const { return nodes_.size(); }
    // Probabilities for one row of num_features() values (NaN = missing) into out[num_outputs()].
    void Predict(const float* row, float* out) const;
    // Probabilities for n rows (row-major, n * num_features() values) into out[n * num_outputs()]:
    // exactly what Predict gives for each row, several times faster per row for n >= 8.
    void PredictBatch(const float* rows, size_t n, float* out) const;

  private:
    // 8 bytes. A split reads the widened rows (Widen in the .cpp) at `feature` + lane (`feature` is
    // 8 * (2 * the feature, + 1 when missing values go left)) and goes to its left child at this node's index +
    // `offset` when the value is below `value`, else to the right child just after it. A leaf has value -inf and offset
    // -1: it stays where it is whatever the row, and its weight is in leaves_ at the same index.
    struct Node {
        float value = -std::numeric_limits<float>::infinity();
        uint16_t feature = 0;
        int16_t offset = -1;
    };
    struct Tree {
        uint32_t first = 0;   // index of the root in nodes_
        uint16_t depth = 0;   // steps from the root to the deepest leaf
        uint16_t output = 0;  // class this tree adds to
    };
    // Adds each tree's leaf for n widened rows to margin[n * num_outputs()], kN rows at a time.
    template <size_t kN>
    void Walk(const float* wide, size_t n, double* margin) const;
    void Finish(const double* margin, float* out) const;

    std::vector<Node> nodes_;
    std::vector<float> leaves_;  // a leaf's weight at its node's index (0 for splits)
    std::vector<Tree> trees_;
    size_t num_features_ = 0;
    size_t num_class_ = 1;
    bool logistic_ = false;
    float base_margin_ = 0;
};

}  // namespace vg::models
