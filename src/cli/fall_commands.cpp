// `vitalguard train fall` and `vitalguard eval fall`: the fall decision on the event (docs/posture-model.md,
// "Fall decision on the event"). The posture network's probabilities come from its serving engine
// (posture/native), read from the same models folder, so this program never needs libtorch.
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "model_commands.hpp"
#include "vg/fall/fall_event_model.hpp"
#include "vg/fall/training/event_data.hpp"
#include "vg/fall/training/fall_model_training.hpp"
#include "vg/posture/native/native_classifier.hpp"

namespace vg::cli {
namespace {

namespace fs = std::filesystem;
using fall::training::EventData;

int Fail(const Status& s, int code = 1) {
    std::cerr << "vitalguard: " << s.message() << "\n";
    for (const auto& f : s.fields()) std::cerr << "  " << f.field << ": " << f.problem << "\n";
    return code;
}

// A bar on a terminal, a line every 1000 trials in a log.
std::function<void(size_t, size_t)> TrialProgress() {
    const bool tty = isatty(2) != 0;
    return [tty](size_t done, size_t total) {
        if (tty) {
            const int width = 30;
            const auto filled = static_cast<int>(done * width / std::max<size_t>(1, total));
            std::fprintf(stderr, "\rtrials [%-*s] %zu/%zu", width,
                         std::string(static_cast<size_t>(filled), '#').c_str(), done, total);
            if (done == total) std::fprintf(stderr, "\n");
        } else if (done % 1000 < 25 || done == total) {
            std::fprintf(stderr, "trials %zu/%zu\n", done, total);
        }
    };
}

std::string Today() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
    return buf;
}

Result<std::unique_ptr<posture::PostureClassifier>> LoadNetwork(const std::string& dir) {
    auto network = posture::native::LoadNativeClassifier(dir);
    if (!network.ok()) {
        return Status::Error(
            network.status().code(),
            "the fall event features need the posture network in " + dir + ": " + network.status().message(),
            network.status().fields());
    }
    return network;
}

}  // namespace

int RunFallTrainCommand(const ModelCommandArgs& a, const std::string& command_line) {
    const auto started = std::chrono::steady_clock::now();
    auto network = LoadNetwork(a.model_dir);
    if (!network.ok()) return Fail(network.status(), 2);
    fall::training::EventDataOptions options;
    options.threads = std::max(2, a.threads);
    options.progress = TrialProgress();
    std::cerr << "reading the trials under " << a.data << " and computing the events' features (posture network "
              << (*network)->info().version << ")\n";
    auto data = fall::training::LoadEventData(a.data, **network, options);
    if (!data.ok()) return Fail(data.status(), 2);
    std::cout << "candidates (train subjects): is the labelled impact a candidate, with its whole span?\n"
              << fall::training::CandidateRecallText(fall::training::MeasureCandidateRecall(*data, imu::Split::kTrain));

    fall::training::FallTrainSettings settings;
    settings.booster.max_rounds = a.max_rounds;
    const bool tty = isatty(2) != 0;
    settings.on_round = [&](const std::string& set, int round, double train_loss, double valid_loss) {
        if (tty) {
            std::fprintf(stderr, "\r%-34s round %4d  train loss %.4f  validation loss %.4f", set.c_str(), round + 1,
                         train_loss, valid_loss);
        } else if (round % 50 == 0) {
            std::fprintf(stderr, "%s: round %d  train loss %.4f  validation loss %.4f\n", set.c_str(), round + 1,
                         train_loss, valid_loss);
        }
    };
    auto result = fall::training::TrainFallModel(*data, settings);
    if (tty) std::fprintf(stderr, "\n");
    if (!result.ok()) return Fail(result.status());

    fall::training::ManifestInfo info;
    info.version = a.version.empty() ? "fall-event-" + Today() : a.version;
    info.command = command_line;
    info.data_root = a.data;
    info.training_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    info.candidates = options.candidates;
    info.settings = settings;
    if (Status s = fall::training::SaveFallModel(a.model_dir, *result, *data, info); !s.ok()) return Fail(s);
    std::cout << "\ntrained " << info.version << " (" << result->booster.rounds() << " rounds) in "
              << static_cast<int>(info.training_seconds) << " s; saved " << (fs::path(a.model_dir) / fall::kModelFile)
              << " and " << fall::kManifestFile << "\nthreshold rule: " << settings.threshold_rule.Describe()
              << "\n\nvalidation subjects (thresholds chosen here)\n"
              << result->validation.ToText() << "\ntest subjects (never used for training or thresholds)\n"
              << result->test.ToText() << "\nablation (test subjects; each row trained and thresholded the same way)\n"
              << fall::training::AblationText(result->ablation);
    return 0;
}

int RunFallEvalCommand(const ModelCommandArgs& a) {
    auto model = fall::FallEventModel::Load(a.model_dir);
    if (!model.ok()) return Fail(model.status(), 2);
    auto network = LoadNetwork(a.model_dir);
    if (!network.ok()) return Fail(network.status(), 2);
    if (Status s = model->CheckPostureModel((*network)->info()); !s.ok()) return Fail(s, 2);
    fall::training::EventDataOptions options;
    options.threads = std::max(2, a.threads);
    options.candidates = model->candidates();
    options.skip_unreadable = a.skip_unreadable;
    options.progress = TrialProgress();
    if (a.split == "all") {
        auto trained_on = fall::training::TrainingSubjects(a.model_dir);
        if (!trained_on.ok()) return Fail(trained_on.status(), 2);
        options.all_as_test = true;
        options.exclude_subjects = std::move(trained_on).value();
    }
    auto data = fall::training::LoadEventData(a.data, **network, options);
    if (!data.ok()) return Fail(data.status(), 2);
    std::vector<float> probabilities;
    probabilities.reserve(data->events.size());
    for (const auto& e : data->events) probabilities.push_back(model->Probability(e.features));
    const imu::Split split = a.split == "validation" ? imu::Split::kValidation : imu::Split::kTest;
    fall::training::TrialEvaluation ev = fall::training::EvaluateTrials(
        *data, probabilities,
        {model->Threshold(posture::Placement::kWrist), model->Threshold(posture::Placement::kWaist)}, split);
    ev.split = a.split;
    std::cout << "fall event model " << model->version() << " (posture network " << model->posture_model_version()
              << ")\n"
              << ev.ToText();
    if (a.split == "all") {
        std::cout << "left out as training or validation subjects of the model:";
        for (const auto& [dataset, ids] : options.exclude_subjects) {
            std::cout << " " << dataset << " " << ids.size();
        }
        std::cout << "\n";
    }
    if (!a.report.empty()) {
        boost::json::object report = ev.ToJson();
        report["model"] = model->version();
        report["posture_model"] = model->posture_model_version();
        std::ofstream json_out(a.report);
        json_out << boost::json::serialize(report) << "\n";
        const std::string html_path = fs::path(a.report).replace_extension(".html").string();
        std::ofstream html_out(html_path);
        html_out << ev.ToHtml("Fall decisions on the event: " + model->version());
        if (!json_out || !html_out) return Fail(Status::Error(ErrorCode::kInternal, "Cannot write the report."));
        std::cout << "report: " << a.report << ", picture: " << html_path << "\n";
    }
    return 0;
}

}  // namespace vg::cli
