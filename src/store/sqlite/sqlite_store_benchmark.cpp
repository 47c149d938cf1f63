// Throughput of durable writes through the group-committing writer, and read latency.
//
// Runs against a real database file (synchronous=FULL, the default) in a fresh temp
// directory ($TMPDIR or /tmp; keep it on a real disk, a tmpfs makes fsync free).
// Write benchmarks report items_per_second over wall time across all threads: with more
// concurrent callers the writer commits more writes per fsync.
// VG_BENCH_SYNCHRONOUS=normal measures without the per-commit fsync (the CPU ceiling).

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vg/store/sqlite_store.hpp"

namespace vg::store {
namespace {

namespace fs = std::filesystem;

constexpr int kUsers = 64;
constexpr int kPreloadedSessions = 10'000;
const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

// A 64-hex-digit token hash, like the real ones (hex SHA-256).
std::string TokenHash(const char* prefix, int64_t n) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "%s%056llx", prefix, static_cast<unsigned long long>(n));
    return buf;
}

domain::Session MakeSession(std::string token_hash, int64_t user) {
    domain::Session s;
    s.token_hash = std::move(token_hash);
    s.user_unique_num = user;
    s.csrf_token = "0123456789abcdef0123456789abcdef";
    s.created_at = kT0;
    s.last_seen_at = kT0;
    s.expires_at = kT0 + std::chrono::hours(24);
    s.client_address = "203.0.113.7";
    s.user_agent = "Mozilla/5.0 (Linux; Android 14) VitalGuard/1.0";
    return s;
}

// One store shared by all benchmarks and threads, created on first use and removed at exit.
class BenchEnv {
  public:
    BenchEnv() {
        std::string pattern = (fs::temp_directory_path() / "vg-sqlite-bench-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        SqliteStoreOptions options;
        options.path = (dir_ / "bench.db").string();
        const char* sync = std::getenv("VG_BENCH_SYNCHRONOUS");
        options.synchronous_full = sync == nullptr || std::string_view(sync) != "normal";
        auto opened = SqliteStore::Open(options);
        if (!opened.ok()) throw std::runtime_error(opened.status().ToString());
        store_ = std::move(opened).value();
        for (int i = 0; i < kUsers; ++i) {
            NewUser user;
            user.profile = {"bench_user_" + std::to_string(i), "Bench", 70, "Seoul", "", "010-0000-0000", "", "", ""};
            user.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
            user.created_at = kT0;
            auto created = store_->CreateUser(user);
            if (!created.ok()) throw std::runtime_error(created.status().ToString());
            users_.push_back(created->unique_num);
        }
    }
    ~BenchEnv() {
        store_.reset();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    SqliteStore& store() { return *store_; }
    int64_t user(int64_t n) const { return users_[static_cast<size_t>(n % kUsers)]; }
    int64_t NextId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    // Sessions "read...0" to "read...kPreloadedSessions-1" for FindSession, written once.
    void PreloadSessions() {
        std::call_once(preloaded_, [&] {
            for (int i = 0; i < kPreloadedSessions; ++i) {
                Status status = store_->CreateSession(MakeSession(TokenHash("read", i), user(i)));
                if (!status.ok()) throw std::runtime_error(status.ToString());
            }
        });
    }

  private:
    fs::path dir_;
    std::unique_ptr<SqliteStore> store_;
    std::vector<int64_t> users_;
    std::atomic<int64_t> next_id_{0};
    std::once_flag preloaded_;
};

BenchEnv& Env() {
    static BenchEnv env;
    return env;
}

void BM_CreateSession(benchmark::State& state) {
    BenchEnv& env = Env();
    for (auto _ : state) {
        int64_t n = env.NextId();
        Status status = env.store().CreateSession(MakeSession(TokenHash("wr", n), env.user(n)));
        if (!status.ok()) {
            state.SkipWithError(status.ToString().c_str());
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CreateSession)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

void BM_AppendStatus(benchmark::State& state) {
    BenchEnv& env = Env();
    for (auto _ : state) {
        int64_t n = env.NextId();
        Status status = env.store().AppendStatus(
            StatusRow{env.user(n), static_cast<int>(n % 3), kT0 + Milliseconds(n), {}, {}, {}});
        if (!status.ok()) {
            state.SkipWithError(status.ToString().c_str());
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendStatus)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

void BM_FindSession(benchmark::State& state) {
    BenchEnv& env = Env();
    env.PreloadSessions();
    std::mt19937 rng(static_cast<unsigned>(state.thread_index()));
    std::uniform_int_distribution<int> pick(0, kPreloadedSessions - 1);
    std::vector<std::string> keys;
    for (int i = 0; i < 1024; ++i) keys.push_back(TokenHash("read", pick(rng)));
    size_t i = 0;
    for (auto _ : state) {
        auto session = env.store().FindSession(keys[i++ % keys.size()]);
        if (!session.ok()) {
            state.SkipWithError(session.status().ToString().c_str());
            break;
        }
        benchmark::DoNotOptimize(session);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FindSession)->Threads(1)->Threads(4)->UseRealTime();

}  // namespace
}  // namespace vg::store
