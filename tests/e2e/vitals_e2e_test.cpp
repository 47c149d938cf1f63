// The seed's status API and device ingest end to end: real binary, real HTTP, real SQLite.
#include <atomic>
#include <csignal>
#include <numeric>
#include <thread>

#include "e2e_fixture.hpp"
#include "vg/common/clock.hpp"
#include "vg/store/sqlite_store.hpp"

namespace vg::e2e {
namespace {

using testing::HttpClient;

class VitalsE2eTest : public ServerTest {
  protected:
    void SetUp() override { StartServer(); }

    static json::object Vitals(double hr, double spo2 = 97, double rr = 15) {
        return json::object{{"heart_rate", hr}, {"respiration_rate", rr}, {"spo2", spo2}, {"skin_temp", 33.5},
                            {"steps", 0},       {"calories", 1.2}};
    }
    // Pairs a watch for the logged-in `client`; returns its device token.
    static std::string PairWatch(HttpClient& client) {
        auto paired = client.Post("/api/devices", json::object{{"name", "Galaxy Watch"}});
        EXPECT_EQ(paired.status, 201) << paired.body;
        return std::string(paired.json().at("device_token").as_string());
    }
};

TEST_F(VitalsE2eTest, UpdateStatusReturnsTheVerdictAndGetStatusListsIt) {
    HttpClient client = Client();
    SignupAndLogin(client, "status_kim");
    auto normal = client.Post("/api/update_status", Vitals(72));
    ASSERT_EQ(normal.status, 200) << normal.body;
    EXPECT_EQ(normal.json().at("status").as_int64(), 0);
    EXPECT_EQ(normal.json().at("level").as_string(), "normal");

    // Sustained severe tachycardia with low oxygen: danger once confirmed.
    json::value last;
    for (int i = 0; i < 3; ++i) {
        auto r = client.Post("/api/update_status/", Vitals(175, 86));
        ASSERT_EQ(r.status, 200) << r.body;
        last = r.json();
    }
    EXPECT_EQ(last.at("status").as_int64(), 2) << json::serialize(last);
    EXPECT_FALSE(last.at("causes").as_array().empty());
    EXPECT_FALSE(last.at("rules").as_array().empty());
    EXPECT_FALSE(last.at("explanation").as_string().empty());

    auto history = client.Get("/api/get_status/");
    ASSERT_EQ(history.status, 200) << history.body;
    const json::value h = history.json();
    const auto& rows = h.at("statuses").as_array();
    ASSERT_EQ(rows.size(), 4u);  // one row per update_status, newest first
    EXPECT_EQ(rows[0].at("status").as_int64(), 2);
    EXPECT_EQ(rows[3].at("status").as_int64(), 0);
    EXPECT_EQ(client.Get("/api/me").json().at("user").at("danger_degree").as_int64(), 2);
}

TEST_F(VitalsE2eTest, DetectionStateSurvivesKillMinus9) {
    HttpClient client = Client();
    SignupAndLogin(client, "restart_lee");
    // One reading of 175 bpm: stored and acknowledged, but not yet confirmed (2 readings needed).
    auto first = client.Post("/api/update_status", Vitals(175));
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.json().at("status").as_int64(), 0) << first.body;
    EXPECT_EQ(server_->Kill().signal, SIGKILL);

