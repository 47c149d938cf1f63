#include "vg/cli/cli.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace vg::cli {
namespace {

using std::chrono::milliseconds;

class ServeCommandTest : public ::testing::Test {
  protected:
    void SetUp() override {
        for (const char* v : {"VG_PORT", "VG_DATA_DIR", "VG_CONFIG", "VG_SESSION_TTL", "VG_HOST"}) unsetenv(v);
        dir_ = std::filesystem::temp_directory_path() / ("vg_cli_test_" + std::to_string(getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override {
        for (const char* v : {"VG_PORT", "VG_DATA_DIR", "VG_CONFIG", "VG_SESSION_TTL", "VG_HOST"}) unsetenv(v);
        std::filesystem::remove_all(dir_);
    }
    std::string WriteConfig(const std::string& text) {
        auto path = (dir_ / "vitalguard.toml").string();
        std::ofstream(path) << text;
        return path;
    }
    std::filesystem::path dir_;
};

TEST_F(ServeCommandTest, DefaultsAreTheEmbeddedLocalServer) {
    auto cmd = ParseServeCommand({"vitalguard", "serve"});
    ASSERT_TRUE(cmd.ok()) << cmd.status().ToString();
    EXPECT_EQ(cmd->config.host, "127.0.0.1");
    EXPECT_EQ(cmd->config.port, 8080);
    EXPECT_EQ(cmd->config.data_dir, "data");
    EXPECT_EQ(cmd->config.session_ttl, milliseconds(12 * 3600 * 1000));
    EXPECT_TRUE(cmd->config.sqlite_synchronous_full);
}

TEST_F(ServeCommandTest, FlagBeatsEnvironmentBeatsConfigFileBeatsDefault) {
    std::string config =
        WriteConfig("port = 7000\ndata-dir = \"/from/config\"\nsession_ttl = \"2h\"\nhost = \"0.0.0.0\"\n");
    setenv("VG_CONFIG", config.c_str(), 1);
    setenv("VG_PORT", "7100", 1);
    setenv("VG_DATA_DIR", "/from/env", 1);
    auto cmd = ParseServeCommand({"vitalguard", "serve", "--port", "7200"});
    ASSERT_TRUE(cmd.ok()) << cmd.status().ToString();
    EXPECT_EQ(cmd->config.port, 7200);                                  // flag
    EXPECT_EQ(cmd->config.data_dir, "/from/env");                       // env over config
    EXPECT_EQ(cmd->config.session_ttl, milliseconds(2 * 3600 * 1000));  // config over default
    EXPECT_EQ(cmd->config.host, "0.0.0.0");
    EXPECT_EQ(cmd->config.session_idle_timeout, milliseconds(30 * 60 * 1000));  // default
}

TEST_F(ServeCommandTest, TheStoreIsSqliteByDefaultOrAPostgresUri) {
    auto plain = ParseServeCommand({"vitalguard", "serve"});
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->config.store_url, "");
    EXPECT_EQ(plain->config.store_schema, "vitalguard");
    auto sqlite = ParseServeCommand({"vitalguard", "serve", "--store", "sqlite"});
    ASSERT_TRUE(sqlite.ok());
    EXPECT_EQ(sqlite->config.store_url, "");
    auto pg = ParseServeCommand({"vitalguard", "serve", "--store", "postgresql://vg@db.internal:5433/vg",
                                 "--store-schema", "vg_prod", "--store-connections", "24"});
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    EXPECT_EQ(pg->config.store_url, "postgresql://vg@db.internal:5433/vg");
    EXPECT_EQ(pg->config.store_schema, "vg_prod");
    EXPECT_EQ(pg->config.store_connections, 24);

    auto unknown = ParseServeCommand({"vitalguard", "serve", "--store", "mysql://db/vg"});
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.status().ToString().find("store"), std::string::npos) << unknown.status().ToString();
    for (const char* schema : {"Public", "1st", "vg-prod", "vg;drop", "pg_catalog", ""}) {
        auto bad = ParseServeCommand({"vitalguard", "serve", "--store-schema", schema});
        ASSERT_FALSE(bad.ok()) << schema;
        EXPECT_NE(bad.status().ToString().find("store-schema"), std::string::npos) << bad.status().ToString();
    }
}

TEST_F(ServeCommandTest, TheBusIsInProcessByDefaultOrARedisUrl) {
    auto plain = ParseServeCommand({"vitalguard", "serve"});
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->config.bus_url, "");
    EXPECT_EQ(plain->config.bus_prefix, "vg");
    EXPECT_EQ(plain->config.bus_shards, 16);
    auto inproc = ParseServeCommand({"vitalguard", "serve", "--bus", "inproc"});
    ASSERT_TRUE(inproc.ok());
    EXPECT_EQ(inproc->config.bus_url, "");
    auto redis = ParseServeCommand({"vitalguard", "serve", "--bus", "redis://cache.internal:6380/1", "--bus-prefix",
                                    "vg-prod", "--bus-shards", "64"});
    ASSERT_TRUE(redis.ok()) << redis.status().ToString();
    EXPECT_EQ(redis->config.bus_url, "redis://cache.internal:6380/1");
    EXPECT_EQ(redis->config.bus_prefix, "vg-prod");
    EXPECT_EQ(redis->config.bus_shards, 64);

