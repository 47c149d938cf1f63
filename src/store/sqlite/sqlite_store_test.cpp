#include "vg/store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vg/store/store_conformance.hpp"

// What only SQLite has: the file, WAL and durability across a reopen, migrations, group commit, the
// connection pool, the schema's own checks and cascades. The Store contract itself is the conformance
// suite (store/conformance), instantiated here on a real database file.

namespace vg::store {
namespace {

namespace fs = std::filesystem;
using conformance::DangerIncident;
using conformance::kT0;
using conformance::Message;
using conformance::SampleDevice;
using conformance::SampleSession;
using conformance::SampleUser;
using std::chrono::minutes;

// A fresh directory per test, removed afterwards.
fs::path MakeTempDir() {
    std::string pattern = (fs::temp_directory_path() / "vg-sqlite-store-test-XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    return fs::path(made);
}

// Direct access to the database file, for what the Store API cannot reach.
class RawDb {
  public:
    explicit RawDb(const fs::path& path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("cannot open raw db");
        sqlite3_busy_timeout(db_, 5000);
    }
    ~RawDb() { sqlite3_close(db_); }
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;

    void Exec(const std::string& sql) {
        char* error = nullptr;
        int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
        std::string message = error != nullptr ? error : "";
        sqlite3_free(error);
        ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << message;
    }
    // The first column of the first row, as text ("" when there is no row).
    std::string QueryText(const std::string& sql) {
        sqlite3_stmt* stmt = nullptr;
        std::string result;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
            const unsigned char* text = sqlite3_column_text(stmt, 0);
            if (text != nullptr) result = reinterpret_cast<const char*>(text);
        }
        sqlite3_finalize(stmt);
        return result;
    }
    int64_t QueryInt(const std::string& sql) { return std::stoll("0" + QueryText(sql)); }

  private:
    sqlite3* db_ = nullptr;
};

// ---- the conformance suite, on a database file of its own per test ----

class SqliteHarness final : public conformance::StoreHarness {
  public:
    static std::unique_ptr<conformance::StoreHarness> Open() {
        auto harness = std::unique_ptr<SqliteHarness>(new SqliteHarness());
        SqliteStoreOptions options;
        options.path = (harness->dir_ / "vitalguard.db").string();
        auto store = SqliteStore::Open(options);
        if (!store.ok()) {
            ADD_FAILURE() << store.status().ToString();
            return nullptr;
        }
        harness->store_ = std::move(store).value();
        return harness;
    }
    ~SqliteHarness() override {
        store_.reset();
        fs::remove_all(dir_);
    }
    Store& store() override { return *store_; }

  private:
    SqliteHarness() : dir_(MakeTempDir()) {}

    fs::path dir_;
    std::unique_ptr<SqliteStore> store_;
};

}  // namespace

namespace conformance {
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance,
                         ::testing::Values(StoreImplementation{"sqlite", &SqliteHarness::Open}), ImplementationName);
}  // namespace conformance

namespace {

// ---- SQLite-specific ----

class SqliteStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = MakeTempDir();
        path_ = dir_ / "vitalguard.db";
    }
    void TearDown() override {
        store_.reset();
        fs::remove_all(dir_);
    }

    SqliteStoreOptions Options() const {
        SqliteStoreOptions options;
        options.path = path_.string();
        options.clock = &clock_;
        return options;
    }
    std::unique_ptr<SqliteStore> OpenOrDie(const SqliteStoreOptions& options) {
        auto store = SqliteStore::Open(options);
        if (!store.ok()) {
            ADD_FAILURE() << store.status().ToString();
            return nullptr;
        }
        return std::move(store).value();
    }
    // The store under test, opened with Options() on first use.
    SqliteStore& store() {
        if (store_ == nullptr) store_ = OpenOrDie(Options());
        return *store_;
    }
    int64_t CreateUserOrDie(const std::string& id) {
        auto user = store().CreateUser(SampleUser(id));
        EXPECT_TRUE(user.ok()) << user.status().ToString();
        return user.ok() ? user->unique_num : 0;
    }

    ManualClock clock_{FromUnixMillis(1'800'000'000'000)};
    fs::path dir_;
    fs::path path_;
    std::unique_ptr<SqliteStore> store_;
};