    // The restarted server rebuilds the rule state from the stored reading: the next high reading
    // confirms at once, exactly as if the server had never stopped.
    StartServer();
    HttpClient after = Client();
    auto login = after.Post("/api/login", json::object{{"id", "restart_lee"}, {"password", "correct horse"}});
    ASSERT_EQ(login.status, 200) << login.body;
    after.SetDefaultHeader("X-CSRF-Token", std::string(login.json().at("csrf_token").as_string()));
    auto second = after.Post("/api/update_status", Vitals(176));
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_EQ(second.json().at("status").as_int64(), 2) << second.body;
    EXPECT_NE(server_->LogTail().find("rebuilt detection state of 1 wearers from 1 stored readings"), std::string::npos)
        << server_->LogTail();
}

// update_status is a hot path: it authenticates from short-lived copies of sessions and devices on the
// io thread (HotPath::kInlineFirst). Logging out and unpairing must still end them at once.
TEST_F(VitalsE2eTest, UpdateStatusStopsAtOnceAfterLogoutAndAfterUnpairingTheWatch) {
    HttpClient client = Client();
    const std::string csrf = SignupAndLogin(client, "hot_path_kim");
    const std::string watch_token = PairWatch(client);
    const std::string session_token = *client.cookie("vg_session");
    HttpClient watch = Client();
    for (int i = 0; i < 3; ++i) {  // the copies are in place and used
        ASSERT_EQ(client.Post("/api/update_status", Vitals(72)).status, 200);
        auto r = watch.Post("/api/update_status", Vitals(73), {{"Authorization", "Bearer " + watch_token}});
        ASSERT_EQ(r.status, 200) << r.body;
    }
    auto devices = client.Get("/api/devices").json().at("devices").as_array();
    const int64_t device_id = devices.at(0).at("device_id").as_int64();
    ASSERT_EQ(client.Delete("/api/devices/" + std::to_string(device_id)).status, 200);
    auto unpaired = watch.Post("/api/update_status", Vitals(74), {{"Authorization", "Bearer " + watch_token}});
    EXPECT_EQ(unpaired.status, 401) << unpaired.body;

    ASSERT_EQ(client.Post("/api/logout", json::object{}).status, 200);
    HttpClient replay = Client();
    replay.SetCookie("vg_session", session_token);
    auto after = replay.Post("/api/update_status", Vitals(75), {{"X-CSRF-Token", csrf}});
    EXPECT_EQ(after.status, 401) << after.body;
    EXPECT_EQ(replay.Get("/api/get_status").status, 401);
}

// Acknowledged = on disk: update_status answers once its reading AND its status row are committed (the
// verdict stage's group commit), so a kill -9 in the middle of a full load loses neither, and the incident
// a wearer's danger opened is neither lost nor doubled by the restart.
TEST_F(VitalsE2eTest, KillMinus9UnderUpdateStatusLoadLosesNoAcknowledgedReadingOrStatusRow) {
    constexpr int kWearers = 6;
    std::vector<HttpClient> clients;
    for (int w = 0; w < kWearers; ++w) {
        clients.push_back(Client());
        SignupAndLogin(clients.back(), "load_" + std::to_string(w));
    }
    std::vector<json::object> bodies;
    // Wearer 0 is in danger (sustained severe tachycardia with low oxygen): an incident opens.
    for (int w = 0; w < kWearers; ++w) bodies.push_back(w == 0 ? Vitals(175, 86) : Vitals(72));
    const std::vector<int> acknowledged = UpdateStatusUntilKilled(clients, bodies, 300);
    ASSERT_GT(std::accumulate(acknowledged.begin(), acknowledged.end(), 0), 0);

    int64_t danger_wearer = 0;
    {
        store::SqliteStoreOptions o;
        o.path = data_dir_.file("data") + "/vitalguard.db";
        auto opened = store::SqliteStore::Open(o);
        ASSERT_TRUE(opened.ok()) << opened.status().ToString();
        auto& db = **opened;
        for (int w = 0; w < kWearers; ++w) {
            auto user = db.FindUserById("load_" + std::to_string(w));
            ASSERT_TRUE(user.ok());
            if (w == 0) danger_wearer = user->unique_num;
            auto readings = db.RecentReadings(user->unique_num, 1'000'000);
            auto rows = db.RecentStatuses(user->unique_num, 1'000'000);
            ASSERT_TRUE(readings.ok() && rows.ok());
            const auto acked = static_cast<size_t>(acknowledged[static_cast<size_t>(w)]);
            // Every acknowledged call is there; a call cut off by the kill may be there or not.
            EXPECT_GE(readings->size(), acked) << "wearer " << w;
            EXPECT_GE(rows->size(), acked) << "wearer " << w;
            EXPECT_LE(rows->size(), readings->size()) << "a status row without its reading, wearer " << w;
        }
        auto incidents = db.ListIncidents(danger_wearer, 100);
        ASSERT_TRUE(incidents.ok());
        EXPECT_EQ(incidents->size(), 1u);
        db.Close();
    }

    StartServer();
    HttpClient after = Client();
    auto login = after.Post("/api/login", json::object{{"id", "load_0"}, {"password", "correct horse"}});
    ASSERT_EQ(login.status, 200) << login.body;
    after.SetDefaultHeader("X-CSRF-Token", std::string(login.json().at("csrf_token").as_string()));
    for (int i = 0; i < 3; ++i) {
        auto r = after.Post("/api/update_status", Vitals(176, 86));
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.json().at("status").as_int64(), 2) << r.body;
    }
    auto listed = after.Get("/api/incidents");
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_EQ(listed.json().at("incidents").as_array().size(), 1u) << listed.body;  // the same one, not a second
}

