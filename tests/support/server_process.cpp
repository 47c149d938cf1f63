#include "vg/testing/server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vg::testing {
namespace {

constexpr std::chrono::milliseconds kPollInterval{10};

ExitStatus FromWaitStatus(int status) {
    ExitStatus result;
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The ready file's port, or nullopt while it is absent or incomplete.
std::optional<uint16_t> ParsePort(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(value);
}

// argv/envp arrays are built before fork(): between fork and exec only
// async-signal-safe calls are allowed (the test process has threads).
std::vector<char*> CStrings(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (std::string& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

void WriteAll(int fd, const char* text) {
    size_t left = std::strlen(text);
    while (left > 0) {
        ssize_t n = ::write(fd, text, left);
        if (n <= 0) return;
        text += n;
        left -= static_cast<size_t>(n);
    }
}

// "errno 2\n" without strerror, which is not async-signal-safe.
void WriteErrno(int fd, int err) {
    char digits[16];
    int n = 0;
    unsigned value = static_cast<unsigned>(err);
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0 && n < 15);
    char text[32] = "errno ";
    int pos = 6;
    while (n > 0) text[pos++] = digits[--n];
    text[pos++] = '\n';
    text[pos] = '\0';
    WriteAll(fd, text);
}

}  // namespace

std::string ExitStatus::ToString() const {
    if (signal != 0) {
        const char* name = ::strsignal(signal);
        return "signal " + std::to_string(signal) + " (" + (name != nullptr ? name : "?") + ")";
    }
    return "exit code " + std::to_string(exit_code);
}

ServerProcess::ServerProcess(std::string binary, ServerProcessOptions options) : dir_("vg-server") {
    const std::string log_path = dir_.file("server.log");
    const std::string ready_path = dir_.file("ready");

    std::vector<std::string> argv_strings;
    argv_strings.push_back(binary);
    argv_strings.insert(argv_strings.end(), options.args.begin(), options.args.end());
    if (!options.ready_file_flag.empty()) {
        argv_strings.push_back(options.ready_file_flag);
        argv_strings.push_back(ready_path);
    }

    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
        std::string_view name = entry.substr(0, entry.find('='));
        bool overridden = false;
        for (const auto& [key, value] : options.env) overridden = overridden || key == name;
        if (!overridden) env_strings.emplace_back(entry);
    }
    for (const auto& [key, value] : options.env) env_strings.push_back(key + "=" + value);

    std::vector<char*> argv = CStrings(argv_strings);
    std::vector<char*> envp = CStrings(env_strings);
    const std::string exec_failed = "ServerProcess: exec " + binary + " failed\n";
    const char* working_dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();

    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("ServerProcess: cannot create " + log_path + ": " + std::strerror(errno));

    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        int err = errno;
        ::close(log_fd);
        throw std::runtime_error(std::string("ServerProcess: fork failed: ") + std::strerror(err));
    }
    if (pid_ == 0) {
        // Child. Own process group, so Kill() reaches whatever the server spawns.
        ::setpgid(0, 0);
        // A test that crashes runs no destructors: have the kernel kill the server with it, so a
        // failing run never leaves servers behind (regression: segfaulting e2e tests left five).
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
        int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        // Don't leak the test's sockets and files into the server.
        ::syscall(SYS_close_range, 3U, ~0U, 0U);
        if (working_dir != nullptr && ::chdir(working_dir) != 0) {
            WriteAll(STDERR_FILENO, "ServerProcess: chdir failed\n");
            ::_exit(127);
        }
        ::execve(argv[0], argv.data(), envp.data());
        WriteAll(STDERR_FILENO, exec_failed.c_str());
        WriteErrno(STDERR_FILENO, errno);
        ::_exit(127);
    }
    ::close(log_fd);
    // Also from the parent, so that Kill() works even before the child ran setpgid.
    ::setpgid(pid_, pid_);

    if (options.ready_file_flag.empty()) return;
    try {
        WaitReady(ready_path, options.ready_timeout);
    } catch (...) {
        Kill();
        throw;
    }
}

