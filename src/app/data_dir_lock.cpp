// One process per data directory; see data_dir_lock.hpp.
#include "vg/app/data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace vg::app {

Result<DataDirLock> DataDirLock::Acquire(const std::string& data_dir) {
    const std::string path = (std::filesystem::path(data_dir) / "vitalguard.lock").string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return Status::Error(ErrorCode::kUnavailable, "cannot open " + path + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char pid[32] = {};
        const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
        ::close(fd);
        if (err == EWOULDBLOCK) {
            std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string("?");
            while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
            return Status::Error(ErrorCode::kConflict, "another VitalGuard process (pid " + holder + ") is using " +
                                                           data_dir + "; stop it first");
        }
        return Status::Error(ErrorCode::kUnavailable, "cannot lock " + path + ": " + std::strerror(err));
    }
    // The holder's pid, for the message another process shows; the lock itself is the flock.
    const std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
        // Only the message suffers; the lock is held.
    }
    return DataDirLock(fd);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

DataDirLock::~DataDirLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace vg::app
