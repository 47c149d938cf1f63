#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <latch>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vg/store/postgres_store.hpp"
#include "vg/store/store_conformance.hpp"
#include "vg/testing/live_servers.hpp"

// What only PostgreSQL has: durability across a reopen of a schema, migrations and their lock, the
// connection pool under concurrent writers (serializable transactions and their retries), connections
// lost under the store, options. The Store contract itself is the conformance suite (store/conformance),
// instantiated here on a schema of its own per test. Every test needs a live server (VG_TEST_POSTGRES,
// tests/live_servers): without one it is skipped (or, with VG_REQUIRE_SERVERS=1, fails).

namespace vg::store {
namespace {

using conformance::DangerIncident;
using conformance::kNow;
using conformance::kT0;
using conformance::ReadingAt;
using conformance::SampleDevice;
using conformance::SampleSession;
using conformance::SampleUser;
using std::chrono::minutes;

// A schema name no other test (nor another test process) uses.
std::string NewSchemaName() {
    static std::atomic<int> counter{0};
    return "vg_t_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
}

// `uri` with libpq's application_name set to `name` (a URI or a key=value string).
std::string WithApplicationName(const std::string& uri, const std::string& name) {
    if (uri.rfind("postgres://", 0) == 0 || uri.rfind("postgresql://", 0) == 0) {
        return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "application_name=" + name;
    }
    return uri + " application_name=" + name;
}

// A libpq connection of the test's own, for what the Store API cannot reach.
class RawPg {
  public:
    explicit RawPg(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
        if (PQstatus(conn_) != CONNECTION_OK) ADD_FAILURE() << "cannot connect: " << PQerrorMessage(conn_);
    }
    ~RawPg() { PQfinish(conn_); }
    RawPg(const RawPg&) = delete;
    RawPg& operator=(const RawPg&) = delete;

    void Exec(const std::string& sql) {
        PGresult* result = PQexec(conn_, sql.c_str());
        const ExecStatusType status = PQresultStatus(result);
        EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) << sql << ": " << PQerrorMessage(conn_);
        PQclear(result);
    }
    // The first column of the first row, as text ("" when there is no row or the query failed).
    std::string QueryText(const std::string& sql) {
        PGresult* result = PQexec(conn_, sql.c_str());
        std::string text;
        if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0 && !PQgetisnull(result, 0, 0)) {
            text = PQgetvalue(result, 0, 0);
        } else if (PQresultStatus(result) != PGRES_TUPLES_OK) {
            ADD_FAILURE() << sql << ": " << PQerrorMessage(conn_);
        }
        PQclear(result);
        return text;
    }
    int64_t QueryInt(const std::string& sql) { return std::stoll("0" + QueryText(sql)); }

  private:
    PGconn* conn_;
};

void DropSchema(const std::string& uri, const std::string& schema) {
    RawPg(uri).Exec("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
}

// GTEST_SKIP (or, with VG_REQUIRE_SERVERS, GTEST_FAIL) only returns from a void function.
void RequirePostgres() { VG_REQUIRE_POSTGRES(); }

// ---- the conformance suite, on a schema of its own per test ----

class PostgresHarness final : public conformance::StoreHarness {
  public:
    static std::unique_ptr<conformance::StoreHarness> Open() {
        RequirePostgres();
        if (::testing::Test::IsSkipped() || ::testing::Test::HasFailure()) return nullptr;
        auto harness = std::unique_ptr<PostgresHarness>(new PostgresHarness(*::vg::testing::PostgresUri()));
        PostgresStoreOptions options;
        options.conninfo = harness->uri_;
        options.schema = harness->schema_;
        auto store = PostgresStore::Open(options);
        if (!store.ok()) {
            ADD_FAILURE() << store.status().ToString();
            return nullptr;
        }
        harness->store_ = std::move(store).value();
        return harness;
    }
    ~PostgresHarness() override {
        store_.reset();  // closes the store's connections before the schema goes
        DropSchema(uri_, schema_);
    }
    Store& store() override { return *store_; }

  private:
    explicit PostgresHarness(std::string uri) : uri_(std::move(uri)), schema_(NewSchemaName()) {}

    std::string uri_;
    std::string schema_;
    std::unique_ptr<PostgresStore> store_;
};

}  // namespace

