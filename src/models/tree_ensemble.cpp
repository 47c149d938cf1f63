#include "vg/models/tree_ensemble.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <string>

namespace vg::models {
namespace {

namespace json = boost::json;

constexpr size_t kLanes = 8;           // rows walked together through one tree
constexpr size_t kMaxFeatures = 4095;  // a node stores (2 * feature + 1) * kLanes in 16 bits
constexpr size_t kMaxNodes = 32768;    // per tree: offsets fit in 16 bits
constexpr size_t kMaxClasses = 64;
constexpr size_t kBlock = 256;  // rows per pass over all the trees (a multiple of kLanes)
constexpr size_t kStackFeatures = 32;

Status Unsupported(const std::string& why) {
    return Status::Error(ErrorCode::kValidationFailed, "Not a supported XGBoost model: " + why + ".", {{"model", why}});
}

double Number(const json::value& v) {
    if (v.is_string()) return std::stod(std::string(v.as_string()));
    return v.to_number<double>();
}

// Rows as the walk reads them, in groups of kLanes rows: each value twice, missing (NaN) as +inf in
// copy 2f and -inf in copy 2f + 1, lane-major (copy i of lane j at i * kLanes + j), so that the walk
// finds a lane's value at the node's index plus the lane, one addressing mode. A split whose missing
// values go right reads copy 2f, one whose missing values go left reads 2f + 1, so "x < threshold"
// sends a missing value the node's default way without a test (thresholds are finite).
void Widen(const float* row, size_t f, size_t lane, float* group) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    for (size_t c = 0; c < f; ++c) {
        const float x = row[c];
        const bool missing = std::isnan(x);
        group[2 * c * kLanes + lane] = missing ? kInf : x;
        group[(2 * c + 1) * kLanes + lane] = missing ? -kInf : x;
    }
}

}  // namespace

Result<TreeEnsemble> TreeEnsemble::FromXgboostJson(std::string_view text) {
    TreeEnsemble e;
    try {
        const json::value root = json::parse(text);
        const json::object& learner = root.at("learner").as_object();
        const json::object& param = learner.at("learner_model_param").as_object();
        const std::string objective(learner.at("objective").at("name").as_string());
        e.num_features_ = static_cast<size_t>(Number(param.at("num_feature")));
        if (e.num_features_ == 0 || e.num_features_ > kMaxFeatures) return Unsupported("0 or more than 4095 features");
        e.num_class_ = std::max<size_t>(1, static_cast<size_t>(Number(param.at("num_class"))));
        if (e.num_class_ > kMaxClasses) return Unsupported("more than 64 classes");
        const double base_score = Number(param.at("base_score"));
        if (objective == "binary:logistic") {
            e.logistic_ = true;
            e.base_margin_ = static_cast<float>(std::log(base_score / (1 - base_score)));
        } else if (objective == "multi:softprob" || objective == "multi:softmax") {
            e.base_margin_ = static_cast<float>(base_score);  // cancels out in the softmax
        } else {
            return Unsupported("objective " + objective);
        }
        const json::object& booster = learner.at("gradient_booster").as_object();
        if (booster.at("name").as_string() != "gbtree") return Unsupported("booster is not gbtree");
        const json::object& model = booster.at("model").as_object();
        const json::array& trees = model.at("trees").as_array();
        const json::array& info = model.at("tree_info").as_array();
        std::vector<uint32_t> order;  // breadth-first: file index of each laid-out node
        std::vector<uint16_t> level;  // depth of each laid-out node
        std::vector<bool> seen;
        for (size_t t = 0; t < trees.size(); ++t) {
            const json::object& tree = trees[t].as_object();
            const auto& left = tree.at("left_children").as_array();
            const auto& right = tree.at("right_children").as_array();
            const auto& index = tree.at("split_indices").as_array();
            const auto& cond = tree.at("split_conditions").as_array();
            const auto& dflt = tree.at("default_left").as_array();
            const auto& type = tree.at("split_type").as_array();
            const size_t size = left.size();
            const std::string malformed = "malformed tree " + std::to_string(t);
            if (size == 0 || right.size() != size || index.size() != size || cond.size() != size ||
                dflt.size() != size || type.size() != size) {
                return Unsupported(malformed);
            }
            if (size > kMaxNodes) return Unsupported("a tree with more than 32768 nodes");
            Tree out;
            const int64_t output = info.at(t).to_number<int64_t>();
            if (output < 0 || static_cast<size_t>(output) >= e.num_outputs())
                return Unsupported("tree output out of range");
            out.output = static_cast<uint16_t>(output);
            out.first = static_cast<uint32_t>(e.nodes_.size());
            // Lay the tree out breadth first: the children of a split are pushed together, so they
            // are adjacent (left, right) and after their parent.
            order.assign(1, 0);
            level.assign(1, 0);
            seen.assign(size, false);
            seen[0] = true;
            for (size_t at = 0; at < order.size(); ++at) {
                const size_t n = order[at];
                const int64_t l = left[n].to_number<int64_t>();
                Node node;  // a leaf: threshold -inf and offset -1, so it stays put
                float leaf = 0;
                const float value = static_cast<float>(cond[n].to_number<double>());
                if (type[n].to_number<int64_t>() != 0) return Unsupported("categorical splits");
                if (l == -1) {
                    leaf = value;
                } else {
                    const int64_t r = right[n].to_number<int64_t>();
                    const int64_t feature = index[n].to_number<int64_t>();
                    if (l <= 0 || r <= 0 || static_cast<size_t>(l) >= size || static_cast<size_t>(r) >= size ||
                        feature < 0 || static_cast<size_t>(feature) >= e.num_features_ ||
                        seen[static_cast<size_t>(l)] || seen[static_cast<size_t>(r)] || l == r) {
                        return Unsupported(malformed);
                    }
                    if (!std::isfinite(value)) return Unsupported("a split threshold that is not finite");
                    seen[static_cast<size_t>(l)] = seen[static_cast<size_t>(r)] = true;
                    node.value = value;
                    node.feature =
                        static_cast<uint16_t>((2 * feature + (dflt[n].to_number<int64_t>() != 0 ? 1 : 0)) * kLanes);
                    node.offset = static_cast<int16_t>(order.size() - at);
                    order.push_back(static_cast<uint32_t>(l));
                    order.push_back(static_cast<uint32_t>(r));
                    level.push_back(static_cast<uint16_t>(level[at] + 1));
                    level.push_back(static_cast<uint16_t>(level[at] + 1));
                }
                e.leaves_.push_back(leaf);
                e.nodes_.push_back(node);
            }
            out.depth = level.back();
            e.trees_.push_back(out);
        }
    } catch (const std::exception& ex) {
        return Unsupported(std::string("unreadable (") + ex.what() + ")");
    }
    return e;
}