void ServerProcess::WaitReady(const std::string& ready_file, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string previous;
    for (;;) {
        std::string content = ReadFile(ready_file);
        if (auto port = ParsePort(content)) {
            // A newline marks a complete write; without one, accept content that stayed the same
            // across two polls (a non-atomic writer may be mid-write).
            if (content.back() == '\n' || content == previous) {
                port_ = *port;
                return;
            }
        }
        previous = std::move(content);
        if (auto status = Wait(std::chrono::milliseconds(0))) {
            throw std::runtime_error("ServerProcess: the server exited (" + status->ToString() +
                                     ") before it was ready; log tail:\n" + LogTail());
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error("ServerProcess: the server was not ready after " +
                                     std::to_string(timeout.count()) + " ms (no port in " + ready_file +
                                     "); log tail:\n" + LogTail());
        }
        std::this_thread::sleep_for(kPollInterval);
    }
}

ServerProcess::~ServerProcess() {
    if (pid_ > 0 && !exit_status_) Kill();
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept
    : dir_(std::move(other.dir_)), pid_(other.pid_), port_(other.port_), exit_status_(other.exit_status_) {
    other.pid_ = -1;
}

ServerProcess& ServerProcess::operator=(ServerProcess&& other) noexcept {
    if (this != &other) {
        if (pid_ > 0 && !exit_status_) Kill();
        dir_ = std::move(other.dir_);
        pid_ = other.pid_;
        port_ = other.port_;
        exit_status_ = other.exit_status_;
        other.pid_ = -1;
    }
    return *this;
}

bool ServerProcess::running() { return pid_ > 0 && !Wait(std::chrono::milliseconds(0)).has_value(); }

std::optional<ExitStatus> ServerProcess::Wait(std::chrono::milliseconds timeout) {
    if (exit_status_) return exit_status_;
    if (pid_ <= 0) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_status_ = FromWaitStatus(status);
            return exit_status_;
        }
        if (r < 0 && errno != EINTR) {
            // Not our child any more (reaped elsewhere): report it as unknown.
            exit_status_ = ExitStatus{};
            return exit_status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void ServerProcess::Signal(int signal_number) {
    if (pid_ > 0 && !exit_status_) ::kill(pid_, signal_number);
}

ExitStatus ServerProcess::Terminate(std::chrono::milliseconds timeout) {
    Signal(SIGTERM);
    if (auto status = Wait(timeout)) return *status;
    return Kill();
}

ExitStatus ServerProcess::Kill() {
    if (pid_ <= 0) return ExitStatus{};
    // Once reaped, the pid (and group id) may belong to someone else: signal only a live child.
    if (exit_status_) return *exit_status_;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);  // in case the group was never formed
    // SIGKILL cannot be caught; the wait is short unless the process is stuck in the kernel.
    if (auto status = Wait(std::chrono::seconds(10))) return *status;
    return ExitStatus{};
}

std::string ServerProcess::log() const { return ReadFile(dir_.file("server.log")); }

std::string ServerProcess::LogTail(size_t lines) const {
    std::string text = log();
    size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (size_t n = 0; n < lines && pos > 0; ++n) {
        size_t nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) {
            pos = 0;
            break;
        }
        pos = nl;
    }
    return pos == 0 ? text : text.substr(pos + 1);
}

std::string FindBinary(std::string_view name, std::string_view env_var) {
    const std::string var(env_var);
    const char* value = std::getenv(var.c_str());
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error("FindBinary(" + std::string(name) + "): environment variable " + var +
                                 " is not set; run this test through CTest, or set " + var + "=/path/to/" +
                                 std::string(name));
    }
    if (::access(value, X_OK) != 0) {
        throw std::runtime_error("FindBinary(" + std::string(name) + "): " + var + "=" + value +
                                 " is not an executable file: " + std::strerror(errno));
    }
    return value;
}

}  // namespace vg::testing
