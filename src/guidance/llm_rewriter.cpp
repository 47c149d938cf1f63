#include "vg/guidance/llm_rewriter.hpp"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <mutex>
#include <string>
#include <utility>

#include "page_parser.hpp"

namespace vg::guidance {

namespace {

// Answers larger than this are refused while they arrive (a chat answer of a few paragraphs is ~4 KB).
constexpr size_t kMaxResponseBytes = 1024 * 1024;

// The seed's prompt template (section 4.5), word for word, with its three fields.
constexpr std::string_view kTemplateKo =
    "현재 상태: {status}\n"
    "원인: {cause}\n"
    "대처 방법: {method}\n"
    "\n"
    "너는 응급상황 대응 전문가다.\n"
    "고객의 현재 상태를 단호하게 설명하고, 즉각적인 대처 방법을 안내하라.\n"
    "'만약' 같은 불확실한 표현을 사용하지 말고, 필요한 말만 전달하라.\n"
    "위급한 경우 119에 신고해야 한다는 경각심을 심어줘라.\n"
    "출력은 다음 형식으로 하라:\n"
    "\n"
    "1. 현재 상태 설명 (단호한 문장)\n"
    "2. 원인 분석 (간결하게)\n"
    "3. 즉각적인 대처 방법 (실용적이고 구체적으로)\n"
    "4. 경고 문구 (119 신고 필요 여부 강조)\n";

// The same template in English, for wearers who chose English.
constexpr std::string_view kTemplateEn =
    "Current state: {status}\n"
    "Cause: {cause}\n"
    "What to do: {method}\n"
    "\n"
    "You are an emergency response expert.\n"
    "Describe the person's current state firmly and tell them exactly what to do now.\n"
    "Do not use uncertain expressions such as 'maybe' or 'if'; say only what is needed.\n"
    "When it is an emergency, make clear that they must call 119.\n"
    "Write the answer in this format:\n"
    "\n"
    "1. Current state (firm sentences)\n"
    "2. Cause (concise)\n"
    "3. Immediate actions (practical and concrete)\n"
    "4. Warning (whether to call 119)\n";

size_t AppendBody(char* data, size_t size, size_t nmemb, void* user) {
    auto* body = static_cast<std::string*>(user);
    const size_t n = size * nmemb;
    if (body->size() + n > kMaxResponseBytes) return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    body->append(data, n);
    return n;
}

// The answer's text, or the reason there is none.
struct Answer {
    std::string content;
    std::string problem;
};

Answer ParseAnswer(const std::string& body) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(body, ec);
    if (ec) return {"", "the response is not JSON (" + ec.message() + ")"};
    const boost::json::object* root = v.if_object();
    const boost::json::value* choices = root ? root->if_contains("choices") : nullptr;
    const boost::json::array* arr = choices ? choices->if_array() : nullptr;
    if (arr == nullptr || arr->empty()) return {"", "the response has no choices"};
    const boost::json::object* choice = arr->front().if_object();
    const boost::json::value* message = choice ? choice->if_contains("message") : nullptr;
    const boost::json::object* message_obj = message ? message->if_object() : nullptr;
    const boost::json::value* content = message_obj ? message_obj->if_contains("content") : nullptr;
    const boost::json::string* text = content ? content->if_string() : nullptr;
    if (text == nullptr) return {"", "the response has no choices[0].message.content string"};
    return {std::string(internal::Trim(std::string_view(text->data(), text->size()))), ""};
}

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

LlmRewriter::LlmRewriter(LlmConfig config) : config_(std::move(config)) {}

Result<std::unique_ptr<LlmRewriter>> LlmRewriter::Create(LlmConfig config) {
    std::vector<FieldError> problems;
    if (!config.base_url.starts_with("http://") && !config.base_url.starts_with("https://")) {
        problems.push_back({"base_url", "must start with http:// or https://"});
    }
    if (config.model.empty()) problems.push_back({"model", "required"});
    if (config.timeout.count() <= 0) problems.push_back({"timeout", "must be positive"});
    if (config.max_output_chars == 0) problems.push_back({"max_output_chars", "must be positive"});
    if (!problems.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "invalid LLM configuration", std::move(problems));
    }
    while (config.base_url.ends_with("/")) config.base_url.pop_back();
    // curl_global_init is not thread-safe; do it once, before any Rewrite.
    static std::once_flag curl_once;
    std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    return std::unique_ptr<LlmRewriter>(new LlmRewriter(std::move(config)));
}

std::string LlmRewriter::BuildPrompt(const Guidance& guidance) {
    std::string method;
    for (size_t i = 0; i < guidance.actions.size(); ++i) {
        if (i > 0) method += ' ';
        method += std::to_string(i + 1) + ") " + guidance.actions[i];
    }
    if (!method.empty()) method += ' ';
    method += guidance.warning;
    // The markers occur once each, in this order, in both templates.
    const std::string_view tmpl = guidance.language == Language::kEn ? kTemplateEn : kTemplateKo;
    const std::pair<std::string_view, const std::string*> fields[] = {
        {"{status}", &guidance.state}, {"{cause}", &guidance.cause}, {"{method}", &method}};
    std::string prompt;
    size_t at = 0;
    for (const auto& [marker, value] : fields) {
        const size_t pos = tmpl.find(marker, at);
        prompt.append(tmpl.substr(at, pos - at));
        prompt += *value;
        at = pos + marker.size();
    }
    prompt.append(tmpl.substr(at));
    return prompt;
}

RewriteResult LlmRewriter::Rewrite(const Guidance& guidance) const {
    const auto fallback = [&](std::string reason) { return RewriteResult{guidance.text, false, std::move(reason)}; };

    boost::json::object request;
    request["model"] = config_.model;
    boost::json::array messages;
    messages.push_back(boost::json::object{{"role", "user"}, {"content", BuildPrompt(guidance)}});
    request["messages"] = std::move(messages);
    request["temperature"] = 0.2;
    const std::string payload = boost::json::serialize(request);

    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return fallback("libcurl could not start a request");
    curl_slist* header_list = nullptr;
    const auto add_header = [&](const std::string& h) {
        curl_slist* l = curl_slist_append(header_list, h.c_str());
        if (l != nullptr) header_list = l;  // on failure the old list stays whole (and is freed below)
    };
    add_header("Content-Type: application/json");
    add_header("Accept: application/json");
    if (!config_.api_key.empty()) add_header("Authorization: Bearer " + config_.api_key);
    const std::unique_ptr<curl_slist, SlistDeleter> headers(header_list);

    const std::string url = config_.base_url + "/v1/chat/completions";
    const long timeout_ms = static_cast<long>(config_.timeout.count());
    std::string body;
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: we run on many threads
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);

    const CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        return fallback("the endpoint did not answer within " + std::to_string(timeout_ms) + " ms");
    }
    if (rc == CURLE_WRITE_ERROR) return fallback("the response is larger than 1 MiB");
    if (rc != CURLE_OK) return fallback(std::string("request failed: ") + curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) return fallback("the endpoint answered HTTP " + std::to_string(status));

    Answer answer = ParseAnswer(body);
    if (!answer.problem.empty()) return fallback(std::move(answer.problem));
    if (answer.content.size() > config_.max_output_chars) {
        return fallback("the answer is longer than " + std::to_string(config_.max_output_chars) + " characters");
    }
    const std::string problem = CheckFourParts(answer.content, guidance.call_119);
    if (!problem.empty()) return fallback("the answer does not have the four parts: " + problem);
    return RewriteResult{std::move(answer.content), true, ""};
}

}  // namespace vg::guidance
