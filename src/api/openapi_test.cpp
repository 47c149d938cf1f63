// docs/openapi.json against the router (issue 16): every route the Api answers is documented with its
// method, and the document describes no route the Api does not answer; GET /api/openapi.json serves the
// embedded document.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "vg/api/api.hpp"
#include "vg/api/router.hpp"
#include "vg/store/memory_store.hpp"

namespace vg::api {
namespace {

namespace json = boost::json;

std::string HeaderOf(const http::Response& r, std::string_view name) {
    for (const http::Header& h : r.headers) {
        if (h.name.size() == name.size() && std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            })) {
            return h.value;
        }
    }
    return {};
}

using RouteKey = std::pair<std::string, std::string>;  // (method, pattern)

std::set<RouteKey> DocumentedRoutes(const json::value& doc) {
    static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options"};
    std::set<RouteKey> out;
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        for (const auto& [method, op] : item.as_object()) {
            if (!kMethods.count(std::string(method))) continue;  // "parameters", "summary", ...
            std::string upper(method);
            for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            out.insert({upper, std::string(path)});
        }
    }
    return out;
}

std::set<RouteKey> RouterRoutes() {
    std::set<RouteKey> out;
    for (const Api::RouteInfo& r : Api::RouteList()) out.insert({std::string(r.method), std::string(r.pattern)});
    return out;
}

// What is in `a` and not in `b`, one "METHOD path" a line.
std::string Missing(const std::set<RouteKey>& a, const std::set<RouteKey>& b) {
    std::string out;
    for (const RouteKey& k : a) {
        if (!b.count(k)) out += "  " + k.first + " " + k.second + "\n";
    }
    return out;
}

// Empty when the document and the router name the same routes; otherwise both differences.
std::string Differences(const json::value& doc, const std::set<RouteKey>& routes) {
    const std::set<RouteKey> documented = DocumentedRoutes(doc);
    std::string out;
    if (std::string m = Missing(routes, documented); !m.empty()) {
        out += "in the router, not in docs/openapi.json:\n" + m;
    }
    if (std::string m = Missing(documented, routes); !m.empty()) {
        out += "in docs/openapi.json, not in the router:\n" + m;
    }
    return out;
}

TEST(OpenApiTest, EveryRouteIsDocumentedAndEveryDocumentedRouteExists) {
    const json::value doc = json::parse(Api::OpenApiDocument());
    EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
    const std::string diff = Differences(doc, RouterRoutes());
    EXPECT_TRUE(diff.empty()) << diff
                              << "Update docs/openapi.json (and docs/api.md) with the route table in "
                                 "src/api/api.cpp.";
}

TEST(OpenApiTest, TheCheckFindsARouteMissingFromEitherSide) {
    json::value doc = json::parse(Api::OpenApiDocument());
    std::set<RouteKey> routes = RouterRoutes();
    ASSERT_TRUE(Differences(doc, routes).empty());
    // A route the router gained, and a method the document lost.
    routes.insert({"PATCH", "/api/nowhere"});
    doc.at("paths").as_object().at("/api/devices").as_object().erase("get");
    const std::string diff = Differences(doc, routes);
    EXPECT_NE(diff.find("in the router, not in docs/openapi.json:\n  GET /api/devices\n  PATCH /api/nowhere\n"),
              std::string::npos)
        << diff;
    // A documented route the router does not have.
    routes = RouterRoutes();
    doc = json::parse(Api::OpenApiDocument());
    doc.at("paths").as_object()["/api/nowhere"] = json::object{{"post", json::object{}}};
    EXPECT_NE(Differences(doc, routes).find("in docs/openapi.json, not in the router:\n  POST /api/nowhere\n"),
              std::string::npos);
}

TEST(OpenApiTest, PathParametersAreDeclaredAndEveryOperationHasASuccessAnswer) {
    const json::value doc = json::parse(Api::OpenApiDocument());
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        std::set<std::string> in_path;
        for (std::string_view segment : Router::Split(path)) {
            if (segment.size() > 2 && segment.front() == '{')
                in_path.insert(std::string(segment.substr(1, segment.size() - 2)));
        }
        for (const auto& [method, op] : item.as_object()) {
            const std::string where = std::string(method) + " " + std::string(path);
            std::set<std::string> declared;
            if (const json::value* params = op.as_object().if_contains("parameters")) {
                for (const json::value& p : params->as_array()) {
                    if (p.at("in").as_string() == "path") declared.insert(std::string(p.at("name").as_string()));
                }
            }
            EXPECT_EQ(declared, in_path) << where;
            bool success = false;
            for (const auto& [status, response] : op.at("responses").as_object()) {
                success = success || status.starts_with("2") || status == "101";
            }
            EXPECT_TRUE(success) << where << " documents no success answer";
            EXPECT_TRUE(op.as_object().contains("security")) << where << " says nothing of who may call it";
        }
    }
}

#ifdef VG_OPENAPI_JSON
TEST(OpenApiTest, TheEmbeddedDocumentIsTheOneInDocs) {
    std::ifstream in(VG_OPENAPI_JSON, std::ios::binary);
    ASSERT_TRUE(in) << VG_OPENAPI_JSON;
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_TRUE(text.str() == Api::OpenApiDocument()) << "rebuild: the binary embeds an older docs/openapi.json";
}
#endif

TEST(OpenApiTest, ServedPubliclyAsJsonWithNoCache) {
    store::MemoryStore store;
    ManualClock clock;
    auth::AccountService accounts(store, clock, auth::AccountOptions{});
    Api api(accounts, store, clock, ApiOptions{});
    http::Request r;
    r.method = "GET";
    r.path = "/api/openapi.json";
    r.target = r.path;
    r.remote_address = "127.0.0.1";
    EXPECT_EQ(Api::LaneOf(r), http::Lane::kInline);
    http::Response response = api.Handle(r);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(HeaderOf(response, "content-type"), "application/json; charset=utf-8");
    EXPECT_EQ(HeaderOf(response, "cache-control"), "no-cache");
    EXPECT_TRUE(response.body == Api::OpenApiDocument());
}

}  // namespace
}  // namespace vg::api