    auto unknown = ParseServeCommand({"vitalguard", "serve", "--bus", "kafka://broker"});
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.status().ToString().find("bus"), std::string::npos) << unknown.status().ToString();
    const std::vector<std::string> bad_prefixes{"", "vg prod", "vg{1}", "vg:x", std::string(65, 'a')};
    for (const std::string& prefix : bad_prefixes) {
        auto bad = ParseServeCommand({"vitalguard", "serve", "--bus-prefix", prefix});
        ASSERT_FALSE(bad.ok()) << prefix;
        EXPECT_NE(bad.status().ToString().find("bus-prefix"), std::string::npos) << bad.status().ToString();
    }
    EXPECT_FALSE(ParseServeCommand({"vitalguard", "serve", "--bus-shards", "0"}).ok());
}

TEST_F(ServeCommandTest, ARoleIsOnePartOfADeploymentSharingPostgresAndTheRedisBus) {
    using Role = app::ServeConfig::Role;
    auto plain = ParseServeCommand({"vitalguard", "serve"});
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->config.role, Role::kAll);
    const std::vector<std::string> shared{"--store", "postgresql://vg@db/vg", "--bus", "redis://cache:6379"};
    for (const auto& [name, role] : std::vector<std::pair<std::string, Role>>{
             {"api", Role::kApi}, {"detector", Role::kDetector}, {"notifier", Role::kNotifier}}) {
        std::vector<std::string> args{"vitalguard", "serve", "--role", name};
        args.insert(args.end(), shared.begin(), shared.end());
        auto parsed = ParseServeCommand(args);
        ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status().ToString();
        EXPECT_EQ(parsed->config.role, role);
    }
    // A role without a shared store, an api or detector without the bus, a demo in a role, an unknown role.
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"vitalguard", "serve", "--role", "api", "--bus", "redis://cache"},
             {"vitalguard", "serve", "--role", "detector", "--store", "postgresql://vg@db/vg"},
             {"vitalguard", "serve", "--role", "notifier", "--store", "postgresql://vg@db/vg", "--demo"},
             {"vitalguard", "serve", "--role", "everything"}}) {
        auto bad = ParseServeCommand(args);
        ASSERT_FALSE(bad.ok()) << args[3];
    }
    auto no_store = ParseServeCommand({"vitalguard", "serve", "--role", "api", "--bus", "redis://cache"});
    EXPECT_NE(no_store.status().ToString().find("role"), std::string::npos) << no_store.status().ToString();
    EXPECT_TRUE(
        ParseServeCommand({"vitalguard", "serve", "--role", "notifier", "--store", "postgresql://vg@db/vg"}).ok())
        << "a notifier needs no bus";
}

TEST_F(ServeCommandTest, CookiesAreSecureByDefaultWhenThePublicUrlIsHttps) {
    auto plain = ParseServeCommand({"vitalguard", "serve"});
    ASSERT_TRUE(plain.ok());
    EXPECT_FALSE(plain->config.secure_cookies);
    auto https = ParseServeCommand({"vitalguard", "serve", "--public-url", "HTTPS://care.example.org"});
    ASSERT_TRUE(https.ok());
    EXPECT_TRUE(https->config.secure_cookies);
    auto off =
        ParseServeCommand({"vitalguard", "serve", "--public-url", "https://care.example.org", "--no-secure-cookies"});
    ASSERT_TRUE(off.ok());
    EXPECT_FALSE(off->config.secure_cookies);
    auto on = ParseServeCommand({"vitalguard", "serve", "--public-url", "http://10.0.0.5:8080", "--secure-cookies"});
    ASSERT_TRUE(on.ok());
    EXPECT_TRUE(on->config.secure_cookies);
    auto both = ParseServeCommand({"vitalguard", "serve", "--secure-cookies", "--no-secure-cookies"});
    ASSERT_FALSE(both.ok());
    ASSERT_FALSE(both.status().fields().empty());
    EXPECT_EQ(both.status().fields()[0].field, "secure-cookies");
}

