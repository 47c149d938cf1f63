// `vitalguard train posture` and `vitalguard eval posture`: the MobileViTv3-1D posture/fall network on
// the public IMU data sets (docs/posture-model.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "model_commands.hpp"
#include "vg/posture/torch/torch_classifier.hpp"
#include "vg/posture/torch/training.hpp"

namespace vg::cli {
namespace {

namespace fs = std::filesystem;

int PostureFail(const Status& s, int code = 1) {
    std::cerr << "vitalguard: " << s.message() << "\n";
    for (const auto& f : s.fields()) std::cerr << "  " << f.field << ": " << f.problem << "\n";
    return code;
}

Result<posture::PostureData> LoadData(const std::string& root) {
    const bool tty = isatty(2) != 0;
    posture::DataOptions options;
    options.progress = [tty](size_t done, size_t total) {
        if (tty || done == total) std::fprintf(stderr, "\rreading trials: %zu/%zu", done, total);
        if (done == total) std::fprintf(stderr, "\n");
    };
    auto data = posture::LoadPostureData(root, options);
    if (data.ok()) {
        std::fprintf(stderr, "windows: train %zu, validation %zu, test %zu (Ignore windows included)\n",
                     data->train.size(), data->validation.size(), data->test.size());
    }
    return data;
}

}  // namespace

int RunPostureTrainCommand(const ModelCommandArgs& a, const std::string& command_line) {
    if (!fs::is_directory(a.data)) {
        return PostureFail(Status::Error(ErrorCode::kValidationFailed,
                                         "--data must be the folder holding sisfall/, umafall/ and hifd/",
                                         {{"--data", "is not a directory"}}),
                           2);
    }
    auto data = LoadData(a.data);
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
              << " (chosen on validation)\nsaved to " << a.model_dir << "/posture.pt (+ posture.manifest.json)\n\n"
              << "validation subjects:\n"
              << result->validation.ToText() << "\nheld-out test subjects:\n"
              << result->test.ToText();
    return 0;
}

int RunPostureEvalCommand(const ModelCommandArgs& a) {
    if (a.split == "all") {
        return PostureFail(Status::Error(ErrorCode::kValidationFailed, "posture is evaluated on one split",
                                         {{"--split", "must be test or validation for posture"}}),
                           2);
    }
    auto classifier = posture::LoadTorchClassifier(a.model_dir, {a.threads});
    if (!classifier.ok()) return PostureFail(classifier.status(), 2);
    auto data = LoadData(a.data);
    if (!data.ok()) return PostureFail(data.status(), 2);
    const imu::Split split = a.split == "validation" ? imu::Split::kValidation : imu::Split::kTest;
    auto evaluation = posture::Evaluate(**classifier, *data, split, a.threads);
    if (!evaluation.ok()) return PostureFail(evaluation.status());
    std::cout << "model " << (*classifier)->info().version << "\n" << evaluation->ToText();
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

}  // namespace vg::cli