// The ports' value limits are the schema's CHECK constraints: the error says which.
TEST_F(SqliteStoreTest, RowThatBreaksASchemaCheckIsInternalAndNotStored) {
    NewUser bad = SampleUser("too_old");
    bad.profile.age = 131;
    auto result = store().CreateUser(bad);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kInternal);
    EXPECT_NE(result.status().message().find("CHECK constraint failed"), std::string::npos)
        << result.status().message();
    EXPECT_EQ(store().FindUserById("too_old").status().code(), ErrorCode::kNotFound);
}

TEST_F(SqliteStoreTest, FallSuspicionsSurviveReopeningAndGoWithTheirWearer) {
    const int64_t kim = CreateUserOrDie("suspected_kim");
    const int64_t lee = CreateUserOrDie("suspected_lee");
    const TimePoint device = FromUnixMillis(1'799'999'000'000);  // the watch's clock, behind the server's
    ASSERT_TRUE(store().SaveFallSuspicion({kim, device, 0, device, kT0, kT0, kT0}).ok());
    ASSERT_TRUE(store().SaveFallSuspicion({lee, device, 0, device, kT0, kT0, kT0}).ok());
    FallSuspicion later{kim, device,          1, device + std::chrono::milliseconds(2560), kT0 + minutes(1),
                        kT0, kT0 + minutes(1)};
    ASSERT_TRUE(store().SaveFallSuspicion(later).ok());
    store_.reset();  // durable: read back by a new store on the same file
    auto listed = store().ListFallSuspicions();
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    ASSERT_EQ(listed->size(), 2u);
    const FallSuspicion& k = (*listed)[0];  // by wearer
    EXPECT_EQ(k.wearer, kim);
    EXPECT_EQ(k.impact_at, later.impact_at);
    EXPECT_EQ(k.still_run, 1);
    EXPECT_EQ(k.last_end, later.last_end);
    EXPECT_EQ(k.last_received, later.last_received);
    EXPECT_EQ(k.raised_at, kT0);
    EXPECT_EQ(k.updated_at, kT0 + minutes(1));
    EXPECT_EQ((*listed)[1].wearer, lee);
    // Erasing the wearer erases the suspicion.
    RawDb(path_).Exec("PRAGMA foreign_keys = ON; DELETE FROM users WHERE unique_num = " + std::to_string(lee));
    ASSERT_EQ(store().ListFallSuspicions()->size(), 1u);
    EXPECT_EQ(store().ListFallSuspicions()->front().wearer, kim);
}

// ---- durability across a reopen ----

TEST_F(SqliteStoreTest, IncidentsAndOutboxSurviveReopening) {
    const int64_t user = CreateUserOrDie("durable_kim");
    std::vector<NewOutboxMessage> outbox{Message("durable-1", clock_.Now())};
    ASSERT_TRUE(store().SaveIncident(DangerIncident(user, clock_.Now()), {}, outbox).ok());
    store_.reset();
    auto open = store().FindOpenIncident(user);
    ASSERT_TRUE(open.ok() && open->has_value());
    EXPECT_EQ(store().ClaimOutbox(clock_.Now(), 10, std::chrono::seconds(30))->size(), 1u);
}

TEST_F(SqliteStoreTest, DataSurvivesCloseAndReopen) {
    int64_t user = CreateUserOrDie("persistent");
    ASSERT_TRUE(store().CreateSession(SampleSession("kept", user)).ok());
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 2, kT0, {}, {}, {}}).ok());
    store().Close();
    store_.reset();

    auto found = store().FindUserById("persistent");  // reopens the same file
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(found->unique_num, user);
    EXPECT_EQ(found->danger_degree, 2);
    EXPECT_TRUE(store().FindSession("kept").ok());
    // AUTOINCREMENT: numbers are never reused, even across restarts.
    EXPECT_GT(CreateUserOrDie("second"), user);
}