TEST_F(VitalsE2eTest, UpdateStatusRejectsImpossibleValuesPerField) {
    HttpClient client = Client();
    SignupAndLogin(client, "bad_values");
    json::object body = Vitals(72);
    body["spo2"] = 0.97;
    body["skin_temp"] = 98.6;
    body["heart_rate"] = "fast";
    body["pulse"] = 80;
    auto r = client.Post("/api/update_status", body);
    ASSERT_EQ(r.status, 400) << r.body;
    auto fields = ErrorFields(r);
    std::sort(fields.begin(), fields.end());
    EXPECT_EQ(fields, (std::vector<std::string>{"heart_rate", "pulse"}));  // type errors first, nothing stored
    body["heart_rate"] = 72;
    body.erase("pulse");
    auto units = client.Post("/api/update_status", body);
    ASSERT_EQ(units.status, 400);
    fields = ErrorFields(units);
    std::sort(fields.begin(), fields.end());
    EXPECT_EQ(fields, (std::vector<std::string>{"skin_temp", "spo2"}));
    EXPECT_EQ(client.Get("/api/get_status").json().at("statuses").as_array().size(), 0u);
    EXPECT_EQ(client.Get("/api/vitals").json().at("vitals").as_array().size(), 0u);
}

TEST_F(VitalsE2eTest, UpdateStatusNeedsTheCsrfTokenFromABrowserSession) {
    HttpClient client = Client();
    SignupAndLogin(client, "csrf_vitals");
    client.RemoveDefaultHeader("X-CSRF-Token");
    EXPECT_EQ(client.Post("/api/update_status", Vitals(72)).status, 403);
}

TEST_F(VitalsE2eTest, DeviceBatchesAreIdempotentAndNeedAValidToken) {
    HttpClient person = Client();
    SignupAndLogin(person, "batch_kim");
    const std::string token = PairWatch(person);

    HttpClient watch = Client();
    const testing::Headers auth = {{"Authorization", "Bearer " + token}};
    json::array readings;
    const auto now = std::chrono::system_clock::now();
    for (int i = 0; i < 5; ++i) {
        json::object r = Vitals(70 + i);
        r["seq"] = i + 1;
        r["timestamp"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                             (now - std::chrono::minutes(5 - i)).time_since_epoch())
                             .count();
        readings.push_back(r);
    }
    auto first = watch.Post("/api/devices/readings", json::object{{"readings", readings}}, auth);
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.json().at("stored").as_int64(), 5);
    auto retry = watch.Post("/api/devices/readings", json::object{{"readings", readings}}, auth);
    ASSERT_EQ(retry.status, 200);
    EXPECT_EQ(retry.json().at("stored").as_int64(), 0);
    EXPECT_EQ(retry.json().at("duplicates").as_int64(), 5);
    EXPECT_EQ(person.Get("/api/vitals").json().at("vitals").as_array().size(), 5u);

    EXPECT_EQ(watch.Post("/api/devices/readings", json::object{{"readings", readings}}).status, 401);
    EXPECT_EQ(watch
                  .Post("/api/devices/readings", json::object{{"readings", readings}},
                        {{"Authorization", "Bearer not-a-real-token"}})
                  .status,
              401);
    // A session cookie is not a device token.
    EXPECT_EQ(person.Post("/api/devices/readings", json::object{{"readings", readings}}).status, 401);
}

