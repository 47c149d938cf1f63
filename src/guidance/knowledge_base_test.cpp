#include "vg/guidance/knowledge_base.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace vg::guidance {
namespace {

namespace fs = std::filesystem;
using domain::Level;

const KnowledgeBase& Shipped() {
    static const std::unique_ptr<KnowledgeBase> kb = [] {
        Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load(VG_KNOWLEDGE_DIR);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        return r.ok() ? std::move(r).value() : nullptr;
    }();
    return *kb;
}

// A scratch knowledge directory, removed at the end of the test.
class TempKnowledge {
  public:
    TempKnowledge() {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("vg_guidance_kb_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(dir_ / "en");
        fs::create_directories(dir_ / "ko");
    }
    ~TempKnowledge() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    void Write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel, std::ios::binary) << text; }
    const fs::path& dir() const { return dir_; }

  private:
    fs::path dir_;
};

constexpr const char* kFrontMatter =
    "---\n"
    "id: fall-en\n"
    "topic: fall\n"
    "language: en\n"
    "title: After a fall\n"
    "severities: caution, danger\n"
    "keywords: fall\n"
    "source: NHS | Falls | https://www.nhs.uk/conditions/falls/\n"
    "---\n";
constexpr const char* kBody =
    "# After a fall\n\n"
    "## What this means\nYour watch detected a fall.\n\n"
    "## Likely causes\n- tripping\n\n"
    "## What to do now\n1. Do not get up quickly.\n2. [danger] Press SOS.\n\n"
    "## When to call 119\n- you hit your head\n\n"
    "## What to tell 119\nGive your address first.\n";

std::string ValidPage() { return std::string(kFrontMatter) + kBody; }

std::string Replace(std::string s, const std::string& from, const std::string& to) {
    const size_t pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) s.replace(pos, from.size(), to);
    return s;
}

// Loads a directory holding one page and returns the error (kValidationFailed expected).
Status LoadOne(const std::string& text) {
    TempKnowledge t;
    t.Write("en/fall.md", text);
    Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load(t.dir(), {.require_every_topic = false});
    return r.status();
}

bool HasField(const Status& s, const std::string& field, const std::string& problem_part = "") {
    for (const FieldError& f : s.fields()) {
        if (f.field == field && f.problem.find(problem_part) != std::string::npos) return true;
    }
    return false;
}

TEST(KnowledgeBase, ShippedPagesLoadAndCoverEveryTopicLanguageAndLevel) {
    const KnowledgeBase& kb = Shipped();
    EXPECT_EQ(kb.pages().size(), static_cast<size_t>(kTopicCount * kLanguageCount));
    for (const Page& p : kb.pages()) {
        EXPECT_FALSE(p.sources.empty()) << p.file;
        EXPECT_GE(p.actions.size(), 3u) << p.file;
        EXPECT_LE(p.actions.size(), 8u) << p.file;
        EXPECT_EQ(p.file, std::string(LanguageName(p.language)) + "/" + std::string(TopicName(p.topic)) + ".md");
        for (const SourceRef& s : p.sources) EXPECT_TRUE(s.url.starts_with("https://")) << p.file << " " << s.url;
    }
}

TEST(KnowledgeBase, RetrievesTheRightPageForEveryTopicLevelAndLanguage) {
    const KnowledgeBase& kb = Shipped();
    for (Language lang : {Language::kKo, Language::kEn}) {
        for (Topic topic : kAllTopics) {
            for (Level level : {Level::kCaution, Level::kDanger}) {
                const std::vector<PageHit> hits = kb.Retrieve(topic, level, lang);
                ASSERT_EQ(hits.size(), 1u) << TopicName(topic) << " " << LanguageName(lang);
                const Page& p = *hits[0].page;
                EXPECT_EQ(p.topic, topic);
                EXPECT_EQ(p.language, lang);
                EXPECT_TRUE(p.AppliesTo(level));
                EXPECT_EQ(p.id, std::string(TopicName(topic)) + "-" + std::string(LanguageName(lang)));
                EXPECT_GT(hits[0].score, 0.0) << p.id;  // ranked by BM25
            }
        }
    }
}