namespace conformance {
INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformance,
                         ::testing::Values(StoreImplementation{"postgres", &PostgresHarness::Open}),
                         ImplementationName);
}  // namespace conformance

namespace {

// ---- PostgreSQL-specific ----

class PostgresStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        VG_REQUIRE_POSTGRES();
        uri_ = *::vg::testing::PostgresUri();
        schema_ = NewSchemaName();
    }
    void TearDown() override {
        store_.reset();
        if (!schema_.empty()) DropSchema(uri_, schema_);
    }

    PostgresStoreOptions Options() const {
        PostgresStoreOptions options;
        // The store's own sessions are told apart from everyone else's by their application_name.
        options.conninfo = WithApplicationName(uri_, schema_);
        options.schema = schema_;
        options.clock = &clock_;
        return options;
    }
    std::unique_ptr<PostgresStore> OpenOrDie(const PostgresStoreOptions& options) {
        auto store = PostgresStore::Open(options);
        if (!store.ok()) {
            ADD_FAILURE() << store.status().ToString();
            return nullptr;
        }
        return std::move(store).value();
    }
    // The store under test, opened with Options() on first use.
    PostgresStore& store() {
        if (store_ == nullptr) store_ = OpenOrDie(Options());
        return *store_;
    }
    int64_t CreateUserOrDie(const std::string& id) {
        auto user = store().CreateUser(SampleUser(id));
        EXPECT_TRUE(user.ok()) << user.status().ToString();
        return user.ok() ? user->unique_num : 0;
    }
    std::string Table(const std::string& table) const { return "\"" + schema_ + "\"." + table; }
    // Terminates every server session of the store under test (as a server restart or an operator would).
    int64_t TerminateStoreSessions() {
        return RawPg(uri_).QueryInt(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
            schema_ + "' AND pid <> pg_backend_pid()) AS t");
    }

    ManualClock clock_{FromUnixMillis(1'800'000'000'000)};
    std::string uri_;
    std::string schema_;
    std::unique_ptr<PostgresStore> store_;
};

// ---- durability, migrations, options ----

TEST_F(PostgresStoreTest, DataSurvivesCloseAndReopen) {
    const int64_t user = CreateUserOrDie("persistent");
    ASSERT_TRUE(store().CreateSession(SampleSession("kept", user)).ok());
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 2, kT0, {}, {}, {}}).ok());
    std::vector<NewOutboxMessage> outbox{conformance::Message("durable-1", kNow)};
    ASSERT_TRUE(store().SaveIncident(DangerIncident(user, kNow), {}, outbox).ok());
    store().Close();
    store_.reset();

    auto found = store().FindUserById("persistent");  // reopens the same schema
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(found->unique_num, user);
    EXPECT_EQ(found->danger_degree, 2);
    EXPECT_TRUE(store().FindSession("kept").ok());
    auto open = store().FindOpenIncident(user);
    ASSERT_TRUE(open.ok() && open->has_value());
    EXPECT_EQ(store().ClaimOutbox(kNow, 10, std::chrono::seconds(30))->size(), 1u);
    // Identity columns: numbers are never reused, even across a reopen.
    EXPECT_GT(CreateUserOrDie("second"), user);
}

