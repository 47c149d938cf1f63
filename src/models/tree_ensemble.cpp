#include "vg/models/tree_ensemble.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <string>

namespace vg::models {
namespace {

namespace json = boost::json;

Status Unsupported(const std::string& why) {
    return Status::Error(ErrorCode::kValidationFailed, "Not a supported XGBoost model: " + why + ".", {{"model", why}});
}

double Number(const json::value& v) {
    if (v.is_string()) return std::stod(std::string(v.as_string()));
    return v.to_number<double>();
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
        e.num_class_ = std::max<size_t>(1, static_cast<size_t>(Number(param.at("num_class"))));
        if (e.num_class_ > 64) return Unsupported("more than 64 classes");
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
        for (size_t t = 0; t < trees.size(); ++t) {
            const json::object& tree = trees[t].as_object();
            const auto& left = tree.at("left_children").as_array();
            const auto& right = tree.at("right_children").as_array();
            const auto& index = tree.at("split_indices").as_array();
            const auto& cond = tree.at("split_conditions").as_array();
            const auto& dflt = tree.at("default_left").as_array();
            const auto& type = tree.at("split_type").as_array();
            Tree out;
            out.output = static_cast<uint32_t>(info.at(t).to_number<int64_t>());
            if (out.output >= e.num_outputs()) return Unsupported("tree output out of range");
            out.nodes.resize(left.size());
            for (size_t n = 0; n < left.size(); ++n) {
                Node& node = out.nodes[n];
                node.left = static_cast<int32_t>(left[n].to_number<int64_t>());
                node.right = static_cast<int32_t>(right[n].to_number<int64_t>());
                node.feature = static_cast<uint32_t>(index[n].to_number<int64_t>());
                node.value = static_cast<float>(cond[n].to_number<double>());
                node.default_left = dflt[n].to_number<int64_t>() != 0;
                if (type[n].to_number<int64_t>() != 0) return Unsupported("categorical splits");
                const bool leaf = node.left == -1;
                if (!leaf && (node.left <= 0 || node.right <= 0 || static_cast<size_t>(node.left) >= left.size() ||
                              static_cast<size_t>(node.right) >= left.size() || node.feature >= e.num_features_)) {
                    return Unsupported("malformed tree " + std::to_string(t));
                }
            }
            e.trees_.push_back(std::move(out));
        }
    } catch (const std::exception& ex) {
        return Unsupported(std::string("unreadable (") + ex.what() + ")");
    }
    return e;
}

void TreeEnsemble::Predict(const float* row, float* out) const {
    const size_t k = num_outputs();
    double margin[64];
    for (size_t c = 0; c < k && c < 64; ++c) margin[c] = base_margin_;
    for (const Tree& tree : trees_) {
        int32_t n = 0;
        while (tree.nodes[static_cast<size_t>(n)].left != -1) {
            const Node& node = tree.nodes[static_cast<size_t>(n)];
            const float x = row[node.feature];
            n = std::isnan(x) ? (node.default_left ? node.left : node.right)
                              : (x < node.value ? node.left : node.right);
        }
        margin[tree.output] += tree.nodes[static_cast<size_t>(n)].value;
    }
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

}  // namespace vg::models
