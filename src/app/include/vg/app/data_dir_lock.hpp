// One VitalGuard process per data directory. Two servers on one database would each run the escalation
// and could call 119 twice for one incident; a restore under a running server would be lost. The lock
// is an flock(2) on <data-dir>/vitalguard.lock, released by the kernel when the process ends in any way
// (kill -9 included), so a crash never leaves a stale lock behind.
//
// Thread-safety: an owned handle; move-only. Holds the lock until destroyed.
#pragma once

#include <string>

#include "vg/common/status.hpp"

namespace vg::app {

class DataDirLock {
  public:
    // Takes the lock of `data_dir` (which must exist) without waiting. kConflict when another process
    // holds it, naming that process's pid as it wrote it into the lock file.
    static Result<DataDirLock> Acquire(const std::string& data_dir);

    DataDirLock(DataDirLock&& other) noexcept;
    DataDirLock& operator=(DataDirLock&& other) noexcept;
    DataDirLock(const DataDirLock&) = delete;
    DataDirLock& operator=(const DataDirLock&) = delete;
    ~DataDirLock();

  private:
    explicit DataDirLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace vg::app