template <size_t kN>
void TreeEnsemble::Walk(const float* wide, size_t n, double* margin) const {
    static_assert(kN == 1 || kN == kLanes);
    const size_t group_size = 2 * num_features_ * kLanes;
    const size_t k = num_outputs();
    const Node* nodes = nodes_.data();
    const float* leaves = leaves_.data();
    for (const Tree& tree : trees_) {
        for (size_t r = 0; r < n; r += kN) {
            const float* group = wide + (r / kLanes) * group_size;
            const Node* at[kN];
#pragma GCC unroll 16
            for (size_t j = 0; j < kN; ++j) at[j] = nodes + tree.first;
            for (uint16_t d = 0; d < tree.depth; ++d) {
                // One step down for each lane (a leaf stays put): right when !(x < threshold), x never
                // NaN in a widened row. Computed, not branched on.
#pragma GCC unroll 16
                for (size_t j = 0; j < kN; ++j) {
                    const Node node = *at[j];
                    const float x = group[node.feature + j];
                    at[j] += node.offset + static_cast<ptrdiff_t>(x >= node.value);
                }
            }
            const size_t used = std::min(kN, n - r);
            for (size_t j = 0; j < used; ++j) margin[(r + j) * k + tree.output] += leaves[at[j] - nodes];
        }
    }
}

void TreeEnsemble::Finish(const double* margin, float* out) const {
    const size_t k = num_outputs();
    if (logistic_) {
        out[0] = static_cast<float>(1 / (1 + std::exp(-margin[0])));
        return;
    }
    double max = margin[0];
    for (size_t c = 1; c < k; ++c) max = std::max(max, margin[c]);
    double sum = 0;
    for (size_t c = 0; c < k; ++c) sum += std::exp(margin[c] - max);
    for (size_t c = 0; c < k; ++c) out[c] = static_cast<float>(std::exp(margin[c] - max) / sum);
}

void TreeEnsemble::Predict(const float* row, float* out) const {
    double margin[kMaxClasses];
    const size_t k = num_outputs();
    for (size_t c = 0; c < k; ++c) margin[c] = base_margin_;
    float stack[2 * kStackFeatures * kLanes];
    std::vector<float> heap(num_features_ > kStackFeatures ? 2 * num_features_ * kLanes : 0);
    float* group = heap.empty() ? stack : heap.data();
    Widen(row, num_features_, 0, group);  // lane 0 of one group
    Walk<1>(group, 1, margin);
    Finish(margin, out);
}

void TreeEnsemble::PredictBatch(const float* rows, size_t n, float* out) const {
    const size_t k = num_outputs();
    const size_t f = num_features_;
    const size_t block = std::min(n, kBlock);
    const size_t groups = (block + kLanes - 1) / kLanes;
    std::vector<double> margin(block * k);
    std::vector<float> wide(groups * 2 * f * kLanes, 0.0f);  // lanes past the last row stay 0: walked, not used
    for (size_t begin = 0; begin < n; begin += kBlock) {
        const size_t m = std::min(kBlock, n - begin);
        std::fill(margin.begin(), margin.begin() + static_cast<std::ptrdiff_t>(m * k),
                  static_cast<double>(base_margin_));
        for (size_t r = 0; r < m; ++r) {
            Widen(rows + (begin + r) * f, f, r % kLanes, wide.data() + (r / kLanes) * 2 * f * kLanes);
        }
        Walk<kLanes>(wide.data(), m, margin.data());
        for (size_t r = 0; r < m; ++r) Finish(margin.data() + r * k, out + (begin + r) * k);
    }
}

}  // namespace vg::models
