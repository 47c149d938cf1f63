#include "vg/guidance/composer.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <string>

#include "page_parser.hpp"

namespace vg::guidance {

namespace {

using domain::Level;
using domain::Metric;

// The words of the composition in each language; page text supplies the rest.
struct Words {
    std::string_view part_state;
    std::string_view part_cause;
    std::string_view part_actions;
    std::string_view part_warning;
    std::string_view sources;
    std::string_view level_danger;
    std::string_view level_caution;
    std::string_view causes_intro;  // "{title}" + this + causes
    std::string_view call_now_action;
    std::string_view warning_danger;
    std::string_view measured_now;
    std::string_view door;
    std::string_view warning_caution;
};

constexpr Words kEn = {
    "1. Current state: ",
    "2. Cause: ",
    "3. What to do now:",
    "4. Warning: ",
    "Sources: ",
    "This is a danger-level alert.",
    "This is a caution-level alert.",
    ": common causes are ",
    "Press the SOS button or call 119 now.",
    "Call 119 now: this is an emergency. Press SOS or dial 119 yourself, and do not wait for it to pass.",
    "Measured now: ",
    "Unlock the front door if you can do it safely, and keep your phone next to you.",
    "You do not need to call 119 right now. Call 119 at once if any of these happens: ",
};

constexpr Words kKo = {
    "1. 현재 상태: ",
    "2. 원인: ",
    "3. 즉각적인 대처 방법:",
    "4. 경고: ",
    "출처: ",
    "지금은 위험 단계입니다.",
    "지금은 주의 단계입니다.",
    "의 흔한 원인: ",
    "지금 SOS(신고하기) 버튼을 누르거나 119에 전화하세요.",
    "지금 바로 119에 신고하세요. 응급 상황입니다. SOS(신고하기) 버튼을 누르거나 직접 119에 전화하고, 나아지기를 "
    "기다리지 마세요.",
    "지금 측정값: ",
    "안전하게 움직일 수 있으면 현관문 잠금을 풀고 전화기를 곁에 두세요.",
    "지금 당장 119에 신고할 필요는 없습니다. 다음 중 하나라도 나타나면 즉시 119에 신고하세요: ",
};

const Words& WordsFor(Language l) { return l == Language::kEn ? kEn : kKo; }

// At most this many causes per topic, and red flags in a caution warning.
constexpr size_t kMaxCausesPerTopic = 3;
constexpr size_t kMaxRedFlags = 8;

std::string Number(double v, int decimals) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

int DecimalsOf(Metric m) { return m == Metric::kSkinTemp ? 1 : 0; }

// The metric a topic's state sentence names, if any.
std::optional<Metric> MetricOf(Topic t) {
    switch (t) {
        case Topic::kFall:
            return std::nullopt;
        case Topic::kLowSpo2:
            return Metric::kSpo2;
        case Topic::kAbnormalRespiration:
            return Metric::kRespirationRate;
        case Topic::kBradycardia:
        case Topic::kTachycardia:
        case Topic::kOverExertion:
            return Metric::kHeartRate;
        case Topic::kHypoglycaemia:
        case Topic::kHyperglycaemia:
            return Metric::kGlucose;
        case Topic::kHypothermia:
        case Topic::kFever:
            return Metric::kSkinTemp;
    }
    return std::nullopt;
}

// "Your heart rate is 148 beats per minute, which is too fast." — a firm statement of the value.
std::string ValueSentence(Topic t, double v, Language lang) {
    const std::string n = Number(v, DecimalsOf(*MetricOf(t)));
    const bool en = lang == Language::kEn;
    switch (t) {
        case Topic::kFall:
            return "";
        case Topic::kTachycardia:
            return en ? "Your heart rate is " + n + " beats per minute, which is too fast."
                      : "심박수가 분당 " + n + "회로 너무 빠릅니다.";
        case Topic::kBradycardia:
            return en ? "Your heart rate is " + n + " beats per minute, which is too slow."
                      : "심박수가 분당 " + n + "회로 너무 느립니다.";
        case Topic::kOverExertion:
            return en ? "Your heart rate is " + n + " beats per minute during activity, which is too high."
                      : "활동 중 심박수가 분당 " + n + "회로 너무 높습니다.";
        case Topic::kLowSpo2:
            return en ? "Your blood oxygen (SpO2) is " + n + " %, which is too low."
                      : "혈중 산소포화도(SpO2)가 " + n + " %로 낮습니다.";
        case Topic::kAbnormalRespiration:
            if (v >= 21) {
                return en ? "You are breathing " + n + " times a minute, which is too fast."
                          : "호흡수가 분당 " + n + "회로 너무 빠릅니다.";
            }
            if (v <= 11) {
                return en ? "You are breathing " + n + " times a minute, which is too slow."
                          : "호흡수가 분당 " + n + "회로 너무 느립니다.";
            }
            return en ? "You are breathing " + n + " times a minute, which is unusual for you."
                      : "호흡수가 분당 " + n + "회로 평소와 다릅니다.";
        case Topic::kFever:
            return en ? "The skin temperature on your wrist is " + n + " °C, higher than usual."
                      : "손목 피부 온도가 " + n + " °C로 평소보다 높습니다.";
        case Topic::kHypothermia:
            return en ? "The skin temperature on your wrist is " + n + " °C, lower than usual."
                      : "손목 피부 온도가 " + n + " °C로 평소보다 낮습니다.";
        case Topic::kHypoglycaemia:
            return en ? "Your blood sugar is " + n + " mg/dL, which is too low."
                      : "혈당이 " + n + " mg/dL로 너무 낮습니다.";
        case Topic::kHyperglycaemia:
            return en ? "Your blood sugar is " + n + " mg/dL, which is too high."
                      : "혈당이 " + n + " mg/dL로 너무 높습니다.";
    }
    return "";
}

// "heart rate 148 bpm" — for the measured values a 119 operator is told.
std::string ValueLabel(Metric m, double v, Language lang) {
    const std::string n = Number(v, DecimalsOf(m));
    const bool en = lang == Language::kEn;
    switch (m) {
        case Metric::kHeartRate:
            return en ? "heart rate " + n + " bpm" : "심박수 분당 " + n + "회";
        case Metric::kRespirationRate:
            return en ? "breathing " + n + " per minute" : "호흡수 분당 " + n + "회";
        case Metric::kSpo2:
            return en ? "SpO2 " + n + " %" : "산소포화도 " + n + " %";
        case Metric::kSkinTemp:
            return en ? "wrist skin temperature " + n + " °C" : "손목 피부 온도 " + n + " °C";
        case Metric::kGlucose:
            return en ? "blood sugar " + n + " mg/dL" : "혈당 " + n + " mg/dL";
        case Metric::kSteps:
        case Metric::kCalories:
            return "";
    }
    return "";
}

// The key under which two actions (or red flags) count as the same: ASCII lower case, single spaces,
// no final full stop.
std::string DedupKey(std::string_view text) {
    std::string key;
    bool space = false;
    for (char c : internal::Trim(text)) {
        if (c == ' ' || c == '\t') {
            space = true;
            continue;
        }
        if (space && !key.empty()) key += ' ';
        space = false;
        key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    while (!key.empty() && key.back() == '.') key.pop_back();
    return key;
}

void AppendSentence(std::string& to, std::string_view sentence) {
    if (sentence.empty()) return;
    if (!to.empty()) to += ' ';
    to += sentence;
}

std::string EndWithStop(std::string s) {
    if (!s.empty() && s.back() != '.' && s.back() != '!' && s.back() != '?') s += '.';
    return s;
}

}  // namespace

Result<Guidance> Compose(const KnowledgeBase& kb, const GuidanceRequest& request) {
    if (request.level != Level::kCaution && request.level != Level::kDanger) {
        return Status::Error(ErrorCode::kValidationFailed, "guidance is for caution or danger",
                             {{"level", "must be caution or danger"}});
    }
    if (request.topics.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "guidance needs at least one topic",
                             {{"topics", "at least one topic"}});
    }
    const Language lang = request.language;
    const Words& w = WordsFor(lang);

