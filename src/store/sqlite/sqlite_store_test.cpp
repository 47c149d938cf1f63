#include "vg/store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vg::store {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::minutes;

const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

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

NewUser SampleUser(std::string id) {
    NewUser user;
    user.profile.id = std::move(id);
    user.profile.name = "김영희";
    user.profile.age = 78;
    user.profile.address = "서울특별시 중구 세종대로 110";
    user.profile.detailed_address = "";  // empty, not NULL: the column is NOT NULL
    user.profile.phone_num = "010-1234-5678";
    user.profile.guard_name = "김철수";
    user.profile.guard_phone_num = "+821098765432";
    user.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    user.created_at = kT0;
    return user;
}

domain::Session SampleSession(std::string token_hash, int64_t user, TimePoint created = kT0) {
    domain::Session session;
    session.token_hash = std::move(token_hash);
    session.user_unique_num = user;
    session.csrf_token = "csrf-" + session.token_hash;
    session.created_at = created;
    session.last_seen_at = created;
    session.expires_at = created + hours(24);
    session.client_address = "203.0.113.7";
    session.user_agent = "VitalGuardWatch/1.0";
    return session;
}

NewDevice SampleDevice(int64_t user, std::string token_hash, TimePoint created = kT0) {
    return NewDevice{user, "Galaxy Watch", std::move(token_hash), created};
}

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

// ---- users ----

TEST_F(SqliteStoreTest, CreatedUserIsFoundByIdAndUniqueNum) {
    NewUser in = SampleUser("grandma_kim");
    auto created = store().CreateUser(in);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_GT(created->unique_num, 0);
    EXPECT_EQ(created->profile, in.profile);
    EXPECT_EQ(created->password_hash, in.password_hash);
    EXPECT_EQ(created->danger_degree, 0);
    EXPECT_EQ(created->user_posture, std::nullopt);
    EXPECT_EQ(created->created_at, kT0);

    for (auto found : {store().FindUserById("grandma_kim"), store().FindUserByUniqueNum(created->unique_num)}) {
        ASSERT_TRUE(found.ok()) << found.status().ToString();
        EXPECT_EQ(found->unique_num, created->unique_num);
        EXPECT_EQ(found->profile, in.profile);
        EXPECT_EQ(found->password_hash, in.password_hash);
        EXPECT_EQ(found->danger_degree, 0);
        EXPECT_EQ(found->user_posture, std::nullopt);
        EXPECT_EQ(found->created_at, kT0);
    }
}

TEST_F(SqliteStoreTest, UniqueNumsAreDistinctAndIncreasing) {
    int64_t a = CreateUserOrDie("user_a");
    int64_t b = CreateUserOrDie("user_b");
    EXPECT_LT(a, b);
}

TEST_F(SqliteStoreTest, TakenIdIsConflictOnFieldId) {
    CreateUserOrDie("taken");
    NewUser again = SampleUser("taken");
    again.profile.name = "Someone Else";
    auto result = store().CreateUser(again);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kConflict);
    ASSERT_EQ(result.status().fields().size(), 1u);
    EXPECT_EQ(result.status().fields()[0], (FieldError{"id", "is already taken"}));
    // The first user is untouched.
    auto found = store().FindUserById("taken");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->profile.name, "김영희");
}

TEST_F(SqliteStoreTest, MissingUserIsNotFound) {
    EXPECT_EQ(store().FindUserById("nobody").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindUserByUniqueNum(12345).status().code(), ErrorCode::kNotFound);
}

TEST_F(SqliteStoreTest, UserIdExists) {
    CreateUserOrDie("present");
    auto yes = store().UserIdExists("present");
    ASSERT_TRUE(yes.ok());
    EXPECT_TRUE(*yes);
    auto no = store().UserIdExists("absent");
    ASSERT_TRUE(no.ok());
    EXPECT_FALSE(*no);
}

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

TEST_F(SqliteStoreTest, ValuesAreBoundNotSpliced) {
    const std::string id = "x'); DROP TABLE users; --";
    NewUser user = SampleUser(id);
    ASSERT_TRUE(store().CreateUser(user).ok());
    auto found = store().FindUserById(id);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(found->profile.id, id);
}

// ---- sessions ----

TEST_F(SqliteStoreTest, SessionRoundTrip) {
    int64_t user = CreateUserOrDie("session_user");
    domain::Session in = SampleSession("hash-1", user);
    ASSERT_TRUE(store().CreateSession(in).ok());
    auto found = store().FindSession("hash-1");
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(found->token_hash, in.token_hash);
    EXPECT_EQ(found->user_unique_num, user);
    EXPECT_EQ(found->csrf_token, in.csrf_token);
    EXPECT_EQ(found->created_at, in.created_at);
    EXPECT_EQ(found->last_seen_at, in.last_seen_at);
    EXPECT_EQ(found->expires_at, in.expires_at);
    EXPECT_EQ(found->client_address, in.client_address);
    EXPECT_EQ(found->user_agent, in.user_agent);
}