TEST_F(SqliteStoreTest, DeletingAUserCascadesToItsRows) {
    int64_t user = CreateUserOrDie("leaving");
    ASSERT_TRUE(store().CreateSession(SampleSession("s", user)).ok());
    ASSERT_TRUE(store().CreateDevice(SampleDevice(user, "d")).ok());
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 1, kT0, {}, {}, {}}).ok());
    ASSERT_TRUE(store().AppendPosture({user, 1, kT0}).ok());
    RawDb raw(path_);
    raw.Exec("PRAGMA foreign_keys = ON; DELETE FROM users WHERE unique_num = " + std::to_string(user));
    EXPECT_EQ(store().FindSession("s").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindDeviceByTokenHash("d").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM user_status"), 0);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM user_posture"), 0);
}

// ---- group commit, the connection pool, Close ----

// Holds the database's write lock from a second connection so that the first leader
// stalls on its batch while many writes queue up behind it; releasing the lock
// lets the writer commit the queued writes together as one batch.
TEST_F(SqliteStoreTest, FailingWriteInABatchDoesNotLoseTheOthers) {
    SqliteStore& s = store();  // opened here, not lazily from several threads
    RawDb blocker(path_);
    blocker.Exec("BEGIN IMMEDIATE");

    constexpr int kThreads = 24;
    std::vector<Result<domain::User>> results(kThreads, Status::Error(ErrorCode::kInternal, "not run"));
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        // Threads 0, 3, 6, ... all want "shared_id"; the others have ids of their own.
        std::string id = i % 3 == 0 ? "shared_id" : "own_id_" + std::to_string(i);
        threads.emplace_back([&, i, id] { results[static_cast<size_t>(i)] = s.CreateUser(SampleUser(id)); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let them queue
    blocker.Exec("COMMIT");
    for (auto& t : threads) t.join();

    int shared_winners = 0;
    int shared_conflicts = 0;
    for (int i = 0; i < kThreads; ++i) {
        const auto& result = results[static_cast<size_t>(i)];
        if (i % 3 == 0) {
            if (result.ok()) {
                ++shared_winners;
            } else {
                EXPECT_EQ(result.status().code(), ErrorCode::kConflict) << result.status().ToString();
                EXPECT_EQ(result.status().fields().at(0).field, "id");
                ++shared_conflicts;
            }
        } else {
            ASSERT_TRUE(result.ok()) << result.status().ToString();
            EXPECT_TRUE(store().FindUserById("own_id_" + std::to_string(i)).ok());
        }
    }
    EXPECT_EQ(shared_winners, 1);
    EXPECT_EQ(shared_conflicts, kThreads / 3 - 1);
    EXPECT_TRUE(store().FindUserById("shared_id").ok());
    EXPECT_EQ(RawDb(path_).QueryInt("SELECT COUNT(*) FROM users"), kThreads - kThreads / 3 + 1);
}

// Writers racing with Close(): each write either committed (and is there after a
// restart) or was refused with kUnavailable (and is not); nothing in between.
TEST_F(SqliteStoreTest, CloseCommitsWhatWasQueuedAndRefusesTheRest) {
    store();
    constexpr int kThreads = 8;
    constexpr int kPerThread = 50;
    std::vector<std::vector<int>> outcome(kThreads, std::vector<int>(kPerThread, -1));  // 1 ok, 0 refused
    std::atomic<int> unexpected = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                auto result = store_->CreateUser(SampleUser("c" + std::to_string(t) + "_" + std::to_string(i)));
                if (result.ok()) {
                    outcome[static_cast<size_t>(t)][static_cast<size_t>(i)] = 1;
                } else if (result.status().code() == ErrorCode::kUnavailable) {
                    outcome[static_cast<size_t>(t)][static_cast<size_t>(i)] = 0;
                } else {
                    ++unexpected;
                }
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    store_->Close();
    for (auto& th : threads) th.join();
    EXPECT_EQ(unexpected.load(), 0);
    store_.reset();

    auto reopened = OpenOrDie(Options());
    ASSERT_NE(reopened, nullptr);
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kPerThread; ++i) {
            auto exists = reopened->UserIdExists("c" + std::to_string(t) + "_" + std::to_string(i));
            ASSERT_TRUE(exists.ok());
            EXPECT_EQ(*exists, outcome[static_cast<size_t>(t)][static_cast<size_t>(i)] == 1) << t << "/" << i;
        }
    }
}