TEST_F(PostgresStoreTest, MigrationsAreRecordedOnceAndNotReappliedOnReopen) {
    ASSERT_EQ(PostgresMigrations().size(), static_cast<size_t>(PostgresSchemaVersion()));
    for (size_t i = 0; i < PostgresMigrations().size(); ++i) {
        EXPECT_EQ(PostgresMigrations()[i].version, static_cast<int>(i) + 1);  // 1, 2, 3, ... without gaps
    }
    const TimePoint first_open = clock_.Now();
    for (int open = 0; open < 3; ++open) {
        store_ = OpenOrDie(Options());
        ASSERT_NE(store_, nullptr);
        CreateUserOrDie("user_" + std::to_string(open));  // the tables were not recreated: earlier rows stay
        store_.reset();
        clock_.Advance(minutes(1));
    }
    RawPg raw(uri_);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM " + Table("schema_migrations")), PostgresSchemaVersion());
    EXPECT_EQ(raw.QueryInt("SELECT MAX(version) FROM " + Table("schema_migrations")), PostgresSchemaVersion());
    EXPECT_EQ(raw.QueryText("SELECT name FROM " + Table("schema_migrations") + " WHERE version = 1"),
              PostgresMigrations()[0].name);
    EXPECT_EQ(raw.QueryInt("SELECT MIN(applied_at) FROM " + Table("schema_migrations")), ToUnixMillis(first_open));
    EXPECT_EQ(raw.QueryInt("SELECT MAX(applied_at) FROM " + Table("schema_migrations")), ToUnixMillis(first_open))
        << "reopening applied nothing again";
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM " + Table("users")), 3);
}

// Processes starting together on a new schema: the advisory lock makes them take turns.
TEST_F(PostgresStoreTest, StoresOpeningANewSchemaAtOnceApplyEachMigrationOnce) {
    constexpr int kOpeners = 6;
    std::vector<Status> results(kOpeners);
    std::vector<std::thread> threads;
    std::latch start(kOpeners);
    for (int i = 0; i < kOpeners; ++i) {
        threads.emplace_back([&, i] {
            PostgresStoreOptions options = Options();
            options.connections = 1;
            start.arrive_and_wait();
            results[static_cast<size_t>(i)] = PostgresStore::Open(options).status();
        });
    }
    for (auto& t : threads) t.join();
    for (const Status& status : results) EXPECT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(RawPg(uri_).QueryInt("SELECT COUNT(*) FROM " + Table("schema_migrations")), PostgresSchemaVersion());
}

TEST_F(PostgresStoreTest, FutureSchemaVersionIsRefused) {
    store();
    store_.reset();
    const int future = PostgresSchemaVersion() + 1;
    RawPg(uri_).Exec("INSERT INTO " + Table("schema_migrations") + " (version, name, applied_at) VALUES (" +
                     std::to_string(future) + ", 'from the future', 0)");
    auto refused = PostgresStore::Open(Options());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(refused.status().message(), "database schema version " + std::to_string(future) +
                                              " is newer than this binary supports (" +
                                              std::to_string(PostgresSchemaVersion()) + ")");
}

TEST_F(PostgresStoreTest, DifferentSchemaHistoryIsRefused) {
    store();
    store_.reset();
    RawPg(uri_).Exec("UPDATE " + Table("schema_migrations") + " SET name = 'something else' WHERE version = 1");
    auto refused = PostgresStore::Open(Options());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kInternal);
    EXPECT_NE(refused.status().message().find("something else"), std::string::npos);
}

// Two schemas in one database are two stores: nothing of one is seen from the other.
// `vitalguard serve` opens its store exclusive: a second server on the same schema is refused until the
// first closes; tools (not exclusive) still open it; another schema is another server's.
TEST_F(PostgresStoreTest, AnExclusiveStoreKeepsASecondServerOffItsSchemaUntilItCloses) {
    PostgresStoreOptions exclusive = Options();
    exclusive.exclusive = true;
    exclusive.connections = 1;
    auto first = OpenOrDie(exclusive);
    ASSERT_NE(first, nullptr);

    auto second = PostgresStore::Open(exclusive);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), ErrorCode::kUnavailable);
    EXPECT_NE(second.status().message().find("another VitalGuard server uses the schema " + schema_), std::string::npos)
        << second.status().ToString();

    PostgresStoreOptions tool = Options();
    tool.connections = 1;
    auto shared = OpenOrDie(tool);  // a tool (vitalguard user ...) beside the server
    ASSERT_NE(shared, nullptr);
    shared->Close();

    first->Close();
    auto after = OpenOrDie(exclusive);  // the lock went with the first store's session
    ASSERT_NE(after, nullptr);
    after->Close();
}