TEST_F(SqliteStoreTest, SessionErrors) {
    int64_t user = CreateUserOrDie("session_user");
    ASSERT_TRUE(store().CreateSession(SampleSession("dup", user)).ok());
    EXPECT_EQ(store().CreateSession(SampleSession("dup", user)).code(), ErrorCode::kConflict);
    EXPECT_EQ(store().CreateSession(SampleSession("orphan", user + 100)).code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindSession("orphan").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindSession("missing").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().TouchSession("missing", kT0).code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().DeleteSession("missing").code(), ErrorCode::kNotFound);
}

TEST_F(SqliteStoreTest, TouchAndDeleteSession) {
    int64_t user = CreateUserOrDie("session_user");
    ASSERT_TRUE(store().CreateSession(SampleSession("s", user)).ok());
    ASSERT_TRUE(store().TouchSession("s", kT0 + minutes(5)).ok());
    auto found = store().FindSession("s");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->last_seen_at, kT0 + minutes(5));
    EXPECT_EQ(found->created_at, kT0);
    // Touching with the same time still finds the row.
    EXPECT_TRUE(store().TouchSession("s", kT0 + minutes(5)).ok());

    ASSERT_TRUE(store().DeleteSession("s").ok());
    EXPECT_EQ(store().FindSession("s").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().DeleteSession("s").code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().TouchSession("s", kT0).code(), ErrorCode::kNotFound);
}

TEST_F(SqliteStoreTest, DeleteExpiredSessionsUsesAbsoluteAndIdleCutoffs) {
    int64_t user = CreateUserOrDie("session_user");
    const TimePoint now = kT0 + hours(10);
    const TimePoint idle_cutoff = now - minutes(30);

    auto make = [&](std::string name, TimePoint last_seen, TimePoint expires) {
        domain::Session s = SampleSession(std::move(name), user);
        s.last_seen_at = last_seen;
        s.expires_at = expires;
        ASSERT_TRUE(store().CreateSession(s).ok());
    };
    make("fresh", now - minutes(1), now + hours(1));
    make("absolute_past", now - minutes(1), now - minutes(1));
    make("absolute_now", now - minutes(1), now);             // expires_at <= now: gone
    make("idle", idle_cutoff - minutes(1), now + hours(1));  // idle since before the cutoff: gone
    make("idle_boundary", idle_cutoff, now + hours(1));      // seen exactly at the cutoff: kept
    make("both", idle_cutoff - hours(1), now - hours(1));

    auto deleted = store().DeleteExpiredSessions(now, idle_cutoff);
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    EXPECT_EQ(*deleted, 4);
    EXPECT_TRUE(store().FindSession("fresh").ok());
    EXPECT_TRUE(store().FindSession("idle_boundary").ok());
    for (const char* gone : {"absolute_past", "absolute_now", "idle", "both"}) {
        EXPECT_EQ(store().FindSession(gone).status().code(), ErrorCode::kNotFound) << gone;
    }
    auto again = store().DeleteExpiredSessions(now, idle_cutoff);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 0);
}

// ---- devices ----

TEST_F(SqliteStoreTest, DeviceRoundTrip) {
    int64_t user = CreateUserOrDie("device_user");
    auto created = store().CreateDevice(SampleDevice(user, "dev-hash"));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_GT(created->device_id, 0);
    EXPECT_EQ(created->user_unique_num, user);
    EXPECT_EQ(created->revoked_at, std::nullopt);
    EXPECT_EQ(created->last_seen_at, std::nullopt);

    auto found = store().FindDeviceByTokenHash("dev-hash");
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(found->device_id, created->device_id);
    EXPECT_EQ(found->user_unique_num, user);
    EXPECT_EQ(found->name, "Galaxy Watch");
    EXPECT_EQ(found->token_hash, "dev-hash");
    EXPECT_EQ(found->created_at, kT0);
    EXPECT_EQ(found->revoked_at, std::nullopt);
    EXPECT_EQ(found->last_seen_at, std::nullopt);

    ASSERT_TRUE(store().TouchDevice(created->device_id, kT0 + minutes(3)).ok());
    found = store().FindDeviceByTokenHash("dev-hash");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->last_seen_at, kT0 + minutes(3));
}

TEST_F(SqliteStoreTest, DeviceErrors) {
    int64_t user = CreateUserOrDie("device_user");
    ASSERT_TRUE(store().CreateDevice(SampleDevice(user, "dup")).ok());
    EXPECT_EQ(store().CreateDevice(SampleDevice(user, "dup")).status().code(), ErrorCode::kConflict);
    EXPECT_EQ(store().CreateDevice(SampleDevice(user + 100, "orphan")).status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindDeviceByTokenHash("missing").status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().TouchDevice(99999, kT0).code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().RevokeDevice(user, 99999, kT0).code(), ErrorCode::kNotFound);
}