TEST_F(ServeCommandTest, UnknownConfigKeyIsAnErrorNamingIt) {
    std::string config = WriteConfig("prot = 7000\n");
    auto cmd = ParseServeCommand({"vitalguard", "serve", "--config", config});
    ASSERT_FALSE(cmd.ok());
    ASSERT_EQ(cmd.status().fields().size(), 1u);
    EXPECT_EQ(cmd.status().fields()[0].field, "prot");
}

TEST_F(ServeCommandTest, BadValuesNameTheOption) {
    auto bad_duration = ParseServeCommand({"vitalguard", "serve", "--session-ttl", "forever"});
    ASSERT_FALSE(bad_duration.ok());
    EXPECT_EQ(bad_duration.status().fields().at(0).field, "session-ttl");

    auto bad_port = ParseServeCommand({"vitalguard", "serve", "--port", "70000"});
    ASSERT_FALSE(bad_port.ok());
    EXPECT_NE(bad_port.status().message().find("--port"), std::string::npos) << bad_port.status().message();

    auto idle_longer =
        ParseServeCommand({"vitalguard", "serve", "--session-ttl", "1h", "--session-idle-timeout", "2h"});
    ASSERT_FALSE(idle_longer.ok());
    EXPECT_EQ(idle_longer.status().fields().at(0).field, "session-idle-timeout");
}

TEST_F(ServeCommandTest, PostureWorkersAndQueue) {
    auto defaults = ParseServeCommand({"vitalguard", "serve"});
    ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
    EXPECT_EQ(defaults->config.posture_workers, 2);
    EXPECT_EQ(defaults->config.posture_queue, 256u);
    setenv("VG_POSTURE_QUEUE", "64", 1);
    auto set = ParseServeCommand({"vitalguard", "serve", "--posture-workers", "4"});
    unsetenv("VG_POSTURE_QUEUE");
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    EXPECT_EQ(set->config.posture_workers, 4);
    EXPECT_EQ(set->config.posture_queue, 64u);
    auto none = ParseServeCommand({"vitalguard", "serve", "--posture-workers", "0"});
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.status().message().find("--posture-workers"), std::string::npos) << none.status().message();
}

TEST_F(ServeCommandTest, TrustedProxiesFromFlagsEnvironmentAndConfig) {
    auto flags = ParseServeCommand(
        {"vitalguard", "serve", "--trusted-proxy", "10.0.0.0/8,::1", "--trusted-proxy", "2001:db8::/32"});
    ASSERT_TRUE(flags.ok()) << flags.status().ToString();
    ASSERT_EQ(flags->config.trusted_proxies.size(), 3u);
    EXPECT_EQ(flags->config.trusted_proxies[0].text, "10.0.0.0/8");
    EXPECT_TRUE(flags->config.trusted_proxies[2].Contains("2001:db8::7"));

    setenv("VG_TRUSTED_PROXY", "192.168.0.0/16,172.16.0.0/12", 1);
    auto env = ParseServeCommand({"vitalguard", "serve"});
    unsetenv("VG_TRUSTED_PROXY");
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    ASSERT_EQ(env->config.trusted_proxies.size(), 2u);
    EXPECT_TRUE(env->config.trusted_proxies[1].Contains("172.20.1.1"));

    auto config = ParseServeCommand(
        {"vitalguard", "serve", "--config", WriteConfig("trusted-proxy = [\"127.0.0.1\", \"::1\"]\n")});
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    ASSERT_EQ(config->config.trusted_proxies.size(), 2u);
    EXPECT_TRUE(config->config.trusted_proxies[0].Contains("127.0.0.1"));
    EXPECT_FALSE(config->config.trusted_proxies[0].Contains("127.0.0.2"));
}

