// `vitalguard dataset | train | eval`: labelled fleets from the simulator, and the status and cause
// models trained and evaluated on them (docs/models.md).
#include "model_commands.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "vg/models/status_model.hpp"
#include "vg/sim/physiology.hpp"
#include "vg/sim/scenario.hpp"

namespace vg::cli {
namespace {

namespace fs = std::filesystem;

int Fail(const Status& s, int code = 1) {
    std::cerr << "vitalguard: " << s.message() << "\n";
    for (const auto& f : s.fields()) std::cerr << "  " << f.field << ": " << f.problem << "\n";
    return code;
}

std::vector<std::string> ClassNames(models::ModelKind kind) {
    if (kind == models::ModelKind::kStatus) return {"normal", "caution", "danger"};
    return {"normal", "at fault"};
}

}  // namespace

void DefineModelCommands(CLI::App& app, ModelCommandArgs& a) {
    CLI::App* dataset = app.add_subcommand(
        "dataset", "Write a labelled training fleet from a simulator scenario (CSV, docs/models.md); no server needed");
    dataset->add_option("--scenario", a.scenario, "Scenario file, e.g. sim/scenarios/training.json")
        ->required()
        ->check(CLI::ExistingFile);
    dataset->add_option("--out", a.out, "CSV file to write")->required();
    dataset->add_option("--seed", a.seed, "Random seed (default: the scenario's)");

    for (const char* verb : {"train", "eval"}) {
        CLI::App* cmd = app.add_subcommand(
            verb, std::string(verb) == "train"
                      ? "Train the status or cause model on labelled data, split by wearer (docs/models.md), or "
                        "the posture/fall network on the IMU data sets, split by subject (docs/posture-model.md)"
                      : "Evaluate a model on labelled data: accuracy, per-class precision/recall/F1, confusion "
                        "matrix, calibration (posture: per data set and placement, with fall events)");
        cmd->add_option("kind", a.kind,
                        "status, cause, posture, or fall (the fall decision on the event: XGBoost over impact and "
                        "network features, docs/posture-model.md)")
            ->required()
            ->check(CLI::IsMember({"status", "cause", "posture", "fall"}));
        cmd->add_option("--data", a.data,
                        "status/cause: labelled CSV (docs/models.md); posture/fall: the folder holding the IMU data "
                        "sets (sisfall/, umafall/, hifd/, wedafall/, fallalld/; e.g. ../shared/data)")
            ->required()
            ->check(CLI::ExistingPath);
        if (std::string(verb) == "train") {
            cmd->add_option("--width", a.width, "posture: channels of the first stage (w)")->capture_default_str();
            cmd->add_option("--dim", a.transformer_dim, "posture: transformer token width (d)")->capture_default_str();
            cmd->add_option("--heads", a.heads, "posture: attention heads")->capture_default_str();
            cmd->add_option("--layers", a.layers, "posture: transformer layers per MobileViT block")
                ->capture_default_str();
            cmd->add_option("--epochs", a.epochs, "posture: epochs at most (early stopping stops sooner)")
                ->capture_default_str();
            cmd->add_option("--patience", a.patience,
                            "posture: epochs without a better validation macro-F1 (mean over data sets and placements)")
                ->capture_default_str();
            cmd->add_option("--per-class", a.per_class,
                            "posture: windows drawn per class, data set and placement per epoch at most")
                ->capture_default_str();
            cmd->add_option("--version", a.version,
                            "posture, fall: the manifest's version (default from shape (posture) and date)");
            cmd->add_option("--seed", a.seed, "posture: random seed (default 7)");
        }
        cmd->add_option("--threads", a.threads,
                        "posture: CPU threads for libtorch; fall: threads reading trials (at least 2)")
            ->capture_default_str();
        if (std::string(verb) == "train") {
            cmd->add_option("--out", a.model_dir, "Directory for <kind>.json and <kind>.manifest.json")
                ->capture_default_str();
            cmd->add_option("--max-rounds", a.max_rounds, "Boosting rounds at most (early stopping stops sooner)")
                ->capture_default_str();
            cmd->add_option("--describe", a.describe, "What the data is, for the manifest");
            cmd->add_flag("--drop-outliers", a.drop_outliers,
                          "Leave out training rows outside Tukey's fences (the seed's outlier removal)");
        } else {
            cmd->add_option("--model", a.model_dir, "Directory with <kind>.json and <kind>.manifest.json")
                ->capture_default_str();
            cmd->add_option("--split", a.split,
                            "Rows to evaluate: test (the held-out wearers/subjects), validation (posture) or all "
                            "(status/cause: every row; posture: every subject of the folder that the model was "
                            "not trained or tuned on, e.g. a new data set)")
                ->check(CLI::IsMember({"test", "all", "validation"}))
                ->capture_default_str();
            cmd->add_option("--report", a.report, "Write the metrics as JSON here, and a picture beside it (.html)");
            cmd->add_option(
                   "--engine", a.engine,
                   "posture: native (the server's engine, posture.safetensors) or torch (libtorch, posture.pt)")
                ->check(CLI::IsMember({"native", "torch"}))
                ->capture_default_str();
            cmd->add_flag("--skip-unreadable", a.skip_unreadable,
                          "posture, fall: leave out trial files that cannot be read (each is named, and counted in the "
                          "report) instead of stopping at the first");
        }
    }
    CLI::App* convert = app.add_subcommand(
        "convert",
        "Write the server's posture weights (posture.safetensors) from a trained posture.pt and record them "
        "in its manifest (models trained before training wrote both)");
    convert->add_option("kind", a.kind, "posture")->required()->check(CLI::IsMember({"posture"}));
    convert->add_option("--model", a.model_dir, "Directory with posture.pt and posture.manifest.json")
        ->capture_default_str();
}

int RunDatasetCommand(const ModelCommandArgs& a) {
    auto scenario = sim::LoadScenarioFile(a.scenario);
    if (!scenario.ok()) return Fail(scenario.status(), 2);
    if (a.seed) scenario->seed = *a.seed;
    // A fixed start so that a seed always gives the same file.
    const sim::FleetPlan plan = sim::PlanFleet(*scenario, FromUnixMillis(1'800'000'000'000));
    std::ofstream out(a.out);
    if (!out) return Fail(Status::Error(ErrorCode::kNotFound, "Cannot write " + a.out + "."));
    models::Dataset data;
    data.has_causes = true;
    int counts[3] = {0, 0, 0};
    for (size_t w = 0; w < plan.wearers.size(); ++w) {
        sim::WearerSimulator simulator(plan, static_cast<int>(w));
        std::vector<sim::SimReading> readings;
        simulator.GenerateUntil(plan.start + plan.duration, readings);
        for (const sim::SimReading& r : readings) {
            models::LabelledReading row;
            row.wearer = scenario->name + "-" + std::to_string(w);
            row.reading = r.reading;
            row.reading.values[static_cast<size_t>(domain::Metric::kGlucose)].reset();  // not a model input
            row.status = r.truth_status;
            for (size_t k = 0; k < models::kCauseMetrics.size(); ++k) {
                const bool at_fault = (r.truth_causes >> static_cast<unsigned>(models::kCauseMetrics[k])) & 1u;
                row.causes[k] = r.truth_status > 0 ? static_cast<int8_t>(at_fault) : int8_t{-1};
            }
            ++counts[r.truth_status];
            data.rows.push_back(std::move(row));
        }
        if (w % 10 == 9 || w + 1 == plan.wearers.size()) {
            std::cerr << "\rgenerating: " << (w + 1) << "/" << plan.wearers.size() << " wearers" << std::flush;
        }
    }
    std::cerr << "\n";
    models::WriteDatasetCsv(data, out);
    out.close();
    if (!out) return Fail(Status::Error(ErrorCode::kInternal, "Writing " + a.out + " failed."));
    std::cout << "wrote " << data.rows.size() << " labelled readings of " << plan.wearers.size() << " wearers to "
              << a.out << " (normal " << counts[0] << ", caution " << counts[1] << ", danger " << counts[2] << ")\n";
    return 0;
}

int RunTrainCommand(const ModelCommandArgs& a, const std::string& command_line) {
    if (a.kind == "fall") return RunFallTrainCommand(a, command_line);
    auto data = models::ReadDatasetFile(a.data);
    if (!data.ok()) return Fail(data.status(), 2);
    const models::ModelKind kind = a.kind == "cause" ? models::ModelKind::kCause : models::ModelKind::kStatus;
    models::TrainSettings settings;
    settings.booster.max_rounds = a.max_rounds;
    settings.data_description = a.describe.empty() ? a.data : a.describe;
    settings.command = command_line;
    settings.drop_outliers = a.drop_outliers;
    const auto started = std::chrono::steady_clock::now();
    const bool tty = isatty(2) != 0;
    settings.booster.on_round = [&](int round, double train_loss, double valid_loss) {
        if (!tty) {  // a log, not a terminal: a line every 25 rounds
            if (round % 25 == 0) {
                std::fprintf(stderr, "round %4d  train loss %.4f  validation loss %.4f\n", round + 1, train_loss,
                             valid_loss);
            }
            return;
        }
        const int width = 30;
        const int filled = std::min(width, (round + 1) * width / std::max(1, a.max_rounds));
        std::fprintf(stderr, "\r[%-*s] round %4d  train loss %.4f  validation loss %.4f", width,
                     std::string(static_cast<size_t>(filled), '#').c_str(), round + 1, train_loss, valid_loss);
    };
    auto model = models::StatusModel::Train(
        kind, *data, settings, [](const std::string& line) { std::fprintf(stderr, "\n%s\n", line.c_str()); });
    std::fprintf(stderr, "\n");
    if (!model.ok()) return Fail(model.status());
    std::error_code ec;
    fs::create_directories(a.model_dir, ec);
    if (Status s = model->Save(a.model_dir, std::string(models::ModelKindName(kind))); !s.ok()) return Fail(s);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "trained the " << models::ModelKindName(kind) << " model in " << seconds << " s; saved to "
              << a.model_dir << "/" << models::ModelKindName(kind) << ".json (+ .manifest.json)\n";
    std::cout << "held-out test wearers:\n";
    static constexpr const char* kCauses[] = {"heart rate", "respiration", "skin temperature", "SpO2"};
    for (size_t i = 0; i < model->test_metrics().size(); ++i) {
        if (kind == models::ModelKind::kCause) std::cout << "cause " << kCauses[i] << ": ";
        std::cout << models::EvaluationText(model->test_metrics()[i], ClassNames(kind));
    }
    return 0;
}

int RunEvalCommand(const ModelCommandArgs& a) {
    if (a.kind == "fall") return RunFallEvalCommand(a);
    if (a.split == "validation")
        return Fail(Status::Error(ErrorCode::kValidationFailed, "--split validation is for posture"), 2);
    auto data = models::ReadDatasetFile(a.data);
    if (!data.ok()) return Fail(data.status(), 2);
    auto model = models::StatusModel::Load(a.model_dir, a.kind);
    if (!model.ok()) return Fail(model.status(), 2);
    auto evaluations =
        model->Evaluate(*data, a.split == "all" ? std::nullopt : std::optional<models::Split>(models::Split::kTest));
    if (!evaluations.ok()) return Fail(evaluations.status());
    const std::vector<std::string> names = ClassNames(model->kind());
    static constexpr const char* kCauses[] = {"heart rate", "respiration", "skin temperature", "SpO2"};
    boost::json::array report;
    std::string html;
    for (size_t i = 0; i < evaluations->size(); ++i) {
        const auto& e = (*evaluations)[i];
        const std::string title = model->kind() == models::ModelKind::kStatus
                                      ? std::string("status model")
                                      : std::string("cause model: ") + kCauses[i];
        std::cout << title << " (" << a.split << " rows)\n" << models::EvaluationText(e, names);
        boost::json::object o = models::EvaluationJson(e, names);
        o["model"] = title;
        report.push_back(std::move(o));
        html += models::EvaluationHtml(title, e, names);
    }
    if (!a.report.empty()) {
        std::ofstream json_out(a.report);
        json_out << boost::json::serialize(report) << "\n";
        const std::string html_path = fs::path(a.report).replace_extension(".html").string();
        std::ofstream html_out(html_path);
        html_out << html;
        if (!json_out || !html_out) return Fail(Status::Error(ErrorCode::kInternal, "Cannot write the report."));
        std::cout << "report: " << a.report << ", picture: " << html_path << "\n";
    }
    return 0;
}

}  // namespace vg::cli
