#pragma once
// `vitalguard simulate`: load a scenario, drive a running server with it, score
// the detections, print a table and (optionally) write the JSON report.
//
// The CLI module only declares the options (CLI11) and hands their text here,
// so that everything the command does is testable without a command line.
// Exit codes: 0 scored (whatever the score), 1 the run failed (server
// unreachable, a request refused), 2 bad options or a bad scenario file.
// Thread-safety: one call at a time per pair of streams.

#include <boost/json/object.hpp>
#include <cstdint>
#include <ostream>
#include <string>

#include "vg/sim/driver.hpp"
#include "vg/sim/scenario.hpp"
#include "vg/sim/scorer.hpp"

namespace vg::sim {

// The options as given on the command line (texts are validated by RunSimulateCommand).
struct SimulateArgs {
    std::string server = "http://127.0.0.1:8080";
    std::string scenario;  // path of the scenario file (required)
    int watches = 0;       // 0: as in the scenario
    std::string duration;  // empty: as in the scenario
    std::string interval;  // empty: as in the scenario
    std::string speed = "max";
    std::string seed;  // empty: as in the scenario
    std::string out;   // empty: no JSON file
    int connections = 4;
    int batch = 60;
    std::string drain = "30s";
    bool quiet = false;  // no progress on stderr
};

int RunSimulateCommand(const SimulateArgs& args, std::ostream& out, std::ostream& err);

// The JSON report of a finished run: the scenario, the run's statistics, the score, and (with an imu
// section) the falls score under "falls".
boost::json::object ReportJson(const Scenario& scenario, const DriverOptions& options, const RunResult& run,
                               const Score& score, const FallScore* falls = nullptr);
// The falls score of a finished run (ScoreFalls with the scenario's detection window); `available` false
// with the server's reason when it had no posture model.
FallScore ScoreRunFalls(const Scenario& scenario, const RunResult& run);
// The score options for a finished run of `scenario` at `speed`.
ScoreOptions ScoreOptionsFor(const Scenario& scenario, Speed speed, const RunResult& run);

}  // namespace vg::sim
