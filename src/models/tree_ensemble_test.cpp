// TreeEnsemble's flat layout and batch walk against a plain walk of the XGBoost JSON trees (the
// evaluator it replaced), on the shipped models and on hand-made trees.
#include "vg/models/tree_ensemble.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "fleet_rows_test_support.hpp"
#include "vg/models/features.hpp"
#include "vg/models/status_model.hpp"

namespace vg::models {
namespace {

namespace json = boost::json;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// The straightforward evaluator: each tree as the file's arrays, walked node by node with branches.
class ReferenceEnsemble {
  public:
    explicit ReferenceEnsemble(const std::string& text) {
        const json::value root = json::parse(text);
        const json::object& learner = root.at("learner").as_object();
        const json::object& param = learner.at("learner_model_param").as_object();
        auto number = [](const json::value& v) {
            return v.is_string() ? std::stod(std::string(v.as_string())) : v.to_number<double>();
        };
        k_ = std::max<size_t>(1, static_cast<size_t>(number(param.at("num_class"))));
        logistic_ = learner.at("objective").at("name").as_string() == "binary:logistic";
        const double base = number(param.at("base_score"));
        base_ = logistic_ ? static_cast<float>(std::log(base / (1 - base))) : static_cast<float>(base);
        const json::object& model = learner.at("gradient_booster").at("model").as_object();
        const json::array& info = model.at("tree_info").as_array();
        for (size_t t = 0; t < model.at("trees").as_array().size(); ++t) {
            const json::object& tree = model.at("trees").as_array()[t].as_object();
            Tree out;
            out.output = static_cast<size_t>(info[t].to_number<int64_t>());
            for (size_t n = 0; n < tree.at("left_children").as_array().size(); ++n) {
                out.left.push_back(tree.at("left_children").as_array()[n].to_number<int>());
                out.right.push_back(tree.at("right_children").as_array()[n].to_number<int>());
                out.feature.push_back(tree.at("split_indices").as_array()[n].to_number<int>());
                out.value.push_back(static_cast<float>(tree.at("split_conditions").as_array()[n].to_number<double>()));
                out.default_left.push_back(tree.at("default_left").as_array()[n].to_number<int>() != 0);
            }
            trees_.push_back(std::move(out));
        }
    }
    std::vector<float> Predict(const float* row) const {
        std::vector<double> margin(k_, base_);
        for (const Tree& t : trees_) {
            size_t n = 0;
            while (t.left[n] != -1) {
                const float x = row[t.feature[n]];
                const bool left = std::isnan(x) ? t.default_left[n] : x < t.value[n];
                n = static_cast<size_t>(left ? t.left[n] : t.right[n]);
            }
            margin[t.output] += t.value[n];
        }
        std::vector<float> out(k_);
        if (logistic_) {
            out[0] = static_cast<float>(1 / (1 + std::exp(-margin[0])));
            return out;
        }
        const double max = *std::max_element(margin.begin(), margin.end());
        double sum = 0;
        for (double m : margin) sum += std::exp(m - max);
        for (size_t c = 0; c < k_; ++c) out[c] = static_cast<float>(std::exp(margin[c] - max) / sum);
        return out;
    }
    // Every split threshold of the model, per feature (rows exactly on a threshold test the "<").
    std::vector<std::vector<float>> Thresholds(size_t features) const {
        std::vector<std::vector<float>> out(features);
        for (const Tree& t : trees_)
            for (size_t n = 0; n < t.left.size(); ++n)
                if (t.left[n] != -1) out[static_cast<size_t>(t.feature[n])].push_back(t.value[n]);
        return out;
    }

