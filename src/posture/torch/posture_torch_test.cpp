// Tests of the libtorch posture network, its model files, data loading and evaluation. Data tests read
// small slices of the real data sets in place (../shared/data or $VG_SHARED_DATA, tests/shared_data: skipped
// without them); the shipped-model tests read models/.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "augment.hpp"
#include "model_file.hpp"
#include "network.hpp"
#include "vg/posture/native/native_classifier.hpp"
#include "vg/posture/native/safetensors.hpp"
#include "vg/posture/torch/torch_classifier.hpp"
#include "vg/posture/torch/training.hpp"
#include "vg/testing/shared_data.hpp"

namespace vg::posture {
namespace {

namespace fs = std::filesystem;

class TempDir {
  public:
    TempDir() {
        path_ = fs::temp_directory_path() /
                ("vg_posture_torch_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

  private:
    static inline int counter_ = 0;
    fs::path path_;
};

net::NetworkConfig SmallConfig() {
    net::NetworkConfig c;
    c.width = 8;
    c.transformer_dim = 16;
    c.heads = 2;
    c.layers = 1;
    return c;
}

std::vector<ModelWindow> RandomWindows(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0F, 0.3F);
    std::vector<ModelWindow> out(n);
    for (size_t i = 0; i < n; ++i) {
        out[i].placement = i % 2 ? Placement::kWaist : Placement::kWrist;
        out[i].gravity_removed = i % 3 == 0;
        for (size_t t = 0; t < kWindowSamples; ++t) {
            for (size_t c = 0; c < kChannels; ++c) {
                out[i].values[t * kChannels + c] = c == 1 ? 1.0F + noise(rng) : noise(rng) * (c >= 3 ? 60.0F : 1.0F);
            }
        }
    }
    return out;
}

// A network whose batch norms have non-trivial statistics (a few training-mode passes).
net::PostureNet TrainedLookingNet(const net::NetworkConfig& config) {
    torch::manual_seed(3);
    net::PostureNet model(config);
    model->train();
    torch::NoGradGuard no_grad;
    for (uint32_t i = 0; i < 3; ++i) model->forward(net::InputTensor(RandomWindows(16, i)));
    model->eval();
    return model;
}

void WriteManifest(const fs::path& dir, const boost::json::object& network, double threshold = 0.6) {
    boost::json::object m{{"version", "test-model"}, {"network", network}, {"fall_threshold", threshold}};
    std::ofstream(dir / kManifestFile) << boost::json::serialize(m);
}

TEST(PostureNetwork, GivesNineLogitsPerWindowWithinTheSizeBudget) {
    net::PostureNet model(net::NetworkConfig{});
    model->eval();
    torch::NoGradGuard no_grad;
    auto logits = model->forward(net::InputTensor(RandomWindows(5, 1)));
    EXPECT_EQ(logits.size(0), 5);
    EXPECT_EQ(logits.size(1), static_cast<int64_t>(kNumModelClasses));
    // The default shape stays well inside the 1–2 MB of weights.
    EXPECT_LT(net::ParameterCount(*model) * 4, 1'000'000);
}

TEST(PostureNetwork, InputCarriesPlacementAndGravityFlagsAndScalesTheGyroscope) {
    auto windows = RandomWindows(2, 5);
    windows[0].placement = Placement::kWaist;
    windows[0].gravity_removed = true;
    windows[1].placement = Placement::kWrist;
    windows[1].gravity_removed = false;
    auto x = net::InputTensor(windows);
    EXPECT_FLOAT_EQ(x[0][6][10].item<float>(), 1.0F);
    EXPECT_FLOAT_EQ(x[0][7][10].item<float>(), 1.0F);
    EXPECT_FLOAT_EQ(x[1][6][10].item<float>(), 0.0F);
    EXPECT_FLOAT_EQ(x[1][7][10].item<float>(), 0.0F);
    EXPECT_FLOAT_EQ(x[1][0][7].item<float>(), windows[1].values[7 * kChannels + 0]);
    EXPECT_FLOAT_EQ(x[1][4][7].item<float>(), windows[1].values[7 * kChannels + 4] / net::kGyroScaleDps);
}

TEST(PostureNetwork, FoldingBatchNormKeepsTheOutputs) {
    auto model = TrainedLookingNet(SmallConfig());
    const auto x = net::InputTensor(RandomWindows(8, 9));
    torch::NoGradGuard no_grad;
    const auto before = torch::softmax(model->forward(x), 1);
    net::FuseForInference(model);
    const auto after = torch::softmax(model->forward(x), 1);
    EXPECT_TRUE(torch::allclose(before, after, 1e-4, 1e-5)) << (before - after).abs().max().item<float>();
}

TEST(PostureModelFiles, SaveThenLoadGivesIdenticalOutputs) {
    TempDir dir;
    const auto config = SmallConfig();
    auto model = TrainedLookingNet(config);
    ASSERT_TRUE(SaveWeights(model, dir.path() / kWeightsFile).ok());
    WriteManifest(dir.path(), ConfigToJson(config));

    const auto windows = RandomWindows(6, 11);
    const auto x = net::InputTensor(windows);
    torch::NoGradGuard no_grad;
    const auto original = model->forward(x);
    auto reloaded = LoadWeights(config, dir.path() / kWeightsFile);
    ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
    net::PostureNet reloaded_net = std::move(reloaded).value();
    reloaded_net->eval();
    EXPECT_TRUE(torch::equal(original, reloaded_net->forward(x)));  // bit for bit

    auto a = LoadTorchClassifier(dir.path());
    auto b = LoadTorchClassifier(dir.path());
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ((*a)->info().version, "test-model");
    EXPECT_FLOAT_EQ((*a)->info().fall_threshold, 0.6F);
    auto pa = (*a)->Classify(windows);
    auto pb = (*b)->Classify(windows);
    ASSERT_TRUE(pa.ok());
    ASSERT_TRUE(pb.ok());
    const auto expected = torch::softmax(original, 1);
    for (size_t i = 0; i < windows.size(); ++i) {
        EXPECT_EQ((*pa)[i].probabilities, (*pb)[i].probabilities);
        float sum = 0;
        for (size_t c = 0; c < kNumModelClasses; ++c) {
            EXPECT_NEAR((*pa)[i].probabilities[c],
                        expected[static_cast<int64_t>(i)][static_cast<int64_t>(c)].item<float>(), 1e-5);
            sum += (*pa)[i].probabilities[c];
        }
        EXPECT_NEAR(sum, 1.0F, 1e-5);
    }
}

TEST(PostureModelFiles, LoadingNamesWhatIsWrong) {
    TempDir dir;
    auto missing = LoadTorchClassifier(dir.path());
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);

