#include "vg/guidance/knowledge_base.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>

#include "page_parser.hpp"

namespace vg::guidance {

namespace {

// Column weights for bm25(): page, language, severities (unindexed), topic, title, keywords, body.
constexpr const char* kBm25 = "bm25(pages, 0.0, 0.0, 0.0, 10.0, 5.0, 3.0, 1.0)";

// Search terms per topic, both languages (the language filter keeps the right pages). Only terms of
// three or more characters: the trigram tokenizer cannot match shorter ones.
std::string_view TopicTerms(Topic t) {
    switch (t) {
        case Topic::kFall:
            return "\"fall\" OR \"fallen\" OR \"넘어짐\" OR \"넘어진\"";
        case Topic::kLowSpo2:
            return "\"oxygen\" OR \"SpO2\" OR \"breathless\" OR \"산소포화도\" OR \"호흡곤란\"";
        case Topic::kAbnormalRespiration:
            return "\"breathing rate\" OR \"respiration\" OR \"호흡수\" OR \"빠른 호흡\" OR \"느린 호흡\"";
        case Topic::kBradycardia:
            return "\"slow heart rate\" OR \"bradycardia\" OR \"느린 심박\" OR \"느린 맥박\"";
        case Topic::kTachycardia:
            return "\"fast heart rate\" OR \"tachycardia\" OR \"빠른 심박\" OR \"두근거림\"";
        case Topic::kHypoglycaemia:
            return "\"low blood sugar\" OR \"hypoglycaemia\" OR \"저혈당\"";
        case Topic::kHypothermia:
            return "\"hypothermia\" OR \"low body temperature\" OR \"저체온\"";
        case Topic::kFever:
            return "\"fever\" OR \"high temperature\" OR \"heatstroke\" OR \"온열질환\" OR \"열사병\"";
        case Topic::kHyperglycaemia:
            return "\"high blood sugar\" OR \"hyperglycaemia\" OR \"고혈당\"";
        case Topic::kOverExertion:
            return "\"exercise\" OR \"over-exertion\" OR \"activity\" OR \"과운동\" OR \"운동 중\"";
    }
    return "";
}

std::string SeverityText(const Page& p) {
    std::string s;
    for (domain::Level l : p.severities) {
        if (!s.empty()) s += ' ';
        s += domain::LevelName(l);
    }
    return s;
}

std::string BodyText(const Page& p) {
    std::string body = p.meaning;
    for (const std::string& c : p.causes) body += "\n" + c;
    for (const PageAction& a : p.actions) body += "\n" + a.text;
    for (const std::string& c : p.call_119_when) body += "\n" + c;
    body += "\n" + p.what_to_say;
    return body;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const std::string& item : items) {
        if (!out.empty()) out += sep;
        out += item;
    }
    return out;
}

// Unicode code points in UTF-8 text (continuation bytes are not counted).
size_t CodePoints(std::string_view s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    return n;
}

// An FTS5 string literal: the term in double quotes, inner quotes doubled.
std::string QuoteTerm(std::string_view term) {
    std::string q = "\"";
    for (char c : term) {
        q += c;
        if (c == '"') q += '"';
    }
    q += '"';
    return q;
}

Status SqliteError(sqlite3* db, std::string_view what) {
    return Status::Error(ErrorCode::kInternal,
                         "knowledge index: " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

struct Statement {
    sqlite3_stmt* stmt = nullptr;
    ~Statement() { sqlite3_finalize(stmt); }
};

}  // namespace

bool Page::AppliesTo(domain::Level level) const {
    return std::find(severities.begin(), severities.end(), level) != severities.end();
}

struct KnowledgeBase::Impl {
    std::vector<Page> pages;
    mutable std::mutex mu;
    sqlite3* db = nullptr;                  // GUARDED_BY(mu)
    sqlite3_stmt* retrieve_stmt = nullptr;  // GUARDED_BY(mu)

    ~Impl() {
        sqlite3_finalize(retrieve_stmt);
        sqlite3_close(db);
    }

    // Retrieve's answers, computed from the index once at load: pages are immutable, so they cannot
    // change, and Compose (on the alert path) then never waits for SQLite or the mutex.
    std::vector<std::vector<PageHit>> retrieved;

    static size_t Slot(Topic t, domain::Level level, Language lang) {
        return (static_cast<size_t>(t) * 2 + (level == domain::Level::kDanger ? 1 : 0)) * kLanguageCount +
               static_cast<size_t>(lang);
    }

    // Pages of `topic` in `lang` at `level`, ranked by BM25 of the topic's search terms.
    Result<std::vector<PageHit>> Query(Topic topic, domain::Level level, Language lang) {
        const std::string query = "topic : " + QuoteTerm(TopicName(topic)) + " OR " + std::string(TopicTerms(topic));
        const std::string lang_name(LanguageName(lang));
        const std::string topic_name(TopicName(topic));
        const std::string level_name(domain::LevelName(level));
        std::vector<PageHit> hits;
        std::lock_guard lock(mu);
        sqlite3_stmt* s = retrieve_stmt;
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, query.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, lang_name.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, topic_name.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 4, level_name.c_str(), -1, SQLITE_TRANSIENT);
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const auto index = static_cast<size_t>(sqlite3_column_int64(s, 0));
            hits.push_back(PageHit{&pages[index], -sqlite3_column_double(s, 1)});
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) return SqliteError(db, "retrieve " + topic_name);
        return hits;
    }

