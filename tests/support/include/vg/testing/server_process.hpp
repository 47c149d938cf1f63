#pragma once
// ServerProcess: runs a server executable as a child process for end-to-end tests.
//
// Start: fork/exec in a new process group, stdin from /dev/null, stdout and
// stderr appended to <dir>/server.log. The harness appends
// "--ready-file <dir>/ready" to the arguments and waits until that file holds
// the bound port, the process exits, or ready_timeout passes; the last two
// throw std::runtime_error with the tail of the log. The server should write
// the port followed by a newline, atomically (write a temporary file, rename).
//
// The destructor kills the whole process group if the process still runs, so
// a failing test leaves nothing behind; if the test process crashes instead, the
// kernel kills the server (PR_SET_PDEATHSIG). That signal follows the *thread*
// that started the server: REQUIRES that thread to outlive the ServerProcess.
// Thread-safety: one thread at a time per object. Move-only.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vg/testing/temp_dir.hpp"

namespace vg::testing {

// How a child process ended.
struct ExitStatus {
    int exit_code = -1;  // valid when signal == 0
    int signal = 0;      // the signal that ended it; 0 when it exited

    [[nodiscard]] bool success() const { return signal == 0 && exit_code == 0; }
    [[nodiscard]] std::string ToString() const;  // "exit code 0", "signal 9 (Killed)"
};

struct ServerProcessOptions {
    std::vector<std::string> args;                         // after argv[0], before --ready-file
    std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) the inherited environment
    std::chrono::milliseconds ready_timeout{30'000};
    std::string ready_file_flag = "--ready-file";  // empty: pass nothing, don't wait for readiness
    std::string working_dir;                       // empty: inherit the test's
};

class ServerProcess {
  public:
    // Starts `binary` (a path; PATH is not searched) and waits until it is ready (see above).
    // Throws std::runtime_error on failure.
    explicit ServerProcess(std::string binary, ServerProcessOptions options = {});
    ~ServerProcess();
    ServerProcess(ServerProcess&& other) noexcept;
    ServerProcess& operator=(ServerProcess&& other) noexcept;
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    // The port read from the ready file (0 when ready_file_flag is empty).
    [[nodiscard]] uint16_t port() const { return port_; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    // The directory holding server.log and the ready file; lives as long as this object.
    [[nodiscard]] const TempDir& dir() const { return dir_; }
    [[nodiscard]] bool running();

    // SIGTERM, then waits up to `timeout`; if still running then, SIGKILLs the group.
    ExitStatus Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // SIGKILL to the whole process group, then reaps.
    ExitStatus Kill();
    // The exit status once the process has ended, or nullopt if it still runs after `timeout`.
    std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout);
    // Sends any signal to the process (not the group), e.g. SIGHUP.
    void Signal(int signal_number);

    // The captured stdout+stderr so far.
    [[nodiscard]] std::string log() const;
    // The last `lines` lines of log(), for failure messages.
    [[nodiscard]] std::string LogTail(size_t lines = 40) const;

  private:
    void WaitReady(const std::string& ready_file, std::chrono::milliseconds timeout);

    TempDir dir_;
    pid_t pid_ = -1;
    uint16_t port_ = 0;
    std::optional<ExitStatus> exit_status_;  // set once reaped
};

// The path of the executable under test, read from the environment variable
// `env_var` (CTest sets VG_BINARY). Throws std::runtime_error naming the
// variable when it is unset, or when it does not name an executable file.
[[nodiscard]] std::string FindBinary(std::string_view name, std::string_view env_var = "VG_BINARY");

}  // namespace vg::testing