TEST_F(ServeCommandTest, SmtpLoginPasswordComesFromAFileOrTheEnvironmentAndNeedsStartTls) {
    unsetenv("VG_SMTP_PASSWORD");
    const std::string file = (dir_ / "smtp-password").string();
    std::ofstream(file) << "s3cret pass\n";
    auto ok = ParseServeCommand({"vitalguard", "serve", "--smtp-url", "smtp://mail.example:587", "--smtp-from",
                                 "alerts@vg.example", "--smtp-user", "vg", "--smtp-password-file", file,
                                 "--smtp-ca-file", file});
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_EQ(ok->config.smtp_user, "vg");
    EXPECT_EQ(ok->config.smtp_password, "s3cret pass");
    EXPECT_EQ(ok->config.smtp_ca_file, file);
    EXPECT_TRUE(ok->config.smtp_require_starttls);

    setenv("VG_SMTP_PASSWORD", "from-env", 1);
    auto env = ParseServeCommand({"vitalguard", "serve", "--smtp-url", "smtp://mail.example:587", "--smtp-from",
                                  "alerts@vg.example", "--smtp-user", "vg"});
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    EXPECT_EQ(env->config.smtp_password, "from-env");
    auto both = ParseServeCommand({"vitalguard", "serve", "--smtp-url", "smtp://mail.example:587", "--smtp-from",
                                   "alerts@vg.example", "--smtp-user", "vg", "--smtp-password-file", file});
    unsetenv("VG_SMTP_PASSWORD");
    ASSERT_FALSE(both.ok());
    EXPECT_EQ(both.status().fields().at(0).field, "smtp-password-file");

    auto no_password = ParseServeCommand({"vitalguard", "serve", "--smtp-url", "smtp://mail.example:587", "--smtp-from",
                                          "alerts@vg.example", "--smtp-user", "vg"});
    ASSERT_FALSE(no_password.ok());
    EXPECT_EQ(no_password.status().fields().at(0).field, "smtp-password-file");
    auto in_clear = ParseServeCommand({"vitalguard", "serve", "--smtp-url", "smtp://mail.example:25", "--smtp-from",
                                       "alerts@vg.example", "--smtp-user", "vg", "--smtp-password-file", file,
                                       "--smtp-starttls", "off"});
    ASSERT_FALSE(in_clear.ok());
    EXPECT_EQ(in_clear.status().fields().at(0).field, "smtp-starttls");
    EXPECT_EQ(in_clear.status().ToString().find("s3cret"), std::string::npos);
}

TEST_F(ServeCommandTest, ABadTrustedProxyNamesTheOptionAndTheValue) {
    for (const char* bad : {"10.0.0.1/8", "proxy.example", "10.0.0.0/40", "::1/129"}) {
        auto cmd = ParseServeCommand({"vitalguard", "serve", "--trusted-proxy", bad});
        ASSERT_FALSE(cmd.ok()) << bad;
        ASSERT_EQ(cmd.status().fields().size(), 1u);
        EXPECT_EQ(cmd.status().fields()[0].field, "trusted-proxy");
        EXPECT_NE(cmd.status().fields()[0].problem.find(bad), std::string::npos) << cmd.status().ToString();
    }
}

TEST_F(ServeCommandTest, MetricsToken) {
    auto none = ParseServeCommand({"vitalguard", "serve"});
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->config.metrics_token, "");
    setenv("VG_METRICS_TOKEN", "0123456789abcdef0123", 1);
    auto env = ParseServeCommand({"vitalguard", "serve"});
    unsetenv("VG_METRICS_TOKEN");
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    EXPECT_EQ(env->config.metrics_token, "0123456789abcdef0123");
    auto short_token = ParseServeCommand({"vitalguard", "serve", "--metrics-token", "abc"});
    ASSERT_FALSE(short_token.ok());
    EXPECT_EQ(short_token.status().fields().at(0).field, "metrics-token");
}

TEST_F(ServeCommandTest, DemoIsOffByDefaultAndKeepsItsOwnDataDirectory) {
    auto plain = ParseServeCommand({"vitalguard", "serve"});
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_FALSE(plain->config.demo);
    auto demo = ParseServeCommand({"vitalguard", "serve", "--demo", "--demo-cycle", "20s"});
    ASSERT_TRUE(demo.ok()) << demo.status().ToString();
    EXPECT_TRUE(demo->config.demo);
    EXPECT_EQ(demo->config.demo_cycle, milliseconds(20'000));
    EXPECT_EQ(demo->config.data_dir, "data-demo");  // never the real ./data by accident
    auto named = ParseServeCommand({"vitalguard", "serve", "--demo", "--data-dir", "/tmp/x"});
    ASSERT_TRUE(named.ok());
    EXPECT_EQ(named->config.data_dir, "/tmp/x");
    auto too_short = ParseServeCommand({"vitalguard", "serve", "--demo", "--demo-cycle", "5s"});
    ASSERT_FALSE(too_short.ok());
    EXPECT_EQ(too_short.status().fields().at(0).field, "demo-cycle");
}

TEST_F(ServeCommandTest, HelpExplainsEveryOptionAndTheEnvironment) {
    auto help = ParseServeCommand({"vitalguard", "serve", "--help"});
    ASSERT_FALSE(help.ok());
    EXPECT_EQ(help.status().code(), ErrorCode::kBadRequest);
    const std::string& text = help.status().message();
    for (const char* expected : {"--port", "VG_PORT", "--data-dir", "--session-idle-timeout", "--config",
                                 "--posture-workers", "VG_POSTURE_QUEUE", "A flag beats the environment"}) {
        EXPECT_NE(text.find(expected), std::string::npos) << expected;
    }
}

}  // namespace
}  // namespace vg::cli