    Status Precompute() {
        retrieved.assign(static_cast<size_t>(kTopicCount) * 2 * kLanguageCount, {});
        for (Topic t : kAllTopics) {
            for (domain::Level level : {domain::Level::kCaution, domain::Level::kDanger}) {
                for (Language lang : {Language::kKo, Language::kEn}) {
                    Result<std::vector<PageHit>> hits = Query(t, level, lang);
                    if (!hits.ok()) return hits.status();
                    retrieved[Slot(t, level, lang)] = std::move(hits).value();
                }
            }
        }
        return Status::Ok();
    }

    Status BuildIndex() {
        if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
            return SqliteError(db, "open");
        }
        // trigram: every three-character substring is a token, so Korean words match with their
        // particles attached ("저혈당" in "저혈당이") and without a morphological analyser.
        const char* schema =
            "CREATE VIRTUAL TABLE pages USING fts5(page UNINDEXED, language UNINDEXED, severities UNINDEXED,"
            " topic, title, keywords, body, tokenize = 'trigram');";
        if (sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(db, "create");
        Statement insert;
        if (sqlite3_prepare_v2(db, "INSERT INTO pages VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &insert.stmt,
                               nullptr) != SQLITE_OK) {
            return SqliteError(db, "prepare insert");
        }
        for (size_t i = 0; i < pages.size(); ++i) {
            const Page& p = pages[i];
            const std::string language(LanguageName(p.language));
            const std::string severities = SeverityText(p);
            const std::string topic(TopicName(p.topic));
            const std::string keywords = Join(p.keywords, ", ");
            const std::string body = BodyText(p);
            sqlite3_reset(insert.stmt);
            sqlite3_bind_int64(insert.stmt, 1, static_cast<sqlite3_int64>(i));
            sqlite3_bind_text(insert.stmt, 2, language.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert.stmt, 3, severities.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert.stmt, 4, topic.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert.stmt, 5, p.title.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert.stmt, 6, keywords.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert.stmt, 7, body.c_str(), -1, SQLITE_TRANSIENT);
            if (sqlite3_step(insert.stmt) != SQLITE_DONE) return SqliteError(db, "insert " + p.file);
        }
        const std::string retrieve = std::string("SELECT page, ") + kBm25 +
                                     " FROM pages WHERE pages MATCH ?1 AND language = ?2 AND topic = ?3"
                                     " AND instr(severities, ?4) > 0 ORDER BY 2, page";
        if (sqlite3_prepare_v2(db, retrieve.c_str(), -1, &retrieve_stmt, nullptr) != SQLITE_OK) {
            return SqliteError(db, "prepare retrieve");
        }
        return Status::Ok();
    }
};

