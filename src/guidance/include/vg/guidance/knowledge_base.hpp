#pragma once
// KnowledgeBase: the first-aid pages of knowledge/ (Korean and English), parsed, checked and indexed
// for full-text retrieval (SQLite FTS5, trigram tokenizer, BM25 ranking). docs/guidance.md describes
// the page format and why the trigram tokenizer.
//
// Loaded once at start-up (Load), read-only afterwards. A page that breaks the format, names an
// unknown topic or lacks a field refuses the whole knowledge base, with every problem named
// (file and field), so a broken knowledge base is found at start-up and never in an emergency.
//
// Thread-safety: every const method may be called from any number of threads at once (queries on
// the in-memory index are serialised by an internal mutex; pages are immutable).
// Ownership: the KnowledgeBase owns its pages; the Page pointers it returns live as long as it does.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/guidance/topic.hpp"

namespace vg::guidance {

// A public source a page is based on.
struct SourceRef {
    std::string publisher;  // e.g. "NHS", "질병관리청"
    std::string title;      // e.g. "Low blood sugar (hypoglycaemia)"
    std::string url;        // http(s) URL

    friend bool operator==(const SourceRef&, const SourceRef&) = default;
};

// One numbered step of a page's "what to do now" list. `only_at` is set when the step is tagged
// "[caution]" or "[danger]": it is given at that level only.
struct PageAction {
    std::string text;
    std::optional<domain::Level> only_at;
};

// One parsed page (knowledge/<language>/<topic>.md).
struct Page {
    std::string id;    // unique, e.g. "hypoglycaemia-en"
    std::string file;  // path relative to the knowledge directory, e.g. "en/hypoglycaemia.md"
    Topic topic = Topic::kFall;
    Language language = Language::kKo;
    std::string title;
    std::vector<domain::Level> severities;  // caution and/or danger
    std::vector<std::string> keywords;
    std::vector<SourceRef> sources;  // at least one

    std::string meaning;                     // "What this means": firm sentences, one paragraph
    std::vector<std::string> causes;         // "Likely causes": short bullet items
    std::vector<PageAction> actions;         // "What to do now": numbered steps, in order
    std::vector<std::string> call_119_when;  // "When to call 119": red flags, bullet items
    std::string what_to_say;                 // "What to tell 119": one paragraph

    bool AppliesTo(domain::Level level) const;
};

// A page with its relevance: score = -bm25() (higher is more relevant; 0 when the query had no term
// the index could rank, see Search).
struct PageHit {
    const Page* page = nullptr;
    double score = 0;
};

struct KnowledgeBaseOptions {
    // Refuse a knowledge base that lacks, for some topic, language and level (caution, danger), a page.
    // On for the server; tests of single pages turn it off.
    bool require_every_topic = true;
};

class KnowledgeBase {
  public:
    // Loads every *.md file in the language folders (`en/`, `ko/`) of `dir`; files directly in `dir`
    // (a README) are not pages. Errors: kNotFound when `dir` is not a directory; kValidationFailed
    // with one FieldError per problem, field "<file>:<field>" (e.g. "en/fall.md:topic"), problem in
    // words, and a message naming the first problem; kInternal when SQLite fails.
    [[nodiscard]] static Result<std::unique_ptr<KnowledgeBase>> Load(const std::filesystem::path& dir,
                                                                     KnowledgeBaseOptions options = {});
    ~KnowledgeBase();
    KnowledgeBase(const KnowledgeBase&) = delete;
    KnowledgeBase& operator=(const KnowledgeBase&) = delete;

    // Pages of `topic` in `language` that apply at `level`, most relevant first (BM25 of the topic's
    // search terms over title, keywords and body; the topic column weighs most). Empty when none, and
    // for a level other than caution or danger. The index is queried for every (topic, level,
    // language) once, at Load; this returns that answer, so the alert path never waits for SQLite.
    std::vector<PageHit> Retrieve(Topic topic, domain::Level level, Language language) const;

    // Free-text search for operators and tests, e.g. "저혈당" or "low blood sugar". Every
    // whitespace-separated term must occur (AND); terms of three or more characters go through the
    // FTS5 index and are ranked by BM25, shorter ones (the trigram tokenizer cannot index them, e.g.
    // the two-syllable "낙상") are matched as substrings. `language` filters when set. At most
    // `limit` hits. kValidationFailed (field "query") when the query has no term.
    [[nodiscard]] Result<std::vector<PageHit>> Search(std::string_view query,
                                                      std::optional<Language> language = std::nullopt,
                                                      size_t limit = 10) const;

    // Every page, in load order (language folder, then file name).
    const std::vector<Page>& pages() const;
    // The page with this id, or nullptr.
    const Page* FindById(std::string_view id) const;

  private:
    struct Impl;
    explicit KnowledgeBase(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::guidance