  private:
    struct Tree {
        std::vector<int> left, right, feature;
        std::vector<float> value;
        std::vector<bool> default_left;
        size_t output = 0;
    };
    std::vector<Tree> trees_;
    size_t k_ = 1;
    bool logistic_ = false;
    float base_ = 0;
};

std::filesystem::path ShippedModels() {
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "models";
}

std::string ReadText(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Fleet rows plus rows whose features sit exactly on the model's thresholds, or are +-inf or NaN.
std::vector<float> TestRows(const ReferenceEnsemble& ref, const ExercisePca& pca) {
    std::vector<float> rows = test_support::FleetRows(pca);
    const auto thresholds = ref.Thresholds(kFeatureCount);
    std::mt19937 rng(3);
    const size_t fleet = rows.size() / kFeatureCount;
    for (int i = 0; i < 2000; ++i) {
        const size_t from = rng() % fleet;
        for (size_t c = 0; c < kFeatureCount; ++c) {
            float v = rows[from * kFeatureCount + c];
            const int pick = static_cast<int>(rng() % 10);
            if (pick < 5 && !thresholds[c].empty()) v = thresholds[c][rng() % thresholds[c].size()];
            if (pick == 5) v = kNaN;
            if (pick == 6) v = (rng() % 2) != 0 ? kInf : -kInf;
            rows.push_back(v);
        }
    }
    return rows;
}

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(TreeEnsembleTest, ShippedModelsGiveTheReferenceWalksNumbersBitForBitOneRowAndBatched) {
    auto status = StatusModel::Load(ShippedModels().string(), "status");
    ASSERT_TRUE(status.ok()) << status.status().ToString();
    size_t checked_files = 0;
    for (const std::string name :
         {"status", "cause.heart_rate", "cause.respiration_rate", "cause.skin_temp", "cause.spo2"}) {
        const std::string text = ReadText(ShippedModels() / (name + ".json"));
        ASSERT_FALSE(text.empty()) << name;
        const ReferenceEnsemble ref(text);
        auto e = TreeEnsemble::FromXgboostJson(text);
        ASSERT_TRUE(e.ok()) << e.status().ToString();
        ASSERT_EQ(e->num_features(), kFeatureCount);
        const size_t k = e->num_outputs();
        const std::vector<float> rows = TestRows(ref, status->pca());
        const size_t n = rows.size() / kFeatureCount;
        std::vector<float> batch(n * k);
        e->PredictBatch(rows.data(), n, batch.data());
        size_t argmax_differs = 0;
        for (size_t i = 0; i < n; ++i) {
            const float* row = rows.data() + i * kFeatureCount;
            const std::vector<float> want = ref.Predict(row);
            std::vector<float> one(k);
            e->Predict(row, one.data());
            for (size_t c = 0; c < k; ++c) {
                ASSERT_TRUE(SameBits(one[c], want[c])) << name << " row " << i << " class " << c;
                ASSERT_TRUE(SameBits(batch[i * k + c], want[c])) << name << " batched row " << i << " class " << c;
            }
            argmax_differs += std::max_element(one.begin(), one.end()) !=
                              one.begin() + (std::max_element(want.begin(), want.end()) - want.begin());
        }
        EXPECT_EQ(argmax_differs, 0u);
        // Batches of every awkward size (a partial lane group, a partial block) and at any offset.
        for (size_t size :
             {size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{255}, size_t{256}, size_t{257}, size_t{1000}}) {
            const size_t from = (size * 37) % (n - size);
            std::vector<float> part(size * k);
            e->PredictBatch(rows.data() + from * kFeatureCount, size, part.data());
            for (size_t i = 0; i < size * k; ++i) {
                ASSERT_TRUE(SameBits(part[i], batch[from * k + i])) << name << " batch of " << size << " at " << i;
            }
        }
        ++checked_files;
    }
    EXPECT_EQ(checked_files, 5u);
}

// A one-class logistic model of two trees written by hand: tree 0 splits feature 1 at 0.5 with missing
// values going LEFT, its left child splits feature 0 at -1 with missing values going RIGHT.
std::string HandModel(const std::string& tree0_left = "[1, 3, -1, -1, -1]") {
    return R"({"learner": {"learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "2"},
      "objective": {"name": "binary:logistic"},
      "gradient_booster": {"name": "gbtree", "model": {"tree_info": [0, 0], "trees": [
        {"left_children": )" +
           tree0_left + R"(, "right_children": [2, 4, -1, -1, -1],
         "split_indices": [1, 0, 0, 0, 0], "split_conditions": [0.5, -1, 0.25, -0.5, 0.75],
         "default_left": [1, 0, 0, 0, 0], "split_type": [0, 0, 0, 0, 0]},
        {"left_children": [-1], "right_children": [-1], "split_indices": [0], "split_conditions": [0.125],
         "default_left": [0], "split_type": [0]}]}}}})";
}

TEST(TreeEnsembleTest, MissingValuesFollowEachNodesDefaultDirectionAndThresholdsGoRight) {
    auto e = TreeEnsemble::FromXgboostJson(HandModel());
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(e->num_trees(), 2u);
    EXPECT_EQ(e->num_nodes(), 6u);
    auto margin_of = [&](float f0, float f1) {
        const float row[2] = {f0, f1};
        float p = 0;
        e->Predict(row, &p);
        float q = 0;
        e->PredictBatch(row, 1, &q);
        EXPECT_TRUE(SameBits(p, q));
        return std::log(p / (1 - p)) - 0.125;  // base margin 0, tree 1 adds 0.125
    };
    EXPECT_NEAR(margin_of(0, 1), 0.25, 1e-6) << "f1 >= 0.5: right leaf";
    EXPECT_NEAR(margin_of(0, 0.5f), 0.25, 1e-6) << "on the threshold: right (x < value goes left)";
    EXPECT_NEAR(margin_of(-2, 0), -0.5, 1e-6) << "f1 < 0.5, f0 < -1: left-left";
    EXPECT_NEAR(margin_of(0, 0), 0.75, 1e-6) << "f1 < 0.5, f0 >= -1: left-right";
    EXPECT_NEAR(margin_of(-2, kNaN), -0.5, 1e-6) << "missing f1 goes left at the root";
    EXPECT_NEAR(margin_of(kNaN, 0), 0.75, 1e-6) << "missing f0 goes right at the second split";
    EXPECT_NEAR(margin_of(kNaN, kNaN), 0.75, 1e-6);
    EXPECT_NEAR(margin_of(-kInf, kInf), 0.25, 1e-6);
    EXPECT_NEAR(margin_of(-kInf, -kInf), -0.5, 1e-6);
}

TEST(TreeEnsembleTest, RefusesTreesThatAreNotTrees) {
    EXPECT_TRUE(TreeEnsemble::FromXgboostJson(HandModel()).ok());
    // A child pointing back at the root, a child shared by two splits, a child out of range.
    for (const std::string left : {"[1, 0, -1, -1, -1]", "[1, 2, -1, -1, -1]", "[1, 9, -1, -1, -1]"}) {
        auto e = TreeEnsemble::FromXgboostJson(HandModel(left));
        ASSERT_FALSE(e.ok()) << left;
        EXPECT_EQ(e.status().code(), ErrorCode::kValidationFailed);
    }
    EXPECT_FALSE(TreeEnsemble::FromXgboostJson(R"({"learner": {}})").ok());
}

}  // namespace
}  // namespace vg::models
