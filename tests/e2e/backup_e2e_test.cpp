// The operator's backup and restore, as an operator runs them: `vitalguard backup DIR` while the server
// takes readings, then `vitalguard restore` into a fresh data directory and a new server on it that
// finds every account, reading, status row and incident. And one server per data directory.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "e2e_fixture.hpp"

namespace vg::e2e {
namespace {

namespace fs = std::filesystem;
using testing::HttpClient;

struct Output {
    int exit_code = -1;
    std::string text;  // stdout and stderr
};

Output RunVitalguard(const std::string& arguments) {
    Output out;
    const std::string command = "'" + testing::FindBinary("vitalguard") + "' " + arguments + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return out;
    std::array<char, 4096> buf{};
    while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.text.append(buf.data(), n);
    const int status = ::pclose(pipe);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

std::string Q(const fs::path& p) { return "'" + p.string() + "'"; }

class BackupE2eTest : public ServerTest {
  protected:
    static json::object Vitals(double hr, double spo2 = 97) {
        return json::object{{"heart_rate", hr}, {"respiration_rate", 16}, {"spo2", spo2}, {"skin_temp", 33.4},
                            {"steps", 0},       {"calories", 1.1}};
    }
    fs::path DataDir() const { return data_dir_.file("data"); }
};

TEST_F(BackupE2eTest, ABackupTakenUnderLoadRestoresIntoAFreshServerWithEverything) {
    StartServer({"--countdown", "10m"});
    HttpClient wearer = Client();
    const std::string csrf = SignupAndLogin(wearer, "backup_kim");
    for (int i = 0; i < 20; ++i) ASSERT_EQ(wearer.Post("/api/update_status", Vitals(70 + i % 5)).status, 200);
    // Confirmed danger: an incident.
    for (int i = 0; i < 2; ++i) ASSERT_EQ(wearer.Post("/api/update_status", Vitals(150, 88)).status, 200);
    auto incidents = wearer.Get("/api/incidents");
    ASSERT_EQ(incidents.status, 200);
    ASSERT_EQ(incidents.json().at("incidents").as_array().size(), 1u) << incidents.body;
    const int acknowledged_before_backup = 22;

    // Readings keep coming while the backup runs: the backup is a consistent snapshot, at least what was
    // acknowledged before it started.
    std::atomic<bool> stop{false};
    std::atomic<int> during{0};
    std::thread writer([&] {
        HttpClient watch = Client();
        watch.SetCookie("vg_session", wearer.cookie("vg_session").value_or(""));
        watch.SetDefaultHeader("X-CSRF-Token", csrf);
        while (!stop) {
            if (watch.Post("/api/update_status", Vitals(72)).status == 200) ++during;
        }
    });
    testing::TempDir backups("vg-e2e-backups");
    const Output backup = RunVitalguard("backup " + Q(backups.path()) + " --data-dir " + Q(DataDir()));
    stop = true;
    writer.join();
    ASSERT_EQ(backup.exit_code, 0) << backup.text;
    EXPECT_NE(backup.text.find("1 accounts"), std::string::npos) << backup.text;

    fs::path db_file, manifest;
    for (const auto& entry : fs::directory_iterator(backups.path())) {
        if (entry.path().extension() == ".db") db_file = entry.path();
        if (entry.path().extension() == ".json") manifest = entry.path();
    }
    ASSERT_FALSE(db_file.empty()) << backup.text;
    ASSERT_FALSE(manifest.empty()) << backup.text;
    EXPECT_EQ(fs::status(db_file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write)
        << "health data: owner-only";
    EXPECT_FALSE(fs::exists(db_file.string() + "-wal")) << "one self-contained file";
    std::ifstream in(manifest);
    const json::value m = json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
    const int64_t readings_in_backup = m.at("contents").at("readings").as_int64();
    EXPECT_GE(readings_in_backup, acknowledged_before_backup);
    EXPECT_LE(readings_in_backup, acknowledged_before_backup + during.load());
    EXPECT_EQ(m.at("contents").at("users").as_int64(), 1);
    EXPECT_EQ(m.at("contents").at("incidents").as_int64(), 1);
    EXPECT_EQ(m.at("sha256").as_string().size(), 64u);

    // Restore into a fresh data directory, with this server still running elsewhere.
    testing::TempDir fresh("vg-e2e-restored");
    const fs::path fresh_data = fs::path(fresh.path()) / "data";
    const Output restore = RunVitalguard("restore " + Q(db_file) + " --data-dir " + Q(fresh_data));
    ASSERT_EQ(restore.exit_code, 0) << restore.text;

    testing::ServerProcessOptions options;
    options.args = {"serve", "--port", "0", "--data-dir", fresh_data.string(), "--countdown", "10m"};
    testing::ServerProcess restored(testing::FindBinary("vitalguard"), options);
    HttpClient again(restored.port());
    auto login = again.Post("/api/login", json::object{{"id", "backup_kim"}, {"password", "correct horse"}});
    ASSERT_EQ(login.status, 200) << login.body << restored.log();
    auto statuses = again.Get("/api/get_status/?limit=1000");
    ASSERT_EQ(statuses.status, 200);
    EXPECT_EQ(static_cast<int64_t>(statuses.json().at("statuses").as_array().size()), readings_in_backup)
        << "every status row of the backup";
    auto restored_incidents = again.Get("/api/incidents");
    ASSERT_EQ(restored_incidents.status, 200);
    ASSERT_EQ(restored_incidents.json().at("incidents").as_array().size(), 1u) << restored_incidents.body;
    EXPECT_EQ(restored_incidents.json().at("incidents").at(0).at("id"),
              incidents.json().at("incidents").at(0).at("id"));
}

TEST_F(BackupE2eTest, RestoreRefusesADamagedBackupARunningServerAndAnExistingDatabase) {
    StartServer();
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "restore_lee");
    testing::TempDir backups("vg-e2e-backups");
    const Output backup = RunVitalguard("backup " + Q(backups.path()) + " --data-dir " + Q(DataDir()));
    ASSERT_EQ(backup.exit_code, 0) << backup.text;
    fs::path db_file;
    for (const auto& entry : fs::directory_iterator(backups.path())) {
        if (entry.path().extension() == ".db") db_file = entry.path();
    }
    ASSERT_FALSE(db_file.empty());

    // Into the directory of the running server: refused, nothing changed.
    const Output busy = RunVitalguard("restore " + Q(db_file) + " --data-dir " + Q(DataDir()) + " --replace");
    EXPECT_NE(busy.exit_code, 0);
    EXPECT_NE(busy.text.find("another VitalGuard process"), std::string::npos) << busy.text;
    EXPECT_EQ(Client().Post("/api/login", json::object{{"id", "restore_lee"}, {"password", "correct horse"}}).status,
              200);
    // A second server on the same data directory is refused too (it would escalate every incident twice).
    testing::ServerProcessOptions second;
    second.args = {"serve", "--port", "0", "--data-dir", DataDir().string()};
    EXPECT_THROW(testing::ServerProcess(testing::FindBinary("vitalguard"), second), std::runtime_error);

    server_->Terminate();
    // An existing database without --replace: refused.
    const Output exists = RunVitalguard("restore " + Q(db_file) + " --data-dir " + Q(DataDir()));
    EXPECT_NE(exists.exit_code, 0);
    EXPECT_NE(exists.text.find("--replace"), std::string::npos) << exists.text;
    // With --replace, the old database is moved aside, not deleted.
    const Output replaced = RunVitalguard("restore " + Q(db_file) + " --data-dir " + Q(DataDir()) + " --replace");
    EXPECT_EQ(replaced.exit_code, 0) << replaced.text;
    int aside = 0;
    for (const auto& entry : fs::directory_iterator(DataDir())) {
        if (entry.path().filename().string().rfind("vitalguard.db.before-restore-", 0) == 0) ++aside;
    }
    EXPECT_GE(aside, 1);

    // One flipped byte in the backup: the manifest's checksum refuses it before anything is touched.
    {
        std::fstream f(db_file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(200);
        f.put('\x7f');
    }
    testing::TempDir fresh("vg-e2e-restored");
    const Output damaged = RunVitalguard("restore " + Q(db_file) + " --data-dir " + Q(fs::path(fresh.path()) / "data"));
    EXPECT_NE(damaged.exit_code, 0);
    EXPECT_NE(damaged.text.find("SHA-256"), std::string::npos) << damaged.text;
    EXPECT_FALSE(fs::exists(fs::path(fresh.path()) / "data" / "vitalguard.db"));
    // Not a database at all, without a manifest: named as such.
    const fs::path junk = fs::path(fresh.path()) / "junk.db";
    std::ofstream(junk) << "this is not a database";
    const Output not_db = RunVitalguard("restore " + Q(junk) + " --data-dir " + Q(fs::path(fresh.path()) / "data"));
    EXPECT_NE(not_db.exit_code, 0);
    EXPECT_NE(not_db.text.find("not a"), std::string::npos) << not_db.text;
}

}  // namespace
}  // namespace vg::e2e