    auto config_json = ConfigToJson(SmallConfig());
    config_json["width"] = 0;
    WriteManifest(dir.path(), config_json);
    auto bad_width = LoadTorchClassifier(dir.path());
    ASSERT_FALSE(bad_width.ok());
    EXPECT_EQ(bad_width.status().code(), ErrorCode::kValidationFailed);
    ASSERT_FALSE(bad_width.status().fields().empty());
    EXPECT_EQ(bad_width.status().fields()[0].field, "network.width");

    WriteManifest(dir.path(), ConfigToJson(SmallConfig()), 1.5);
    auto bad_threshold = LoadTorchClassifier(dir.path());
    ASSERT_FALSE(bad_threshold.ok());
    EXPECT_EQ(bad_threshold.status().fields().at(0).field, "fall_threshold");

    // Weights of another shape than the manifest says.
    auto other = TrainedLookingNet(net::NetworkConfig{});
    ASSERT_TRUE(SaveWeights(other, dir.path() / kWeightsFile).ok());
    WriteManifest(dir.path(), ConfigToJson(SmallConfig()));
    auto mismatch = LoadTorchClassifier(dir.path());
    ASSERT_FALSE(mismatch.ok());
    EXPECT_EQ(mismatch.status().code(), ErrorCode::kValidationFailed);

