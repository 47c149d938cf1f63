// Posture and fall detection end to end: the real binary with the shipped posture model
// (models/posture.*), real SisFall trials of TEST-split subjects replayed window by window as a watch
// would send them (POST /api/devices/posture), the fall incident that opens, the live posture events,
// ADL trials that open none, a fall suspected when the server is killed (kill -9) and confirmed once
// after the restart, get_posture and who may read it, update_posture's answer and errors, and the 503 of
// a server without a posture model.
#include <signal.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <thread>

#include "e2e_fixture.hpp"
#include "vg/common/clock.hpp"
#include "vg/imu/series.hpp"
#include "vg/imu/split.hpp"
#include "vg/imu/trial.hpp"
#include "vg/store/sqlite_store.hpp"
#include "vg/testing/shared_data.hpp"
#include "vg/testing/websocket_client.hpp"

namespace vg::e2e {
namespace {

namespace fs = std::filesystem;

// The seed's posture labels (its API table, update_posture), by class number: the API's names.
constexpr std::array<const char*, 8> kSeedNames = {"Downstair", "Upstair", "Running", "Sitdown",
                                                   "StandUp",   "Walking", "Lying",   "Fall"};
using testing::HttpClient;

const fs::path kData = testing::SharedDataRoot();
const fs::path kModels = VG_MODELS_DIR;

// The first trial `code` (R01 first) of a TEST-split SisFall subject, adults before the elderly.
imu::TrialInfo TestSplitTrial(std::string_view code) {
    auto listed = imu::ListTrials(kData, imu::DatasetId::kSisFall);
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    if (!listed.ok()) return {};
    std::vector<std::string> subjects;
    for (const auto& t : *listed) subjects.push_back(t.subject);
    std::sort(subjects.begin(), subjects.end());
    subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
    const auto splits = imu::AssignSplits(imu::DatasetId::kSisFall, subjects);
    for (const auto& t : *listed) {  // sorted by subject, activity, trial
        if (t.activity_code == code && splits.at(t.subject) == imu::Split::kTest) return t;
    }
    ADD_FAILURE() << "no test-split SisFall trial " << code;
    return {};
}

// The trial as 2.56 s windows (128 samples at 50 Hz, one after the other), each as the API's JSON with
// measured_at = the time of its last sample, the trial starting at `start`.
std::vector<json::object> TrialWindows(const imu::TrialInfo& info, TimePoint start) {
    std::vector<json::object> out;
    auto trial = imu::LoadTrial(info);
    EXPECT_TRUE(trial.ok()) << trial.status().ToString();
    if (!trial.ok()) return out;
    auto series = imu::Resample(*trial);
    EXPECT_TRUE(series.ok());
    if (!series.ok()) return out;
    for (size_t s = 0; s + 128 <= series->samples.size(); s += 128) {
        json::array samples;
        for (size_t i = s; i < s + 128; ++i) {
            const auto& v = series->samples[i];
            samples.push_back(json::array{v[0], v[1], v[2], v[3], v[4], v[5]});
        }
        const TimePoint end = start + Milliseconds(static_cast<int64_t>((s + 127) * 20));
        out.push_back(json::object{{"sample_rate_hz", 50},
                                   {"placement", info.placement == imu::Placement::kWaist ? "waist" : "wrist"},
                                   {"gravity_removed", info.gravity_removed},
                                   {"samples", std::move(samples)},
                                   {"measured_at", ToUnixMillis(end)}});
    }
    return out;
}

class PostureE2eTest : public ServerTest {
  protected:
    void SetUp() override {
        if (!fs::is_regular_file(kModels / "posture.manifest.json")) {
            GTEST_SKIP() << "no posture model in " << kModels
                         << " (posture.manifest.json); these tests need the shipped model";
        }
        StartServer({"--countdown", "30s", "--models-dir", kModels.string()});
    }
    // Signs up and logs in `id`, pairs a watch; returns the watch's Authorization header.
    testing::Headers Wearer(HttpClient& client, const std::string& id) {
        SignupAndLogin(client, id);
        auto paired = client.Post("/api/devices", json::object{{"name", "Galaxy Watch"}});
        EXPECT_EQ(paired.status, 201) << paired.body;
        return {{"Authorization", "Bearer " + std::string(paired.json().at("device_token").as_string())}};
    }
    // Replays the trial one window per request, as a watch does; returns every window's result.
    std::vector<json::value> Replay(const imu::TrialInfo& info, const testing::Headers& watch) {
        // The trial happened just now: its last window ends a few seconds ago.
        const TimePoint start = SystemClock::Instance().Now() - std::chrono::seconds(120);
        std::vector<json::value> results;
        HttpClient device = Client();
        for (json::object& w : TrialWindows(info, start)) {
            auto r = device.Post("/api/devices/posture", json::object{{"windows", json::array{std::move(w)}}}, watch);
            EXPECT_EQ(r.status, 200) << r.body;
            if (r.status != 200) break;
            results.push_back(r.json().at("results").at(0));
        }
        return results;
    }
    static std::string FallState(const json::value& result) {
        return std::string(result.at("fall").at("state").as_string());
    }
    static json::array Incidents(HttpClient& client) {
        auto list = client.Get("/api/incidents");
        EXPECT_EQ(list.status, 200) << list.body;
        return list.status == 200 ? list.json().at("incidents").as_array() : json::array{};
    }
};

TEST_F(PostureE2eTest, ARealFallReplayedWindowByWindowOpensAFallIncident) {
    VG_REQUIRE_DATA_SET("sisfall");
    HttpClient wearer = Client();
    const testing::Headers watch = Wearer(wearer, "fall_kim");
    // The wearer's page is open: the posture and incident events arrive live.
    testing::WebSocketClient live;
    const std::string origin = "http://127.0.0.1:" + std::to_string(server_->port());
    ASSERT_TRUE(live.Connect(server_->port(), "/api/stream",
                             {{"Cookie", "vg_session=" + *wearer.cookie("vg_session")}, {"Origin", origin}})
                    .accepted());
    ASSERT_TRUE(live.ReceiveJson(std::chrono::seconds(5)).has_value());  // hello

    const imu::TrialInfo trial = TestSplitTrial("F01");  // a slip while walking
    ASSERT_FALSE(trial.path.empty());
    const std::vector<json::value> results = Replay(trial, watch);
    ASSERT_GE(results.size(), 4u) << trial.path;
    std::optional<int64_t> incident_id;
    bool suspected = false;
    for (const json::value& r : results) {
        EXPECT_FALSE(r.at("model").as_string().empty());
        EXPECT_EQ(r.at("probabilities").as_object().size(), 9u);
        suspected = suspected || FallState(r) == "suspected";
        if (FallState(r) == "confirmed") incident_id = r.at("fall").at("incident_id").as_int64();
    }
    EXPECT_TRUE(suspected) << trial.path << ": the model did not see the fall";
    if (!incident_id) {
        // The trial ended before two windows after the impact: the watch falls silent and the server
        // confirms 30 s after the last window (the silence rule).
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(45);
        while (!incident_id && std::chrono::steady_clock::now() < until) {
            for (const json::value& i : Incidents(wearer)) incident_id = i.at("id").as_int64();
            if (!incident_id) std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
    }
    ASSERT_TRUE(incident_id.has_value()) << trial.path << ": no fall incident";
    const json::array incidents = Incidents(wearer);
    ASSERT_EQ(incidents.size(), 1u);
    EXPECT_EQ(incidents[0].at("id").as_int64(), *incident_id);
    EXPECT_EQ(incidents[0].at("kind").as_string(), "fall");
    EXPECT_EQ(incidents[0].at("phase").as_string(), "countdown");  // "I'm OK" cancels the call

    // Live: a posture event with the confirmed fall, and the incident itself.
    bool live_confirmed = false, live_incident = false;
    while (!(live_confirmed && live_incident)) {
        auto event = live.ReceiveJson(std::chrono::seconds(5));
        if (!event) break;
        if (event->at("type") == "posture") {
            EXPECT_EQ(event->at("wearer").as_string(), "fall_kim");
            EXPECT_TRUE(event->as_object().contains("previous_posture"));
            live_confirmed = live_confirmed || event->at("fall") == "confirmed";
        }
        if (event->at("type") == "incident") live_incident = event->at("incident").at("kind") == "fall";
    }
    EXPECT_TRUE(live_confirmed);
    EXPECT_TRUE(live_incident);

    // The history: a Fall row among the wearer's postures, newest first.
    auto rows = wearer.Get("/api/get_posture/");
    ASSERT_EQ(rows.status, 200) << rows.body;
    const json::value history = rows.json();
    const json::array& postures = history.at("postures").as_array();
    ASSERT_FALSE(postures.empty());
    bool fall_row = false;
    for (const auto& p : postures) fall_row = fall_row || p.at("posture").as_int64() == 7;
    EXPECT_TRUE(fall_row) << rows.body;

    // "I'm OK" answers the fall's countdown.
    auto ok = wearer.Post("/api/incidents/" + std::to_string(*incident_id) + "/ok", json::object{});
    EXPECT_EQ(ok.status, 200) << ok.body;
    auto metrics = wearer.Get("/metrics");
    EXPECT_NE(metrics.body.find("vitalguard_posture_falls_total{state=\"confirmed\"} 1"), std::string::npos);
    EXPECT_NE(metrics.body.find("vitalguard_posture_windows_classified_total"), std::string::npos);
}

TEST_F(PostureE2eTest, WalkingAndAStumbleOpenNoIncident) {
    VG_REQUIRE_DATA_SET("sisfall");
    for (const char* code : {"D01", "D18"}) {  // walking slowly; a stumble while walking
        HttpClient wearer = Client();
        std::string id = std::string("adl_") + code;
        for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const testing::Headers watch = Wearer(wearer, id);
        const imu::TrialInfo trial = TestSplitTrial(code);
        ASSERT_FALSE(trial.path.empty());
        const std::vector<json::value> results = Replay(trial, watch);
        ASSERT_GE(results.size(), 4u) << trial.path;
        for (const json::value& r : results) EXPECT_NE(FallState(r), "confirmed") << code << ": " << json::serialize(r);
        // Nothing is left suspected (which the silence rule would confirm later).
        EXPECT_NE(FallState(results.back()), "suspected") << code;
        EXPECT_TRUE(Incidents(wearer).empty()) << code;
    }
}

// Regression: a suspected fall lived only in the server's memory. A server killed while a fall was
// suspected forgot it, and nothing confirmed it after the restart: the person who fell and lay still
// (or whose watch went quiet) never got the fall incident and its countdown to the emergency call.
TEST_F(PostureE2eTest, AFallSuspectedWhenTheServerIsKilledIsConfirmedOnceAfterTheRestart) {
    VG_REQUIRE_DATA_SET("sisfall");
    HttpClient wearer = Client();
    const testing::Headers watch = Wearer(wearer, "crash_kim");
    const std::string session = *wearer.cookie("vg_session");
    const std::string db = (fs::path(data_dir_.file("data")) / "vitalguard.db").string();
    // The suspicions stored in the database; only while no server runs on it.
    auto stored = [&db]() {
        store::SqliteStoreOptions o;
        o.path = db;
        auto opened = store::SqliteStore::Open(o);
        EXPECT_TRUE(opened.ok()) << opened.status().ToString();
        if (!opened.ok()) return std::vector<store::FallSuspicion>{};
        auto listed = (*opened)->ListFallSuspicions();
        EXPECT_TRUE(listed.ok()) << listed.status().ToString();
        return listed.ok() ? listed.value() : std::vector<store::FallSuspicion>{};
    };
    auto incidents_of = [this, &session]() {
        HttpClient c = Client();
        c.SetCookie("vg_session", session);
        return Incidents(c);
    };

    // The watch sends the fall window by window; the server dies right after answering "suspected".
    const imu::TrialInfo trial = TestSplitTrial("F01");  // a slip while walking
    ASSERT_FALSE(trial.path.empty());
    const TimePoint start = SystemClock::Instance().Now() - std::chrono::seconds(120);
    bool suspected = false;
    HttpClient device = Client();
    for (json::object& w : TrialWindows(trial, start)) {
        auto r = device.Post("/api/devices/posture", json::object{{"windows", json::array{std::move(w)}}}, watch);
        ASSERT_EQ(r.status, 200) << r.body;
        const std::string state = FallState(r.json().at("results").at(0));
        ASSERT_NE(state, "confirmed") << "decided before the suspicion could be left open";
        if (state == "suspected") {
            suspected = true;
            break;
        }
    }
    ASSERT_TRUE(suspected) << trial.path << ": the model did not see the fall";
    EXPECT_TRUE(Incidents(wearer).empty());
    EXPECT_EQ(server_->Kill().signal, SIGKILL);
    // Answered "suspected" means on disk.
    const std::vector<store::FallSuspicion> before = stored();
    ASSERT_EQ(before.size(), 1u);

    // The watch stays quiet (the person lies still, or the watch died too). After the restart the silence
    // rule confirms the fall 30 s after the restart, and the incident opens with its countdown.
    StartServer({"--countdown", "30s", "--models-dir", kModels.string()});
    const auto restarted = std::chrono::steady_clock::now();
    EXPECT_NE(server_->log().find("restoring the fall suspected"), std::string::npos) << server_->LogTail();
    json::array incidents;
    while (incidents.empty() && std::chrono::steady_clock::now() < restarted + std::chrono::seconds(45)) {
        incidents = incidents_of();
        if (incidents.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    ASSERT_EQ(incidents.size(), 1u) << "no fall incident after the restart\n" << server_->LogTail();
    const auto took = std::chrono::steady_clock::now() - restarted;
    EXPECT_GE(took, std::chrono::seconds(25)) << "a restart is not itself the watch's silence";
    EXPECT_EQ(incidents[0].at("kind").as_string(), "fall");
    EXPECT_EQ(incidents[0].at("phase").as_string(), "countdown");
    const int64_t id = incidents[0].at("id").as_int64();
    std::this_thread::sleep_for(std::chrono::seconds(2));  // nothing else follows
    EXPECT_EQ(incidents_of().size(), 1u);
    auto events_of = [&]() {
        HttpClient c = Client();
        c.SetCookie("vg_session", session);
        auto r = c.Get("/api/incidents/" + std::to_string(id));
        EXPECT_EQ(r.status, 200) << r.body;
        std::vector<std::string> types;
        if (r.status == 200) {
            const json::value body = r.json();
            for (const auto& e : body.at("events").as_array()) types.emplace_back(e.at("type").as_string());
        }
        return types;
    };
    const std::vector<std::string> events = events_of();
    EXPECT_EQ(std::count(events.begin(), events.end(), "opened"), 1);
    EXPECT_EQ(std::count(events.begin(), events.end(), "fall"), 0);

    // Killed again just after the incident opened but, as if it were before the suspicion was cleared, the
    // suspicion is back in the database: the restarted server sees that the incident records the fall and
    // does not report it a second time.
    EXPECT_EQ(server_->Kill().signal, SIGKILL);
    EXPECT_TRUE(stored().empty()) << "decided: cleared";
    {
        store::SqliteStoreOptions o;
        o.path = db;
        auto opened = store::SqliteStore::Open(o);
        ASSERT_TRUE(opened.ok()) << opened.status().ToString();
        ASSERT_TRUE((*opened)->SaveFallSuspicion(before[0]).ok());
    }
    StartServer({"--countdown", "30s", "--models-dir", kModels.string()});
    EXPECT_NE(server_->log().find("already reached an incident; not restoring it"), std::string::npos)
        << server_->LogTail();
    EXPECT_EQ(incidents_of().size(), 1u);
    const std::vector<std::string> after = events_of();
    EXPECT_EQ(std::count(after.begin(), after.end(), "opened"), 1);
    EXPECT_EQ(std::count(after.begin(), after.end(), "fall"), 0);
    // A restored suspicion would still be stored after a graceful stop (only a decision clears it): it
    // was cleared at start-up instead, so nothing is left to confirm it again.
    EXPECT_TRUE(server_->Terminate().success());
    EXPECT_TRUE(stored().empty());
}

TEST_F(PostureE2eTest, GetPostureListsTheRowsAndOnlyLinkedGuardiansMayReadThem) {
    VG_REQUIRE_DATA_SET("sisfall");
    HttpClient wearer = Client();
    const testing::Headers watch = Wearer(wearer, "rows_kim");
    Replay(TestSplitTrial("D07"), watch);  // sit down on a chair and get up: several postures
    auto mine = wearer.Get("/api/get_posture");
    ASSERT_EQ(mine.status, 200) << mine.body;
    const json::value history = mine.json();
    const json::array& rows = history.at("postures").as_array();
    ASSERT_FALSE(rows.empty());
    EXPECT_LE(rows.size(), 10u);
    std::string previous = "9999";
    for (const auto& r : rows) {
        const std::string at(r.at("updated_at").as_string());
        EXPECT_LE(at, previous) << "newest first";
        previous = at;
        // The seed's label for the class, exactly (its API table).
        EXPECT_EQ(r.at("name").as_string(), kSeedNames.at(static_cast<size_t>(r.at("posture").as_int64())));
    }
    EXPECT_EQ(wearer.Get("/api/get_posture/?limit=1").json().at("postures").as_array().size(), 1u);
    EXPECT_EQ(wearer.Get("/api/get_posture?limit=0").status, 400);

    // A guardian the wearer accepted reads them; a stranger gets 404, as for an unknown wearer.
    HttpClient guardian = Client();
    SignupAndLogin(guardian, "rows_daughter");
    auto ask = guardian.Post("/api/guardians", json::object{{"wearer_id", "rows_kim"}});
    ASSERT_EQ(ask.status, 202) << ask.body;  // the answer does not say whether the id exists
    const int64_t link = guardian.Get("/api/guardians").json().at("wearers").at(0).at("id").as_int64();
    HttpClient stranger = Client();
    SignupAndLogin(stranger, "rows_stranger");
    EXPECT_EQ(guardian.Get("/api/get_posture/?wearer=rows_kim").status, 404) << "not accepted yet";
    ASSERT_EQ(wearer.Post("/api/guardians/" + std::to_string(link) + "/accept", json::object{}).status, 200);
    auto theirs = guardian.Get("/api/get_posture/?wearer=rows_kim");
    ASSERT_EQ(theirs.status, 200) << theirs.body;
    EXPECT_EQ(theirs.json().at("postures"), mine.json().at("postures"));
    EXPECT_EQ(stranger.Get("/api/get_posture/?wearer=rows_kim").status, 404);
    EXPECT_EQ(stranger.Get("/api/get_posture/?wearer=nobody_here").status, 404);
}

TEST_F(PostureE2eTest, UpdatePostureAnswersTheWindowAndNamesEveryBadField) {
    HttpClient wearer = Client();
    const testing::Headers watch = Wearer(wearer, "update_kim");
    json::array still;
    for (int i = 0; i < 128; ++i) still.push_back(json::array{0.02, -0.98, 0.1, 0.5, -0.3, 0.2});
    const json::object window{{"sample_rate_hz", 50}, {"placement", "waist"}, {"samples", still}};
    for (const char* path : {"/api/update_posture", "/api/update_posture/"}) {
        auto r = wearer.Post(path, window);
        ASSERT_EQ(r.status, 200) << r.body;
        const json::value j = r.json();
        EXPECT_GE(j.at("posture").as_int64(), 0);
        EXPECT_LE(j.at("posture").as_int64(), 7);
        EXPECT_EQ(j.at("name").as_string(), kSeedNames.at(static_cast<size_t>(j.at("posture").as_int64())));
        EXPECT_TRUE(j.at("other").is_bool());
        const json::object& p = j.at("probabilities").as_object();
        EXPECT_EQ(p.size(), kSeedNames.size() + 1);
        for (const char* name : kSeedNames) EXPECT_TRUE(p.contains(name)) << name;
        EXPECT_TRUE(p.contains("Other"));
        EXPECT_FALSE(j.at("model").as_string().empty());
        EXPECT_TRUE(j.at("updated_at").is_string());
        EXPECT_TRUE(j.at("fall").at("state").is_string());
    }
    // The watch may send it too (device token, no CSRF); every call is a row.
    EXPECT_EQ(Client().Post("/api/update_posture", window, watch).status, 200);
    EXPECT_EQ(wearer.Get("/api/get_posture").json().at("postures").as_array().size(), 3u);
    // A session needs its CSRF token.
    HttpClient no_csrf = Client();
    no_csrf.SetCookie("vg_session", *wearer.cookie("vg_session"));
    EXPECT_EQ(no_csrf.Post("/api/update_posture", window).status, 403);

    // Every problem named by its field, nothing stored.
    json::object bad = window;
    bad["sample_rate_hz"] = 500;
    bad["placement"] = "ankle";
    bad["samples"].as_array()[3].as_array()[1] = 20;
    bad["samples"].as_array()[4] = json::array{1, 2};
    bad["colour"] = "red";
    auto r = wearer.Post("/api/update_posture", bad);
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(ErrorCode(r), "validation_failed");
    EXPECT_EQ(ErrorFields(r),
              (std::vector<std::string>{"placement", "colour", "sample_rate_hz", "samples[3][1]", "samples[4]"}));
    json::object metres = window;
    for (auto& s : metres["samples"].as_array()) s.as_array()[1] = -9.7;
    auto m = wearer.Post("/api/update_posture", metres);
    ASSERT_EQ(m.status, 400);
    EXPECT_NE(m.body.find("looks like m/s²; send g"), std::string::npos) << m.body;
    EXPECT_EQ(wearer.Get("/api/get_posture").json().at("postures").as_array().size(), 3u);

    // The batch: at most 32 windows, measured_at required and increasing, problems named per window.
    const int64_t now = ToUnixMillis(SystemClock::Instance().Now());
    json::object w0 = window, w1 = window;
    w0["measured_at"] = now - 5000;
    w1["measured_at"] = now - 5000;
    auto same = Client().Post("/api/devices/posture", json::object{{"windows", json::array{w0, w1}}}, watch);
    ASSERT_EQ(same.status, 400) << same.body;
    EXPECT_EQ(ErrorFields(same), (std::vector<std::string>{"windows[1].measured_at"}));
    json::array many;
    for (int i = 0; i < 33; ++i) {
        json::object w = window;
        w["measured_at"] = now - 100'000 + i * 2560;
        many.push_back(std::move(w));
    }
    auto too_many = Client().Post("/api/devices/posture", json::object{{"windows", many}}, watch);
    ASSERT_EQ(too_many.status, 400);
    EXPECT_EQ(ErrorFields(too_many), (std::vector<std::string>{"windows"}));
    auto unnamed = Client().Post("/api/devices/posture", json::object{{"windows", json::array{window}}}, watch);
    EXPECT_EQ(ErrorFields(unnamed), (std::vector<std::string>{"windows[0].measured_at"}));
    // The batch is for watches only.
    EXPECT_EQ(wearer.Post("/api/devices/posture", json::object{{"windows", json::array{w0}}}).status, 401);
}

class NoPostureModelE2eTest : public ServerTest {
  protected:
    void SetUp() override { StartServer({"--models-dir", "none"}); }
};

TEST_F(NoPostureModelE2eTest, PostureRoutesAnswer503AndTheServerRuns) {
    HttpClient wearer = Client();
    SignupAndLogin(wearer, "nomodel_kim");
    for (auto r : {wearer.Post("/api/update_posture", json::object{}), wearer.Get("/api/get_posture/")}) {
        EXPECT_EQ(r.status, 503) << r.body;
        EXPECT_EQ(ErrorCode(r), "unavailable");
        EXPECT_NE(r.body.find("no posture model"), std::string::npos) << r.body;
    }
    EXPECT_NE(server_->log().find("posture and fall detection are off"), std::string::npos);
    EXPECT_EQ(wearer.Get("/healthz").status, 200);
}

TEST_F(NoPostureModelE2eTest, ABrokenPostureModelStopsStartUpNamingIt) {
    // The shipped status and cause models, and a posture manifest that cannot be read.
    testing::TempDir models("vg-e2e-models");
    for (const auto& entry : fs::directory_iterator(kModels)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("status", 0) == 0 || name.rfind("cause", 0) == 0) {
            fs::copy_file(entry.path(), fs::path(models.path()) / name);
        }
    }
    std::ofstream(fs::path(models.path()) / "posture.manifest.json") << "{\"version\": ";
    try {
        StartServer({"--models-dir", models.path().string()});
        ADD_FAILURE() << "the server started with a broken posture model";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot load the posture model"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace vg::e2e
