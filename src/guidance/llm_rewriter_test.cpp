// The LLM path against a real OpenAI-compatible endpoint on 127.0.0.1 (the project's Beast server),
// started by each test: success, timeout, HTTP errors, bad JSON and answers missing a part.
#include "vg/guidance/llm_rewriter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "vg/guidance/async_rewriter.hpp"
#include "vg/http/server.hpp"

namespace vg::guidance {
namespace {

using namespace std::chrono_literals;
using domain::Level;

constexpr const char* kApiKey = "sk-test-secret-key-123";

const KnowledgeBase& Shipped() {
    static const std::unique_ptr<KnowledgeBase> kb = [] {
        Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load(VG_KNOWLEDGE_DIR);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        return r.ok() ? std::move(r).value() : nullptr;
    }();
    return *kb;
}

Guidance Sample(Level level, Language lang = Language::kKo) {
    domain::VitalsReading r;
    r.set(domain::Metric::kHeartRate, 146);
    Result<Guidance> g = Compose(Shipped(), GuidanceRequest{level, {Topic::kTachycardia}, lang, r});
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? std::move(g).value() : Guidance{};
}

std::string ChatResponse(const std::string& content) {
    boost::json::object message{{"role", "assistant"}, {"content", content}};
    boost::json::object choice{{"index", 0}, {"message", message}, {"finish_reason", "stop"}};
    boost::json::object body{{"id", "chatcmpl-1"}, {"object", "chat.completion"}, {"choices", {choice}}};
    return boost::json::serialize(body);
}

constexpr const char* kGoodAnswer =
    "1. 현재 상태: 심박수가 분당 146회로 매우 빠릅니다. 위험한 상태입니다.\n"
    "2. 원인: 빠른 심박(빈맥)입니다.\n"
    "3. 즉각적인 대처 방법:\n   - 지금 앉으세요.\n   - 천천히 숨 쉬세요.\n"
    "4. 경고: 지금 바로 119에 신고하세요.";

// A fake OpenAI-compatible endpoint. Each test sets what it answers.
class FakeEndpoint {
  public:
    enum class Mode { kAnswer, kSlow, kStatus, kRaw };

    FakeEndpoint() {
        http::ServerOptions options;
        options.address = "127.0.0.1";
        options.port = 0;
        options.worker_threads = 2;
        options.shutdown_grace = 200ms;
        options.error_response = [](ErrorCode code, std::string message) {
            http::Response r;
            r.status = code == ErrorCode::kPayloadTooLarge ? 413 : 400;
            r.body = message;
            return r;
        };
        server_ = std::make_unique<http::Server>(std::move(options),
                                                 [this](const http::Request& req) { return Handle(req); });
        const vg::Status s = server_->Start();
        EXPECT_TRUE(s.ok()) << s.ToString();
    }
    ~FakeEndpoint() {
        {
            std::lock_guard lock(mu_);
            released_ = true;
        }
        cv_.notify_all();
        server_->Stop();
        server_->Wait();
    }

    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

    void Answer(std::string content) {
        std::lock_guard lock(mu_);
        mode_ = Mode::kAnswer;
        payload_ = std::move(content);
    }
    void Slow() {
        std::lock_guard lock(mu_);
        mode_ = Mode::kSlow;
    }
    void Fail(int status) {
        std::lock_guard lock(mu_);
        mode_ = Mode::kStatus;
        status_ = status;
    }
    void Raw(std::string body) {
        std::lock_guard lock(mu_);
        mode_ = Mode::kRaw;
        payload_ = std::move(body);
    }

    struct Seen {
        std::string method, path, authorization, content_type, body;
    };
    Seen last() const {
        std::lock_guard lock(mu_);
        return last_;
    }
    int requests() const {
        std::lock_guard lock(mu_);
        return requests_;
    }