// A watch back after hours offline uploads its backlog, three hours old, of an episode of danger: the
// readings and their status rows are kept (history and trends show it) but nobody is called now for
// what ended hours ago; the same readings arriving fresh open an incident at once.
TEST_F(VitalsE2eTest, ABacklogOfHoursAgoIsRecordedButCallsNobody) {
    HttpClient person = Client();
    SignupAndLogin(person, "backlog_kim");
    const testing::Headers auth = {{"Authorization", "Bearer " + PairWatch(person)}};
    HttpClient watch = Client();
    const auto now = std::chrono::system_clock::now();
    auto batch = [&](int first_seq, int count, std::chrono::system_clock::time_point from) {
        json::array readings;
        for (int i = 0; i < count; ++i) {
            json::object r = Vitals(175, 86);
            r["seq"] = first_seq + i;
            r["timestamp"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 (from + std::chrono::seconds(30 * i)).time_since_epoch())
                                 .count();
            readings.push_back(r);
        }
        return json::object{{"readings", readings}};
    };
    auto backlog = watch.Post("/api/devices/readings", batch(1, 20, now - std::chrono::hours(3)), auth);
    ASSERT_EQ(backlog.status, 200) << backlog.body;
    EXPECT_EQ(backlog.json().at("stored").as_int64(), 20);
    // Its danger is judged and recorded...
    bool danger_recorded = false;
    for (int i = 0; i < 100 && !danger_recorded; ++i) {
        const json::value h = person.Get("/api/get_status/").json();
        for (const auto& row : h.at("statuses").as_array()) danger_recorded |= row.at("status").as_int64() == 2;
        if (!danger_recorded) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(danger_recorded) << server_->LogTail(40);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the rest of the backlog's verdicts
    // ...and calls nobody: no danger incident, no countdown. (The silence since the backlog's last reading,
    // hours now, may open what a silence is: a caution "check the watch", never the old danger.)
    const json::value after_backlog = person.Get("/api/incidents").json();
    for (const auto& v : after_backlog.at("incidents").as_array()) {
        EXPECT_EQ(v.at("level").as_string(), "caution") << json::serialize(v);
        EXPECT_EQ(v.at("phase").as_string(), "guidance") << json::serialize(v);
        EXPECT_EQ(v.at("rules"), json::value(json::array{"signal_loss"})) << json::serialize(v);
    }
    // Counted (the metrics are sampled every 5 s).
    const std::string counter = "vitalguard_past_episodes_not_escalated_total{kind=\"verdict\"}";
    std::string metrics;
    for (int i = 0; i < 100; ++i) {
        metrics = Client().Get("/metrics").body;
        const size_t at = metrics.find(counter + " ");
        if (at != std::string::npos && metrics.compare(at + counter.size() + 1, 2, "0\n") != 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const size_t at = metrics.find(counter + " ");
    ASSERT_NE(at, std::string::npos) << metrics.substr(0, 400);
    EXPECT_GE(std::stod(metrics.substr(at + counter.size() + 1)), 1.0) << metrics.substr(at, 80);

    // The same danger measured now: the countdown starts.
    auto fresh = watch.Post("/api/devices/readings", batch(21, 2, now - std::chrono::seconds(30)), auth);
    ASSERT_EQ(fresh.status, 200) << fresh.body;
    std::string phase;
    for (int i = 0; i < 100 && phase != "countdown"; ++i) {
        const json::value listed = person.Get("/api/incidents").json();
        const auto& incidents = listed.at("incidents").as_array();
        phase = incidents.empty() ? "" : std::string(incidents[0].at("phase").as_string());
        if (phase != "countdown") std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(phase, "countdown") << server_->LogTail(40);
}

// Issue 15, item 6: one wearer's devices cannot grow the database without bound. A day's quota (here 12
// readings), refilled steadily: a request is admitted while anything is left and charged for what it
// stored (retried duplicates cost nothing); once spent, 429 with Retry-After and nothing stored; another
// wearer is not affected.
TEST_F(VitalsE2eTest, AWearersDailyReadingQuotaRefusesTheExcessAndStoresNothingOfIt) {
    StartServer({"--readings-per-wearer-per-day", "12"});
    HttpClient person = Client();
    SignupAndLogin(person, "quota_kim");
    const testing::Headers auth = {{"Authorization", "Bearer " + PairWatch(person)}};
    HttpClient watch = Client();
    const auto now = std::chrono::system_clock::now();
    auto batch = [&](int first_seq, int count) {
        json::array readings;
        for (int i = 0; i < count; ++i) {
            json::object r = Vitals(70);
            r["seq"] = first_seq + i;
            r["timestamp"] =
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    (now - std::chrono::minutes(30) + std::chrono::seconds(first_seq + i)).time_since_epoch())
                    .count();
            readings.push_back(r);
        }
        return json::object{{"readings", readings}};
    };
    auto first = watch.Post("/api/devices/readings", batch(1, 10), auth);
    ASSERT_EQ(first.status, 200) << first.body;
    // A retry of the same upload (the watch did not see the answer) costs nothing.
    auto retry = watch.Post("/api/devices/readings", batch(1, 10), auth);
    ASSERT_EQ(retry.status, 200) << retry.body;
    EXPECT_EQ(retry.json().at("duplicates").as_int64(), 10);
    // 2 left: a request is admitted while anything is left, and charged for what it stored (here 3 over).
    auto last = watch.Post("/api/devices/readings", batch(11, 5), auth);
    ASSERT_EQ(last.status, 200) << last.body;
    EXPECT_EQ(last.json().at("stored").as_int64(), 5);
    // Spent: the next is refused, all of it, with a time to retry and the quota named.
    auto over = watch.Post("/api/devices/readings", batch(16, 2), auth);
    EXPECT_EQ(over.status, 429) << over.body;
    EXPECT_EQ(ErrorCode(over), "rate_limited");
    EXPECT_FALSE(over.header("Retry-After").empty());
    EXPECT_NE(over.body.find("daily quota of 12"), std::string::npos) << over.body;
    // The seed's update_status counts against the same quota.
    EXPECT_EQ(person.Post("/api/update_status", Vitals(72)).status, 429);
    EXPECT_EQ(person.Get("/api/vitals").json().at("vitals").as_array().size(), 15u);
    // Another wearer has a quota of its own.
    HttpClient other = Client();
    SignupAndLogin(other, "quota_lee");
    const testing::Headers other_auth = {{"Authorization", "Bearer " + PairWatch(other)}};
    EXPECT_EQ(Client().Post("/api/devices/readings", batch(1, 12), other_auth).status, 200);
    // More than a day's quota in one request can never pass: the answer says to split it.
    auto huge = Client().Post("/api/devices/readings", batch(13, 13), other_auth);
    EXPECT_EQ(huge.status, 429);
    EXPECT_NE(huge.body.find("smaller requests"), std::string::npos) << huge.body;
}

TEST_F(VitalsE2eTest, OneBadReadingRejectsTheBatchNamingIt) {
    HttpClient person = Client();
    SignupAndLogin(person, "batch_bad");
    const testing::Headers auth = {{"Authorization", "Bearer " + PairWatch(person)}};
    HttpClient watch = Client();
    json::object good = Vitals(72);
    good["seq"] = 1;
    good["timestamp"] = "2026-01-01T00:00:00Z";  // fine as a format; too old is checked separately
    json::object bad = Vitals(72);
    bad["seq"] = 2;
    bad["timestamp"] = "yesterday";
    bad["spo2"] = 140;
    auto r = watch.Post("/api/devices/readings", json::object{{"readings", json::array{good, bad}}}, auth);
    ASSERT_EQ(r.status, 400) << r.body;
    auto fields = ErrorFields(r);
    EXPECT_NE(std::find(fields.begin(), fields.end(), "readings[1].timestamp"), fields.end()) << r.body;
    EXPECT_EQ(person.Get("/api/vitals").json().at("vitals").as_array().size(), 0u);
}

TEST_F(VitalsE2eTest, RevokedWatchCanNoLongerPost) {
    HttpClient person = Client();
    SignupAndLogin(person, "revoke_watch");
    auto paired = person.Post("/api/devices", json::object{{"name", "old watch"}});
    const std::string token(paired.json().at("device_token").as_string());
    const int64_t id = paired.json().at("device").at("device_id").as_int64();
    ASSERT_EQ(person.Delete("/api/devices/" + std::to_string(id)).status, 200);
    HttpClient watch = Client();
    json::object body = Vitals(72);
    EXPECT_EQ(watch.Post("/api/update_status", body, {{"Authorization", "Bearer " + token}}).status, 401);
}

TEST_F(VitalsE2eTest, RuleProfilesAreListedAndSelectable) {
    HttpClient client = Client();
    SignupAndLogin(client, "glucose_kim");
    auto list = client.Get("/api/rule_profiles");
    ASSERT_EQ(list.status, 200);
    const json::value l = list.json();
    std::vector<std::string> names;
    for (const auto& n : l.at("rule_profiles").as_array()) names.emplace_back(n.as_string());
    EXPECT_NE(std::find(names.begin(), names.end(), "adult-default"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "glucose"), names.end());
    EXPECT_EQ(client.Put("/api/me/rule_profile", json::object{{"rule_profile", "nonsense"}}).status, 400);
    auto set = client.Put("/api/me/rule_profile", json::object{{"rule_profile", "glucose"}});
    ASSERT_EQ(set.status, 200) << set.body;
    json::object low{{"glucose", 45}};
    json::value last;
    for (int i = 0; i < 2; ++i) last = client.Post("/api/update_status", low).json();
    EXPECT_EQ(last.at("status").as_int64(), 2) << json::serialize(last);
}

// Issue 19, trends: with from/to, GET /api/vitals summarizes the stored readings in buckets the server
// picks (min/max/mean per metric, gaps left out), with the wearer's rule bands and usual range.
TEST_F(VitalsE2eTest, TrendsSummarizeARangeInBucketsWithTheBandsAndTheUsualRange) {
    HttpClient person = Client();
    SignupAndLogin(person, "trend_park");
    const std::string token = PairWatch(person);
    HttpClient watch = Client();
    const testing::Headers auth = {{"Authorization", "Bearer " + token}};
    // Two days, one reading per 10 min, on whole hours of the epoch; heart rate 60 + the hour of the day
    // % 3 + (0, 1, 2, 3, 4, 5 through the hour); no readings in the 3 hours before the last one.
    const int64_t hour_ms = 3'600'000;
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    const int64_t end_ms = now_ms / hour_ms * hour_ms;
    const int64_t begin_ms = end_ms - 48 * hour_ms;
    json::array readings;
    int seq = 0;
    for (int64_t t = begin_ms; t < end_ms; t += 600'000) {
        const int64_t hour = (t - begin_ms) / hour_ms;
        if (hour >= 44 && hour < 47) continue;
        json::object r = Vitals(60 + static_cast<double>(hour % 3) + static_cast<double>((t % hour_ms) / 600'000));
        r["seq"] = ++seq;
        r["timestamp"] = t;
        readings.push_back(r);
    }
    auto sent = watch.Post("/api/devices/readings", json::object{{"readings", readings}}, auth);
    ASSERT_EQ(sent.status, 200) << sent.body;
    ASSERT_EQ(sent.json().at("stored").as_int64() + sent.json().at("not_evaluated").as_int64(), 270);

    const std::string from = FormatIso8601(FromUnixMillis(end_ms - 24 * hour_ms));
    const std::string to = FormatIso8601(FromUnixMillis(end_ms));
    auto day = person.Get("/api/vitals?from=" + from + "&to=" + to + "&points=24");
    ASSERT_EQ(day.status, 200) << day.body;
    const json::value trend = day.json();
    EXPECT_EQ(trend.at("bucket_seconds").as_int64(), 3600);
    EXPECT_EQ(trend.at("from").as_string(), from);
    EXPECT_EQ(trend.at("profile").as_string(), "adult-default");
    const auto& buckets = trend.at("buckets").as_array();
    ASSERT_EQ(buckets.size(), 21u);  // 24 hours less the 3 without readings
    const auto& first = buckets[0].as_object();
    EXPECT_EQ(first.at("start").as_string(), from);
    EXPECT_EQ(first.at("readings").as_int64(), 6);
    const auto& hr = first.at("heart_rate").as_object();
    EXPECT_EQ(hr.at("count").as_int64(), 6);
    EXPECT_EQ(hr.at("min").to_number<double>(), 60 + 24 % 3);
    EXPECT_EQ(hr.at("max").to_number<double>(), 65 + 24 % 3);
    EXPECT_EQ(hr.at("mean").to_number<double>(), 62.5 + 24 % 3);
    EXPECT_FALSE(first.contains("glucose"));
    // The hour after the gap follows the hour before it.
    EXPECT_EQ(buckets[20].at("start").as_string(), FormatIso8601(FromUnixMillis(end_ms - hour_ms)));
    EXPECT_EQ(buckets[19].at("start").as_string(), FormatIso8601(FromUnixMillis(end_ms - 5 * hour_ms)));

    // NEWS2's pulse bands from adult-default, and the middle 80 % of 45 hourly means (62-64 bpm).
    const auto& hr_bands = trend.at("bands").at("heart_rate").as_array();
    ASSERT_EQ(hr_bands.size(), 5u);
    EXPECT_EQ(hr_bands[2].at("rule").as_string(), "heart_rate.high.danger");
    EXPECT_EQ(hr_bands[2].at("level").as_string(), "danger");
    EXPECT_EQ(hr_bands[2].at("at_least").to_number<double>(), 131);
    EXPECT_EQ(hr_bands[4].at("for_s").as_int64(), 1800);
    EXPECT_TRUE(trend.at("bands").at("skin_temp").as_array().empty());
    const auto& usual = trend.at("usual").at("heart_rate").as_object();
    EXPECT_EQ(usual.at("hours").as_int64(), 45);
    EXPECT_EQ(usual.at("low").to_number<double>(), 62.5);
    EXPECT_EQ(usual.at("high").to_number<double>(), 64.5);
    EXPECT_FALSE(trend.at("usual").as_object().contains("glucose"));

    // A week asks for 300 points by default: hourly buckets (half-hours would be 336), from on the hour.
    auto week =
        person.Get("/api/vitals?from=" + FormatIso8601(FromUnixMillis(end_ms - 7 * 24 * hour_ms + 1234)) + "&to=" + to);
    ASSERT_EQ(week.status, 200) << week.body;
    EXPECT_EQ(week.json().at("bucket_seconds").as_int64(), 3600);
    EXPECT_EQ(week.json().at("buckets").as_array().size(), 45u);
}

TEST_F(VitalsE2eTest, ATrendRequestThatIsWrongNamesTheFieldAndAStrangerSeesNothing) {
    HttpClient person = Client();
    SignupAndLogin(person, "trend_lee");
    auto problem_of = [&](const std::string& query) {
        auto r = person.Get("/api/vitals?" + query);
        EXPECT_EQ(r.status, 400) << query << ": " << r.body;
        const json::value body = r.json();
        const auto& fields = body.at("error").at("fields").as_array();
        return fields.empty() ? std::string() : std::string(fields[0].at("field").as_string());
    };
    EXPECT_EQ(problem_of("from=yesterday&to=2026-12-07T00:00:00Z"), "from");
    EXPECT_EQ(problem_of("from=2026-12-07T00:00:00Z"), "to");
    EXPECT_EQ(problem_of("from=2026-12-07T00:00:00Z&to=2026-12-06T00:00:00Z"), "to");
    EXPECT_EQ(problem_of("from=2024-12-07T00:00:00Z&to=2026-12-06T00:00:00Z"), "to");
    EXPECT_EQ(problem_of("from=2026-12-06T00:00:00Z&to=2026-12-07T00:00:00Z&points=5"), "points");
    EXPECT_EQ(problem_of("from=2026-12-06T00:00:00Z&to=2026-12-07T00:00:00Z&bucket=60"), "bucket");

    HttpClient stranger = Client();
    SignupAndLogin(stranger, "trend_stranger");
    auto peek = stranger.Get("/api/vitals?from=2026-12-06T00:00:00Z&to=2026-12-07T00:00:00Z&wearer=trend_lee");
    EXPECT_EQ(peek.status, 404) << peek.body;
    EXPECT_EQ(Client().Get("/api/vitals?from=2026-12-06T00:00:00Z&to=2026-12-07T00:00:00Z").status, 401);
}

// Each trend reads up to a range's worth of rows: an account gets 30 a minute, then 429 with Retry-After;
// another account is not affected.
TEST_F(VitalsE2eTest, TrendRequestsAreLimitedPerAccount) {
    HttpClient person = Client();
    SignupAndLogin(person, "trend_busy");
    const std::string query = "/api/vitals?from=2026-11-07T00:00:00Z&to=2026-12-07T00:00:00Z";
    for (int i = 0; i < 30; ++i) ASSERT_EQ(person.Get(query).status, 200) << i;
    auto refused = person.Get(query);
    EXPECT_EQ(refused.status, 429) << refused.body;
    EXPECT_FALSE(refused.header("retry-after").empty());
    HttpClient other = Client();
    SignupAndLogin(other, "trend_other");
    EXPECT_EQ(other.Get(query).status, 200);
    // The latest-readings form is not a trend and is not counted.
    EXPECT_EQ(person.Get("/api/vitals").status, 200);
}

}  // namespace
}  // namespace vg::e2e