TEST(KnowledgeBase, KoreanSearchFindsKoreanPages) {
    const KnowledgeBase& kb = Shipped();
    Result<std::vector<PageHit>> r = kb.Search("저혈당");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_FALSE(r->empty());
    EXPECT_EQ(r->front().page->id, "hypoglycaemia-ko");
    EXPECT_GT(r->front().score, 0.0);

    // Trigrams match inside words: "호흡곤란" is found in "심한 호흡곤란이" and as a keyword.
    r = kb.Search("산소포화도", Language::kKo);
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->empty());
    EXPECT_EQ(r->front().page->id, "low_spo2-ko");

    // Two-syllable words are below the trigram size and are matched as substrings.
    r = kb.Search("낙상");
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->empty());
    bool fall = false;
    for (const PageHit& h : *r) fall = fall || h.page->id == "fall-ko";
    EXPECT_TRUE(fall);
    for (const PageHit& h : *r) EXPECT_EQ(h.page->language, Language::kKo);
}

TEST(KnowledgeBase, EnglishSearchIsCaseInsensitiveRankedAndFiltered) {
    const KnowledgeBase& kb = Shipped();
    Result<std::vector<PageHit>> r = kb.Search("Low Blood Sugar", Language::kEn);
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->empty());
    EXPECT_EQ(r->front().page->id, "hypoglycaemia-en");
    for (size_t i = 1; i < r->size(); ++i) EXPECT_GE((*r)[i - 1].score, (*r)[i].score);
    for (const PageHit& h : *r) EXPECT_EQ(h.page->language, Language::kEn);

    r = kb.Search("sweating", Language::kKo);  // an English word no Korean page uses
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->empty());

    r = kb.Search("blood sugar", std::nullopt, 1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->size(), 1u);

    r = kb.Search("no-such-words-anywhere");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->empty());

    // Quotes and FTS5 operators in the query are searched for, never parsed as query syntax.
    r = kb.Search("\"fall\" OR NEAR(");
    ASSERT_TRUE(r.ok()) << r.status().ToString();

    r = kb.Search("   ");
    EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
}

TEST(KnowledgeBase, ValidPageLoads) {
    TempKnowledge t;
    t.Write("en/fall.md", ValidPage());
    t.Write("README.md", "not a page");  // files beside the language folders are not pages
    Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load(t.dir(), {.require_every_topic = false});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const Page* p = (*r)->FindById("fall-en");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->topic, Topic::kFall);
    EXPECT_EQ(p->meaning, "Your watch detected a fall.");
    ASSERT_EQ(p->actions.size(), 2u);
    EXPECT_FALSE(p->actions[0].only_at.has_value());
    EXPECT_EQ(p->actions[1].only_at, Level::kDanger);
    EXPECT_EQ(p->actions[1].text, "Press SOS.");
    ASSERT_EQ(p->sources.size(), 1u);
    EXPECT_EQ(p->sources[0], (SourceRef{"NHS", "Falls", "https://www.nhs.uk/conditions/falls/"}));
    EXPECT_EQ((*r)->FindById("nope"), nullptr);
}