TEST_F(SqliteStoreTest, ListDevicesNewestFirstIncludingRevoked) {
    int64_t user = CreateUserOrDie("device_user");
    int64_t other = CreateUserOrDie("other_user");
    auto oldest = store().CreateDevice(SampleDevice(user, "d1", kT0));
    auto middle = store().CreateDevice(SampleDevice(user, "d2", kT0 + minutes(1)));
    auto newest = store().CreateDevice(SampleDevice(user, "d3", kT0 + minutes(2)));
    auto same_time = store().CreateDevice(SampleDevice(user, "d4", kT0 + minutes(2)));  // tie: higher id first
    ASSERT_TRUE(store().CreateDevice(SampleDevice(other, "o1")).ok());
    ASSERT_TRUE(oldest.ok() && middle.ok() && newest.ok() && same_time.ok());
    ASSERT_TRUE(store().RevokeDevice(user, middle->device_id, kT0 + hours(1)).ok());

    auto list = store().ListDevices(user);
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    ASSERT_EQ(list->size(), 4u);
    EXPECT_EQ((*list)[0].device_id, same_time->device_id);
    EXPECT_EQ((*list)[1].device_id, newest->device_id);
    EXPECT_EQ((*list)[2].device_id, middle->device_id);
    EXPECT_EQ((*list)[2].revoked_at, kT0 + hours(1));
    EXPECT_EQ((*list)[3].device_id, oldest->device_id);

    auto none = store().ListDevices(424242);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST_F(SqliteStoreTest, DeviceIsRevokedOnlyByItsOwnerAndOnlyOnce) {
    int64_t owner = CreateUserOrDie("owner");
    int64_t intruder = CreateUserOrDie("intruder");
    auto device = store().CreateDevice(SampleDevice(owner, "watch"));
    ASSERT_TRUE(device.ok());

    EXPECT_EQ(store().RevokeDevice(intruder, device->device_id, kT0).code(), ErrorCode::kNotFound);
    auto found = store().FindDeviceByTokenHash("watch");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->revoked_at, std::nullopt);

    ASSERT_TRUE(store().RevokeDevice(owner, device->device_id, kT0 + minutes(1)).ok());
    found = store().FindDeviceByTokenHash("watch");  // still found: the caller decides what revoked means
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->revoked_at, kT0 + minutes(1));

    EXPECT_EQ(store().RevokeDevice(owner, device->device_id, kT0 + minutes(2)).code(), ErrorCode::kNotFound);
    found = store().FindDeviceByTokenHash("watch");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->revoked_at, kT0 + minutes(1));  // the first revocation time stays
}

// ---- UserStatus / UserPosture ----

TEST_F(SqliteStoreTest, AppendStatusUpdatesDangerDegreeAndHistory) {
    int64_t user = CreateUserOrDie("wearer");
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 1, kT0 + minutes(1), {}, {}, {}}).ok());
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 2, kT0 + minutes(3), {}, {}, {}}).ok());
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 0, kT0 + minutes(2), {}, {}, {}}).ok());  // out of order in time
    ASSERT_TRUE(
        store().AppendStatus(StatusRow{user, 1, kT0 + minutes(3), {}, {}, {}}).ok());  // same time as an earlier row

    auto found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->danger_degree, 1);  // the last appended

    auto rows = store().RecentStatuses(user, 10);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), 4u);
    // Newest first; the tie at minute 3 goes to the row inserted last.
    EXPECT_EQ((*rows)[0].status, 1);
    EXPECT_EQ((*rows)[0].updated_at, kT0 + minutes(3));
    EXPECT_EQ((*rows)[1].status, 2);
    EXPECT_EQ((*rows)[1].updated_at, kT0 + minutes(3));
    EXPECT_EQ((*rows)[2].status, 0);
    EXPECT_EQ((*rows)[3].status, 1);
    EXPECT_EQ((*rows)[3].updated_at, kT0 + minutes(1));
    for (const StatusRow& row : *rows) EXPECT_EQ(row.user_unique_num, user);

    auto two = store().RecentStatuses(user, 2);
    ASSERT_TRUE(two.ok());
    EXPECT_EQ(two->size(), 2u);
}

TEST_F(SqliteStoreTest, AppendStatusesWritesEveryRowInOrderAndSkipsMissingUsers) {
    const int64_t a = CreateUserOrDie("wearer_a");
    const int64_t b = CreateUserOrDie("wearer_b");
    const std::vector<StatusRow> rows{StatusRow{a, 1, kT0 + minutes(1), "heart_rate", "fast", kT0},
                                      StatusRow{b + 100, 2, kT0 + minutes(1), {}, {}, {}},
                                      StatusRow{b, 2, kT0 + minutes(1), {}, {}, {}},
                                      StatusRow{a, 0, kT0 + minutes(2), {}, {}, {}}};
    auto results = store().AppendStatuses(rows);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    ASSERT_EQ(results->size(), 4u);
    EXPECT_TRUE((*results)[0].ok());
    EXPECT_EQ((*results)[1].code(), ErrorCode::kNotFound);
    EXPECT_TRUE((*results)[2].ok());
    EXPECT_TRUE((*results)[3].ok());
    EXPECT_EQ(store().FindUserByUniqueNum(a)->danger_degree, 0);  // the last row of a
    EXPECT_EQ(store().FindUserByUniqueNum(b)->danger_degree, 2);
    auto of_a = store().RecentStatuses(a, 10);
    ASSERT_TRUE(of_a.ok());
    ASSERT_EQ(of_a->size(), 2u);
    EXPECT_EQ((*of_a)[1].causes, "heart_rate");
    EXPECT_EQ((*of_a)[1].explanation, "fast");
    EXPECT_EQ((*of_a)[1].reading_at, kT0);

    // A row the database refuses (status 3) fails the whole call and keeps nothing of it.
    const std::vector<StatusRow> bad{StatusRow{b, 1, kT0 + minutes(3), {}, {}, {}},
                                     StatusRow{b, 3, kT0 + minutes(3), {}, {}, {}}};
    EXPECT_EQ(store().AppendStatuses(bad).status().code(), ErrorCode::kInternal);
    EXPECT_EQ(store().RecentStatuses(b, 10)->size(), 1u);
    EXPECT_EQ(store().FindUserByUniqueNum(b)->danger_degree, 2);
    auto empty = store().AppendStatuses({});
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->empty());
}