KnowledgeBase::KnowledgeBase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KnowledgeBase::~KnowledgeBase() = default;

Result<std::unique_ptr<KnowledgeBase>> KnowledgeBase::Load(const std::filesystem::path& dir,
                                                           KnowledgeBaseOptions options) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return Status::Error(ErrorCode::kNotFound, "knowledge directory " + dir.string() + " does not exist");
    }

    std::vector<FieldError> problems;
    auto impl = std::make_unique<Impl>();
    std::vector<fs::path> folders;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
        if (!e.is_directory()) continue;
        const std::string name = e.path().filename().string();
        if (name.starts_with(".")) continue;
        if (!LanguageFromName(name)) {
            problems.push_back(FieldError{name + "/", "unknown language folder (expected ko/ or en/)"});
            continue;
        }
        folders.push_back(e.path());
    }
    if (ec) return Status::Error(ErrorCode::kInternal, "cannot list " + dir.string() + ": " + ec.message());
    std::sort(folders.begin(), folders.end());

    for (const fs::path& folder : folders) {
        std::vector<fs::path> files;
        for (const fs::directory_entry& e : fs::directory_iterator(folder, ec)) {
            if (e.is_regular_file() && e.path().extension() == ".md" &&
                !e.path().filename().string().starts_with(".")) {
                files.push_back(e.path());
            }
        }
        if (ec) return Status::Error(ErrorCode::kInternal, "cannot list " + folder.string() + ": " + ec.message());
        std::sort(files.begin(), files.end());
        for (const fs::path& path : files) {
            const std::string rel = folder.filename().string() + "/" + path.filename().string();
            std::ifstream in(path, std::ios::binary);
            std::stringstream text;
            text << in.rdbuf();
            if (!in) {
                problems.push_back(FieldError{rel, "cannot read the file"});
                continue;
            }
            std::optional<Page> page = internal::ParsePage(text.str(), rel, problems);
            if (page) impl->pages.push_back(std::move(*page));
        }
    }

    for (size_t i = 0; i < impl->pages.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            if (impl->pages[i].id == impl->pages[j].id) {
                problems.push_back(
                    FieldError{impl->pages[i].file + ":id",
                               "duplicate id \"" + impl->pages[i].id + "\" (also in " + impl->pages[j].file + ")"});
            }
        }
    }
    if (impl->pages.empty() && problems.empty()) {
        problems.push_back(FieldError{"", "no pages (expected ko/*.md and en/*.md)"});
    }
    if (options.require_every_topic && problems.empty()) {
        for (Language lang : {Language::kKo, Language::kEn}) {
            for (Topic topic : kAllTopics) {
                for (domain::Level level : {domain::Level::kCaution, domain::Level::kDanger}) {
                    const bool covered = std::any_of(impl->pages.begin(), impl->pages.end(), [&](const Page& p) {
                        return p.topic == topic && p.language == lang && p.AppliesTo(level);
                    });
                    if (!covered) {
                        problems.push_back(
                            FieldError{std::string(LanguageName(lang)) + "/" + std::string(TopicName(topic)) + ".md",
                                       "no page for topic " + std::string(TopicName(topic)) + " in language " +
                                           std::string(LanguageName(lang)) + " at level " +
                                           std::string(domain::LevelName(level))});
                    }
                }
            }
        }
    }
    if (!problems.empty()) {
        const FieldError& first = problems.front();
        std::string message = "knowledge base " + dir.string() + " is invalid (" + std::to_string(problems.size()) +
                              (problems.size() == 1 ? " problem" : " problems") + "); first: " + first.field + ": " +
                              first.problem;
        return Status::Error(ErrorCode::kValidationFailed, std::move(message), std::move(problems));
    }

    VG_RETURN_IF_ERROR(impl->BuildIndex());
    VG_RETURN_IF_ERROR(impl->Precompute());
    return std::unique_ptr<KnowledgeBase>(new KnowledgeBase(std::move(impl)));
}