TEST(KnowledgeBase, BadPagesNameTheFileAndTheField) {
    Status s = LoadOne(Replace(ValidPage(), "topic: fall", "topic: tumble"));
    EXPECT_EQ(s.code(), ErrorCode::kValidationFailed);
    EXPECT_TRUE(HasField(s, "en/fall.md:topic", "unknown topic \"tumble\"")) << s.ToString();
    EXPECT_NE(s.message().find("en/fall.md:topic"), std::string::npos) << s.message();

    s = LoadOne(Replace(ValidPage(), "title: After a fall\n", ""));
    EXPECT_TRUE(HasField(s, "en/fall.md:title", "missing")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "source: NHS | Falls | https://www.nhs.uk/conditions/falls/\n", ""));
    EXPECT_TRUE(HasField(s, "en/fall.md:source", "missing")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "https://www.nhs.uk/conditions/falls/", "www.nhs.uk"));
    EXPECT_TRUE(HasField(s, "en/fall.md:source", "not an http(s) URL")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "NHS | Falls | ", "NHS | "));
    EXPECT_TRUE(HasField(s, "en/fall.md:source", "publisher | title | URL")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "severities: caution, danger", "severities: caution, urgent"));
    EXPECT_TRUE(HasField(s, "en/fall.md:severities", "unknown severity \"urgent\"")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "language: en", "language: ko"));
    EXPECT_TRUE(HasField(s, "en/fall.md:language", "does not match the folder")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "keywords: fall", "keyword: fall"));
    EXPECT_TRUE(HasField(s, "en/fall.md:keyword", "unknown field")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "id: fall-en", "id: Fall EN"));
    EXPECT_TRUE(HasField(s, "en/fall.md:id")) << s.ToString();

    s = LoadOne(kBody);
    EXPECT_TRUE(HasField(s, "en/fall.md:front_matter")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "---\n#", "#"));
    EXPECT_TRUE(HasField(s, "en/fall.md:front_matter", "closing")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "## What to do now\n1. Do not get up quickly.\n2. [danger] Press SOS.\n\n", ""));
    EXPECT_TRUE(HasField(s, "en/fall.md:actions", "missing section \"## What to do now\"")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "## Likely causes", "## Likely reasons"));
    EXPECT_TRUE(HasField(s, "en/fall.md:sections", "unknown section \"Likely reasons\"")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "1. Do not get up quickly.", "Do not get up quickly."));
    EXPECT_TRUE(HasField(s, "en/fall.md:actions", "expected a list item")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "[danger] Press", "[urgent] Press"));
    EXPECT_TRUE(HasField(s, "en/fall.md:actions", "unknown tag")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "1. Do not get up quickly.", "1. [danger] Do not get up quickly."));
    EXPECT_TRUE(HasField(s, "en/fall.md:actions", "no step applies at level caution")) << s.ToString();

    s = LoadOne(Replace(ValidPage(), "Your watch detected a fall.", ""));
    EXPECT_TRUE(HasField(s, "en/fall.md:meaning", "empty")) << s.ToString();
}

TEST(KnowledgeBase, EveryProblemIsReportedNotOnlyTheFirst) {
    TempKnowledge t;
    t.Write("en/fall.md", Replace(ValidPage(), "topic: fall", "topic: tumble"));
    t.Write("en/other.md", Replace(Replace(ValidPage(), "id: fall-en", "id: other-en"), "title: After a fall\n", ""));
    Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load(t.dir(), {.require_every_topic = false});
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(HasField(r.status(), "en/fall.md:topic"));
    EXPECT_TRUE(HasField(r.status(), "en/other.md:title"));
    EXPECT_NE(r.status().message().find("2 problems"), std::string::npos) << r.status().message();
}

TEST(KnowledgeBase, DuplicateIdsAreRefused) {
    TempKnowledge t;
    t.Write("en/fall.md", ValidPage());
    t.Write("en/fall2.md", ValidPage());
    Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load(t.dir(), {.require_every_topic = false});
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(HasField(r.status(), "en/fall2.md:id", "duplicate id \"fall-en\"")) << r.status().ToString();
}

TEST(KnowledgeBase, IncompleteKnowledgeBaseIsRefusedAtStartUp) {
    TempKnowledge t;
    t.Write("en/fall.md", ValidPage());
    Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load(t.dir());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
    EXPECT_TRUE(HasField(r.status(), "ko/fall.md", "no page for topic fall in language ko at level caution"))
        << r.status().ToString();
    EXPECT_TRUE(HasField(r.status(), "en/tachycardia.md")) << r.status().ToString();
}

TEST(KnowledgeBase, MissingDirectoryOrUnknownLanguageFolder) {
    Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load("/nonexistent/vg/knowledge");
    EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);

    TempKnowledge t;
    t.Write("en/fall.md", ValidPage());
    fs::create_directories(t.dir() / "fr");
    r = KnowledgeBase::Load(t.dir(), {.require_every_topic = false});
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(HasField(r.status(), "fr/", "unknown language folder"));

    TempKnowledge empty;
    r = KnowledgeBase::Load(empty.dir(), {.require_every_topic = false});
    EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace vg::guidance