TEST_F(SqliteStoreTest, AppendStatusErrors) {
    int64_t user = CreateUserOrDie("wearer");
    EXPECT_EQ(store().AppendStatus(StatusRow{user + 100, 1, kT0, {}, {}, {}}).code(), ErrorCode::kNotFound);
    auto none = store().RecentStatuses(user + 100, 10);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());

    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 2, kT0, {}, {}, {}}).ok());
    EXPECT_EQ(store().AppendStatus(StatusRow{user, 3, kT0 + minutes(1), {}, {}, {}}).code(), ErrorCode::kInternal);
    auto found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->danger_degree, 2);  // the failed append changed nothing
    auto rows = store().RecentStatuses(user, 10);
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(rows->size(), 1u);
}

TEST_F(SqliteStoreTest, AppendPostureUpdatesUserPostureAndHistory) {
    int64_t user = CreateUserOrDie("wearer");
    EXPECT_EQ(store().AppendPosture({user + 100, 7, kT0}).code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().AppendPosture({user, 8, kT0}).code(), ErrorCode::kInternal);
    auto found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->user_posture, std::nullopt);

    ASSERT_TRUE(store().AppendPosture({user, 3, kT0}).ok());
    ASSERT_TRUE(store().AppendPosture({user, 7, kT0 + minutes(1)}).ok());
    found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->user_posture, 7);
    EXPECT_EQ(found->danger_degree, 0);  // postures do not touch the status

    auto rows = store().RecentPostures(user, 5);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[0].posture, 7);
    EXPECT_EQ((*rows)[0].updated_at, kT0 + minutes(1));
    EXPECT_EQ((*rows)[1].posture, 3);
    EXPECT_EQ((*rows)[1].user_unique_num, user);

    auto none = store().RecentPostures(user + 100, 5);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST_F(SqliteStoreTest, RecentLimitIsClampedToOneThroughOneThousand) {
    // Durability is not under test here; NORMAL keeps 1005 single commits quick.
    SqliteStoreOptions options = Options();
    options.synchronous_full = false;
    store_ = OpenOrDie(options);
    ASSERT_NE(store_, nullptr);
    int64_t user = CreateUserOrDie("busy_wearer");
    for (int i = 0; i < 1005; ++i) {
        ASSERT_TRUE(store().AppendPosture({user, i % 8, kT0 + Milliseconds(i)}).ok());
    }
    for (int limit : {0, -5}) {
        auto rows = store().RecentPostures(user, limit);
        ASSERT_TRUE(rows.ok());
        ASSERT_EQ(rows->size(), 1u) << limit;
        EXPECT_EQ((*rows)[0].updated_at, kT0 + Milliseconds(1004));
    }
    auto rows = store().RecentPostures(user, 5000);
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(rows->size(), 1000u);
    EXPECT_EQ(rows->back().updated_at, kT0 + Milliseconds(5));
}

// ---- group commit ----

// Holds the database's write lock from a second connection so that the writer thread
// stalls on its first batch while many writes queue up behind it; releasing the lock
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

TEST_F(SqliteStoreTest, ConcurrentDuplicateIdsExactlyOneWinsPerId) {
    constexpr int kThreads = 8;
    constexpr int kIds = 20;
    std::mutex mu;
    std::map<std::string, int> winners;
    std::atomic<int> conflicts = 0;
    std::atomic<int> other_errors = 0;
    SqliteStore& s = store();  // opened here, not lazily from several threads
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kIds; ++i) {
                std::string id = "contested_" + std::to_string(i);
                auto result = s.CreateUser(SampleUser(id));
                if (result.ok()) {
                    std::lock_guard lock(mu);
                    ++winners[id];
                } else if (result.status().code() == ErrorCode::kConflict) {
                    ++conflicts;
                } else {
                    ++other_errors;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(other_errors.load(), 0);
    EXPECT_EQ(conflicts.load(), kIds * (kThreads - 1));
    ASSERT_EQ(winners.size(), static_cast<size_t>(kIds));
    for (const auto& [id, wins] : winners) EXPECT_EQ(wins, 1) << id;
}

TEST_F(SqliteStoreTest, ConcurrentCreatesAreAllStored) {
    constexpr int kThreads = 8;
    constexpr int kPerThread = 200;
    std::atomic<int> failures = 0;
    SqliteStore& s = store();  // opened here, not lazily from several threads
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                auto result = s.CreateUser(SampleUser("u" + std::to_string(t) + "_" + std::to_string(i)));
                if (!result.ok()) ++failures;
                // Reads interleaved with writes: a write that returned is visible to readers.
                if (result.ok() && !s.FindUserByUniqueNum(result->unique_num).ok()) ++failures;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kPerThread; ++i) {
            std::string id = "u" + std::to_string(t) + "_" + std::to_string(i);
            auto exists = store().UserIdExists(id);
            ASSERT_TRUE(exists.ok());
            EXPECT_TRUE(*exists) << id;
        }
    }
    EXPECT_EQ(RawDb(path_).QueryInt("SELECT COUNT(DISTINCT unique_num) FROM users"), kThreads * kPerThread);
}