    Guidance g;
    g.level = request.level;
    g.language = lang;
    g.call_119 = request.level == Level::kDanger;

    std::vector<const Page*> pages;
    for (Topic t : request.topics) {
        if (std::find(g.topics.begin(), g.topics.end(), t) != g.topics.end()) continue;
        const std::vector<PageHit> hits = kb.Retrieve(t, request.level, lang);
        if (hits.empty()) {
            return Status::Error(ErrorCode::kNotFound, "no " + std::string(LanguageName(lang)) + " page for topic " +
                                                           std::string(TopicName(t)) + " at level " +
                                                           std::string(domain::LevelName(request.level)));
        }
        g.topics.push_back(t);
        pages.push_back(hits.front().page);
    }

    // 1. Current state: the level, then per topic the measured value and what it means.
    g.state = std::string(g.call_119 ? w.level_danger : w.level_caution);
    std::vector<std::string> said;
    std::vector<Metric> measured;
    for (size_t i = 0; i < g.topics.size(); ++i) {
        const std::optional<Metric> metric = MetricOf(g.topics[i]);
        const std::optional<double> value = metric ? request.reading.get(*metric) : std::nullopt;
        if (value) {
            const std::string sentence = ValueSentence(g.topics[i], *value, lang);
            if (std::find(said.begin(), said.end(), sentence) == said.end()) {
                AppendSentence(g.state, sentence);
                said.push_back(sentence);
            }
            if (std::find(measured.begin(), measured.end(), *metric) == measured.end()) measured.push_back(*metric);
        }
        AppendSentence(g.state, pages[i]->meaning);
    }

