// `vitalguard-posture`: `train posture`, `eval posture` and `convert posture`, the commands that need
// libtorch (docs/posture-model.md). `vitalguard train|eval|convert posture` runs this program.
#include "vg/cli/posture_commands.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "vg/posture/native/native_classifier.hpp"
#include "vg/posture/torch/torch_classifier.hpp"
#include "vg/posture/torch/training.hpp"

namespace vg::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

int PostureFail(const Status& s, int code = 1) {
    std::cerr << "vitalguard: " << s.message() << "\n";
    for (const auto& f : s.fields()) std::cerr << "  " << f.field << ": " << f.problem << "\n";
    return code;
}

Result<posture::PostureData> LoadData(const std::string& root, posture::DataOptions options) {
    const bool tty = isatty(2) != 0;
    options.progress = [tty](size_t done, size_t total) {
        if (tty || done == total) std::fprintf(stderr, "\rreading trials: %zu/%zu", done, total);
        if (done == total) std::fprintf(stderr, "\n");
    };
    auto data = posture::LoadPostureData(root, options);
    if (data.ok()) {
        std::fprintf(stderr, "windows: train %zu, validation %zu, test %zu (Ignore windows included)\n",
                     data->train.size(), data->validation.size(), data->test.size());
        for (const auto& u : data->unreadable) std::fprintf(stderr, "skipped unreadable %s\n", u.c_str());
    }
    return data;
}

// The subjects a model was trained or tuned on (its manifest's split.subjects.train and .validation),
// per data set folder: never evaluated as unseen.
Result<std::map<std::string, std::set<std::string>>> SeenSubjects(const fs::path& model_dir) {
    const fs::path path = model_dir / posture::native::kManifestFile;
    std::ifstream in(path);
    if (!in) return Status::Error(ErrorCode::kNotFound, path.string() + " does not exist");
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    const json::value manifest = json::parse(text.str(), ec);
    const json::value* subjects = nullptr;
    if (!ec && manifest.is_object()) {
        if (const json::value* split = manifest.as_object().if_contains("split"); split && split->is_object()) {
            subjects = split->as_object().if_contains("subjects");
        }
    }
    if (subjects == nullptr || !subjects->is_object()) {
        return Status::Error(ErrorCode::kValidationFailed,
                             path.string() +
                                 ": split.subjects is missing, so the subjects the model was trained on "
                                 "are unknown and --split all cannot tell unseen ones",
                             {{"split.subjects", "is required for --split all"}});
    }
    std::map<std::string, std::set<std::string>> seen;
    for (const char* split : {"train", "validation"}) {
        const json::value* by_dataset = subjects->as_object().if_contains(split);
        if (by_dataset == nullptr || !by_dataset->is_object()) continue;
        for (const auto& [dataset, ids] : by_dataset->as_object()) {
            if (!ids.is_array()) continue;
            for (const json::value& id : ids.as_array()) {
                if (id.is_string()) seen[std::string(dataset)].insert(std::string(id.as_string()));
            }
        }
    }
    return seen;
}

class TorchPostureCommands final : public PostureCommands {
  public:
    int Train(const ModelCommandArgs& a, const std::string& command_line) override;
    int Eval(const ModelCommandArgs& a) override;
    int Convert(const ModelCommandArgs& a) override;
};

