#pragma once
// Status and Result<T>: how expected failures travel (leveldb-style).
//
// A Status is either OK or an ErrorCode with a message a person can read and,
// for validation failures, the list of offending fields. Exceptions are kept
// for what aborts a unit of work (bugs, out of memory); anything that input or
// the environment can cause is a Status.
// Thread-safety: value types; distinct objects may be used from any thread.

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "vg/common/error_code.hpp"

namespace vg {

// One offending input field: its name (dotted path for nested fields) and what is wrong with it.
struct FieldError {
    std::string field;
    std::string problem;

    friend bool operator==(const FieldError&, const FieldError&) = default;
};

class [[nodiscard]] Status {
  public:
    Status() = default;  // OK

    static Status Ok() { return Status(); }
    static Status Error(ErrorCode code, std::string message, std::vector<FieldError> fields = {}) {
        assert(code != ErrorCode::kOk);
        return Status(code, std::move(message), std::move(fields));
    }

    bool ok() const { return code_ == ErrorCode::kOk; }
    ErrorCode code() const { return code_; }
    const std::string& message() const { return message_; }
    const std::vector<FieldError>& fields() const { return fields_; }

    // Seconds after which a retry may succeed; set for kRateLimited and kUnavailable.
    std::optional<int> retry_after_seconds() const { return retry_after_seconds_; }
    Status& WithRetryAfter(int seconds) {
        retry_after_seconds_ = seconds;
        return *this;
    }

    // "validation_failed: age: must be between 1 and 130" — for logs and test failures.
    std::string ToString() const;

  private:
    Status(ErrorCode code, std::string message, std::vector<FieldError> fields)
        : code_(code), message_(std::move(message)), fields_(std::move(fields)) {}

    ErrorCode code_ = ErrorCode::kOk;
    std::string message_;
    std::vector<FieldError> fields_;
    std::optional<int> retry_after_seconds_;
};

// Result<T>: a T, or the Status that explains why there is none.
// REQUIRES: value() only when ok(); status() is OK exactly when a value is held.
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
    Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
        assert(!std::get<Status>(data_).ok());
    }

    bool ok() const { return std::holds_alternative<T>(data_); }
    const T& value() const& {
        assert(ok());
        return std::get<T>(data_);
    }
    T& value() & {
        assert(ok());
        return std::get<T>(data_);
    }
    T&& value() && {
        assert(ok());
        return std::get<T>(std::move(data_));
    }
    const T* operator->() const { return &value(); }
    T* operator->() { return &value(); }
    const T& operator*() const& { return value(); }

    // A reference, so that `result.status().message()` never dangles (it once did, found by ASan).
    const Status& status() const {
        static const Status kOkStatus;
        return ok() ? kOkStatus : std::get<Status>(data_);
    }

  private:
    std::variant<T, Status> data_;
};

}  // namespace vg

// Returns early from the calling function with the Status of `expr` when it is not OK.
#define VG_RETURN_IF_ERROR(expr)                         \
    do {                                                 \
        ::vg::Status vg_status_tmp_ = (expr);            \
        if (!vg_status_tmp_.ok()) return vg_status_tmp_; \
    } while (0)
