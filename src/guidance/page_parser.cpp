#include "page_parser.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace vg::guidance::internal {

namespace {

enum class Section : uint8_t { kMeaning = 0, kCauses, kActions, kCall119, kWhatToSay };
constexpr size_t kSectionCount = 5;

struct SectionInfo {
    std::string_view field;  // name in error messages
    std::string_view en;     // heading in English pages
    std::string_view ko;     // heading in Korean pages
};
constexpr std::array<SectionInfo, kSectionCount> kSections = {{
    {"meaning", "What this means", "이 상태의 의미"},
    {"causes", "Likely causes", "흔한 원인"},
    {"actions", "What to do now", "지금 할 일"},
    {"call_119", "When to call 119", "119에 신고해야 할 때"},
    {"what_to_say", "What to tell 119", "119에 말할 내용"},
}};

constexpr std::array<std::string_view, 7> kFrontMatterKeys = {"id",         "topic",    "language", "title",
                                                              "severities", "keywords", "source"};

class Problems {
  public:
    Problems(const std::string& file, std::vector<FieldError>& out) : file_(file), out_(out), start_(out.size()) {}
    void Add(std::string_view field, std::string problem) {
        out_.push_back(FieldError{file_ + ":" + std::string(field), std::move(problem)});
    }
    bool any() const { return out_.size() > start_; }
    size_t count() const { return out_.size(); }

  private:
    const std::string& file_;
    std::vector<FieldError>& out_;
    size_t start_;
};

std::vector<std::string_view> SplitLines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        start = end + 1;
    }
    return lines;
}

std::vector<std::string> SplitList(std::string_view value, char sep) {
    std::vector<std::string> items;
    size_t start = 0;
    while (start <= value.size()) {
        size_t end = value.find(sep, start);
        if (end == std::string_view::npos) end = value.size();
        const std::string_view item = Trim(value.substr(start, end - start));
        items.emplace_back(item);
        start = end + 1;
    }
    return items;
}

// The first 40 characters of `s` (whole UTF-8 characters), for messages.
std::string Excerpt(std::string_view s) {
    size_t chars = 0;
    size_t i = 0;
    for (; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && chars++ == 40) break;
    }
    return std::string(s.substr(0, i));
}

bool IsIdChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; }

std::optional<domain::Level> LevelFromName(std::string_view s) {
    if (s == "caution") return domain::Level::kCaution;
    if (s == "danger") return domain::Level::kDanger;
    return std::nullopt;
}

std::string TopicList() {
    std::string list;
    for (Topic t : kAllTopics) {
        if (!list.empty()) list += ", ";
        list += TopicName(t);
    }
    return list;
}

std::optional<Section> SectionFromHeading(std::string_view heading) {
    for (size_t i = 0; i < kSections.size(); ++i) {
        if (heading == kSections[i].en || heading == kSections[i].ko) return static_cast<Section>(i);
    }
    return std::nullopt;
}

// "12. text" -> "text"; nullopt when the line is not a numbered item.
std::optional<std::string_view> NumberedItem(std::string_view line) {
    size_t i = 0;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
    if (i == 0 || i + 1 >= line.size() || line[i] != '.' || (line[i + 1] != ' ' && line[i + 1] != '\t')) {
        return std::nullopt;
    }
    return Trim(line.substr(i + 1));
}

// "- text" or "* text" -> "text".
std::optional<std::string_view> BulletItem(std::string_view line) {
    if (line.size() >= 2 && (line[0] == '-' || line[0] == '*') && (line[1] == ' ' || line[1] == '\t')) {
        return Trim(line.substr(2));
    }
    return std::nullopt;
}

void AppendWords(std::string& to, std::string_view more) {
    if (more.empty()) return;
    if (!to.empty()) to += ' ';
    to += more;
}

struct SectionText {
    bool seen = false;
    std::vector<std::string_view> lines;  // trimmed, blank lines kept as empty views
};

// Paragraph sections: every non-blank line joined with single spaces.
std::string Paragraph(const SectionText& s) {
    std::string text;
    for (std::string_view line : s.lines) AppendWords(text, line);
    return text;
}

