#include "vg/guidance/composer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace vg::guidance {
namespace {

using domain::Level;
using domain::Metric;

const KnowledgeBase& Shipped() {
    static const std::unique_ptr<KnowledgeBase> kb = [] {
        Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load(VG_KNOWLEDGE_DIR);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        return r.ok() ? std::move(r).value() : nullptr;
    }();
    return *kb;
}

// Values typical of each topic (what a detection of it would carry).
domain::VitalsReading TypicalReading() {
    domain::VitalsReading r;
    r.set(Metric::kHeartRate, 142);
    r.set(Metric::kRespirationRate, 27);
    r.set(Metric::kSpo2, 88);
    r.set(Metric::kSkinTemp, 36.4);
    r.set(Metric::kGlucose, 52);
    return r;
}

Guidance MustCompose(const GuidanceRequest& req) {
    Result<Guidance> r = Compose(Shipped(), req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : Guidance{};
}

bool Contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// Words that hedge; the seed asks for firm sentences ("'만약' 같은 불확실한 표현을 사용하지 말고").
const char* const kHedges[] = {"maybe", "Maybe", "perhaps", "Perhaps", "possibly", "might", "만약", "아마", "일지도"};

TEST(Compose, FourPartsForEveryTopicLevelAndLanguage) {
    for (Language lang : {Language::kKo, Language::kEn}) {
        for (Topic topic : kAllTopics) {
            for (Level level : {Level::kCaution, Level::kDanger}) {
                SCOPED_TRACE(std::string(TopicName(topic)) + " " + std::string(domain::LevelName(level)) + " " +
                             std::string(LanguageName(lang)));
                GuidanceRequest req{level, {topic}, lang, TypicalReading()};
                const Guidance g = MustCompose(req);
                EXPECT_EQ(CheckFourParts(g.text, g.call_119), "");
                EXPECT_FALSE(g.state.empty());
                EXPECT_FALSE(g.cause.empty());
                EXPECT_GE(g.actions.size(), 3u);
                EXPECT_LE(g.actions.size(), kMaxActions);
                EXPECT_FALSE(g.warning.empty());
                EXPECT_EQ(g.call_119, level == Level::kDanger);
                EXPECT_EQ(g.page_ids, std::vector<std::string>{std::string(TopicName(topic)) + "-" +
                                                               std::string(LanguageName(lang))});
                ASSERT_FALSE(g.sources.empty());
                for (const SourceRef& s : g.sources) EXPECT_TRUE(Contains(g.text, s.url)) << s.url;
                EXPECT_TRUE(Contains(g.warning, "119"));
                for (const char* hedge : kHedges) {
                    EXPECT_FALSE(Contains(g.state, hedge)) << hedge;
                    EXPECT_FALSE(Contains(g.warning, hedge)) << hedge;
                }
                // The parts appear in the text in order, each once.
                const std::string_view t = g.text;
                const size_t p1 = t.find(lang == Language::kEn ? "1. Current state: " : "1. 현재 상태: ");
                const size_t p2 = t.find(lang == Language::kEn ? "2. Cause: " : "2. 원인: ");
                const size_t p3 = t.find(lang == Language::kEn ? "3. What to do now:" : "3. 즉각적인 대처 방법:");
                const size_t p4 = t.find(lang == Language::kEn ? "4. Warning: " : "4. 경고: ");
                EXPECT_EQ(p1, 0u);
                EXPECT_LT(p1, p2);
                EXPECT_LT(p2, p3);
                EXPECT_LT(p3, p4);
                EXPECT_TRUE(Contains(t, "   1) " + g.actions[0]));
                // A Korean wearer reads Korean: no English section words in the Korean text.
                if (lang == Language::kKo) {
                    EXPECT_FALSE(Contains(g.state + g.cause + g.warning, "the "));
                }
            }
        }
    }
}

TEST(Compose, DangerSaysCallNowAndCautionSaysNotYet) {
    GuidanceRequest req{Level::kDanger, {Topic::kTachycardia}, Language::kEn, TypicalReading()};
    Guidance g = MustCompose(req);
    EXPECT_TRUE(g.call_119);
    EXPECT_EQ(g.actions.front(), "Press the SOS button or call 119 now.");
    EXPECT_TRUE(Contains(g.warning, "Call 119 now")) << g.warning;
    EXPECT_TRUE(Contains(g.warning, "Measured now: heart rate 142 bpm.")) << g.warning;

    req.level = Level::kCaution;
    g = MustCompose(req);
    EXPECT_FALSE(g.call_119);
    EXPECT_NE(g.actions.front(), "Press the SOS button or call 119 now.");
    EXPECT_TRUE(Contains(g.warning, "You do not need to call 119 right now. Call 119 at once if")) << g.warning;
    EXPECT_TRUE(Contains(g.warning, "chest pain, pressure or tightness")) << g.warning;  // chest pain + fast heart

    req.language = Language::kKo;
    g = MustCompose(req);
    EXPECT_TRUE(Contains(g.warning, "지금 당장 119에 신고할 필요는 없습니다")) << g.warning;
    req.level = Level::kDanger;
    g = MustCompose(req);
    EXPECT_TRUE(Contains(g.warning, "지금 바로 119에 신고하세요")) << g.warning;
    EXPECT_TRUE(Contains(g.warning, "심박수 분당 142회")) << g.warning;
}

TEST(Compose, StateNamesTheMeasuredValuesFirmly) {
    domain::VitalsReading r;
    r.set(Metric::kHeartRate, 148);
    r.set(Metric::kSpo2, 87.6);
    r.set(Metric::kSkinTemp, 36.44);
    GuidanceRequest req{Level::kDanger, {Topic::kLowSpo2, Topic::kTachycardia}, Language::kEn, r};
    Guidance g = MustCompose(req);
    EXPECT_TRUE(g.state.starts_with("This is a danger-level alert.")) << g.state;
    EXPECT_TRUE(Contains(g.state, "Your blood oxygen (SpO2) is 88 %, which is too low.")) << g.state;
    EXPECT_TRUE(Contains(g.state, "Your heart rate is 148 beats per minute, which is too fast.")) << g.state;
    EXPECT_LT(g.state.find("SpO2"), g.state.find("heart rate"));  // most urgent topic first

    req.language = Language::kKo;
    g = MustCompose(req);
    EXPECT_TRUE(g.state.starts_with("지금은 위험 단계입니다.")) << g.state;
    EXPECT_TRUE(Contains(g.state, "혈중 산소포화도(SpO2)가 88 %로 낮습니다.")) << g.state;
    EXPECT_TRUE(Contains(g.state, "심박수가 분당 148회로 너무 빠릅니다.")) << g.state;

    req.topics = {Topic::kFever};
    g = MustCompose(req);
    EXPECT_TRUE(Contains(g.state, "손목 피부 온도가 36.4 °C로 평소보다 높습니다.")) << g.state;

    // Without the value the state still holds, without numbers.
    req.reading = domain::VitalsReading{};
    g = MustCompose(req);
    EXPECT_FALSE(Contains(g.state, "36.4")) << g.state;
}

TEST(Compose, RespirationDirectionFollowsTheValue) {
    domain::VitalsReading r;
    r.set(Metric::kRespirationRate, 7);
    GuidanceRequest req{Level::kDanger, {Topic::kAbnormalRespiration}, Language::kEn, r};
    EXPECT_TRUE(Contains(MustCompose(req).state, "7 times a minute, which is too slow."));
    req.reading.set(Metric::kRespirationRate, 28);
    EXPECT_TRUE(Contains(MustCompose(req).state, "28 times a minute, which is too fast."));
}

TEST(Compose, SeveralTopicsMostUrgentFirstDeduplicatedAndCapped) {
    GuidanceRequest req{Level::kDanger,
                        {Topic::kLowSpo2, Topic::kAbnormalRespiration, Topic::kTachycardia, Topic::kLowSpo2},
                        Language::kEn,
                        TypicalReading()};
    const Guidance g = MustCompose(req);
    EXPECT_EQ(g.topics, (std::vector<Topic>{Topic::kLowSpo2, Topic::kAbnormalRespiration, Topic::kTachycardia}));
    EXPECT_EQ(g.page_ids, (std::vector<std::string>{"low_spo2-en", "abnormal_respiration-en", "tachycardia-en"}));
    EXPECT_LE(g.actions.size(), kMaxActions);
    // The SpO2 page's steps come first, right after "call now".
    const Page* spo2 = Shipped().FindById("low_spo2-en");
    ASSERT_NE(spo2, nullptr);
    EXPECT_EQ(g.actions[1], spo2->actions[0].text);
    // "Sit upright..." is on both breathing pages and appears once.
    int sit_upright = 0;
    for (const std::string& a : g.actions) sit_upright += a == "Sit upright in a chair; do not lie flat." ? 1 : 0;
    EXPECT_EQ(sit_upright, 1);
    for (size_t i = 0; i < g.actions.size(); ++i) {
        for (size_t j = i + 1; j < g.actions.size(); ++j) EXPECT_NE(g.actions[i], g.actions[j]);
    }
    // Sources of all three pages, each URL once.
    for (size_t i = 0; i < g.sources.size(); ++i) {
        for (size_t j = i + 1; j < g.sources.size(); ++j) EXPECT_NE(g.sources[i].url, g.sources[j].url);
    }
    EXPECT_TRUE(Contains(g.warning, "SpO2 88 %"));
    EXPECT_TRUE(Contains(g.warning, "breathing 27 per minute"));
    EXPECT_TRUE(Contains(g.warning, "heart rate 142 bpm"));
}

TEST(Compose, LevelTaggedStepsOnlyAtTheirLevel) {
    GuidanceRequest req{Level::kCaution, {Topic::kHypoglycaemia}, Language::kEn, TypicalReading()};
    Guidance g = MustCompose(req);
    for (const std::string& a : g.actions) EXPECT_FALSE(Contains(a, "cannot swallow safely")) << a;
    EXPECT_TRUE(Contains(g.text, "15 g of fast sugar"));
    EXPECT_TRUE(Contains(g.text, "Wait 15 minutes, then check your blood sugar again."));
    req.level = Level::kDanger;
    g = MustCompose(req);
    bool swallow = false;
    for (const std::string& a : g.actions) swallow = swallow || Contains(a, "cannot swallow safely");
    EXPECT_TRUE(swallow);
}

TEST(Compose, FallGuidanceSaysDoNotGetUpFastAndPressSos) {
    GuidanceRequest req{Level::kDanger, {Topic::kFall}, Language::kKo, {}};
    const Guidance g = MustCompose(req);
    EXPECT_TRUE(Contains(g.text, "급하게 일어나지 마세요"));
    EXPECT_TRUE(Contains(g.text, "SOS"));
    req.language = Language::kEn;
    const Guidance en = MustCompose(req);
    EXPECT_TRUE(Contains(en.text, "Do not get up quickly."));
}

TEST(Compose, IsDeterministic) {
    GuidanceRequest req{Level::kDanger, {Topic::kFall, Topic::kHypothermia}, Language::kKo, TypicalReading()};
    const Guidance a = MustCompose(req);
    const Guidance b = MustCompose(req);
    EXPECT_EQ(a.text, b.text);
}

TEST(Compose, RefusesNormalLevelAndNoTopics) {
    GuidanceRequest req{Level::kNormal, {Topic::kFall}, Language::kKo, {}};
    Result<Guidance> r = Compose(Shipped(), req);
    EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
    ASSERT_EQ(r.status().fields().size(), 1u);
    EXPECT_EQ(r.status().fields()[0].field, "level");
    req.level = Level::kCaution;
    req.topics.clear();
    r = Compose(Shipped(), req);
    EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(r.status().fields()[0].field, "topics");
}

TEST(RequestFor, FromADetection) {
    domain::Detection d;
    d.level = Level::kDanger;
    d.fired.push_back(domain::FiredRule{"spo2.low.danger", "threshold", Metric::kSpo2, Level::kDanger, 88, ""});
    const GuidanceRequest req = RequestFor(d, TypicalReading(), Language::kEn, /*fall_detected=*/true);
    EXPECT_EQ(req.level, Level::kDanger);
    EXPECT_EQ(req.topics, (std::vector<Topic>{Topic::kFall, Topic::kLowSpo2}));
    EXPECT_EQ(req.language, Language::kEn);
    const Guidance g = MustCompose(req);
    EXPECT_EQ(g.page_ids, (std::vector<std::string>{"fall-en", "low_spo2-en"}));
}

TEST(CheckFourParts, AcceptsTheFormatAndNamesWhatIsMissing) {
    EXPECT_EQ(CheckFourParts("1. a\n2. b\n3. c\n4. call 119", true), "");
    EXPECT_EQ(CheckFourParts("**1. 현재 상태**\n## 2. 원인\n3. 대처\n  1) 앉으세요\n4. 경고", false), "");
    EXPECT_EQ(CheckFourParts("1. a\n2. b\n4. d", false), "missing part 3 (a line starting with \"3.\")");
    EXPECT_EQ(CheckFourParts("1. a\n2. b\n3. c\n4. rest", true), "does not say to call 119");
    EXPECT_EQ(CheckFourParts("1. a\n2.\n3. c\n4. d", false), "part 2 has no text");
    EXPECT_EQ(CheckFourParts("", false), "missing part 1 (a line starting with \"1.\")");
}

}  // namespace
}  // namespace vg::guidance