  private:
    http::Response Handle(const http::Request& req) {
        std::unique_lock lock(mu_);
        ++requests_;
        last_ = Seen{req.method, req.path, std::string(req.header("authorization")),
                     std::string(req.header("content-type")), req.body};
        http::Response r;
        r.set_header("Content-Type", "application/json");
        switch (mode_) {
            case Mode::kAnswer:
                r.body = ChatResponse(payload_);
                break;
            case Mode::kSlow:
                cv_.wait_for(lock, 5s, [&] { return released_; });
                r.body = ChatResponse(kGoodAnswer);
                break;
            case Mode::kStatus:
                r.status = status_;
                r.body = R"({"error":{"message":"boom"}})";
                break;
            case Mode::kRaw:
                r.body = payload_;
                break;
        }
        return r;
    }

    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool released_ = false;
    Mode mode_ = Mode::kAnswer;
    std::string payload_;
    int status_ = 200;
    int requests_ = 0;
    Seen last_;
    std::unique_ptr<http::Server> server_;
};

std::unique_ptr<LlmRewriter> MakeRewriter(const std::string& base_url, std::chrono::milliseconds timeout = 3000ms) {
    Result<std::unique_ptr<LlmRewriter>> r =
        LlmRewriter::Create(LlmConfig{base_url + "/", kApiKey, "test-model", timeout, 4000});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
}

TEST(LlmRewriter, SuccessReturnsTheRewriteAndSendsTheSeedPrompt) {
    FakeEndpoint endpoint;
    endpoint.Answer(kGoodAnswer);
    const Guidance g = Sample(Level::kDanger);
    const RewriteResult r = MakeRewriter(endpoint.base_url())->Rewrite(g);
    EXPECT_TRUE(r.rewritten) << r.reason;
    EXPECT_EQ(r.reason, "");
    EXPECT_EQ(r.text, kGoodAnswer);

    const FakeEndpoint::Seen seen = endpoint.last();
    EXPECT_EQ(seen.method, "POST");
    EXPECT_EQ(seen.path, "/v1/chat/completions");
    EXPECT_EQ(seen.authorization, std::string("Bearer ") + kApiKey);
    EXPECT_EQ(seen.content_type, "application/json");
    const boost::json::value body = boost::json::parse(seen.body);
    EXPECT_EQ(body.at("model").as_string(), "test-model");
    const std::string prompt(body.at("messages").at(0).at("content").as_string());
    EXPECT_EQ(body.at("messages").at(0).at("role").as_string(), "user");
    EXPECT_EQ(prompt, LlmRewriter::BuildPrompt(g));
    EXPECT_TRUE(prompt.starts_with("현재 상태: " + g.state + "\n원인: " + g.cause + "\n대처 방법: 1) ")) << prompt;
    EXPECT_NE(prompt.find("너는 응급상황 대응 전문가다."), std::string::npos);
    EXPECT_NE(prompt.find("4. 경고 문구 (119 신고 필요 여부 강조)"), std::string::npos);
    EXPECT_NE(prompt.find(g.warning), std::string::npos);  // the model is told whether to call 119
}

TEST(LlmRewriter, EnglishGuidanceUsesTheEnglishTemplate) {
    const Guidance g = Sample(Level::kCaution, Language::kEn);
    const std::string prompt = LlmRewriter::BuildPrompt(g);
    EXPECT_TRUE(prompt.starts_with("Current state: " + g.state + "\nCause: " + g.cause + "\nWhat to do: 1) "));
    EXPECT_NE(prompt.find("You are an emergency response expert."), std::string::npos);
}

TEST(LlmRewriter, TimeoutFallsBackWithinTheTimeout) {
    FakeEndpoint endpoint;
    endpoint.Slow();
    const Guidance g = Sample(Level::kDanger);
    const auto start = std::chrono::steady_clock::now();
    const RewriteResult r = MakeRewriter(endpoint.base_url(), 300ms)->Rewrite(g);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.rewritten);
    EXPECT_EQ(r.text, g.text);
    EXPECT_NE(r.reason.find("did not answer within 300 ms"), std::string::npos) << r.reason;
    EXPECT_LT(took, 2s);
}

TEST(LlmRewriter, HttpErrorFallsBack) {
    FakeEndpoint endpoint;
    endpoint.Fail(500);
    const Guidance g = Sample(Level::kCaution);
    const RewriteResult r = MakeRewriter(endpoint.base_url())->Rewrite(g);
    EXPECT_FALSE(r.rewritten);
    EXPECT_EQ(r.text, g.text);
    EXPECT_EQ(r.reason, "the endpoint answered HTTP 500");
    endpoint.Fail(401);
    EXPECT_EQ(MakeRewriter(endpoint.base_url())->Rewrite(g).reason, "the endpoint answered HTTP 401");
}

TEST(LlmRewriter, AnswerMissingAPartFallsBack) {
    FakeEndpoint endpoint;
    endpoint.Answer("1. 현재 상태: 빠릅니다.\n2. 원인: 빈맥.\n4. 경고: 119에 신고하세요.");
    const Guidance g = Sample(Level::kDanger);
    const RewriteResult r = MakeRewriter(endpoint.base_url())->Rewrite(g);
    EXPECT_FALSE(r.rewritten);
    EXPECT_EQ(r.text, g.text);
    EXPECT_NE(r.reason.find("missing part 3"), std::string::npos) << r.reason;
}

TEST(LlmRewriter, DangerAnswerWithout119FallsBackButCautionMayOmitIt) {
    FakeEndpoint endpoint;
    endpoint.Answer("1. 현재 상태: 빠릅니다.\n2. 원인: 빈맥.\n3. 대처: 앉으세요.\n4. 경고: 쉬세요.");
    const RewriteResult danger = MakeRewriter(endpoint.base_url())->Rewrite(Sample(Level::kDanger));
    EXPECT_FALSE(danger.rewritten);
    EXPECT_NE(danger.reason.find("119"), std::string::npos) << danger.reason;
    const RewriteResult caution = MakeRewriter(endpoint.base_url())->Rewrite(Sample(Level::kCaution));
    EXPECT_TRUE(caution.rewritten) << caution.reason;
}

TEST(LlmRewriter, MalformedResponsesFallBack) {
    FakeEndpoint endpoint;
    const Guidance g = Sample(Level::kDanger);
    const std::unique_ptr<LlmRewriter> rw = MakeRewriter(endpoint.base_url());
    endpoint.Raw("not json at all");
    RewriteResult r = rw->Rewrite(g);
    EXPECT_FALSE(r.rewritten);
    EXPECT_NE(r.reason.find("not JSON"), std::string::npos) << r.reason;
    endpoint.Raw(R"({"choices":[]})");
    EXPECT_EQ(rw->Rewrite(g).reason, "the response has no choices");
    endpoint.Raw(R"({"choices":[{"message":{"content":null}}]})");
    EXPECT_EQ(rw->Rewrite(g).reason, "the response has no choices[0].message.content string");
    endpoint.Answer(std::string(5000, 'x'));
    EXPECT_EQ(rw->Rewrite(g).reason, "the answer is longer than 4000 characters");
    EXPECT_EQ(rw->Rewrite(g).text, g.text);
}

TEST(LlmRewriter, UnreachableEndpointFallsBackAndNeverLeaksTheKey) {
    int port = 0;
    {
        FakeEndpoint gone;  // a port that was just free, now closed
        port = std::stoi(gone.base_url().substr(gone.base_url().rfind(':') + 1));
    }
    const Guidance g = Sample(Level::kDanger);
    const RewriteResult r = MakeRewriter("http://127.0.0.1:" + std::to_string(port))->Rewrite(g);
    EXPECT_FALSE(r.rewritten);
    EXPECT_EQ(r.text, g.text);
    EXPECT_NE(r.reason.find("request failed"), std::string::npos) << r.reason;
    EXPECT_EQ(r.reason.find(kApiKey), std::string::npos);
}

TEST(LlmRewriter, ConcurrentCallsAreIndependent) {
    FakeEndpoint endpoint;
    endpoint.Answer(kGoodAnswer);
    const std::unique_ptr<LlmRewriter> rw = MakeRewriter(endpoint.base_url());
    const Guidance g = Sample(Level::kDanger);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            for (int j = 0; j < 3; ++j) ok += rw->Rewrite(g).rewritten ? 1 : 0;
        });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(ok.load(), 12);
    EXPECT_EQ(endpoint.requests(), 12);
}

