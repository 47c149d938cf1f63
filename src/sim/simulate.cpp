#include "vg/sim/simulate.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

#include "vg/common/time_text.hpp"

namespace vg::sim {
namespace {

namespace json = boost::json;

void PrintStatus(std::ostream& err, const Status& s, std::string_view option_prefix) {
    err << "vitalguard simulate: " << s.message();
    for (const FieldError& f : s.fields()) {
        err << "\n  " << option_prefix << (f.field.empty() ? "" : f.field + ": ") << f.problem;
    }
    err << "\n";
}

std::string Fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

// Progress on stderr: one rewritten line on a terminal, else a line per stage and every 30 s.
class ProgressPrinter {
  public:
    ProgressPrinter(std::ostream& err, bool enabled) : err_(err), enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1) {}

    void operator()(std::string_view stage, int64_t done, int64_t total) {
        if (!enabled_) return;
        const auto now = std::chrono::steady_clock::now();
        const bool new_stage = stage != stage_;
        if (!tty_ && !new_stage && done < total && now - last_ < std::chrono::seconds(30)) return;
        if (new_stage && tty_ && !stage_.empty()) err_ << "\n";
        stage_ = std::string(stage);
        last_ = now;
        const double pct = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
        const int filled = static_cast<int>(pct / 5);
        std::string bar = "[" + std::string(static_cast<size_t>(std::clamp(filled, 0, 20)), '#') +
                          std::string(static_cast<size_t>(20 - std::clamp(filled, 0, 20)), '.') + "]";
        err_ << (tty_ ? "\r" : "") << Label(stage) << " " << bar << " " << done << "/" << total << " (" << Fixed(pct, 0)
             << "%)" << (tty_ ? "   " : "\n") << std::flush;
    }
    void End() {
        if (enabled_ && tty_ && !stage_.empty()) err_ << "\n";
    }