    // 2. Cause: per topic, its first few likely causes.
    for (const Page* p : pages) {
        std::string line = p->title + std::string(w.causes_intro);
        for (size_t i = 0; i < p->causes.size() && i < kMaxCausesPerTopic; ++i) {
            if (i > 0) line += "; ";
            line += p->causes[i];
        }
        AppendSentence(g.cause, EndWithStop(std::move(line)));
    }

    // 3. Actions: "call now" first when in danger, then each page's steps for this level, without repeats.
    std::vector<std::string> keys;
    const auto add_action = [&](std::string_view text) {
        if (g.actions.size() >= kMaxActions) return;
        std::string key = DedupKey(text);
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) return;
        keys.push_back(std::move(key));
        g.actions.emplace_back(text);
    };
    if (g.call_119) add_action(w.call_now_action);
    for (const Page* p : pages) {
        for (const PageAction& a : p->actions) {
            if (!a.only_at || *a.only_at == request.level) add_action(a.text);
        }
    }

    // 4. Warning: whether to call 119 now.
    if (g.call_119) {
        g.warning = std::string(w.warning_danger);
        AppendSentence(g.warning, pages.front()->what_to_say);
        std::string values;
        for (Metric m : measured) {
            if (!values.empty()) values += ", ";
            values += ValueLabel(m, *request.reading.get(m), lang);
        }
        if (!values.empty()) AppendSentence(g.warning, std::string(w.measured_now) + values + ".");
        AppendSentence(g.warning, w.door);
    } else {
        std::vector<std::string> flags;
        std::vector<std::string> flag_keys;
        for (const Page* p : pages) {
            for (const std::string& flag : p->call_119_when) {
                std::string key = DedupKey(flag);
                if (flags.size() >= kMaxRedFlags ||
                    std::find(flag_keys.begin(), flag_keys.end(), key) != flag_keys.end()) {
                    continue;
                }
                flag_keys.push_back(std::move(key));
                flags.push_back(flag);
            }
        }
        std::string list;
        for (const std::string& f : flags) {
            if (!list.empty()) list += "; ";
            list += f;
        }
        g.warning = std::string(w.warning_caution) + EndWithStop(std::move(list));
    }

    // Sources and pages used.
    for (const Page* p : pages) {
        g.page_ids.push_back(p->id);
        for (const SourceRef& s : p->sources) {
            const bool seen =
                std::any_of(g.sources.begin(), g.sources.end(), [&](const SourceRef& x) { return x.url == s.url; });
            if (!seen) g.sources.push_back(s);
        }
    }

    // The full text.
    g.text = std::string(w.part_state) + g.state + "\n";
    g.text += std::string(w.part_cause) + g.cause + "\n";
    g.text += std::string(w.part_actions) + "\n";
    for (size_t i = 0; i < g.actions.size(); ++i) {
        g.text += "   " + std::to_string(i + 1) + ") " + g.actions[i] + "\n";
    }
    g.text += std::string(w.part_warning) + g.warning + "\n";
    g.text += std::string(w.sources);
    for (size_t i = 0; i < g.sources.size(); ++i) {
        if (i > 0) g.text += "; ";
        g.text += g.sources[i].publisher + ", \"" + g.sources[i].title + "\", " + g.sources[i].url;
    }
    g.text += "\n";
    return g;
}

GuidanceRequest RequestFor(const domain::Detection& detection, const domain::VitalsReading& reading, Language language,
                           bool fall_detected) {
    GuidanceRequest r;
    r.level = detection.level == Level::kDanger ? Level::kDanger : Level::kCaution;
    r.topics = TopicsFor(detection, fall_detected);
    r.language = language;
    r.reading = reading;
    return r;
}

std::string CheckFourParts(std::string_view text, bool require_119) {
    int next = 1;
    size_t start = 0;
    while (start < text.size() && next <= 4) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t' || line.front() == '#' ||
                                 line.front() == '*' || line.front() == '>')) {
            line.remove_prefix(1);
        }
        if (line.size() < 2 || line[0] != static_cast<char>('0' + next) || line[1] != '.') continue;
        std::string_view rest = line.substr(2);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '*' || rest.front() == '\t')) {
            rest.remove_prefix(1);
        }
        if (internal::Trim(rest).empty()) return "part " + std::to_string(next) + " has no text";
        ++next;
    }
    if (next <= 4)
        return "missing part " + std::to_string(next) + " (a line starting with \"" + std::to_string(next) + ".\")";
    if (require_119 && text.find("119") == std::string_view::npos) return "does not say to call 119";
    return "";
}

}  // namespace vg::guidance