TEST_F(SqliteStoreTest, OneReadConnectionServesManyReaders) {
    SqliteStoreOptions options = Options();
    options.read_connections = 1;
    store_ = OpenOrDie(options);
    ASSERT_NE(store_, nullptr);
    CreateUserOrDie("shared");
    std::atomic<int> failures = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                if (!store_->FindUserById("shared").ok()) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
}

// ---- migrations and options ----

TEST_F(SqliteStoreTest, MigrationsAreRecordedOnceAndIdempotentOnReopen) {
    ASSERT_EQ(SqliteMigrations().size(), static_cast<size_t>(SqliteSchemaVersion()));
    for (size_t i = 0; i < SqliteMigrations().size(); ++i) {
        EXPECT_EQ(SqliteMigrations()[i].version, static_cast<int>(i) + 1);  // 1, 2, 3, ... without gaps
    }
    for (int open = 0; open < 3; ++open) {
        store_ = OpenOrDie(Options());
        ASSERT_NE(store_, nullptr);
        store_.reset();
    }
    RawDb raw(path_);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM schema_migrations"), SqliteSchemaVersion());
    EXPECT_EQ(raw.QueryInt("SELECT MAX(version) FROM schema_migrations"), SqliteSchemaVersion());
    EXPECT_EQ(raw.QueryText("SELECT name FROM schema_migrations WHERE version = 1"), SqliteMigrations()[0].name);
    EXPECT_EQ(raw.QueryInt("SELECT applied_at FROM schema_migrations WHERE version = 1"), ToUnixMillis(clock_.Now()));
    EXPECT_EQ(raw.QueryText("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, FutureSchemaVersionIsRefused) {
    store();
    store_.reset();
    const int future = SqliteSchemaVersion() + 1;
    RawDb(path_).Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (" + std::to_string(future) +
                      ", 'from the future', 0)");
    auto refused = SqliteStore::Open(Options());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(refused.status().message(), "database schema version " + std::to_string(future) +
                                              " is newer than this binary supports (" +
                                              std::to_string(SqliteSchemaVersion()) + ")");
}

TEST_F(SqliteStoreTest, DifferentSchemaHistoryIsRefused) {
    store();
    store_.reset();
    RawDb(path_).Exec("UPDATE schema_migrations SET name = 'something else' WHERE version = 1");
    auto refused = SqliteStore::Open(Options());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kInternal);
    EXPECT_NE(refused.status().message().find("something else"), std::string::npos);
}

TEST_F(SqliteStoreTest, BadOptionsAndUnopenableFilesAreRefused) {
    SqliteStoreOptions options = Options();
    options.path = "";
    EXPECT_EQ(SqliteStore::Open(options).status().code(), ErrorCode::kInternal);
    options.path = ":memory:";
    EXPECT_EQ(SqliteStore::Open(options).status().code(), ErrorCode::kInternal);
    options = Options();
    options.max_batch_size = 0;
    EXPECT_EQ(SqliteStore::Open(options).status().code(), ErrorCode::kInternal);
    options = Options();
    options.read_connections = 0;
    EXPECT_EQ(SqliteStore::Open(options).status().code(), ErrorCode::kInternal);
    options = Options();
    options.path = (dir_ / "no" / "such" / "dir" / "x.db").string();
    EXPECT_EQ(SqliteStore::Open(options).status().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace vg::store