// ---- lifecycle ----

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

TEST_F(SqliteStoreTest, HealthIsOkWhileOpen) {
    EXPECT_TRUE(store().CheckHealth().ok());
    store().Close();
    EXPECT_EQ(store().CheckHealth().code(), ErrorCode::kUnavailable);
}

TEST_F(SqliteStoreTest, EveryCallAfterCloseIsUnavailable) {
    int64_t user = CreateUserOrDie("before_close");
    store().Close();
    store().Close();  // idempotent
    constexpr auto kUnavailable = ErrorCode::kUnavailable;
    SqliteStore& s = store();
    EXPECT_EQ(s.CreateUser(SampleUser("after_close")).status().code(), kUnavailable);
    EXPECT_EQ(s.FindUserById("before_close").status().code(), kUnavailable);
    EXPECT_EQ(s.FindUserByUniqueNum(user).status().code(), kUnavailable);
    EXPECT_EQ(s.UserIdExists("before_close").status().code(), kUnavailable);
    EXPECT_EQ(s.CreateSession(SampleSession("s", user)).code(), kUnavailable);
    EXPECT_EQ(s.FindSession("s").status().code(), kUnavailable);
    EXPECT_EQ(s.TouchSession("s", kT0).code(), kUnavailable);
    EXPECT_EQ(s.DeleteSession("s").code(), kUnavailable);
    EXPECT_EQ(s.DeleteExpiredSessions(kT0, kT0).status().code(), kUnavailable);
    EXPECT_EQ(s.CreateDevice(SampleDevice(user, "d")).status().code(), kUnavailable);
    EXPECT_EQ(s.FindDeviceByTokenHash("d").status().code(), kUnavailable);
    EXPECT_EQ(s.ListDevices(user).status().code(), kUnavailable);
    EXPECT_EQ(s.RevokeDevice(user, 1, kT0).code(), kUnavailable);
    EXPECT_EQ(s.TouchDevice(1, kT0).code(), kUnavailable);
    EXPECT_EQ(s.AppendStatus(StatusRow{user, 1, kT0, {}, {}, {}}).code(), kUnavailable);
    EXPECT_EQ(s.AppendPosture({user, 1, kT0}).code(), kUnavailable);
    EXPECT_EQ(s.RecentStatuses(user, 10).status().code(), kUnavailable);
    EXPECT_EQ(s.RecentPostures(user, 10).status().code(), kUnavailable);
    EXPECT_EQ(s.SaveFallSuspicion({user, kT0, 0, kT0, kT0, kT0, kT0}).code(), kUnavailable);
    EXPECT_EQ(s.ClearFallSuspicion(user).code(), kUnavailable);
    EXPECT_EQ(s.ListFallSuspicions().status().code(), kUnavailable);
    EXPECT_EQ(s.CheckHealth().code(), kUnavailable);
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

IncomingReading ReadingAt(int64_t ms, std::optional<int64_t> seq, double hr) {
    IncomingReading r;
    r.device_seq = seq;
    r.reading.measured_at = FromUnixMillis(ms);
    r.reading.set(domain::Metric::kHeartRate, hr);
    r.reading.set(domain::Metric::kSpo2, 97.5);
    return r;
}

TEST_F(SqliteStoreTest, ReadingsAreStoredAndRetriedSequencesAreIgnored) {
    const int64_t user = CreateUserOrDie("vitals_user");
    auto device = store().CreateDevice(SampleDevice(user, "token-v"));
    ASSERT_TRUE(device.ok());
    std::vector<IncomingReading> batch = {ReadingAt(1000, 1, 70), ReadingAt(2000, 2, 71), ReadingAt(3000, 3, 72)};
    auto first = store().AppendReadings(user, device->device_id, batch, kT0);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(*first, (std::vector<bool>{true, true, true}));
    // A retry with an overlap: 2 and 3 again, plus a new 4.
    std::vector<IncomingReading> retry = {ReadingAt(2000, 2, 71), ReadingAt(3000, 3, 72), ReadingAt(4000, 4, 73)};
    auto second = store().AppendReadings(user, device->device_id, retry, kT0);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(*second, (std::vector<bool>{false, false, true}));
    auto recent = store().RecentReadings(user, 10);
    ASSERT_TRUE(recent.ok());
    ASSERT_EQ(recent->size(), 4u);
    EXPECT_EQ(ToUnixMillis((*recent)[0].reading.measured_at), 4000);
    EXPECT_EQ((*recent)[0].reading.get(domain::Metric::kHeartRate), 73);
    EXPECT_EQ((*recent)[0].reading.get(domain::Metric::kSpo2), 97.5);
    EXPECT_FALSE((*recent)[0].reading.get(domain::Metric::kGlucose).has_value());
    EXPECT_EQ((*recent)[0].device_seq, 4);
}

TEST_F(SqliteStoreTest, ReadingsWithoutSequenceAreAlwaysStored) {
    const int64_t user = CreateUserOrDie("session_user");
    std::vector<IncomingReading> batch = {ReadingAt(1000, std::nullopt, 70), ReadingAt(1000, std::nullopt, 70)};
    auto stored = store().AppendReadings(user, std::nullopt, batch, kT0);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(*stored, (std::vector<bool>{true, true}));
    EXPECT_EQ(store().AppendReadings(user + 1000, std::nullopt, batch, kT0).status().code(), ErrorCode::kNotFound);
}

TEST_F(SqliteStoreTest, StatusRowsKeepCausesAndExplanation) {
    const int64_t user = CreateUserOrDie("status_user");
    StatusRow row{user, 2, kT0, "heart_rate,spo2", "Heart rate 150 bpm is very high.", FromUnixMillis(12345)};
    ASSERT_TRUE(store().AppendStatus(row).ok());
    auto rows = store().RecentStatuses(user, 10);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].causes, "heart_rate,spo2");
    EXPECT_EQ((*rows)[0].explanation, "Heart rate 150 bpm is very high.");
    EXPECT_EQ((*rows)[0].reading_at, FromUnixMillis(12345));
    EXPECT_EQ(store().FindUserByUniqueNum(user)->danger_degree, 2);
}