TEST_F(PostgresStoreTest, SchemasAreSeparateStores) {
    CreateUserOrDie("only_here");
    PostgresStoreOptions other = Options();
    other.schema = schema_ + "_other";
    auto second = OpenOrDie(other);
    ASSERT_NE(second, nullptr);
    EXPECT_FALSE(second->UserIdExists("only_here").value());
    EXPECT_TRUE(second->CreateUser(SampleUser("only_here")).ok()) << "the same id in another schema";
    second.reset();
    DropSchema(uri_, other.schema);
}

TEST_F(PostgresStoreTest, NothingListeningIsUnavailableQuickly) {
    // A port that was free a moment ago: connecting is refused at once.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
    const int port = ntohs(address.sin_port);
    close(fd);

    PostgresStoreOptions options = Options();
    options.conninfo = "postgresql://postgres:hunter22@127.0.0.1:" + std::to_string(port) + "/vg_test";
    options.connect_timeout = std::chrono::seconds(2);
    const auto started = std::chrono::steady_clock::now();
    auto refused = PostgresStore::Open(options);
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable) << refused.status().ToString();
    EXPECT_TRUE(refused.status().retry_after_seconds().has_value());
    EXPECT_LT(took, std::chrono::seconds(3));
    EXPECT_EQ(refused.status().message().find("hunter22"), std::string::npos) << refused.status().message();
}

TEST_F(PostgresStoreTest, BadOptionsAreRefused) {
    for (const std::string& bad :
         std::vector<std::string>{"", "Vitalguard", "1st", "vital-guard", "vital guard", "x\"; DROP SCHEMA public; --",
                                  "pg_catalog", "pg_mine", std::string(64, 'a'), "vitalguärd"}) {
        EXPECT_FALSE(IsValidPostgresSchemaName(bad)) << bad;
        PostgresStoreOptions options = Options();
        options.schema = bad;
        auto refused = PostgresStore::Open(options);
        ASSERT_FALSE(refused.ok()) << bad;
        EXPECT_EQ(refused.status().code(), ErrorCode::kInternal) << bad;
    }
    for (const std::string& good : std::vector<std::string>{"vitalguard", "_x", "vg_2", std::string(63, 'a')}) {
        EXPECT_TRUE(IsValidPostgresSchemaName(good)) << good;
    }
    PostgresStoreOptions options = Options();
    options.connections = 0;
    EXPECT_EQ(PostgresStore::Open(options).status().code(), ErrorCode::kInternal);
    options = Options();
    options.connect_timeout = Milliseconds(0);
    EXPECT_EQ(PostgresStore::Open(options).status().code(), ErrorCode::kInternal);
    options = Options();
    options.max_write_attempts = 0;
    EXPECT_EQ(PostgresStore::Open(options).status().code(), ErrorCode::kInternal);
    options = Options();
    options.conninfo = "host=localhost port";  // not a connection string
    EXPECT_EQ(PostgresStore::Open(options).status().code(), ErrorCode::kInternal);
    options.conninfo = "postgresql://vg:hunter22@[::1/vg_test";  // libpq quotes such a URI in its error
    auto unparsable = PostgresStore::Open(options);
    EXPECT_EQ(unparsable.status().code(), ErrorCode::kInternal);
    EXPECT_EQ(unparsable.status().message().find("hunter22"), std::string::npos) << unparsable.status().message();
    // Nothing was created for any of them.
    EXPECT_EQ(RawPg(uri_).QueryInt("SELECT COUNT(*) FROM pg_namespace WHERE nspname = '" + schema_ + "'"), 0);
}

TEST_F(PostgresStoreTest, CallsAfterCloseAreUnavailable) {
    const int64_t user = CreateUserOrDie("closing");
    store().Close();
    store().Close();  // idempotent
    for (const Status& status :
         {store().CreateUser(SampleUser("late")).status(), store().FindUserByUniqueNum(user).status(),
          store().AppendStatus(StatusRow{user, 1, kT0, {}, {}, {}}), store().CheckHealth(),
          store().ClaimOutbox(kNow, 10, std::chrono::seconds(1)).status()}) {
        EXPECT_EQ(status.code(), ErrorCode::kUnavailable) << status.ToString();
        EXPECT_TRUE(status.retry_after_seconds().has_value());
    }
    // Close closed every connection (the server notices each within moments).
    int64_t sessions = -1;
    for (int i = 0; i < 200 && sessions != 0; ++i) {
        if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        sessions =
            RawPg(uri_).QueryInt("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '" + schema_ + "'");
    }
    EXPECT_EQ(sessions, 0);
}