    std::ofstream(dir.path() / kManifestFile) << "{not json";
    auto garbage = LoadTorchClassifier(dir.path());
    ASSERT_FALSE(garbage.ok());
    EXPECT_EQ(garbage.status().code(), ErrorCode::kValidationFailed);
}

TEST(PosturePrediction, OtherMapsToTheNearestPostureAndNeverToFall) {
    std::array<float, kNumModelClasses> p{};
    p[kOtherClass] = 0.5F;
    p[static_cast<size_t>(Posture::kFall)] = 0.3F;
    p[static_cast<size_t>(Posture::kSitting)] = 0.15F;
    p[static_cast<size_t>(Posture::kWalking)] = 0.05F;
    const auto pred = PredictionFromProbabilities(p);
    EXPECT_TRUE(pred.other);
    EXPECT_EQ(pred.model_class, kOtherClass);
    EXPECT_EQ(pred.posture, Posture::kSitting);
    EXPECT_FLOAT_EQ(pred.fall_probability(), 0.3F);
}

// A slice of the real data: the first recording of a few SisFall activities for every subject, and one
// HIFD subject, read in place.
const fs::path kData = ::vg::testing::SharedDataRoot();

// LoadPostureData reads every data set unless all_as_test: a test that calls it needs them all.
#define REQUIRE_EVERY_DATA_SET() \
    for (imu::DatasetId d : imu::kAllDatasets) VG_REQUIRE_DATA_SET(imu::DatasetName(d))

DataOptions Slice(std::set<std::string> sisfall_codes) {
    DataOptions o;
    o.include = [codes = std::move(sisfall_codes)](const imu::TrialInfo& t) {
        if (t.dataset == imu::DatasetId::kSisFall) return t.trial_number == 1 && codes.count(t.activity_code) > 0;
        if (t.dataset == imu::DatasetId::kHifd) return t.subject == "subject_01";
        return false;
    };
    return o;
}

TEST(PostureData, ReadsRealTrialsSplitBySubjectWithTheirFlags) {
    REQUIRE_EVERY_DATA_SET();
    auto data = LoadPostureData(kData, Slice({"F01", "D01"}));
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    ASSERT_GT(data->trials.size(), 10u);
    std::map<std::string, imu::Split> split_of;
    size_t fall_windows = 0, walking_windows = 0, hifd_windows = 0;
    for (imu::Split split : {imu::Split::kTrain, imu::Split::kValidation, imu::Split::kTest}) {
        const WindowSet& set = data->Get(split);
        for (size_t i = 0; i < set.size(); ++i) {
            const TrialMeta& t = data->trials[set.trials[i]];
            EXPECT_EQ(t.split, split);
            auto [it, inserted] = split_of.emplace(t.subject, split);
            EXPECT_EQ(it->second, split) << t.subject << " is in two splits";
            fall_windows += set.labels[i] == static_cast<uint8_t>(Posture::kFall);
            walking_windows += set.labels[i] == static_cast<uint8_t>(Posture::kWalking);
            if (t.dataset == imu::DatasetId::kHifd) {
                ++hifd_windows;
                EXPECT_TRUE(set.windows[i].gravity_removed);
                EXPECT_EQ(set.windows[i].placement, Placement::kWrist);
            } else {
                EXPECT_FALSE(set.windows[i].gravity_removed);
                EXPECT_EQ(set.windows[i].placement, Placement::kWaist);
            }
        }
    }
    EXPECT_GT(fall_windows, 20u);
    EXPECT_GT(walking_windows, 100u);
    EXPECT_GT(hifd_windows, 50u);
    EXPECT_FALSE(data->train.windows.empty());
    EXPECT_FALSE(data->test.windows.empty());
}

// Says the same thing for every window.
class ConstantClassifier : public PostureClassifier {
  public:
    explicit ConstantClassifier(Posture posture) {
        std::array<float, kNumModelClasses> p{};
        p[static_cast<size_t>(posture)] = 0.9F;
        p[kOtherClass] = 0.1F;
        prediction_ = PredictionFromProbabilities(p);
        info_.fall_threshold = 0.5F;
    }
    Result<std::vector<PosturePrediction>> Classify(std::span<const ModelWindow> windows) const override {
        return std::vector<PosturePrediction>(windows.size(), prediction_);
    }
    const ClassifierInfo& info() const override { return info_; }