int TorchPostureCommands::Train(const ModelCommandArgs& a, const std::string& command_line) {
    if (!fs::is_directory(a.data)) {
        return PostureFail(Status::Error(ErrorCode::kValidationFailed,
                                         "--data must be the folder holding the IMU data sets (e.g. ../shared/data)",
                                         {{"--data", "is not a directory"}}),
                           2);
    }
    auto data = LoadData(a.data, {});
    if (!data.ok()) return PostureFail(data.status(), 2);
    posture::TrainOptions o;
    o.shape = {a.width, a.transformer_dim, a.heads, a.layers};
    o.max_epochs = a.epochs;
    o.patience = a.patience;
    o.per_class_per_epoch = a.per_class;
    o.threads = a.threads;
    if (a.seed) o.seed = *a.seed;
    o.version = a.version;
    o.command_line = command_line;
    const bool tty = isatty(2) != 0;
    o.progress = [tty](const std::string& line, bool final_line) {
        if (final_line) {
            std::fprintf(stderr, "\r%-100s\n", line.c_str());
        } else if (tty) {
            std::fprintf(stderr, "\r%-100s", line.c_str());
        }
    };
    auto result = posture::TrainPosture(*data, o, a.model_dir, a.data);
    if (!result.ok()) return PostureFail(result.status());
    std::cout << "trained " << result->version << " (" << result->parameters << " parameters, " << result->weight_bytes
              << " bytes) in " << result->seconds << " s: " << result->epochs_run << " epochs, best "
              << result->best_epoch << "; fall threshold " << result->fall_threshold
              << " (chosen on validation)\nsaved to " << a.model_dir
              << "/posture.pt (+ posture.safetensors for the server, posture.manifest.json)\n\n"
              << "validation subjects:\n"
              << result->validation.ToText() << "\nheld-out test subjects:\n"
              << result->test.ToText();
    return 0;
}

int TorchPostureCommands::Eval(const ModelCommandArgs& a) {
    Result<std::unique_ptr<posture::PostureClassifier>> classifier =
        a.engine == "torch" ? posture::LoadTorchClassifier(a.model_dir, {a.threads})
                            : posture::native::LoadNativeClassifier(a.model_dir);
    if (!classifier.ok()) return PostureFail(classifier.status(), 2);
    posture::DataOptions options;
    options.skip_unreadable = a.skip_unreadable;
    imu::Split split = a.split == "validation" ? imu::Split::kValidation : imu::Split::kTest;
    if (a.split == "all") {
        auto seen = SeenSubjects(a.model_dir);
        if (!seen.ok()) return PostureFail(seen.status(), 2);
        options.all_as_test = true;
        options.exclude_subjects = std::move(seen).value();
    }
    auto data = LoadData(a.data, options);
    if (!data.ok()) return PostureFail(data.status(), 2);
    if (data->Get(split).size() == 0) {
        return PostureFail(Status::Error(ErrorCode::kNotFound, "no windows to evaluate: every subject of " + a.data +
                                                                   " was used to train or tune the model"),
                           2);
    }
    auto evaluation = posture::Evaluate(**classifier, *data, split, a.threads);
    if (!evaluation.ok()) return PostureFail(evaluation.status());
    if (a.split == "all") evaluation->split = "all (subjects the model never saw)";
    std::cout << "model " << (*classifier)->info().version << " (" << a.engine << " engine)\n" << evaluation->ToText();
    if (!a.report.empty()) {
        std::ofstream json_out(a.report);
        json_out << evaluation->ToJson() << "\n";
        const std::string html_path = fs::path(a.report).replace_extension(".html").string();
        std::ofstream html_out(html_path);
        html_out << evaluation->ToHtml();
        if (!json_out || !html_out) return PostureFail(Status::Error(ErrorCode::kInternal, "Cannot write the report."));
        std::cout << "report: " << a.report << ", picture: " << html_path << "\n";
    }
    return 0;
}

int TorchPostureCommands::Convert(const ModelCommandArgs& a) {
    auto written = posture::ConvertToServingWeights(a.model_dir);
    if (!written.ok()) return PostureFail(written.status(), 2);
    auto check = posture::native::LoadNativeClassifier(a.model_dir);
    if (!check.ok()) return PostureFail(check.status());
    std::cout << "wrote " << written->string() << " (" << fs::file_size(*written) << " bytes) and recorded it in "
              << (fs::path(a.model_dir) / posture::native::kManifestFile).string() << "\n";
    return 0;
}

}  // namespace

std::unique_ptr<PostureCommands> MakeTorchPostureCommands() { return std::make_unique<TorchPostureCommands>(); }

}  // namespace vg::cli
