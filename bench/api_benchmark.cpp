// In-process cost of whole API requests (routing, JSON, auth, SQLite), without the network.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "vg/api/api.hpp"
#include "vg/auth/account_service.hpp"
#include "vg/store/sqlite_store.hpp"

namespace {

struct Fixture {
    Fixture() {
        spdlog::set_level(spdlog::level::warn);  // no access log lines in the measurements
        dir = std::filesystem::temp_directory_path() / ("vg_api_bench_" + std::to_string(getpid()));
        std::filesystem::create_directories(dir);
        vg::store::SqliteStoreOptions options;
        options.path = (dir / "bench.db").string();
        store = std::move(vg::store::SqliteStore::Open(options)).value();
        vg::auth::AccountOptions account_options;
        account_options.password_cost = vg::auth::PasswordHashCost::Minimum();
        accounts = std::make_unique<vg::auth::AccountService>(*store, vg::SystemClock::Instance(), account_options);
        api = std::make_unique<vg::api::Api>(*accounts, *store, vg::SystemClock::Instance(), vg::api::ApiOptions{});
        vg::domain::SignupInput in;
        in.profile = {"bench_user", "Bench", 70, "Seoul", "", "010-1234-5678", "", "", ""};
        in.password = "bench password 1";
        (void)accounts->Signup(in);
        token = accounts->Login("bench_user", "bench password 1", {"127.0.0.1", ""})->token;
    }
    ~Fixture() {
        api.reset();
        accounts.reset();
        store.reset();
        std::filesystem::remove_all(dir);
    }
    std::filesystem::path dir;
    std::unique_ptr<vg::store::SqliteStore> store;
    std::unique_ptr<vg::auth::AccountService> accounts;
    std::unique_ptr<vg::api::Api> api;
    std::string token;
};

Fixture& Shared() {
    static Fixture fixture;
    return fixture;
}

void BM_GetMe(benchmark::State& state) {
    Fixture& f = Shared();
    vg::http::Request request;
    request.method = "GET";
    request.path = "/api/me";
    request.headers.push_back({"cookie", "vg_session=" + f.token});
    request.remote_address = "127.0.0.1";
    for (auto _ : state) {
        auto response = f.api->Handle(request);
        if (response.status != 200) state.SkipWithError("GET /api/me failed");
        benchmark::DoNotOptimize(response);
    }
}
BENCHMARK(BM_GetMe)->Threads(1)->Threads(4)->UseRealTime();

void BM_SignupValidationError(benchmark::State& state) {
    Fixture& f = Shared();
    vg::http::Request request;
    request.method = "POST";
    request.path = "/api/signup";
    request.headers.push_back({"content-type", "application/json"});
    request.body = R"({"id":"X","password":"short","name":"","age":0,"address":"","phone_num":"1"})";
    request.remote_address = "127.0.0.1";
    for (auto _ : state) {
        auto response = f.api->Handle(request);
        if (response.status != 400) state.SkipWithError("expected 400");
        benchmark::DoNotOptimize(response);
    }
}
BENCHMARK(BM_SignupValidationError);

}  // namespace