std::vector<PageHit> KnowledgeBase::Retrieve(Topic topic, domain::Level level, Language language) const {
    if (level != domain::Level::kCaution && level != domain::Level::kDanger) return {};
    return impl_->retrieved[Impl::Slot(topic, level, language)];
}

Result<std::vector<PageHit>> KnowledgeBase::Search(std::string_view query, std::optional<Language> language,
                                                   size_t limit) const {
    std::vector<std::string> long_terms;
    std::vector<std::string> short_terms;
    size_t start = 0;
    while (start < query.size()) {
        while (start < query.size() && (query[start] == ' ' || query[start] == '\t' || query[start] == '\n')) ++start;
        size_t end = start;
        while (end < query.size() && query[end] != ' ' && query[end] != '\t' && query[end] != '\n') ++end;
        if (end > start) {
            std::string term(query.substr(start, end - start));
            (CodePoints(term) >= 3 ? long_terms : short_terms).push_back(std::move(term));
        }
        start = end;
    }
    if (long_terms.empty() && short_terms.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "the search query is empty", {{"query", "no search term"}});
    }

    std::string match;
    for (const std::string& t : long_terms) {
        if (!match.empty()) match += " AND ";
        match += QuoteTerm(t);
    }
    std::string sql = "SELECT page, ";
    sql += match.empty() ? "0.0" : kBm25;
    sql += " FROM pages WHERE 1";
    int param = 1;
    if (!match.empty()) sql += " AND pages MATCH ?" + std::to_string(param++);
    const int language_param = language ? param++ : 0;
    if (language) sql += " AND language = ?" + std::to_string(language_param);
    const int first_short = param;
    for (size_t i = 0; i < short_terms.size(); ++i) {
        sql += " AND instr(lower(topic || ' ' || title || ' ' || keywords || ' ' || body), lower(?" +
               std::to_string(param++) + ")) > 0";
    }
    const int limit_param = param++;
    sql += " ORDER BY 2, page LIMIT ?" + std::to_string(limit_param);

    std::vector<PageHit> hits;
    std::lock_guard lock(impl_->mu);
    Statement st;
    if (sqlite3_prepare_v2(impl_->db, sql.c_str(), -1, &st.stmt, nullptr) != SQLITE_OK) {
        return SqliteError(impl_->db, "prepare search");
    }
    if (!match.empty()) sqlite3_bind_text(st.stmt, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    if (language) {
        const std::string_view name = LanguageName(*language);
        sqlite3_bind_text(st.stmt, language_param, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    }
    for (size_t i = 0; i < short_terms.size(); ++i) {
        sqlite3_bind_text(st.stmt, first_short + static_cast<int>(i), short_terms[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(st.stmt, limit_param, static_cast<sqlite3_int64>(limit));
    int rc;
    while ((rc = sqlite3_step(st.stmt)) == SQLITE_ROW) {
        const auto index = static_cast<size_t>(sqlite3_column_int64(st.stmt, 0));
        hits.push_back(PageHit{&impl_->pages[index], match.empty() ? 0.0 : -sqlite3_column_double(st.stmt, 1)});
    }
    if (rc != SQLITE_DONE) return SqliteError(impl_->db, "search");
    return hits;
}

const std::vector<Page>& KnowledgeBase::pages() const { return impl_->pages; }

const Page* KnowledgeBase::FindById(std::string_view id) const {
    for (const Page& p : impl_->pages) {
        if (p.id == id) return &p;
    }
    return nullptr;
}

}  // namespace vg::guidance