// ---- values ----

TEST_F(PostgresStoreTest, RowThatBreaksASchemaCheckIsInternalWithTheServersMessage) {
    NewUser bad = SampleUser("too_old");
    bad.profile.age = 131;
    auto result = store().CreateUser(bad);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kInternal);
    EXPECT_NE(result.status().message().find("violates check constraint"), std::string::npos)
        << result.status().message();
    EXPECT_EQ(store().FindUserById("too_old").status().code(), ErrorCode::kNotFound);
}

TEST_F(PostgresStoreTest, TextWithANulByteIsRefusedNotCutShort) {
    NewUser user = SampleUser(std::string("nul\0id", 6));
    EXPECT_EQ(store().CreateUser(user).status().code(), ErrorCode::kInternal);
    EXPECT_FALSE(store().UserIdExists("nul").value());
}

TEST_F(PostgresStoreTest, DoublesRoundTripExactly) {
    const int64_t user = CreateUserOrDie("precise");
    const std::vector<double> values{
        0.1, 1.0 / 3.0, 97.5, 1e-300, 123456.78901234567, -2.5e+300, std::numeric_limits<double>::denorm_min()};
    std::vector<IncomingReading> readings;
    for (size_t i = 0; i < values.size(); ++i) {
        IncomingReading in;
        in.reading.measured_at = kT0 + Milliseconds(static_cast<int64_t>(i));
        for (size_t m = 0; m < in.reading.values.size(); ++m) in.reading.values[m] = values[(i + m) % values.size()];
        readings.push_back(in);
    }
    ASSERT_TRUE(store().AppendReadings(user, std::nullopt, readings, kT0).ok());
    auto recent = store().RecentReadings(user, 100);
    ASSERT_TRUE(recent.ok()) << recent.status().ToString();
    ASSERT_EQ(recent->size(), readings.size());
    for (const StoredReading& stored : *recent) {
        const size_t i = static_cast<size_t>(ToUnixMillis(stored.reading.measured_at) - ToUnixMillis(kT0));
        for (size_t m = 0; m < stored.reading.values.size(); ++m) {
            ASSERT_TRUE(stored.reading.values[m].has_value());
            EXPECT_EQ(*stored.reading.values[m], values[(i + m) % values.size()]) << i << "/" << m;  // bit for bit
        }
    }
}

// A batch larger than one statement's chunk: ids follow the given order, duplicates are reported.
TEST_F(PostgresStoreTest, LargeBatchesAreDeduplicatedAcrossChunks) {
    const int64_t user = CreateUserOrDie("busy");
    auto device = store().CreateDevice(SampleDevice(user, "watch"));
    ASSERT_TRUE(device.ok());
    std::vector<IncomingReading> batch;
    for (int i = 0; i < 2500; ++i) batch.push_back(ReadingAt(1000 + i, i % 1200, 60 + i % 40));
    auto stored = store().AppendReadings(user, device->device_id, batch, kT0);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    for (int i = 0; i < 2500; ++i) EXPECT_EQ((*stored)[static_cast<size_t>(i)], i < 1200) << i;
    EXPECT_EQ(RawPg(uri_).QueryInt("SELECT COUNT(*) FROM " + Table("vitals")), 1200);
    // Ids increase in the given order.
    EXPECT_EQ(RawPg(uri_).QueryInt("SELECT COUNT(*) FROM (SELECT measured_at, LAG(measured_at) OVER (ORDER BY id) AS "
                                   "prev FROM " +
                                   Table("vitals") + ") AS t WHERE prev > measured_at"),
              0);
}