  private:
    PosturePrediction prediction_;
    ClassifierInfo info_;
};

TEST(PostureEvaluation, CountsFallEventsPerTrialAndWindowsPerClass) {
    REQUIRE_EVERY_DATA_SET();
    auto data = LoadPostureData(kData, Slice({"F01", "D01", "D19"}));
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    std::set<uint32_t> test_trials(data->test.trials.begin(), data->test.trials.end());
    size_t falls = 0, adls = 0;
    for (uint32_t t : test_trials) (data->trials[t].is_fall_trial ? falls : adls) += 1;
    ASSERT_GT(falls, 0u);
    ASSERT_GT(adls, 0u);

    auto always_fall = Evaluate(ConstantClassifier(Posture::kFall), *data, imu::Split::kTest, 1);
    ASSERT_TRUE(always_fall.ok());
    const GroupMetrics& all = always_fall->groups.back();
    EXPECT_EQ(all.name, "all");
    EXPECT_EQ(all.falls.fall_trials, falls);
    EXPECT_EQ(all.falls.detected, falls);
    EXPECT_EQ(all.falls.adl_trials, adls);
    EXPECT_EQ(all.falls.false_alarms, adls);
    EXPECT_DOUBLE_EQ(all.falls.sensitivity(), 1.0);
    EXPECT_DOUBLE_EQ(all.falls.specificity(), 0.0);
    EXPECT_GT(all.falls.other_trials, 0u);  // D19, a gentle jump, is "none of the eight"
    EXPECT_EQ(all.falls.other_false, all.falls.other_trials);

    auto always_walking = Evaluate(ConstantClassifier(Posture::kWalking), *data, imu::Split::kTest, 1);
    ASSERT_TRUE(always_walking.ok());
    const GroupMetrics& w = always_walking->groups.back();
    EXPECT_EQ(w.falls.detected, 0u);
    EXPECT_DOUBLE_EQ(w.falls.specificity(), 1.0);
    size_t labelled = 0, walking = 0;
    for (uint8_t l : data->test.labels) {
        labelled += l != 255;
        walking += l == static_cast<uint8_t>(Posture::kWalking);
    }
    EXPECT_EQ(w.windows, labelled);
    EXPECT_NEAR(w.accuracy, static_cast<double>(walking) / static_cast<double>(labelled), 1e-9);
    EXPECT_DOUBLE_EQ(w.classes[static_cast<size_t>(Posture::kWalking)].recall, 1.0);
    EXPECT_EQ(w.confusion[static_cast<size_t>(Posture::kFall)][static_cast<size_t>(Posture::kWalking)],
              w.classes[static_cast<size_t>(Posture::kFall)].support);
    EXPECT_NE(always_walking->ToHtml().find("<table>"), std::string::npos);
    EXPECT_NE(always_walking->ToJson().find("\"fall_events\""), std::string::npos);
}

TEST(PostureTraining, ATinyRunWritesALoadableModelWithItsManifest) {
    REQUIRE_EVERY_DATA_SET();
    auto data = LoadPostureData(kData, Slice({"F01", "D01", "D07"}));
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    TempDir dir;
    TrainOptions o;
    o.shape = {8, 16, 2, 1};
    o.max_epochs = 1;
    o.warmup_epochs = 1;
    o.per_class_per_epoch = 40;
    o.batch_size = 32;
    o.threads = 1;
    o.command_line = "test";
    auto result = TrainPosture(*data, o, dir.path(), kData);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->epochs_run, 1);
    EXPECT_GT(result->fall_threshold, 0.0F);
    EXPECT_LT(result->fall_threshold, 1.0F);
    auto loaded = LoadTorchClassifier(dir.path());
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ((*loaded)->info().version, result->version);
    std::ifstream in(dir.path() / kManifestFile);
    std::stringstream text;
    text << in.rdbuf();
    auto manifest = boost::json::parse(text.str()).as_object();
    for (const char* key : {"classes", "input", "network", "data", "split", "training", "metrics", "parameters"}) {
        EXPECT_TRUE(manifest.contains(key)) << key;
    }
    EXPECT_EQ(manifest["split"].as_object()["by"].as_string(), "subject");
    EXPECT_TRUE(manifest["metrics"].as_object().contains("test"));
    // The server's weights are written beside posture.pt and load into the native engine.
    EXPECT_EQ(manifest["serving_weights"].as_string(), native::kServingWeightsFile);
    auto served = native::LoadNativeClassifier(dir.path());
    ASSERT_TRUE(served.ok()) << served.status().ToString();
    EXPECT_EQ((*served)->info().version, result->version);
}

// `eval posture --split all`: every subject of the folder is evaluated except those the model was trained or
// tuned on, and missing data set folders are skipped.
TEST(PostureData, AllAsTestEvaluatesEverySubjectButTheExcludedOnes) {
    VG_REQUIRE_DATA_SET("sisfall");
    TempDir root;
    fs::create_directory_symlink(kData / "sisfall", root.path() / "sisfall");  // SisFall only
    DataOptions o;
    // D01 (walking): the elderly subjects did no falls in SisFall.
    o.include = [](const imu::TrialInfo& t) { return t.trial_number == 1 && t.activity_code == "D01"; };
    o.all_as_test = true;
    o.exclude_subjects = {{"sisfall", {"SA01", "SE01"}}};
    auto data = LoadPostureData(root.path(), o);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    EXPECT_EQ(data->train.size(), 0u);
    EXPECT_EQ(data->validation.size(), 0u);
    ASSERT_GT(data->test.size(), 0u);
    std::set<std::string> subjects;
    for (uint32_t trial : data->test.trials) subjects.insert(data->trials[trial].subject);
    EXPECT_FALSE(subjects.contains("SA01"));
    EXPECT_FALSE(subjects.contains("SE01"));
    EXPECT_GE(subjects.size(), 20u);  // every other subject, whatever split training gave it
    EXPECT_EQ(data->excluded.at("sisfall"), (std::set<std::string>{"SA01", "SE01"}));

    DataOptions strict;  // training needs every data set
    strict.include = o.include;
    EXPECT_EQ(LoadPostureData(root.path(), strict).status().code(), ErrorCode::kNotFound);
    TempDir empty;
    EXPECT_EQ(LoadPostureData(empty.path(), o).status().code(), ErrorCode::kNotFound);
}

// A file that cannot be read stops loading, naming it; --skip-unreadable counts it and goes on.
TEST(PostureData, AnUnreadableFileIsNamedOrSkippedWhenAsked) {
    VG_REQUIRE_DATA_SET("sisfall/SA02");
    const fs::path source = kData / "sisfall" / "SA02";
    TempDir root;
    const fs::path subject = root.path() / "sisfall" / "SA02";
    fs::create_directories(subject);
    for (const char* name : {"D01_SA02_R01.csv.gz", "F01_SA02_R01.csv.gz"}) {
        fs::create_symlink(source / name, subject / name);
    }
    std::ofstream(subject / "D02_SA02_R01.csv.gz") << "this is not gzip";
    DataOptions o;
    o.all_as_test = true;
    auto strict = LoadPostureData(root.path(), o);
    ASSERT_FALSE(strict.ok());
    EXPECT_NE(strict.status().message().find("D02_SA02_R01.csv.gz"), std::string::npos) << strict.status().message();
    o.skip_unreadable = true;
    auto lenient = LoadPostureData(root.path(), o);
    ASSERT_TRUE(lenient.ok()) << lenient.status().ToString();
    ASSERT_EQ(lenient->unreadable.size(), 1u);
    EXPECT_NE(lenient->unreadable[0].find("D02_SA02_R01.csv.gz"), std::string::npos) << lenient->unreadable[0];
    EXPECT_GT(lenient->test.size(), 0u);  // the two good trials
}

TEST(PostureTraining, AugmentationRotatesBothSensorsTogetherAndKeepsThePlacementFlag) {
    const auto windows = RandomWindows(32, 17);
    const torch::Tensor x = net::InputTensor(windows);
    std::mt19937_64 rng(1);
    Augmentation rotation_only;
    rotation_only.wrist_rotation_p = 1;
    rotation_only.gain = rotation_only.stretch = rotation_only.acc_noise_g = rotation_only.gyro_noise_dps = 0;
    rotation_only.shift_samples = 0;
    rotation_only.gravity_removal_p = 0;
    const torch::Tensor y = AugmentBatch(x, rotation_only, rng);
    ASSERT_EQ(y.sizes(), x.sizes());
    // A rotation keeps every sample's |a| and |ω| and changes their direction (wrist windows: any rotation).
    auto norm = [](const torch::Tensor& t, int64_t from) { return t.slice(1, from, from + 3).norm(2, 1); };
    EXPECT_TRUE(torch::allclose(norm(y, 0), norm(x, 0), 1e-4, 1e-5));
    EXPECT_TRUE(torch::allclose(norm(y, 3), norm(x, 3), 1e-4, 1e-5));
    EXPECT_FALSE(torch::allclose(y.slice(1, 0, 3), x.slice(1, 0, 3), 1e-2, 1e-2));
    EXPECT_TRUE(torch::equal(y.slice(1, 6, 8), x.slice(1, 6, 8)));  // flags unchanged

    Augmentation gravity;  // every gravity-included window turned into a gravity-removed one, nothing else
    gravity.wrist_rotation_p = 0;
    gravity.waist_rotation_deg = gravity.gain = gravity.stretch = gravity.acc_noise_g = gravity.gyro_noise_dps = 0;
    gravity.shift_samples = 0;
    gravity.gravity_removal_p = 1;
    auto with_gravity = windows;
    for (auto& w : with_gravity) w.gravity_removed = false;
    const torch::Tensor xg = net::InputTensor(with_gravity);
    const torch::Tensor g = AugmentBatch(xg, gravity, rng);
    EXPECT_TRUE(torch::allclose(g.slice(1, 7, 8), torch::ones_like(g.slice(1, 7, 8))));
    EXPECT_LT(g.slice(1, 0, 3).mean(2).abs().max().item<float>(), 1e-5F);
    EXPECT_TRUE(torch::equal(g.slice(1, 3, 7), xg.slice(1, 3, 7)));  // gyroscope and placement untouched
    // A window whose device already removed gravity is left as it is.
    const torch::Tensor removed = AugmentBatch(x.slice(0, 0, 1), gravity, rng);  // RandomWindows: 0 is removed
    EXPECT_TRUE(torch::allclose(removed, x.slice(0, 0, 1)));

    Augmentation defaults;  // everything at once stays finite and keeps the layout
    const torch::Tensor d = AugmentBatch(x, defaults, rng);
    EXPECT_TRUE(torch::isfinite(d).all().item<bool>());
    EXPECT_TRUE(torch::equal(d.slice(1, 6, 7), x.slice(1, 6, 7)));
}

// The largest difference between two classifiers' probabilities over `windows`.
float MaxProbabilityDifference(const PostureClassifier& a, const PostureClassifier& b,
                               std::span<const ModelWindow> windows) {
    auto pa = a.Classify(windows);
    auto pb = b.Classify(windows);
    EXPECT_TRUE(pa.ok() && pb.ok());
    if (!pa.ok() || !pb.ok()) return 1.0F;
    float worst = 0;
    for (size_t i = 0; i < windows.size(); ++i) {
        for (size_t c = 0; c < kNumModelClasses; ++c) {
            worst = std::max(worst, std::abs((*pa)[i].probabilities[c] - (*pb)[i].probabilities[c]));
        }
    }
    return worst;
}

native::NetworkShape ShapeOf(const net::NetworkConfig& c) {
    return {c.width, c.transformer_dim, c.heads, c.layers, c.mlp_ratio};
}

TEST(NativeEngine, EqualsLibtorchOnExportedNetworksOfTwoShapes) {
    for (const net::NetworkConfig& config : {SmallConfig(), net::NetworkConfig{}}) {
        TempDir dir;
        auto model = TrainedLookingNet(config);
        ASSERT_TRUE(SaveWeights(model, dir.path() / kWeightsFile).ok());
        ASSERT_TRUE(ExportServingWeights(model, dir.path() / native::kServingWeightsFile, "test-model").ok());
        WriteManifest(dir.path(), ConfigToJson(config));
        auto torch_classifier = LoadTorchClassifier(dir.path());
        ASSERT_TRUE(torch_classifier.ok()) << torch_classifier.status().ToString();
        auto weights = native::ReadSafetensors(dir.path() / native::kServingWeightsFile);
        ASSERT_TRUE(weights.ok()) << weights.status().ToString();
        EXPECT_EQ(weights->metadata["version"], "test-model");
        EXPECT_FALSE(weights->tensors.contains("stem.bn.num_batches_tracked"));  // a training counter, not a weight
        auto native_classifier = native::MakeNativeClassifier(ShapeOf(config), *weights, {"test-model", 0.6F});
        ASSERT_TRUE(native_classifier.ok()) << native_classifier.status().ToString();
        const auto windows = RandomWindows(70, 21);  // several of the engine's chunks, the last one partial
        EXPECT_LT(MaxProbabilityDifference(**torch_classifier, **native_classifier, windows), 1e-4F)
            << config.Describe();
    }
}

TEST(NativeEngine, RefusesWeightsOfAnotherShapeNamingTheTensor) {
    auto model = TrainedLookingNet(SmallConfig());
    TempDir dir;
    ASSERT_TRUE(ExportServingWeights(model, dir.path() / native::kServingWeightsFile, "v").ok());
    auto weights = native::ReadSafetensors(dir.path() / native::kServingWeightsFile);
    ASSERT_TRUE(weights.ok());
    native::NetworkShape wider = ShapeOf(SmallConfig());
    wider.width = 16;
    auto refused = native::MakeNativeClassifier(wider, *weights, {"v", 0.5F});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kValidationFailed);
    EXPECT_NE(refused.status().message().find("shape"), std::string::npos) << refused.status().message();
}