  private:
    static std::string Label(std::string_view stage) {
        if (stage == "provision") return "provisioning wearers ";
        if (stage == "stream") return "streaming readings   ";
        if (stage == "drain") return "awaiting detections  ";
        return std::string(stage);
    }
    std::ostream& err_;
    bool enabled_;
    bool tty_;
    std::string stage_;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace

ScoreOptions ScoreOptionsFor(const Scenario& scenario, Speed speed, const RunResult& run) {
    ScoreOptions o;
    o.wearers = run.stats.wearers;
    o.duration = run.fleet.interval * run.fleet.slots();
    o.grace = scenario.grace;
    o.score_signal_loss = speed == Speed::kRealtime;
    return o;
}

FallScore ScoreRunFalls(const Scenario& scenario, const RunResult& run) {
    if (!run.imu.available) {
        FallScore f;
        f.available = false;
        f.unavailable_reason = run.imu.unavailable_reason;
        return f;
    }
    FallScoreOptions o;
    o.wearers = run.stats.wearers;
    o.duration = run.fleet.interval * run.fleet.slots();
    if (scenario.imu) o.detect_within = scenario.imu->detect_within;
    return ScoreFalls(run.imu_events, run.postures, run.incidents, o);
}

json::object ReportJson(const Scenario& scenario, const DriverOptions& options, const RunResult& run,
                        const Score& score, const FallScore* falls) {
    const RunStats& st = run.stats;
    json::array warnings;
    for (const std::string& w : run.fleet.warnings) warnings.emplace_back(w);
    if (!st.drained) warnings.emplace_back("not every evaluated reading's detection arrived within the drain time");
    for (const std::string& w : run.imu.warnings) warnings.emplace_back(w);
    if (run.imu.open_suspicions_at_end > 0) {
        warnings.emplace_back(std::to_string(run.imu.open_suspicions_at_end) +
                              " fall suspicions were still undecided when the run ended");
    }
    json::array groups;
    for (const GroupSpec& g : scenario.groups) {
        groups.push_back(json::object{{"name", g.name}, {"watches", g.watches}, {"profile", g.profile}});
    }
    json::object report{
        {"scenario", json::object{{"name", scenario.name},
                                  {"source", scenario.source},
                                  {"seed", scenario.seed},
                                  {"watches", scenario.watches()},
                                  {"duration", FormatSimDuration(scenario.duration)},
                                  {"interval", FormatSimDuration(scenario.interval)},
                                  {"grace", FormatSimDuration(scenario.grace)},
                                  {"groups", std::move(groups)}}},
        {"run", json::object{{"server", options.server},
                             {"speed", options.speed == Speed::kMax ? "max" : "realtime"},
                             {"connections", options.connections},
                             {"batch", options.batch},
                             {"wearers", st.wearers},
                             {"window_start", FormatIso8601(st.window_start)},
                             {"window_end", FormatIso8601(st.window_end)},
                             {"readings_sent", st.readings_sent},
                             {"stored", st.stored},
                             {"duplicates", st.duplicates},
                             {"not_evaluated", st.not_evaluated},
                             {"requests", st.requests},
                             {"retries", st.retries},
                             {"hellos", st.hellos},
                             {"detections", st.detections},
                             {"streams_lost", st.streams_lost},
                             {"drained", st.drained},
                             {"provision_s", st.provision_s},
                             {"stream_s", st.stream_s},
                             {"drain_s", st.drain_s},
                             {"readings_per_s", st.readings_per_s}}},
        {"score", ScoreToJson(score, run.events, run.wearer_ids)},
        {"warnings", std::move(warnings)},
    };
    if (scenario.imu) {
        const ImuSpec& imu = *scenario.imu;
        json::array datasets;
        for (ImuDataset d : imu.datasets) datasets.emplace_back(ImuDatasetName(d));
        report["scenario"].as_object()["imu"] = json::object{{"data_dir", imu.data_dir},
                                                             {"split", ImuSplitName(imu.split)},
                                                             {"datasets", std::move(datasets)},
                                                             {"falls_per_wearer_day", imu.falls_per_wearer_day},
                                                             {"adl_per_wearer_day", imu.adl_per_wearer_day},
                                                             {"lying_still", FormatSimDuration(imu.lying_still)},
                                                             {"detect_within", FormatSimDuration(imu.detect_within)},
                                                             {"batch", imu.batch}};
        const ImuRunStats& is = run.imu;
        report["run"].as_object()["imu"] = json::object{{"available", is.available},
                                                        {"events", is.events},
                                                        {"windows_sent", is.windows_sent},
                                                        {"requests", is.requests},
                                                        {"retries", is.retries},
                                                        {"late_windows", is.late_windows},
                                                        {"settle_waits", is.settle_waits},
                                                        {"posture_events", is.posture_events},
                                                        {"open_suspicions_at_end", is.open_suspicions_at_end},
                                                        {"plan_s", is.plan_s}};
        if (falls) report["falls"] = FallScoreToJson(*falls, run.imu_events, run.wearer_ids);
    }
    return report;
}

int RunSimulateCommand(const SimulateArgs& args, std::ostream& out, std::ostream& err) {
    if (args.scenario.empty()) {
        err << "vitalguard simulate: --scenario is required (e.g. sim/scenarios/standard.json)\n";
        return 2;
    }
    auto scenario = LoadScenarioFile(args.scenario);
    if (!scenario.ok()) {
        PrintStatus(err, scenario.status(), "");
        return 2;
    }
    ScenarioOverrides overrides;
    std::vector<FieldError> problems;
    if (args.watches != 0) overrides.watches = args.watches;
    auto duration_option = [&](const std::string& text, const char* name) -> std::optional<Milliseconds> {
        if (text.empty()) return std::nullopt;
        auto d = ParseDuration(text);
        if (!d.ok()) {
            problems.push_back({name, d.status().message()});
            return std::nullopt;
        }
        return *d;
    };
    overrides.duration = duration_option(args.duration, "duration");
    overrides.interval = duration_option(args.interval, "interval");
    const std::optional<Milliseconds> drain = duration_option(args.drain, "drain");
    if (!args.seed.empty()) {
        uint64_t seed = 0;
        auto [end, ec] = std::from_chars(args.seed.data(), args.seed.data() + args.seed.size(), seed);
        if (ec != std::errc() || end != args.seed.data() + args.seed.size()) {
            problems.push_back({"seed", "must be a whole number from 0 to 2^64-1"});
        } else {
            overrides.seed = seed;
        }
    }
    if (args.speed != "max" && args.speed != "realtime") problems.push_back({"speed", "must be max or realtime"});
    if (!problems.empty()) {
        PrintStatus(err, Status::Error(ErrorCode::kValidationFailed, "Some options need to be corrected.", problems),
                    "--");
        return 2;
    }
    auto final_scenario = ApplyOverrides(std::move(*scenario), overrides);
    if (!final_scenario.ok()) {
        PrintStatus(err, final_scenario.status(), "--");
        return 2;
    }
    const Scenario& s = *final_scenario;

    DriverOptions options;
    options.server = args.server;
    options.speed = args.speed == "realtime" ? Speed::kRealtime : Speed::kMax;
    options.connections = args.connections;
    options.batch = args.batch;
    if (drain) options.drain = *drain;
    ProgressPrinter progress(err, !args.quiet);
    options.progress = [&](std::string_view stage, int64_t done, int64_t total) { progress(stage, done, total); };
    if (!args.quiet) {
        err << "scenario " << s.name << ": " << s.watches() << " watches, " << FormatSimDuration(s.duration)
            << " every " << FormatSimDuration(s.interval) << ", seed " << s.seed << ", speed " << args.speed << "\n";
    }
    auto run = RunSimulation(s, options);
    progress.End();
    if (!run.ok()) {
        PrintStatus(err, run.status(), "--");
        return run.status().code() == ErrorCode::kValidationFailed ? 2 : 1;
    }
    for (const std::string& w : run->fleet.warnings) err << "warning: " << w << "\n";
    for (const std::string& w : run->imu.warnings) err << "warning: " << w << "\n";
    if (!run->stats.drained) {
        err << "warning: not every evaluated reading's detection arrived within --drain (" << args.drain << ")\n";
    }

    const Score score = ScoreRun(run->events, run->detections, ScoreOptionsFor(s, options.speed, *run));
    const RunStats& st = run->stats;
    out << "VitalGuard simulation: " << s.name << " (" << s.source << "), " << st.wearers << " wearers, "
        << FormatSimDuration(s.duration) << " simulated every " << FormatSimDuration(s.interval) << ", speed "
        << args.speed << ", seed " << s.seed << "\n";
    out << "Sent " << st.readings_sent << " readings in " << st.requests << " requests (" << Fixed(st.stream_s, 1)
        << " s, " << Fixed(st.readings_per_s, st.readings_per_s < 100 ? 2 : 0) << " readings/s; " << st.retries
        << " retried); " << st.detections << " detections received" << (st.drained ? "" : " (not all)") << "\n\n";
    out << FormatScoreTable(score);
    std::optional<FallScore> falls;
    if (s.imu) {
        falls = ScoreRunFalls(s, *run);
        const ImuRunStats& is = run->imu;
        out << "\nIMU: " << is.events << " events (" << FormatSimDuration(s.imu->lying_still)
            << " lying still after each fall), " << is.windows_sent << " windows in " << is.requests << " requests ("
            << is.retries << " retried, " << is.late_windows << " late, " << is.settle_waits
            << " waits for an open suspicion); " << is.posture_events << " posture events received\n";
        out << FormatFallTable(*falls);
    }
    if (!args.out.empty()) {
        std::ofstream file(args.out, std::ios::binary | std::ios::trunc);
        file << json::serialize(ReportJson(s, options, *run, score, falls ? &*falls : nullptr)) << "\n";
        if (!file) {
            err << "vitalguard simulate: cannot write the report to " << args.out << "\n";
            return 1;
        }
        out << "\nReport written to " << args.out << "\n";
    }
    return 0;
}

}  // namespace vg::sim
