// Tests of the native posture engine and the safetensors format, without libtorch. That the engine
// equals libtorch is tested in posture/torch (posture_torch_test), which links both.
#include "vg/posture/native/native_classifier.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include "vg/posture/native/safetensors.hpp"

namespace vg::posture::native {
namespace {

namespace fs = std::filesystem;

class TempDir {
  public:
    TempDir() {
        path_ = fs::temp_directory_path() /
                ("vg_posture_native_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
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

std::string ReadBytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void WriteBytes(const fs::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

// A safetensors file from a literal header and `data_bytes` zero bytes of data.
std::string FileWithHeader(const std::string& header, size_t data_bytes) {
    const uint64_t n = header.size();
    std::string bytes(8, '\0');
    std::memcpy(bytes.data(), &n, 8);
    return bytes + header + std::string(data_bytes, '\0');
}

// Random weights of a network of `shape`, scaled as a trained network's are (weights ~ 1/√fan-in, norms
// near 1), so that a signal, and a difference between two inputs, reaches the output: with plain N(0, 0.2)
// weights every layer shrinks it and all inputs give the same probabilities to the last float bit.
TensorFile RandomWeights(const NetworkShape& shape, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    TensorFile file;
    for (const auto& [name, dims] : ExpectedTensors(shape)) {
        Tensor t;
        t.shape = dims;
        size_t n = 1;
        for (int64_t d : dims) n *= static_cast<size_t>(d);
        size_t fan_in = 1;
        for (size_t k = 1; k < dims.size(); ++k) fan_in *= static_cast<size_t>(dims[k]);
        t.values.resize(n);
        const bool norm_scale =
            name.ends_with("bn.weight") || (name.find("norm") != std::string::npos && name.ends_with(".weight"));
        for (float& v : t.values) {
            if (name.ends_with("running_var")) {
                v = 1.0F + 0.1F * std::abs(normal(rng));
            } else if (norm_scale) {
                v = 1.0F + 0.1F * normal(rng);
            } else if (dims.size() >= 2) {
                v = normal(rng) / std::sqrt(static_cast<float>(fan_in));
            } else {
                v = 0.1F * normal(rng);  // biases, batch-norm shifts and means
            }
        }
        file.tensors.emplace(name, std::move(t));
    }
    return file;
}

std::vector<ModelWindow> RandomWindows(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0F, 0.3F);
    std::vector<ModelWindow> out(n);
    for (size_t i = 0; i < n; ++i) {
        out[i].placement = i % 2 ? Placement::kWaist : Placement::kWrist;
        out[i].gravity_removed = i % 3 == 0;
        for (size_t v = 0; v < out[i].values.size(); ++v) {
            const size_t c = v % kChannels;
            out[i].values[v] = c == 1 ? 1.0F + noise(rng) : noise(rng) * (c >= 3 ? 60.0F : 1.0F);
        }
    }
    return out;
}

NetworkShape Small() { return {8, 16, 2, 1, 2}; }

TEST(Safetensors, WritesAndReadsBackEveryTensorAndTheMetadata) {
    TempDir dir;
    TensorFile file;
    file.tensors["b"] = {{2, 3}, {1, 2, 3, 4, 5, 6}};
    file.tensors["a.scalar_like"] = {{1}, {-0.5F}};
    file.tensors["empty"] = {{0}, {}};
    file.metadata["version"] = "v1";
    ASSERT_TRUE(WriteSafetensors(dir.path() / "w.safetensors", file).ok());
    const std::string bytes = ReadBytes(dir.path() / "w.safetensors");
    uint64_t header = 0;
    std::memcpy(&header, bytes.data(), 8);
    EXPECT_EQ((8 + header) % 8, 0u) << "data starts 8-byte aligned, as the format asks";
    auto back = ReadSafetensors(dir.path() / "w.safetensors");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->metadata, file.metadata);
    ASSERT_EQ(back->tensors.size(), 3u);
    for (const auto& [name, t] : file.tensors) {
        EXPECT_EQ(back->tensors[name].shape, t.shape) << name;
        EXPECT_EQ(back->tensors[name].values, t.values) << name;
    }
}

TEST(Safetensors, RefusesBrokenFilesNamingTheProblem) {
    TempDir dir;
    const fs::path f = dir.path() / "bad.safetensors";
    struct Case {
        std::string bytes;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"abc", "shorter than the 8-byte header length"},
        {FileWithHeader("{}", 0).substr(0, 8) + "{", "runs past the end"},
        {FileWithHeader("[1,2]", 0), "not a JSON object"},
        {FileWithHeader(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4), "dtype must be F32"},
        {FileWithHeader(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4), "the shape needs 8"},
        {FileWithHeader(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), "past the end of the file"},
        {FileWithHeader(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "non-negative integers"},
        {FileWithHeader(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        12),
         "overlap"},
        {FileWithHeader(R"({"__metadata__":{"v":1}})", 0), "__metadata__.v must be a string"},
    };
    for (const Case& c : cases) {
        WriteBytes(f, c.bytes);
        auto r = ReadSafetensors(f);
        ASSERT_FALSE(r.ok()) << c.expected;
        EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
        EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
        EXPECT_NE(r.status().message().find(f.string()), std::string::npos) << "names the file";
    }
    auto missing = ReadSafetensors(dir.path() / "none.safetensors");
    EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

TEST(NativeEngine, GivesProbabilitiesAndTheSameAnswerAloneOrInABatch) {
    auto classifier = MakeNativeClassifier(Small(), RandomWeights(Small(), 1), {"random", 0.5F});
    ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
    const auto windows = RandomWindows(70, 2);  // crosses several 8-window chunks, the last one partial
    auto batch = (*classifier)->Classify(windows);
    ASSERT_TRUE(batch.ok());
    ASSERT_EQ(batch->size(), windows.size());
    for (size_t i = 0; i < windows.size(); ++i) {
        auto alone = (*classifier)->Classify(std::span(&windows[i], 1));
        ASSERT_TRUE(alone.ok());
        float sum = 0;
        for (size_t c = 0; c < kNumModelClasses; ++c) {
            EXPECT_NEAR((*alone)[0].probabilities[c], (*batch)[i].probabilities[c], 1e-6F);
            EXPECT_GE((*batch)[i].probabilities[c], 0.0F);
            sum += (*batch)[i].probabilities[c];
        }
        EXPECT_NEAR(sum, 1.0F, 1e-5F);
    }
    // The placement flag reaches the network: the same samples give other outputs on the waist.
    ModelWindow wrist = windows[0];
    ModelWindow waist = wrist;
    wrist.placement = Placement::kWrist;
    waist.placement = Placement::kWaist;
    auto a = (*classifier)->Classify(std::span(&wrist, 1));
    auto b = (*classifier)->Classify(std::span(&waist, 1));
    float difference = 0;
    for (size_t c = 0; c < kNumModelClasses; ++c) {
        difference = std::max(difference, std::abs((*a)[0].probabilities[c] - (*b)[0].probabilities[c]));
    }
    EXPECT_GT(difference, 1e-4F);
    auto none = (*classifier)->Classify({});
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST(NativeEngine, NamesAMissingExtraMisshapenOrNonFiniteTensor) {
    const TensorFile good = RandomWeights(Small(), 3);
    auto refused = [&](TensorFile file) {
        auto r = MakeNativeClassifier(Small(), file, {"v", 0.5F});
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
        return r.ok() ? std::string() : r.status().message();
    };
    TensorFile missing = good;
    missing.tensors.erase("mvit_1.transformer.0.qkv.weight");
    EXPECT_NE(refused(missing).find("mvit_1.transformer.0.qkv.weight is missing"), std::string::npos);
    TensorFile extra = good;
    extra.tensors["mvit_1.transformer.1.qkv.weight"] = {{1}, {0}};
    EXPECT_NE(refused(extra).find("mvit_1.transformer.1.qkv.weight is not part of"), std::string::npos);
    TensorFile misshapen = good;
    misshapen.tensors["classifier.bias"] = {{8}, std::vector<float>(8)};
    EXPECT_NE(refused(misshapen).find("classifier.bias has shape [8]"), std::string::npos);
    TensorFile nan = good;
    nan.tensors["head.bn.running_var"].values[0] = std::nanf("");
    EXPECT_NE(refused(nan).find("not finite"), std::string::npos);
}

TEST(NativeEngine, LoadingNamesTheManifestFieldOrTheMissingWeights) {
    TempDir dir;
    auto write_manifest = [&](const std::string& text) { std::ofstream(dir.path() / kManifestFile) << text; };
    EXPECT_EQ(LoadNativeClassifier(dir.path()).status().code(), ErrorCode::kNotFound);
    write_manifest("{");
    EXPECT_NE(LoadNativeClassifier(dir.path()).status().message().find("not a JSON object"), std::string::npos);
    write_manifest(R"({"version":"v","fall_threshold":1.5,"network":{}})");
    EXPECT_EQ(LoadNativeClassifier(dir.path()).status().fields().at(0).field, "fall_threshold");
    write_manifest(R"({"version":"v","fall_threshold":0.5,"network":{"width":8}})");
    EXPECT_EQ(LoadNativeClassifier(dir.path()).status().fields().at(0).field, "network.transformer_dim");
    write_manifest(
        R"({"version":"v","fall_threshold":0.5,"serving_weights":"../x","network":{"width":8,"transformer_dim":16,"heads":2,"layers":1,"mlp_ratio":2}})");
    EXPECT_EQ(LoadNativeClassifier(dir.path()).status().fields().at(0).field, "serving_weights");
    write_manifest(
        R"({"version":"v","fall_threshold":0.5,"network":{"width":8,"transformer_dim":16,"heads":2,"layers":1,"mlp_ratio":2}})");
    auto no_weights = LoadNativeClassifier(dir.path());
    EXPECT_EQ(no_weights.status().code(), ErrorCode::kNotFound);
    EXPECT_NE(no_weights.status().message().find("vitalguard convert posture"), std::string::npos);
    ASSERT_TRUE(WriteSafetensors(dir.path() / kServingWeightsFile, RandomWeights(Small(), 4)).ok());
    auto loaded = LoadNativeClassifier(dir.path());
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ((*loaded)->info().version, "v");
    EXPECT_FLOAT_EQ((*loaded)->info().fall_threshold, 0.5F);
}

// The shipped model loads without libtorch and calls a window of lying still with gravity along the
// waist sensor's x axis neither walking nor a fall.
TEST(ShippedPostureModel, LoadsInTheNativeEngine) {
    const fs::path models = VG_MODELS_DIR;
    if (!fs::exists(models / kServingWeightsFile)) GTEST_SKIP() << "no shipped posture weights in " << models;
    auto classifier = LoadNativeClassifier(models);
    ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
    ModelWindow still;
    still.placement = Placement::kWaist;
    for (size_t t = 0; t < kWindowSamples; ++t) still.values[t * kChannels + 0] = 1.0F;
    auto p = (*classifier)->Classify(std::span(&still, 1));
    ASSERT_TRUE(p.ok());
    EXPECT_LT((*p)[0].fall_probability(), (*classifier)->info().fall_threshold);
    EXPECT_NE((*p)[0].posture, Posture::kWalking);
}

}  // namespace
}  // namespace vg::posture::native