// The shipped model: the server's engine and libtorch agree on real windows of every data set and placement.
TEST(ShippedPostureModel, NativeEngineEqualsLibtorchOnRealWindows) {
    const fs::path models = VG_MODELS_DIR;
    if (!fs::exists(models / native::kServingWeightsFile)) GTEST_SKIP() << "no shipped posture model in " << models;
    REQUIRE_EVERY_DATA_SET();
    auto torch_classifier = LoadTorchClassifier(models);
    auto native_classifier = native::LoadNativeClassifier(models);
    ASSERT_TRUE(torch_classifier.ok()) << torch_classifier.status().ToString();
    ASSERT_TRUE(native_classifier.ok()) << native_classifier.status().ToString();
    EXPECT_EQ((*native_classifier)->info().version, (*torch_classifier)->info().version);
    EXPECT_EQ((*native_classifier)->info().fall_threshold, (*torch_classifier)->info().fall_threshold);
    DataOptions slice;  // SisFall waist, UMAFall wrist and waist, HIFD wrist without gravity
    slice.include = [](const imu::TrialInfo& t) {
        if (t.dataset == imu::DatasetId::kSisFall) {
            return t.trial_number == 1 && (t.activity_code == "F01" || t.activity_code == "D07");
        }
        if (t.dataset == imu::DatasetId::kUmaFall) return t.subject == "Subject_02" || t.subject == "Subject_09";
        return t.dataset == imu::DatasetId::kHifd && t.subject == "subject_01";
    };
    auto data = LoadPostureData(kData, slice);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    std::vector<ModelWindow> windows = data->test.windows;
    windows.insert(windows.end(), data->validation.windows.begin(), data->validation.windows.end());
    ASSERT_GT(windows.size(), 200u);
    EXPECT_LT(MaxProbabilityDifference(**torch_classifier, **native_classifier, windows), 1e-4F);
}

