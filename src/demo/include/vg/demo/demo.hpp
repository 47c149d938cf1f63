#pragma once
// The demo (`vitalguard serve --demo`, docs/demo.md): a demo wearer and a linked guardian, and a simulated
// watch that streams, over real HTTP to the server's own port, a compressed loop of a normal morning, an
// exercise bout, a real fall replayed from the IMU data sets and a low-SpO2 episode.
//
// The demo is a client of the HTTP API like any other (sign-up, login, guardian link, device pairing,
// POST /api/devices/readings and /api/devices/posture with the device token, "I'm OK" and resolve on the
// incidents); it knows nothing of the server's insides. The app wires it (src/app/deployment.cpp).
//
// Credentials: the two passwords are drawn at random on the first start and kept in
// <data_dir>/demo-credentials (mode 0600), so a restart with --demo logs in to the same accounts.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vg/common/status.hpp"

namespace vg::demo {

inline constexpr const char* kWearerId = "demo_wearer";
inline constexpr const char* kGuardianId = "demo_guardian";
inline constexpr const char* kCredentialsFile = "demo-credentials";

struct DemoCredentials {
    std::string wearer_password;
    std::string guardian_password;
    friend bool operator==(const DemoCredentials&, const DemoCredentials&) = default;
};

// Reads <data_dir>/demo-credentials, or creates it (owner-only, 0600, written then renamed) with two fresh
// random passwords when it does not exist. Idempotent: later calls return what the first one stored.
// kValidationFailed naming the file when it exists but is not in the expected form (it is never overwritten:
// the accounts' passwords are in it); kUnavailable when it cannot be read or written.
// Thread-safety: not for concurrent calls on one folder (start-up only).
[[nodiscard]] Result<DemoCredentials> LoadOrCreateCredentials(const std::string& data_dir);

// The line printed at start-up with both logins.
std::string LoginBanner(const DemoCredentials& credentials, uint16_t port);

struct DemoOptions {
    std::string data_dir;            // where demo-credentials lives (the server's --data-dir)
    std::string host = "127.0.0.1";  // where the server listens (the watch connects there)
    uint16_t port = 0;               // the server's bound port
    // One loop of the four phases (normal, exercise, fall, low SpO2); each phase gets a quarter, the fall at
    // least its trial's length. Readings go out every `reading_every`.
    std::chrono::milliseconds cycle{60'000};
    std::chrono::milliseconds reading_every{1'000};
    // The simulated wearer answers "I'm OK" this long after an incident opened (its countdown visible
    // meanwhile), and resolves it once the episode is over, so incidents do not pile up.
    std::chrono::milliseconds ok_after{10'000};
    // The folder holding sisfall/ and wedafall/ (../shared/data); empty or absent: no fall, said in the log.
    std::string imu_data_dir;
    // Where the login line goes (default: stdout, flushed).
    std::function<void(const std::string&)> announce;
};

// Runs the demo on its own thread until destroyed. Set-up errors are logged (the server keeps serving).
// Thread-safety: construct and destroy from one thread.
class DemoRunner {
  public:
    explicit DemoRunner(DemoOptions options);
    ~DemoRunner();  // stops the loop and joins (within about one request's timeout)
    DemoRunner(const DemoRunner&) = delete;
    DemoRunner& operator=(const DemoRunner&) = delete;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::demo
