#include <benchmark/benchmark.h>

#include <cstdlib>

#include "vg/guidance/composer.hpp"
#include "vg/guidance/knowledge_base.hpp"

namespace vg::guidance {
namespace {

const KnowledgeBase& Shipped() {
    static const std::unique_ptr<KnowledgeBase> kb = [] {
        Result<std::unique_ptr<KnowledgeBase>> r = KnowledgeBase::Load(VG_KNOWLEDGE_DIR);
        if (!r.ok()) std::abort();
        return std::move(r).value();
    }();
    return *kb;
}

GuidanceRequest Request(std::vector<Topic> topics) {
    GuidanceRequest req;
    req.level = domain::Level::kDanger;
    req.topics = std::move(topics);
    req.language = Language::kKo;
    req.reading.set(domain::Metric::kHeartRate, 146);
    req.reading.set(domain::Metric::kSpo2, 88);
    return req;
}

// One request as the escalation path makes it: one topic, danger, Korean.
void BM_ComposeOneTopic(benchmark::State& state) {
    const KnowledgeBase& kb = Shipped();
    const GuidanceRequest req = Request({Topic::kTachycardia});
    for (auto _ : state) {
        Result<Guidance> g = Compose(kb, req);
        benchmark::DoNotOptimize(g);
    }
}
BENCHMARK(BM_ComposeOneTopic);

// Three topics: three retrievals, de-duplication of actions and sources.
void BM_ComposeThreeTopics(benchmark::State& state) {
    const KnowledgeBase& kb = Shipped();
    const GuidanceRequest req = Request({Topic::kFall, Topic::kLowSpo2, Topic::kTachycardia});
    for (auto _ : state) {
        Result<Guidance> g = Compose(kb, req);
        benchmark::DoNotOptimize(g);
    }
}
BENCHMARK(BM_ComposeThreeTopics);

void BM_SearchKorean(benchmark::State& state) {
    const KnowledgeBase& kb = Shipped();
    for (auto _ : state) {
        Result<std::vector<PageHit>> hits = kb.Search("저혈당");
        benchmark::DoNotOptimize(hits);
    }
}
BENCHMARK(BM_SearchKorean);

void BM_LoadKnowledgeBase(benchmark::State& state) {
    for (auto _ : state) {
        Result<std::unique_ptr<KnowledgeBase>> kb = KnowledgeBase::Load(VG_KNOWLEDGE_DIR);
        benchmark::DoNotOptimize(kb);
    }
}
BENCHMARK(BM_LoadKnowledgeBase)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vg::guidance
