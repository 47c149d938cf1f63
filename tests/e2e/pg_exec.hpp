#pragma once
// Test support for the *_pgtest end-to-end tests: one SQL statement on a connection of its own (dropping a
// test's schema, or editing a row behind the server's back).

#include <libpq-fe.h>

#include <memory>
#include <string>

namespace vg::e2e {

// Runs `sql` on a new connection to `conninfo`; the error message, or "" on success.
inline std::string ExecOnce(const std::string& conninfo, const std::string& sql) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK) return PQerrorMessage(conn.get());
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return PQresultErrorMessage(result.get());
    return "";
}

}  // namespace vg::e2e
