// Features, the data format, the split and the XGBoost wrapper.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "vg/models/booster.hpp"
#include "vg/models/dataset.hpp"
#include "vg/models/features.hpp"
#include "vg/models/tree_ensemble.hpp"

namespace vg::models {
namespace {

using domain::Metric;

domain::VitalsReading Reading(int64_t minute, double hr, double rr = 15, double spo2 = 97, double temp = 33.5,
                              double steps = 0, double cal = 1.1) {
    domain::VitalsReading r;
    r.measured_at = FromUnixMillis(1'800'000'000'000 + minute * 60'000);
    r.set(Metric::kHeartRate, hr);
    r.set(Metric::kRespirationRate, rr);
    r.set(Metric::kSpo2, spo2);
    r.set(Metric::kSkinTemp, temp);
    r.set(Metric::kSteps, steps);
    r.set(Metric::kCalories, cal);
    return r;
}

TEST(FeaturesTest, NamesMatchTheVectorAndMissingValuesAreNaN) {
    EXPECT_EQ(FeatureNames().size(), kFeatureCount);
    FeatureTracker t;
    domain::VitalsReading r;
    r.measured_at = FromUnixMillis(0);
    r.set(Metric::kHeartRate, 80);
    const FeatureVector f = t.Extract(r, ExercisePca{});
    EXPECT_EQ(f[0], 80.0f);
    EXPECT_TRUE(std::isnan(f[1]));   // no respiration
    EXPECT_TRUE(std::isnan(f[6]));   // no baseline before warm-up
    EXPECT_TRUE(std::isnan(f[10]));  // no slope from one reading
    EXPECT_EQ(f[15], 0.0f);
}

TEST(FeaturesTest, BaselineDeltaAndSlopeFollowTheWearer) {
    FeatureTracker t;
    for (int m = 0; m < FeatureTracker::kBaselineWarmup; ++m) t.Extract(Reading(m, 60), ExercisePca{});
    const FeatureVector steady = t.Extract(Reading(30, 60), ExercisePca{});
    EXPECT_NEAR(steady[6], 0.0, 1e-3);
    EXPECT_NEAR(steady[10], 0.0, 1e-3);
    FeatureVector rising{};
    for (int m = 31; m <= 36; ++m) rising = t.Extract(Reading(m, 60 + 5 * (m - 30)), ExercisePca{});
    EXPECT_NEAR(rising[6], 30.0, 1.0) << "90 bpm against a usual 60";
    EXPECT_NEAR(rising[10], 5.0, 0.2) << "5 bpm per minute";
    EXPECT_EQ(rising[15], 0.0f);
    const FeatureVector high = t.Extract(Reading(37, 120), ExercisePca{});
    EXPECT_EQ(high[15], 1.0f) << "high heart rate without exercise-level movement";
}

TEST(FeaturesTest, ExercisePcaFitsAndFlagsOnlyOutsideExercise) {
    std::vector<std::pair<double, double>> rows;
    for (int i = 0; i < 200; ++i) rows.emplace_back(i % 2 ? 0.0 : 120.0, i % 2 ? 1.1 : 6.5);
    auto pca = ExercisePca::Fit(rows);
    ASSERT_TRUE(pca.ok());
    EXPECT_GT(pca->Project(120, 6.5), pca->Project(0, 1.1)) << "more movement is positive";
    FeatureTracker t;
    const FeatureVector running = t.Extract(Reading(0, 130, 20, 97, 33, 120, 6.5), *pca);
    EXPECT_EQ(running[15], 0.0f) << "a high heart rate while running is not the flag";
    EXPECT_FALSE(ExercisePca::Fit({{1, 1}}).ok());
}

TEST(DatasetTest, ReadsTheDocumentedFormatAndBuildsFeaturesInTimeOrderPerWearer) {
    std::istringstream csv(
        "wearer,timestamp,heart_rate,respiration_rate,spo2,skin_temp,steps,calories,status,cause_heart_rate,"
        "cause_respiration_rate,cause_skin_temp,cause_spo2\n"
        "b,1800000120000,150,22,95,33.5,0,1.2,2,1,0,0,0\n"
        "a,1800000000000,70,15,97,33.5,0,1.1,0,,,,\n"
        "b,1800000000000,72,15,97,,0,1.1,0,,,,\n"
        "b,1800000060000,110,18,96,33.4,,1.1,1,1,0,0,0\n");
    auto data = ReadDatasetCsv(csv);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    ASSERT_EQ(data->rows.size(), 4u);
    EXPECT_TRUE(data->has_causes);
    EXPECT_FALSE(data->rows[2].reading.get(Metric::kSkinTemp).has_value());
    EXPECT_EQ(data->rows[0].causes[0], 1);
    // Serving feeds a wearer's readings one by one in time order: training must see the same features.
    const FeatureMatrix fm = BuildFeatures(*data, ExercisePca{});
    ASSERT_EQ(fm.matrix.rows, 4u);
    FeatureTracker b;
    std::vector<FeatureVector> served;
    for (size_t i : {2u, 3u, 0u}) served.push_back(b.Extract(data->rows[i].reading, ExercisePca{}));
    size_t matched = 0;
    for (size_t row = 0; row < fm.order.size(); ++row) {
        if (data->rows[fm.order[row]].wearer != "b") continue;
        for (size_t k = 0; k < kFeatureCount; ++k) {
            const float x = fm.matrix.values[row * kFeatureCount + k];
            const float y = served[matched][k];
            EXPECT_TRUE((std::isnan(x) && std::isnan(y)) || x == y)
                << "row " << row << " feature " << FeatureNames()[k];
        }
        ++matched;
    }
    EXPECT_EQ(matched, 3u);
    // Round trip through the writer.
    std::ostringstream out;
    WriteDatasetCsv(*data, out);
    std::istringstream again(out.str());
    auto reread = ReadDatasetCsv(again);
    ASSERT_TRUE(reread.ok()) << reread.status().ToString();
    EXPECT_EQ(reread->rows.size(), 4u);
}

TEST(DatasetTest, BadDataNamesTheRowAndColumn) {
    std::istringstream csv(
        "wearer,timestamp,heart_rate,respiration_rate,spo2,skin_temp,steps,calories,status,cause_heart_rate,"
        "cause_respiration_rate,cause_skin_temp,cause_spo2\n"
        "a,1800000000000,70,15,97,33.5,0,1.1,0,,,,\n"
        "a,yesterday,70,15,97,33.5,0,1.1,0,,,,\n"
        "a,1800000060000,abc,15,97,33.5,0,1.1,3,,,,\n"
        "a,1800000120000,150,15,97,33.5,0,1.1,2,,0,0,0\n"
        "a,1800000180000,70,15\n");
    auto data = ReadDatasetCsv(csv);
    ASSERT_FALSE(data.ok());
    std::vector<std::string> fields;
    for (const auto& f : data.status().fields()) fields.push_back(f.field);
    EXPECT_EQ(fields,
              (std::vector<std::string>{"row 3, column timestamp", "row 4, column heart_rate", "row 4, column status",
                                        "row 5, column cause_heart_rate", "row 6, column *"}));
    std::istringstream header("wearer,time,hr\n");
    EXPECT_EQ(ReadDatasetCsv(header).status().fields().at(0).field, "row 1");
}

TEST(DatasetTest, SplitIsByWearerAndDeterministic) {
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < 1000; ++i) {
        const std::string w = "wearer-" + std::to_string(i);
        const Split s = SplitOf(w, 7);
        EXPECT_EQ(s, SplitOf(w, 7));
        ++counts[static_cast<int>(s)];
    }
    EXPECT_NEAR(counts[0], 650, 60);
    EXPECT_NEAR(counts[1], 150, 40);
    EXPECT_NEAR(counts[2], 200, 40);
}

// Three classes by heart rate, with noise: a tree model must learn it, stop early, and survive a
// save/load round trip with identical predictions.
TEST(BoosterTest, TrainsStopsEarlyAndRoundTripsWithIdenticalPredictions) {
    std::mt19937 rng(3);
    std::normal_distribution<float> noise(0, 4);
    auto make = [&](size_t n, Matrix& m, std::vector<float>& labels) {
        m.rows = n;
        m.cols = 2;
        for (size_t i = 0; i < n; ++i) {
            const int cls = static_cast<int>(i % 3);
            const float hr = (cls == 0 ? 70.f : cls == 1 ? 115.f : 150.f) + noise(rng);
            m.values.push_back(hr);
            m.values.push_back(i % 7 == 0 ? std::nanf("") : 97.f + noise(rng) / 4);
            labels.push_back(static_cast<float>(cls));
        }
    };
    Matrix train, valid, test;
    std::vector<float> ytrain, yvalid, ytest;
    make(900, train, ytrain);
    make(300, valid, yvalid);
    make(300, test, ytest);
    TrainOptions o;
    o.max_rounds = 200;
    o.early_stopping_rounds = 10;
    int rounds_seen = 0;
    o.on_round = [&](int, double, double) { ++rounds_seen; };
    auto model = Booster::Train(train, ytrain, valid, yvalid, o);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    EXPECT_LT(rounds_seen, 200) << "early stopping";
    EXPECT_GT(model->rounds(), 0);
    auto p = model->Predict(test);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_EQ(p->size(), 900u);
    int correct = 0;
    for (size_t i = 0; i < test.rows; ++i) {
        const float* row = p->data() + i * 3;
        const int best = static_cast<int>(std::max_element(row, row + 3) - row);
        correct += best == static_cast<int>(ytest[i]);
    }
    EXPECT_GT(correct, 280) << "held-out accuracy";
    auto json = model->SaveJson();
    ASSERT_TRUE(json.ok());
    auto loaded = Booster::LoadJson(*json);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->rounds(), model->rounds());
    auto q = loaded->Predict(test);
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(*p, *q) << "identical predictions after save/load";
    // The native evaluator used for serving gives XGBoost's probabilities.
    auto native = TreeEnsemble::FromXgboostJson(*json);
    ASSERT_TRUE(native.ok()) << native.status().ToString();
    ASSERT_EQ(native->num_outputs(), 3u);
    for (size_t i = 0; i < test.rows; ++i) {
        float out[3];
        native->Predict(test.values.data() + i * test.cols, out);
        for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(out[c], (*p)[i * 3 + c], 1e-5) << "row " << i;
    }
    EXPECT_FALSE(TreeEnsemble::FromXgboostJson(R"({"learner": {}})").ok());
    // Bad input is an error, not a crash.
    Matrix wrong;
    wrong.rows = 1;
    wrong.cols = 3;
    wrong.values = {1, 2, 3};
    EXPECT_EQ(loaded->Predict(wrong).status().code(), ErrorCode::kValidationFailed);
    EXPECT_FALSE(Booster::LoadJson("{not a model").ok());
    std::vector<float> bad_labels(ytrain.size(), 5.0f);
    EXPECT_EQ(Booster::Train(train, bad_labels, valid, yvalid, o).status().code(), ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace vg::models

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "vg/models/status_model.hpp"

namespace vg::models {
namespace {

// 40 wearers an hour each; some have a tachycardia (danger) or a fever (caution) half-way, and some
// exercise (a high heart rate that is normal): labels are the truth, not a threshold on one reading.
Dataset SyntheticFleet() {
    Dataset d;
    d.has_causes = true;
    std::mt19937 rng(11);
    std::normal_distribution<double> noise(0, 1.5);
    for (int w = 0; w < 40; ++w) {
        for (int m = 0; m < 60; ++m) {
            LabelledReading r;
            r.wearer = "w" + std::to_string(w);
            const bool late = m >= 30;
            double hr = 68 + noise(rng), temp = 33.5 + noise(rng) / 10, steps = 0, cal = 1.1;
            if (w % 4 == 1 && late) {
                hr = 150 + noise(rng);
                r.status = 2;
                r.causes = {1, 0, 0, 0};
            } else if (w % 4 == 2 && late) {
                temp = 35.5 + noise(rng) / 10;
                r.status = 1;
                r.causes = {0, 0, 1, 0};
            } else if (w % 4 == 3 && late) {
                hr = 135 + noise(rng);
                steps = 120;
                cal = 6.5;
            }
            r.reading = Reading(m, hr, 15, 97, temp, steps, cal);
            d.rows.push_back(r);
        }
    }
    return d;
}

TEST(StatusModelTest, TrainsOnWearersSavesLoadsAndPredictsIdentically) {
    const Dataset data = SyntheticFleet();
    TrainSettings settings;
    settings.booster.max_rounds = 60;
    settings.data_description = "synthetic";
    settings.command = "test";
    auto model = StatusModel::Train(ModelKind::kStatus, data, settings);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    ASSERT_EQ(model->test_metrics().size(), 1u);
    EXPECT_GT(model->test_metrics()[0].accuracy, 0.9);
    EXPECT_EQ(model->manifest().at("split").at("by").as_string(), "wearer");
    EXPECT_EQ(model->manifest().at("features").as_array().size(), kFeatureCount);

    const auto dir = std::filesystem::temp_directory_path() / ("vg-models-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    ASSERT_TRUE(model->Save(dir.string(), "status").ok());
    auto loaded = StatusModel::Load(dir.string(), "status");
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    FeatureTracker a, b;
    for (int m = 0; m < 40; ++m) {
        const auto r = Reading(m, m < 20 ? 70 : 150);
        auto pa = model->Predict(a.Extract(r, model->pca()));
        auto pb = loaded->Predict(b.Extract(r, loaded->pca()));
        ASSERT_TRUE(pa.ok() && pb.ok());
        EXPECT_EQ(*pa, *pb) << "minute " << m;
    }
    // The held-out evaluation is reproducible from the files.
    auto again = loaded->Evaluate(data, Split::kTest);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)[0].confusion, model->test_metrics()[0].confusion);
    // A loaded model keeps only the trees serving needs (not XGBoost's copy), so it cannot be saved again.
    EXPECT_EQ(loaded->Save(dir.string(), "again").code(), ErrorCode::kBadRequest);

    // A manifest from another feature set is refused with the field named.
    std::ofstream(dir / "bad.manifest.json") << R"({"kind": "status", "features": ["heart_rate"]})";
    auto bad = StatusModel::Load(dir.string(), "bad");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().fields().at(0).field, "features");
    std::filesystem::remove_all(dir);
}

TEST(StatusModelTest, TukeyFencesAreTheSeedsOutlierRule) {
    std::vector<domain::VitalsReading> rows;
    for (int i = 0; i < 100; ++i)
        rows.push_back(Reading(i, 60 + i % 21, 14 + i % 3, 95 + i % 4, 33.5, 0, 1 + (i % 5) * 0.1));
    std::vector<const domain::VitalsReading*> ptrs;
    for (const auto& r : rows) ptrs.push_back(&r);
    const TukeyFences f = FitTukeyFences(ptrs);
    EXPECT_FALSE(f.Outside(Reading(0, 80, 15, 97)));
    EXPECT_TRUE(f.Outside(Reading(0, 140, 15, 97))) << "heart rate above Q3 + 1.5 IQR";
    EXPECT_TRUE(f.Outside(Reading(0, 70, 15, 85))) << "SpO2 below Q1 - 1.5 IQR";
    EXPECT_FALSE(f.Outside(Reading(0, 40, 15, 97))) << "only the upper fence for heart rate, as the seed";
    TrainSettings settings;
    settings.booster.max_rounds = 20;
    settings.drop_outliers = true;
    auto model = StatusModel::Train(ModelKind::kStatus, SyntheticFleet(), settings);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    EXPECT_EQ(model->manifest().at("outliers").as_string(), "training rows outside Tukey's fences left out");
}

TEST(StatusModelTest, CauseModelNamesTheMetricAtFault) {
    const Dataset data = SyntheticFleet();
    TrainSettings settings;
    settings.booster.max_rounds = 40;
    auto model = StatusModel::Train(ModelKind::kCause, data, settings);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    EXPECT_EQ(model->test_metrics().size(), 4u);
    FeatureTracker t;
    FeatureVector f{};
    for (int m = 0; m < 35; ++m) f = t.Extract(Reading(m, 150), model->pca());
    auto p = model->Predict(f);
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->size(), 4u);
    EXPECT_GT((*p)[0], 0.5) << "heart rate at fault";
    EXPECT_LT((*p)[2], 0.5) << "skin temperature fine";
    Dataset no_causes = data;
    no_causes.has_causes = false;
    EXPECT_EQ(StatusModel::Train(ModelKind::kCause, no_causes, settings).status().code(), ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace vg::models
