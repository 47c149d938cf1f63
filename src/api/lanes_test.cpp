// Api::LaneOf: the lane of every real route (where the HTTP server runs its handler).
#include <gtest/gtest.h>

#include "vg/api/api.hpp"

namespace vg::api {
namespace {

using http::Lane;

Lane LaneOf(std::string method, std::string path, std::vector<http::Header> headers = {}) {
    http::Request request;
    request.method = std::move(method);
    request.path = std::move(path);
    request.target = request.path;
    request.headers = std::move(headers);
    return Api::LaneOf(request);
}

const std::vector<http::Header> kDeviceToken = {{"authorization", "Bearer vgd_0123456789abcdef"}};
const std::vector<http::Header> kSessionCookie = {{"cookie", "lang=ko; vg_session=abc123"}};

const std::vector<std::pair<std::string, std::string>> kUrgentRoutes = {
    {"POST", "/api/devices/readings"},    {"POST", "/api/update_posture/"},      {"POST", "/api/devices/posture"},
    {"POST", "/api/emergency_call/"},     {"POST", "/api/incidents/12/ok"},      {"POST", "/api/incidents/12/ack"},
    {"POST", "/api/incidents/12/snooze"}, {"POST", "/api/incidents/12/resolve"},
};

TEST(ApiLanesTest, ReadingsSosAndIncidentAnswersWithACredentialGoToTheUrgentLane) {
    for (const auto& [method, path] : kUrgentRoutes) {
        EXPECT_EQ(LaneOf(method, path, kDeviceToken), Lane::kUrgent) << method << " " << path;
        EXPECT_EQ(LaneOf(method, path, kSessionCookie), Lane::kUrgent) << method << " " << path;
    }
}

TEST(ApiLanesTest, UpdateStatusWithACredentialRunsOnTheIoThreadFirstAndWithoutOneOnTheWorkerLane) {
    // A hot path (HotPath::kInlineFirst): authenticated from a fresh copy and handed to detection right
    // there; what would need the store moves to the urgent lane (ApiHotPathTest, api_test.cpp).
    for (const std::string path : {"/api/update_status", "/api/update_status/"}) {
        EXPECT_EQ(LaneOf("POST", path, kDeviceToken), Lane::kInline) << path;
        EXPECT_EQ(LaneOf("POST", path, kSessionCookie), Lane::kInline) << path;
        EXPECT_EQ(LaneOf("POST", path), Lane::kWorker) << path;
    }
}

TEST(ApiLanesTest, WithoutACredentialTheUrgentRoutesStayOnTheWorkerLane) {
    // A stranger's requests (refused with 401 by the handler) must not take the urgent lane's capacity.
    const std::vector<http::Header> other_cookie = {{"cookie", "lang=ko; theme=dark"}};
    for (const auto& [method, path] : kUrgentRoutes) {
        EXPECT_EQ(LaneOf(method, path), Lane::kWorker) << method << " " << path;
        EXPECT_EQ(LaneOf(method, path, other_cookie), Lane::kWorker) << method << " " << path;
    }
}

TEST(ApiLanesTest, PasswordHashingGoesToTheSlowLane) {
    EXPECT_EQ(LaneOf("POST", "/api/login"), Lane::kSlow);
    EXPECT_EQ(LaneOf("POST", "/api/login/"), Lane::kSlow);
    EXPECT_EQ(LaneOf("POST", "/api/signup"), Lane::kSlow);
    EXPECT_EQ(LaneOf("POST", "/api/signup/"), Lane::kSlow);
}

TEST(ApiLanesTest, WhatCommitsOrReadsTheDatabaseGoesToTheWorkerLane) {
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"POST", "/api/logout"},
             {"POST", "/api/predict_model2"},
             {"GET", "/api/incidents"},
             {"GET", "/api/incidents/12"},
             {"POST", "/api/devices"},
             {"DELETE", "/api/devices/3"},
             {"PUT", "/api/me/rule_profile"},
             {"GET", "/api/vitals"},
             {"GET", "/api/guardians"},
             {"POST", "/api/guardians"},
             {"POST", "/api/guardians/4/accept"},
             {"DELETE", "/api/guardians/4"},
             {"GET", "/readyz"},
             // Database reads: measured faster, and with a far better p99, on the workers (README).
             {"GET", "/api/get_status/"},
             {"GET", "/api/get_status"},
             {"HEAD", "/api/get_status/"},
             {"GET", "/api/get_posture/"},
             {"GET", "/api/me"},
             {"GET", "/api/devices"},
             {"GET", "/api/check_id"},
         }) {
        EXPECT_EQ(LaneOf(method, path), Lane::kWorker) << method << " " << path;
        EXPECT_EQ(LaneOf(method, path, kSessionCookie), Lane::kWorker) << method << " " << path;
    }
}

TEST(ApiLanesTest, WhatTouchesNoDatabaseRunsInline) {
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/healthz"},
             {"HEAD", "/healthz/"},
             {"GET", "/metrics"},
             {"GET", "/api/rule_profiles"},
         }) {
        EXPECT_EQ(LaneOf(method, path), Lane::kInline) << method << " " << path;
    }
}

TEST(ApiLanesTest, UnknownRequestsGoToTheWorkerLaneButTheDashboardIsInline) {
    // The dashboard's files (or their 404) outside /api.
    EXPECT_EQ(LaneOf("GET", "/"), Lane::kInline);
    EXPECT_EQ(LaneOf("GET", "/assets/index-3f2a.js"), Lane::kInline);
    EXPECT_EQ(LaneOf("HEAD", "/incidents/7"), Lane::kInline);
    // Everything else that matches no route.
    EXPECT_EQ(LaneOf("GET", "/api/nope"), Lane::kWorker);
    EXPECT_EQ(LaneOf("GET", "/api"), Lane::kWorker);
    EXPECT_EQ(LaneOf("POST", "/somewhere"), Lane::kWorker);
    EXPECT_EQ(LaneOf("GET", "/api/login"), Lane::kWorker);        // 405
    EXPECT_EQ(LaneOf("POST", "/api/get_status"), Lane::kWorker);  // 405
    EXPECT_EQ(LaneOf("BREW", "/healthz"), Lane::kWorker);         // 405
    EXPECT_EQ(LaneOf("GET", "/api/incidents/1/ok/more"), Lane::kWorker);
}

}  // namespace
}  // namespace vg::api