TEST_F(PostgresStoreTest, DeletingAUserCascadesToItsRows) {
    const int64_t user = CreateUserOrDie("leaving");
    ASSERT_TRUE(store().CreateSession(SampleSession("s", user)).ok());
    ASSERT_TRUE(store().CreateDevice(SampleDevice(user, "d")).ok());
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 1, kT0, {}, {}, {}}).ok());
    ASSERT_TRUE(store().AppendPosture({user, 1, kT0}).ok());
    ASSERT_TRUE(store().SaveFallSuspicion({user, kT0, 0, kT0, kT0, kT0, kT0}).ok());
    RawPg raw(uri_);
    raw.Exec("DELETE FROM " + Table("users") + " WHERE unique_num = " + std::to_string(user));
    EXPECT_EQ(store().FindSession("s").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindDeviceByTokenHash("d").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM " + Table("user_status")), 0);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM " + Table("user_posture")), 0);
    EXPECT_TRUE(store().ListFallSuspicions()->empty());
}

// ---- concurrency ----

// Many writers at once, of one shared wearer (whose danger_degree they keep changing, so their
// transactions conflict) and of wearers of their own: every write succeeds (the serializable retries
// resolve every conflict) and every row is there.
TEST_F(PostgresStoreTest, ManyThreadsWritingAtOnceLoseNothing) {
    constexpr int kThreads = 16;
    constexpr int kPerThread = 50;
    const int64_t shared = CreateUserOrDie("shared");
    auto shared_watch = store().CreateDevice(SampleDevice(shared, "shared-watch"));
    ASSERT_TRUE(shared_watch.ok());
    std::vector<int64_t> own;
    for (int t = 0; t < kThreads; ++t) own.push_back(CreateUserOrDie("own_" + std::to_string(t)));
    PostgresStore& s = store();
    std::atomic<int> failures = 0;
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            const int64_t mine = own[static_cast<size_t>(t)];
            const int64_t watch = shared_watch->device_id;
            start.arrive_and_wait();
            for (int i = 0; i < kPerThread; ++i) {
                const int64_t seq = t * kPerThread + i;
                const std::vector<IncomingReading> to_shared{ReadingAt(10'000 + seq, seq, 70)};
                const std::vector<IncomingReading> to_own{ReadingAt(10'000 + i, std::nullopt, 80)};
                // Every failure is counted and says what it was.
                auto expect_ok = [&](const Status& status, const char* what) {
                    if (status.ok()) return;
                    ++failures;
                    ADD_FAILURE() << what << ": " << status.ToString();
                };
                auto a = s.AppendReadings(shared, watch, to_shared, kT0);
                expect_ok(a.status(), "append a reading of the shared wearer");
                if (a.ok() && *a != std::vector<bool>{true})
                    expect_ok(Status::Error(ErrorCode::kInternal, "not appended"), "shared reading");
                expect_ok(s.AppendReadings(mine, std::nullopt, to_own, kT0).status(), "append an own reading");
                expect_ok(s.AppendStatus(StatusRow{shared, (t + i) % 3, kT0 + Milliseconds(seq), {}, {}, {}}),
                          "append a status of the shared wearer");
                expect_ok(s.AppendStatus(StatusRow{mine, i % 3, kT0 + Milliseconds(i), {}, {}, {}}),
                          "append an own status");
                std::vector<VerdictRecord> verdict(1);
                verdict[0].user_unique_num = shared;
                verdict[0].row = StatusRow{shared, (t + i + 1) % 3, kT0 + Milliseconds(seq), {}, {}, {}};
                verdict[0].postures = {PostureRow{shared, i % 8, kT0 + Milliseconds(seq)}};
                auto v = s.RecordVerdicts(verdict);
                expect_ok(v.status(), "record a verdict of the shared wearer");
                if (v.ok()) expect_ok((*v)[0], "the shared wearer's verdict");
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    RawPg raw(uri_);
    const std::string shared_num = std::to_string(shared);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM " + Table("vitals") + " WHERE user_unique_num = " + shared_num),
              kThreads * kPerThread);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(DISTINCT device_seq) FROM " + Table("vitals") +
                           " WHERE user_unique_num = " + shared_num),
              kThreads * kPerThread);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM " + Table("vitals")), 2 * kThreads * kPerThread);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM " + Table("user_status") + " WHERE user_unique_num = " + shared_num),
              2 * kThreads * kPerThread);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM " + Table("user_status")), 3 * kThreads * kPerThread);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM " + Table("user_posture")), kThreads * kPerThread);
    for (int t = 0; t < kThreads; ++t) {
        EXPECT_EQ(s.RecentReadings(own[static_cast<size_t>(t)], 1000)->size(), static_cast<size_t>(kPerThread));
    }
    // The shared wearer's danger_degree is the level of its last appended row.
    EXPECT_EQ(raw.QueryInt("SELECT danger_degree FROM " + Table("users") + " WHERE unique_num = " + shared_num),
              raw.QueryInt("SELECT status FROM " + Table("user_status") + " WHERE user_unique_num = " + shared_num +
                           " ORDER BY id DESC LIMIT 1"));
}

