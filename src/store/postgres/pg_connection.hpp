#pragma once
// Private to store/postgres: a thin RAII layer over libpq. One Connection is one PGconn, used by one
// thread at a time (the caller that leased it from PostgresStore's pool). Every value travels as a
// text parameter of PQexecParams (Params); SQL text never carries a value. Errors come back as Status,
// mapped from the server's SQLSTATE (ErrorFromSqlState), and the connection remembers what a caller's
// retry loop needs: whether it broke (reset it) and whether a serialization failure or deadlock was
// seen since BeginUnit (retry the whole unit of work).

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg::store::pg {

// SQLSTATEs the store tells apart (PostgreSQL's errcodes.txt).
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kForeignKeyViolation = "23503";
inline constexpr std::string_view kCheckViolation = "23514";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";

// kUnavailable with a Retry-After hint of one second (the api answers 503 + Retry-After).
Status Unavailable(std::string message);
Status Internal(std::string message);

// The parameters of one statement, $1, $2, ... in the order added, in PostgreSQL's text format.
class Params {
  public:
    Params& Int(int64_t value);
    Params& Time(TimePoint value) { return Int(ToUnixMillis(value)); }
    // Bytes as given; PostgreSQL's text cannot hold NUL, so a value with one fails the statement
    // (kInternal) instead of being cut short.
    Params& Text(std::string_view value);
    Params& Double(double value);  // shortest text that reads back as the same double
    Params& Null();
    Params& OptionalInt(const std::optional<int64_t>& value) { return value ? Int(*value) : Null(); }
    Params& OptionalTime(const std::optional<TimePoint>& value) { return value ? Time(*value) : Null(); }
    // An array literal ("{1,NULL,3}") for a bigint[] or float8[] parameter.
    Params& Raw(std::string literal);

    int size() const { return static_cast<int>(values_.size()); }
    bool has_nul() const { return has_nul_; }
    // Pointers into this object, valid until it changes or is destroyed.
    std::vector<const char*> Pointers() const;

  private:
    std::vector<std::optional<std::string>> values_;
    bool has_nul_ = false;
};

// Appends one element of a bigint[] / float8[] literal.
void AppendArrayElement(std::string& literal, const std::optional<int64_t>& value);
void AppendArrayElement(std::string& literal, const std::optional<double>& value);
// A text element, double-quoted with its quotes and backslashes escaped (so commas, braces, blanks and the
// word NULL stay text).
void AppendArrayElement(std::string& literal, std::string_view value);
std::string FormatDouble(double value);

// The rows of one successful statement (or the count of rows it changed).
class Rows {
  public:
    explicit Rows(PGresult* result) : result_(result, &PQclear) {}

    int size() const { return PQntuples(result_.get()); }
    bool empty() const { return size() == 0; }
    // Rows an INSERT, UPDATE or DELETE changed (PQcmdTuples); 0 for other statements.
    int64_t affected() const;

    bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
    std::string_view Raw(int row, int col) const {
        return {PQgetvalue(result_.get(), row, col), static_cast<size_t>(PQgetlength(result_.get(), row, col))};
    }

  private:
    std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

// One row of a Rows, read by column like SQLite's statements (0-based).
class Row {
  public:
    Row(const Rows& rows, int row) : rows_(&rows), row_(row) {}

    bool IsNull(int col) const { return rows_->IsNull(row_, col); }
    int64_t Int64(int col) const;
    int Int(int col) const { return static_cast<int>(Int64(col)); }
    TimePoint Time(int col) const { return FromUnixMillis(Int64(col)); }
    std::string Text(int col) const { return std::string(rows_->Raw(row_, col)); }
    std::optional<int64_t> OptionalInt64(int col) const {
        return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int64(col));
    }
    std::optional<int> OptionalInt(int col) const { return IsNull(col) ? std::nullopt : std::optional<int>(Int(col)); }
    std::optional<TimePoint> OptionalTime(int col) const {
        return IsNull(col) ? std::nullopt : std::optional<TimePoint>(Time(col));
    }
    std::optional<double> OptionalDouble(int col) const;

  private:
    const Rows* rows_;
    int row_;
};

// How to reach the server; shared by every connection of a store.
struct ConnectParams {
    std::string conninfo;             // a libpq connection string or URI; "" means libpq's defaults
    int connect_timeout_seconds = 5;  // libpq's connect_timeout
    std::string search_path;          // the schema as a quoted identifier, e.g. "\"vitalguard\""
};

class Connection {
  public:
    // Connects and prepares the session (search_path, float output). Never null; ok() tells.
    static std::unique_ptr<Connection> Connect(const ConnectParams& params);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Whether the connection can be used: connected and not known to be broken.
    bool ok() const;
    bool broken() const { return !ok(); }
    // The reason the last connect, reset or statement failed ("" when none did).
    const std::string& last_error() const { return last_error_; }

    // PQreset, then the session setup again. kUnavailable when the server cannot be reached.
    Status Reset();

    // Runs one statement with parameters. `what` names it in error messages. Each distinct SQL text is
    // prepared once per session (named statements are session state, kept across transactions and
    // forgotten on Reset), so a statement is parsed and planned once, not on every call.
    Result<Rows> Exec(const char* sql, const Params& params, std::string_view what);
    // Runs SQL without parameters (transaction control, DDL); may hold several statements.
    Status Command(const char* sql, std::string_view what);

    // The SQLSTATE and constraint name of the last failed statement ("" when it had none).
    const std::string& last_sqlstate() const { return last_sqlstate_; }
    const std::string& last_constraint() const { return last_constraint_; }

    // Starts a unit of work: forgets serialization failures seen before.
    void BeginUnit() { serialization_failed_ = false; }
    // Whether a statement failed with a serialization failure or a deadlock since BeginUnit: the unit's
    // transaction is lost and the whole unit must be run again.
    bool serialization_failed() const { return serialization_failed_; }

    PGconn* raw() const { return conn_; }

  private:
    explicit Connection(PGconn* conn, std::string search_path) : conn_(conn), search_path_(std::move(search_path)) {}
    Status Setup();
    // Maps a failed result (or a null one) to a Status and records what the retry loops need.
    Status Failure(PGresult* result, std::string_view what);

    PGconn* conn_;
    std::string search_path_;
    bool broken_ = false;  // a statement failed in a way that leaves the session unusable
    bool serialization_failed_ = false;
    std::string last_error_;
    std::string last_sqlstate_;
    std::string last_constraint_;
    std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name, this session
};

}  // namespace vg::store::pg