// The shipped model on a held-out subject's real trials: a fall is seen, walking is walking.
TEST(ShippedPostureModel, SeesARealFallOfAHeldOutSubjectAndCallsWalkingWalking) {
    const fs::path models = VG_MODELS_DIR;
    if (!fs::exists(models / kManifestFile)) GTEST_SKIP() << "no shipped posture model in " << models;
    REQUIRE_EVERY_DATA_SET();
    auto classifier = LoadTorchClassifier(models);
    ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
    auto data = LoadPostureData(kData, Slice({"F01", "D01"}));
    ASSERT_TRUE(data.ok());
    auto predictions = (*classifier)->Classify(data->test.windows);
    ASSERT_TRUE(predictions.ok());
    std::map<uint32_t, float> max_fall;
    size_t walking = 0, walking_right = 0;
    for (size_t i = 0; i < data->test.size(); ++i) {
        const TrialMeta& t = data->trials[data->test.trials[i]];
        if (t.dataset != imu::DatasetId::kSisFall) continue;
        max_fall[data->test.trials[i]] = std::max(max_fall[data->test.trials[i]], (*predictions)[i].fall_probability());
        if (data->test.labels[i] == static_cast<uint8_t>(Posture::kWalking)) {
            ++walking;
            walking_right += (*predictions)[i].posture == Posture::kWalking;
        }
    }
    size_t falls = 0, detected = 0;
    for (const auto& [trial, p] : max_fall) {
        if (!data->trials[trial].is_fall_trial) continue;
        ++falls;
        detected += p >= (*classifier)->info().fall_threshold;
    }
    ASSERT_GT(falls, 0u);
    EXPECT_GE(static_cast<double>(detected) / static_cast<double>(falls), 0.8);
    ASSERT_GT(walking, 0u);
    EXPECT_GE(static_cast<double>(walking_right) / static_cast<double>(walking), 0.8);
}

}  // namespace
}  // namespace vg::posture