// Two stores on one schema (two processes) racing to open an incident for the same wearer: one wins.
TEST_F(PostgresStoreTest, TwoStoresRacingToOpenAnIncidentExactlyOneWins) {
    auto other = OpenOrDie(Options());
    ASSERT_NE(other, nullptr);
    std::array<PostgresStore*, 2> stores{&store(), other.get()};
    for (int round = 0; round < 20; ++round) {
        const int64_t wearer = CreateUserOrDie("racer_" + std::to_string(round));
        std::array<Result<domain::Incident>, 2> results{Status::Error(ErrorCode::kInternal, "not run"),
                                                        Status::Error(ErrorCode::kInternal, "not run")};
        std::latch start(2);
        std::vector<std::thread> threads;
        for (size_t i = 0; i < 2; ++i) {
            threads.emplace_back([&, i] {
                start.arrive_and_wait();
                results[i] = stores[i]->SaveIncident(DangerIncident(wearer, kNow), {}, {});
            });
        }
        for (auto& th : threads) th.join();
        int won = 0;
        for (const auto& result : results) {
            if (result.ok()) {
                ++won;
            } else {
                EXPECT_EQ(result.status().code(), ErrorCode::kConflict) << result.status().ToString();
            }
        }
        EXPECT_EQ(won, 1) << "round " << round;
        EXPECT_EQ(store().ListIncidents(wearer, 10)->size(), 1u);
    }
}

// ---- connections lost under the store ----

TEST_F(PostgresStoreTest, KilledConnectionsAreResetAndTheNextCallSucceeds) {
    const int64_t user = CreateUserOrDie("survivor");
    for (int round = 0; round < 3; ++round) {
        ASSERT_GT(TerminateStoreSessions(), 0) << "the store's sessions are found by their application_name";
        // The next call (or the one after) succeeds: reads and writes alike.
        auto first_read = store().FindUserByUniqueNum(user);
        if (!first_read.ok()) {
            EXPECT_EQ(first_read.status().code(), ErrorCode::kUnavailable) << first_read.status().ToString();
            first_read = store().FindUserByUniqueNum(user);
        }
        ASSERT_TRUE(first_read.ok()) << first_read.status().ToString();
        Status write = store().AppendStatus(StatusRow{user, round % 3, kT0 + minutes(round), {}, {}, {}});
        if (!write.ok()) {
            EXPECT_EQ(write.code(), ErrorCode::kUnavailable) << write.ToString();
            write = store().AppendStatus(StatusRow{user, round % 3, kT0 + minutes(round), {}, {}, {}});
        }
        ASSERT_TRUE(write.ok()) << write.ToString();
        EXPECT_TRUE(store().CheckHealth().ok());
    }
    // Every connection of the pool comes back, used by many threads at once.
    ASSERT_GT(TerminateStoreSessions(), 0);
    std::atomic<int> failures = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 12; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                if (!store_->FindUserById("survivor").ok()) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(store().RecentStatuses(user, 10)->size(), 3u);
}

}  // namespace
}  // namespace vg::store
