#include "pg_connection.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>
#include <utility>

namespace vg::store::pg {
namespace {

// Drops the trailing newline(s) libpq ends its messages with.
std::string Trim(const char* text) {
    std::string s = text != nullptr ? text : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The server is going away or the session is gone: class 08 (connection exception) and the
// "operator intervention" codes 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
bool IsConnectionLoss(std::string_view sqlstate) {
    return StartsWith(sqlstate, "08") || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

}  // namespace

Status Unavailable(std::string message) {
    Status status = Status::Error(ErrorCode::kUnavailable, std::move(message));
    status.WithRetryAfter(1);
    return status;
}

Status Internal(std::string message) { return Status::Error(ErrorCode::kInternal, std::move(message)); }

// ---------------------------------------------------------------------------
// Params

Params& Params::Int(int64_t value) {
    values_.emplace_back(std::to_string(value));
    return *this;
}

Params& Params::Text(std::string_view value) {
    if (value.find('\0') != std::string_view::npos) has_nul_ = true;
    values_.emplace_back(std::string(value));
    return *this;
}

Params& Params::Double(double value) {
    values_.emplace_back(FormatDouble(value));
    return *this;
}

Params& Params::Null() {
    values_.emplace_back(std::nullopt);
    return *this;
}

Params& Params::Raw(std::string literal) {
    if (literal.find('\0') != std::string::npos) has_nul_ = true;
    values_.emplace_back(std::move(literal));
    return *this;
}

std::vector<const char*> Params::Pointers() const {
    std::vector<const char*> pointers;
    pointers.reserve(values_.size());
    for (const auto& value : values_) pointers.push_back(value ? value->c_str() : nullptr);
    return pointers;
}

std::string FormatDouble(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
    char buffer[64];
    // Shortest representation that reads back as the same double (locale-independent).
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
    if (ec != std::errc()) return "0";
    return std::string(buffer, end);
}

void AppendArrayElement(std::string& literal, const std::optional<int64_t>& value) {
    literal += literal.empty() ? "{" : ",";
    literal += value ? std::to_string(*value) : "NULL";
}

void AppendArrayElement(std::string& literal, const std::optional<double>& value) {
    literal += literal.empty() ? "{" : ",";
    literal += value ? FormatDouble(*value) : "NULL";
}

void AppendArrayElement(std::string& literal, std::string_view value) {
    literal += literal.empty() ? "{\"" : ",\"";
    for (char c : value) {
        if (c == '"' || c == '\\') literal += '\\';
        literal += c;
    }
    literal += '"';
}

// ---------------------------------------------------------------------------
// Rows

int64_t Rows::affected() const {
    const char* text = PQcmdTuples(result_.get());
    int64_t n = 0;
    if (text != nullptr) std::from_chars(text, text + std::char_traits<char>::length(text), n);
    return n;
}

int64_t Row::Int64(int col) const {
    std::string_view text = rows_->Raw(row_, col);
    int64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

std::optional<double> Row::OptionalDouble(int col) const {
    if (IsNull(col)) return std::nullopt;
    std::string_view text = rows_->Raw(row_, col);
    if (text == "NaN") return std::nan("");
    if (text == "Infinity") return HUGE_VAL;
    if (text == "-Infinity") return -HUGE_VAL;
    double value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

// ---------------------------------------------------------------------------
// Connection

std::unique_ptr<Connection> Connection::Connect(const ConnectParams& params) {
    // Keywords are applied in order and the last one wins: the defaults before `dbname` (which expands
    // the caller's connection string) may be overridden by it (a connect_timeout of its own, say), the
    // ones after it may not (the store reads and writes UTF-8).
    const std::string timeout = std::to_string(params.connect_timeout_seconds);
    const char* keywords[] = {"application_name", "keepalives_idle", "keepalives_interval", "keepalives_count",
                              "connect_timeout",  "dbname",          "client_encoding",     nullptr};
    const char* values[] = {"vitalguard", "30", "10", "3", timeout.c_str(), params.conninfo.c_str(), "UTF8", nullptr};
    PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
    auto connection = std::unique_ptr<Connection>(new Connection(conn, params.search_path));
    if (conn == nullptr) {
        connection->broken_ = true;
        connection->last_error_ = "out of memory";
        return connection;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        connection->broken_ = true;
        connection->last_error_ = Trim(PQerrorMessage(conn));
        return connection;
    }
    if (Status setup = connection->Setup(); !setup.ok()) {
        connection->broken_ = true;
        connection->last_error_ = setup.message();
    }
    return connection;
}

Connection::~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
}

bool Connection::ok() const { return conn_ != nullptr && !broken_ && PQstatus(conn_) == CONNECTION_OK; }

Status Connection::Setup() {
    // The schema is a parameter here (set_config), never spliced; extra_float_digits > 0 makes the
    // server print every double in its shortest exact form, so values round-trip.
    Result<Rows> rows =
        Exec("SELECT set_config('search_path', $1, false), set_config('extra_float_digits', '3', false)",
             Params().Text(search_path_), "prepare the session");
    return rows.status();
}

Status Connection::Reset() {
    if (conn_ == nullptr) return Unavailable("cannot reach PostgreSQL: " + last_error_);
    PQreset(conn_);
    prepared_.clear();  // a new session has none of the old one's statements
    if (PQstatus(conn_) != CONNECTION_OK) {
        broken_ = true;
        last_error_ = Trim(PQerrorMessage(conn_));
        return Unavailable("cannot reach PostgreSQL: " + last_error_);
    }
    broken_ = false;
    if (Status setup = Setup(); !setup.ok()) {
        broken_ = true;
        return setup.code() == ErrorCode::kUnavailable ? setup : Unavailable(setup.message());
    }
    return Status::Ok();
}

Status Connection::Failure(PGresult* result, std::string_view what) {
    const char* sqlstate = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    const char* constraint = result != nullptr ? PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME) : nullptr;
    last_sqlstate_ = sqlstate != nullptr ? sqlstate : "";
    last_constraint_ = constraint != nullptr ? constraint : "";
    std::string detail = primary != nullptr ? Trim(primary) : Trim(PQerrorMessage(conn_));
    if (detail.empty() && result != nullptr) detail = PQresStatus(PQresultStatus(result));
    last_error_ = detail;
    const bool no_result = result == nullptr;
    if (result != nullptr) PQclear(result);

    std::string message = std::string(what) + ": " + detail;
    // A connection-level failure with no SQLSTATE, class 08, or the server shutting the session down:
    // the session is gone, whatever PQstatus says yet.
    const bool lost =
        PQstatus(conn_) != CONNECTION_OK || IsConnectionLoss(last_sqlstate_) || (last_sqlstate_.empty() && no_result);
    if (lost) {
        broken_ = true;
        return Unavailable(std::move(message));
    }
    if (last_sqlstate_ == kSerializationFailure || last_sqlstate_ == kDeadlockDetected) {
        serialization_failed_ = true;
        return Unavailable(std::move(message));
    }
    if (last_sqlstate_ == kUniqueViolation) return Status::Error(ErrorCode::kConflict, std::move(message));
    // 23514 check_violation (the ports' value limits), 23503 foreign keys no caller claimed, and
    // everything else: unexpected.
    return Internal(std::move(message));
}

Result<Rows> Connection::Exec(const char* sql, const Params& params, std::string_view what) {
    if (params.has_nul()) {
        last_sqlstate_.clear();
        last_constraint_.clear();
        return Internal(std::string(what) + ": a text value contains a NUL byte, which PostgreSQL cannot store");
    }
    if (broken()) return Unavailable(std::string(what) + ": the connection is broken: " + last_error_);
    auto prepared = prepared_.find(sql);
    if (prepared == prepared_.end()) {
        std::string name = "vg_" + std::to_string(prepared_.size() + 1);
        PGresult* made = PQprepare(conn_, name.c_str(), sql, params.size(), nullptr);
        if (made == nullptr || PQresultStatus(made) != PGRES_COMMAND_OK) return Failure(made, what);
        PQclear(made);
        prepared = prepared_.emplace(sql, std::move(name)).first;
    }
    const std::vector<const char*> values = params.Pointers();
    PGresult* result = PQexecPrepared(conn_, prepared->second.c_str(), params.size(),
                                      values.empty() ? nullptr : values.data(), nullptr, nullptr, 0);
    const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        last_sqlstate_.clear();
        last_constraint_.clear();
        return Rows(result);
    }
    return Failure(result, what);
}

Status Connection::Command(const char* sql, std::string_view what) {
    if (broken()) return Unavailable(std::string(what) + ": the connection is broken: " + last_error_);
    // PQexec returns the result of the last statement; an error stops the string there.
    PGresult* result = PQexec(conn_, sql);
    const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        PQclear(result);
        last_sqlstate_.clear();
        last_constraint_.clear();
        return Status::Ok();
    }
    return Failure(result, what);
}

}  // namespace vg::store::pg