// List sections: items and their continuation lines.
std::vector<std::string> Items(const SectionText& s, bool numbered, std::string_view field, Problems& problems) {
    std::vector<std::string> items;
    for (std::string_view line : s.lines) {
        if (line.empty()) continue;
        const std::optional<std::string_view> item = numbered ? NumberedItem(line) : BulletItem(line);
        if (item) {
            items.emplace_back(*item);
        } else if (!items.empty()) {
            AppendWords(items.back(), line);  // a wrapped line continues the item above
        } else {
            problems.Add(field, std::string("expected a list item starting with ") + (numbered ? "\"1. \"" : "\"- \"") +
                                    ", got \"" + Excerpt(line) + "\"");
            return {};
        }
    }
    for (const std::string& item : items) {
        if (Trim(item).empty()) {
            problems.Add(field, "empty list item");
            return {};
        }
    }
    return items;
}

}  // namespace

std::string_view Trim(std::string_view s) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::optional<Page> ParsePage(std::string_view text, const std::string& file, std::vector<FieldError>& out) {
    Problems problems(file, out);
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
    const std::vector<std::string_view> lines = SplitLines(text);

    // ---- front matter ----
    if (lines.empty() || Trim(lines[0]) != "---") {
        problems.Add("front_matter", "the file must begin with a line \"---\", the front matter, and another \"---\"");
        return std::nullopt;
    }
    size_t end = 1;
    while (end < lines.size() && Trim(lines[end]) != "---") ++end;
    if (end == lines.size()) {
        problems.Add("front_matter", "no closing \"---\" line after the front matter");
        return std::nullopt;
    }

    Page page;
    page.file = file;
    std::array<bool, kFrontMatterKeys.size()> seen{};
    for (size_t i = 1; i < end; ++i) {
        const std::string_view line = Trim(lines[i]);
        if (line.empty() || line.front() == '#') continue;
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            problems.Add("front_matter", "line " + std::to_string(i + 1) + ": expected \"field: value\", got \"" +
                                             std::string(line) + "\"");
            continue;
        }
        const std::string_view key = Trim(line.substr(0, colon));
        const std::string_view value = Trim(line.substr(colon + 1));
        size_t k = 0;
        while (k < kFrontMatterKeys.size() && kFrontMatterKeys[k] != key) ++k;
        if (k == kFrontMatterKeys.size()) {
            problems.Add(key, "unknown field (expected id, topic, language, title, severities, keywords, source)");
            continue;
        }
        if (seen[k] && key != "source") {
            problems.Add(key, "given twice");
            continue;
        }
        seen[k] = true;
        if (value.empty()) {
            problems.Add(key, "empty");
            continue;
        }
        if (key == "id") {
            bool ok = true;
            for (char c : value) ok = ok && IsIdChar(c);
            if (!ok) {
                problems.Add(key, "\"" + std::string(value) + "\" must use only a-z, 0-9, '-' and '_'");
            } else {
                page.id = std::string(value);
            }
        } else if (key == "topic") {
            const std::optional<Topic> topic = TopicFromName(value);
            if (!topic) {
                problems.Add(key,
                             "unknown topic \"" + std::string(value) + "\" (expected one of: " + TopicList() + ")");
            } else {
                page.topic = *topic;
            }
        } else if (key == "language") {
            const std::optional<Language> language = LanguageFromName(value);
            if (!language) {
                problems.Add(key, "unknown language \"" + std::string(value) + "\" (expected ko or en)");
                continue;
            }
            page.language = *language;
            const size_t slash = file.find('/');
            if (slash != std::string::npos && std::string_view(file).substr(0, slash) != value) {
                problems.Add(key, "\"" + std::string(value) + "\" does not match the folder \"" +
                                      file.substr(0, slash) + "/\" the page is in");
            }
        } else if (key == "title") {
            page.title = std::string(value);
        } else if (key == "severities") {
            for (const std::string& name : SplitList(value, ',')) {
                const std::optional<domain::Level> level = LevelFromName(name);
                if (!level) {
                    problems.Add(key, "unknown severity \"" + name + "\" (expected caution, danger or both)");
                } else if (page.AppliesTo(*level)) {
                    problems.Add(key, "\"" + name + "\" given twice");
                } else {
                    page.severities.push_back(*level);
                }
            }
        } else if (key == "keywords") {
            for (std::string& keyword : SplitList(value, ',')) {
                if (!keyword.empty()) page.keywords.push_back(std::move(keyword));
            }
        } else if (key == "source") {
            std::vector<std::string> parts = SplitList(value, '|');
            if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
                problems.Add(key, "expected \"publisher | title | URL\", got \"" + std::string(value) + "\"");
                continue;
            }
            const std::string& url = parts[2];
            const bool scheme = url.starts_with("https://") || url.starts_with("http://");
            if (!scheme || url.find_first_of(" \t") != std::string::npos) {
                problems.Add(key, "\"" + url + "\" is not an http(s) URL");
                continue;
            }
            page.sources.push_back(SourceRef{std::move(parts[0]), std::move(parts[1]), std::move(parts[2])});
        }
    }
    for (size_t k = 0; k < kFrontMatterKeys.size(); ++k) {
        if (!seen[k] && kFrontMatterKeys[k] != "keywords") problems.Add(kFrontMatterKeys[k], "missing");
    }

    // ---- sections ----
    std::array<SectionText, kSectionCount> sections;
    SectionText* current = nullptr;
    for (size_t i = end + 1; i < lines.size(); ++i) {
        const std::string_view line = Trim(lines[i]);
        if (line.starts_with("## ")) {
            const std::string_view heading = Trim(line.substr(3));
            const std::optional<Section> section = SectionFromHeading(heading);
            if (!section) {
                std::string expected;
                for (const SectionInfo& s : kSections) {
                    if (!expected.empty()) expected += ", ";
                    expected += "\"" + std::string(page.language == Language::kKo ? s.ko : s.en) + "\"";
                }
                problems.Add("sections",
                             "unknown section \"" + std::string(heading) + "\" (expected " + expected + ")");
                current = nullptr;
                continue;
            }
            current = &sections[static_cast<size_t>(*section)];
            if (current->seen) problems.Add(kSections[static_cast<size_t>(*section)].field, "section given twice");
            current->seen = true;
            continue;
        }
        if (line.starts_with("# ")) {  // the page's own title heading
            current = nullptr;
            continue;
        }
        if (current != nullptr) current->lines.push_back(line);
    }
    for (size_t i = 0; i < kSectionCount; ++i) {
        if (!sections[i].seen) {
            const SectionInfo& s = kSections[i];
            problems.Add(s.field,
                         "missing section \"## " + std::string(page.language == Language::kKo ? s.ko : s.en) + "\"");
        }
    }

    const auto paragraph = [&](Section s, std::string& to) {
        const size_t i = static_cast<size_t>(s);
        if (!sections[i].seen) return;
        to = Paragraph(sections[i]);
        if (to.empty()) problems.Add(kSections[i].field, "empty section");
    };
    const auto list = [&](Section s, bool numbered) {
        const size_t i = static_cast<size_t>(s);
        if (!sections[i].seen) return std::vector<std::string>{};
        const size_t before = problems.count();
        std::vector<std::string> items = Items(sections[i], numbered, kSections[i].field, problems);
        if (items.empty() && problems.count() == before) problems.Add(kSections[i].field, "no list items");
        return items;
    };
    paragraph(Section::kMeaning, page.meaning);
    paragraph(Section::kWhatToSay, page.what_to_say);
    page.causes = list(Section::kCauses, false);
    page.call_119_when = list(Section::kCall119, false);
    for (std::string& item : list(Section::kActions, true)) {
        PageAction action;
        std::string_view step = item;
        if (step.starts_with("[")) {
            const size_t close = step.find(']');
            const std::string_view tag = close == std::string_view::npos ? step : step.substr(1, close - 1);
            const std::optional<domain::Level> level = LevelFromName(tag);
            if (!level || close == std::string_view::npos) {
                problems.Add("actions", "unknown tag in \"" + Excerpt(step) + "\" (expected [caution] or [danger])");
                continue;
            }
            action.only_at = level;
            step = Trim(step.substr(close + 1));
        }
        action.text = std::string(step);
        page.actions.push_back(std::move(action));
    }
    for (domain::Level level : page.severities) {
        bool any = false;
        for (const PageAction& a : page.actions) any = any || !a.only_at || *a.only_at == level;
        if (!any && !page.actions.empty()) {
            problems.Add("actions", "no step applies at level " + std::string(domain::LevelName(level)));
        }
    }

    if (problems.any()) return std::nullopt;
    return page;
}

}  // namespace vg::guidance::internal