TEST_F(SqliteStoreTest, RuleProfileDefaultsAndCanBeChanged) {
    const int64_t user = CreateUserOrDie("profile_user");
    EXPECT_EQ(store().FindUserByUniqueNum(user)->rule_profile, "adult-default");
    ASSERT_TRUE(store().SetRuleProfile(user, "glucose").ok());
    EXPECT_EQ(store().FindUserById("profile_user")->rule_profile, "glucose");
    EXPECT_EQ(store().SetRuleProfile(user + 1000, "glucose").code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vg::store

namespace vg::store {
namespace {

// ---- incidents and the outbox ----

domain::Incident DangerIncident(int64_t wearer, TimePoint at) {
    domain::Incident i;
    i.wearer = wearer;
    i.kind = domain::IncidentKind::kVitals;
    i.phase = domain::IncidentPhase::kCountdown;
    i.level = domain::Level::kDanger;
    i.max_level = domain::Level::kDanger;
    i.causes = {domain::Metric::kHeartRate, domain::Metric::kSpo2};
    i.rules = {"heart_rate.high.danger", "spo2.low.danger"};
    i.explanation = "Heart rate 150 bpm.";
    i.opened_at = at;
    i.updated_at = at;
    i.guardians_notified_at = at;
    i.deadline = at + std::chrono::seconds(60);
    i.next_reraise_at = at + std::chrono::minutes(5);
    return i;
}

NewOutboxMessage Message(const std::string& key, TimePoint at) {
    NewOutboxMessage m;
    m.channel = "sms";
    m.recipient = "010-1234-5678";
    m.subject = "VitalGuard";
    m.body = "김영희 님이 위험 상태입니다.";
    m.idempotency_key = key;
    m.created_at = at;
    m.next_attempt_at = at;
    return m;
}

TEST_F(SqliteStoreTest, IncidentTransitionsAreStoredWholeWithVersionChecks) {
    const int64_t user = CreateUserOrDie("incident_kim");
    const TimePoint t0 = clock_.Now();
    domain::IncidentEvent opened;
    opened.at = t0;
    opened.type = "opened";
    opened.actor = "system";
    opened.detail = "Heart rate 150 bpm.";
    std::vector<domain::IncidentEvent> events{opened};
    std::vector<NewOutboxMessage> outbox{Message("incident-x-alert", t0)};
    auto saved = store().SaveIncident(DangerIncident(user, t0), events, outbox);
    ASSERT_TRUE(saved.ok()) << saved.status().ToString();
    EXPECT_GT(saved->id, 0);
    EXPECT_EQ(saved->version, 1);

    // Read back whole, including optional times and the lists.
    auto open = store().FindOpenIncident(user);
    ASSERT_TRUE(open.ok() && open->has_value());
    const domain::Incident& read = **open;
    EXPECT_EQ(read.id, saved->id);
    EXPECT_EQ(read.phase, domain::IncidentPhase::kCountdown);
    EXPECT_EQ(read.causes, (std::vector<domain::Metric>{domain::Metric::kHeartRate, domain::Metric::kSpo2}));
    EXPECT_EQ(read.rules.size(), 2u);
    EXPECT_EQ(read.deadline, t0 + std::chrono::seconds(60));
    EXPECT_FALSE(read.dispatched_at);

    // A second open incident for the same wearer is refused.
    auto twice = store().SaveIncident(DangerIncident(user, t0), {}, {});
    EXPECT_EQ(twice.status().code(), ErrorCode::kConflict);

    // Due by its deadline (the earliest of its times).
    EXPECT_TRUE(store().DueIncidents(t0 + std::chrono::seconds(59), 10)->empty());
    ASSERT_EQ(store().DueIncidents(t0 + std::chrono::seconds(60), 10)->size(), 1u);
    EXPECT_EQ(store().NextIncidentDue().value(), t0 + std::chrono::seconds(60));

    // Update with the right version; a stale version is a conflict and changes nothing.
    domain::Incident next = read;
    next.phase = domain::IncidentPhase::kDispatched;
    next.dispatched_at = t0 + std::chrono::seconds(60);
    next.deadline.reset();
    std::vector<NewOutboxMessage> dispatch{Message("incident-x-dispatch", t0), Message("incident-x-alert", t0)};
    auto updated = store().SaveIncident(next, {}, dispatch);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
    EXPECT_EQ(updated->version, 2);
    auto stale = store().SaveIncident(next, {}, {});
    EXPECT_EQ(stale.status().code(), ErrorCode::kConflict);
    EXPECT_EQ(store().FindIncident(read.id)->phase, domain::IncidentPhase::kDispatched);
    // The repeated idempotency key was not written twice.
    auto messages = store().IncidentOutbox(read.id);
    ASSERT_TRUE(messages.ok());
    EXPECT_EQ(messages->size(), 2u);
    EXPECT_EQ(store().IncidentEvents(read.id)->size(), 1u);
    EXPECT_EQ(store().ListIncidents(user, 10)->size(), 1u);
}

TEST_F(SqliteStoreTest, OutboxClaimsLeaseRetryAndDeliverWithFencing) {
    const int64_t user = CreateUserOrDie("outbox_kim");
    const TimePoint t0 = clock_.Now();
    std::vector<NewOutboxMessage> outbox{Message("k1", t0), Message("k2", t0 + std::chrono::seconds(10))};
    auto saved = store().SaveIncident(DangerIncident(user, t0), {}, outbox);
    ASSERT_TRUE(saved.ok());
    EXPECT_EQ(store().NextOutboxWake().value(), t0);

    auto claimed = store().ClaimOutbox(t0, 10, std::chrono::seconds(30));
    ASSERT_TRUE(claimed.ok());
    ASSERT_EQ(claimed->size(), 1u) << "k2 is not due yet";
    const OutboxMessage m = claimed->front();
    EXPECT_EQ(m.idempotency_key, "k1");
    EXPECT_EQ(m.attempts, 1);
    EXPECT_EQ(m.state, "delivering");
    EXPECT_EQ(m.body, "김영희 님이 위험 상태입니다.");
    // Not claimable again while leased; back after the lease runs out (a crashed worker).
    EXPECT_TRUE(store().ClaimOutbox(t0 + std::chrono::seconds(5), 10, std::chrono::seconds(30))->empty());
    auto reclaimed = store().ClaimOutbox(t0 + std::chrono::seconds(31), 1, std::chrono::seconds(30));
    ASSERT_EQ(reclaimed->size(), 1u);
    EXPECT_EQ(reclaimed->front().attempts, 2);
    // The first worker's late report is fenced off; the current one's retry counts.
    EXPECT_EQ(store()
                  .MarkOutboxFailed(m.id, 1, t0 + std::chrono::seconds(32), "timeout", t0 + std::chrono::minutes(1))
                  .code(),
              ErrorCode::kConflict);
    ASSERT_TRUE(store()
                    .MarkOutboxFailed(m.id, 2, t0 + std::chrono::seconds(32), "HTTP 503", t0 + std::chrono::minutes(1))
                    .ok());
    auto state = store().FindOutbox(m.id);
    EXPECT_EQ(state->state, "pending");
    EXPECT_EQ(state->last_error, "HTTP 503");
    auto third = store().ClaimOutbox(t0 + std::chrono::minutes(1), 10, std::chrono::seconds(30));
    ASSERT_EQ(third->size(), 2u);  // k1 (retry) and k2
    ASSERT_TRUE(store().MarkOutboxDelivered(m.id, 3, t0 + std::chrono::minutes(1), "HTTP 202").ok());
    EXPECT_EQ(store().FindOutbox(m.id)->state, "delivered");
    EXPECT_EQ(store().FindOutbox(m.id)->delivered_detail, "HTTP 202");
    // Permanent failure, and release of an unattempted claim.
    const OutboxMessage& k2_claim = (*third)[0].idempotency_key == "k2" ? (*third)[0] : (*third)[1];
    ASSERT_EQ(k2_claim.idempotency_key, "k2");
    const int64_t k2 = k2_claim.id;
    ASSERT_TRUE(store().ReleaseOutbox(k2, k2_claim.attempts).ok());
    EXPECT_EQ(store().FindOutbox(k2)->attempts, 0);
    auto fourth = store().ClaimOutbox(t0 + std::chrono::minutes(2), 10, std::chrono::seconds(30));
    ASSERT_EQ(fourth->size(), 1u);
    ASSERT_TRUE(store().MarkOutboxFailed(k2, 1, t0 + std::chrono::minutes(2), "HTTP 400", std::nullopt).ok());
    EXPECT_EQ(store().FindOutbox(k2)->state, "failed");
    EXPECT_FALSE(store().NextOutboxWake().value().has_value());
}

TEST_F(SqliteStoreTest, FallSuspicionsAreOnePerWearerClearedIdempotentlyAndSurviveReopening) {
    const int64_t kim = CreateUserOrDie("suspected_kim");
    const int64_t lee = CreateUserOrDie("suspected_lee");
    EXPECT_TRUE(store().ListFallSuspicions()->empty());
    const TimePoint device = FromUnixMillis(1'799'999'000'000);  // the watch's clock, behind the server's
    FallSuspicion first{kim, device, 0, device, kT0, kT0, kT0};
    ASSERT_TRUE(store().SaveFallSuspicion(first).ok());
    ASSERT_TRUE(store().SaveFallSuspicion({lee, device, 0, device, kT0, kT0, kT0}).ok());
    // A later state of the same suspicion replaces the first: one row per wearer.
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

    ASSERT_TRUE(store().ClearFallSuspicion(kim).ok());
    EXPECT_TRUE(store().ClearFallSuspicion(kim).ok()) << "clearing twice is not an error";
    EXPECT_TRUE(store().ClearFallSuspicion(999'999).ok()) << "nor clearing an unknown wearer";
    ASSERT_EQ(store().ListFallSuspicions()->size(), 1u);
    EXPECT_EQ(store().ListFallSuspicions()->front().wearer, lee);

    EXPECT_EQ(store().SaveFallSuspicion({999'999, device, 0, device, kT0, kT0, kT0}).code(), ErrorCode::kNotFound);
    FallSuspicion negative = first;
    negative.still_run = -1;
    EXPECT_EQ(store().SaveFallSuspicion(negative).code(), ErrorCode::kInternal);  // a schema CHECK: a caller's bug
    // Erasing the wearer erases the suspicion.
    RawDb(path_).Exec("PRAGMA foreign_keys = ON; DELETE FROM users WHERE unique_num = " + std::to_string(lee));
    EXPECT_TRUE(store().ListFallSuspicions()->empty());
}

TEST_F(SqliteStoreTest, IncidentsAndOutboxSurviveReopening) {
    const int64_t user = CreateUserOrDie("durable_kim");
    std::vector<NewOutboxMessage> outbox{Message("durable-1", clock_.Now())};
    ASSERT_TRUE(store().SaveIncident(DangerIncident(user, clock_.Now()), {}, outbox).ok());
    store_.reset();
    auto open = store().FindOpenIncident(user);
    ASSERT_TRUE(open.ok() && open->has_value());
    EXPECT_EQ(store().ClaimOutbox(clock_.Now(), 10, std::chrono::seconds(30))->size(), 1u);
}

}  // namespace
}  // namespace vg::store

namespace vg::store {
namespace {

TEST_F(SqliteStoreTest, GuardianLinksAskAcceptEndAndAreUniquePerPair) {
    const int64_t wearer = CreateUserOrDie("link_wearer");
    const int64_t guardian = CreateUserOrDie("link_guardian");
    auto link = store().CreateGuardianLink(wearer, guardian, "wearer", clock_.Now());
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    EXPECT_EQ(link->state, "pending");
    EXPECT_EQ(link->guardian_id, "link_guardian");
    EXPECT_FALSE(store().IsActiveGuardian(guardian, wearer).value());
    EXPECT_EQ(store().CreateGuardianLink(wearer, guardian, "guardian", clock_.Now()).status().code(),
              ErrorCode::kConflict);
    EXPECT_EQ(store().CreateGuardianLink(wearer, wearer, "wearer", clock_.Now()).status().code(),
              ErrorCode::kValidationFailed);
    ASSERT_TRUE(store().AcceptGuardianLink(link->id, clock_.Now()).ok());
    EXPECT_EQ(store().AcceptGuardianLink(link->id, clock_.Now()).code(), ErrorCode::kConflict);
    EXPECT_TRUE(store().IsActiveGuardian(guardian, wearer).value());
    EXPECT_FALSE(store().IsActiveGuardian(wearer, guardian).value()) << "links have a direction";
    EXPECT_EQ(store().ActiveGuardians(wearer)->size(), 1u);
    EXPECT_EQ(store().ListGuardianLinks(guardian)->size(), 1u);
    ASSERT_TRUE(store().EndGuardianLink(link->id, clock_.Now()).ok());
    EXPECT_FALSE(store().IsActiveGuardian(guardian, wearer).value());
    EXPECT_TRUE(store().ListGuardianLinks(wearer)->empty());
    // Ended links free the pair for a new request.
    EXPECT_TRUE(store().CreateGuardianLink(wearer, guardian, "guardian", clock_.Now()).ok());

    AuditEntry e;
    e.at = clock_.Now();
    e.actor = guardian;
    e.wearer = wearer;
    e.action = "GET /api/get_status";
    e.detail = "10 rows";
    ASSERT_TRUE(store().AppendAudit(e).ok());
    auto audit = store().AuditFor(wearer, 10);
    ASSERT_EQ(audit->size(), 1u);
    EXPECT_EQ(audit->front().actor, guardian);
}

}  // namespace
}  // namespace vg::store