TEST(LlmRewriter, RefusesAConfigurationThatCannotWork) {
    Result<std::unique_ptr<LlmRewriter>> r = LlmRewriter::Create(LlmConfig{"ftp://x", "", "", 0ms, 4000});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(r.status().fields().size(), 3u);
}

TEST(AsyncRewriter, FirstAskIsPendingThenTheRewriteIsCachedPerKey) {
    FakeEndpoint endpoint;
    endpoint.Answer(kGoodAnswer);
    AsyncRewriter async(MakeRewriter(endpoint.base_url()));
    const Guidance g = Sample(Level::kDanger);
    EXPECT_FALSE(async.Get("incident-1-v1-ko", g).has_value()) << "never waits for the endpoint";
    std::optional<RewriteResult> r;
    for (int i = 0; i < 100 && !r; ++i) {
        std::this_thread::sleep_for(20ms);
        r = async.Get("incident-1-v1-ko", g);
    }
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->rewritten) << r->reason;
    EXPECT_EQ(r->text, kGoodAnswer);
    EXPECT_EQ(endpoint.requests(), 1);
    EXPECT_TRUE(async.Get("incident-1-v1-ko", g).has_value());
    EXPECT_EQ(endpoint.requests(), 1) << "cached: asked once per key";
}

TEST(AsyncRewriter, AFailingEndpointCachesTheFallbackWithItsReason) {
    FakeEndpoint endpoint;
    endpoint.Fail(500);
    AsyncRewriter async(MakeRewriter(endpoint.base_url()));
    const Guidance g = Sample(Level::kCaution);
    EXPECT_FALSE(async.Get("k", g).has_value());
    std::optional<RewriteResult> r;
    for (int i = 0; i < 100 && !r; ++i) {
        std::this_thread::sleep_for(20ms);
        r = async.Get("k", g);
    }
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->rewritten);
    EXPECT_EQ(r->text, g.text);
    EXPECT_FALSE(r->reason.empty());
}

}  // namespace
}  // namespace vg::guidance
