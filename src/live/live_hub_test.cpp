#include "vg/live/live_hub.hpp"

#include <gtest/gtest.h>

namespace vg::live {
namespace {

struct Inbox : LiveSubscriber {
    bool Deliver(const std::string& m) override {
        if (closed) return false;
        messages.push_back(m);
        return true;
    }
    std::vector<std::string> messages;
    bool closed = false;
};

TEST(LiveHubTest, DeliversOnlyToSubscribersOfTheWearer) {
    LiveHub hub(4);
    auto a = std::make_shared<Inbox>();
    auto b = std::make_shared<Inbox>();
    hub.Subscribe(1, a);
    hub.Subscribe(2, b);
    hub.Subscribe(2, a);  // a guardian watching two wearers
    EXPECT_EQ(hub.Publish(1, "one"), 1);
    EXPECT_EQ(hub.Publish(2, "two"), 2);
    EXPECT_EQ(hub.Publish(3, "nobody"), 0);
    EXPECT_EQ(a->messages, (std::vector<std::string>{"one", "two"}));
    EXPECT_EQ(b->messages, (std::vector<std::string>{"two"}));
}

TEST(LiveHubTest, DropsSubscribersThatRefuse) {
    LiveHub hub;
    auto a = std::make_shared<Inbox>();
    hub.Subscribe(1, a);
    a->closed = true;
    EXPECT_EQ(hub.Publish(1, "x"), 0);
    EXPECT_EQ(hub.subscriber_count(), 0u);
}

TEST(LiveHubTest, UnsubscribeRemovesOnlyThatSubscriber) {
    LiveHub hub;
    auto a = std::make_shared<Inbox>();
    auto b = std::make_shared<Inbox>();
    hub.Subscribe(1, a);
    hub.Subscribe(1, b);
    hub.Unsubscribe(1, a.get());
    EXPECT_EQ(hub.Publish(1, "x"), 1);
    EXPECT_TRUE(a->messages.empty());
}

// Across servers: every published message also goes to the relay (even when nobody watches here, since
// watchers elsewhere are not known), and what another server relayed is delivered here only, not relayed back.
TEST(LiveHubTest, ARelayTakesEveryPublishedMessageAndDeliverLocalDoesNotRelay) {
    LiveHub hub;
    std::vector<std::pair<int64_t, std::string>> relayed;
    hub.SetRelay([&](int64_t wearer, const std::string& message) { relayed.emplace_back(wearer, message); });
    auto a = std::make_shared<Inbox>();
    hub.Subscribe(1, a);
    EXPECT_TRUE(hub.HasSubscribers(2)) << "someone elsewhere may watch wearer 2";
    EXPECT_EQ(hub.Publish(1, "here"), 1);
    EXPECT_EQ(hub.Publish(2, "elsewhere"), 0);
    EXPECT_EQ(hub.DeliverLocal(1, "from another server"), 1);
    EXPECT_EQ(relayed, (std::vector<std::pair<int64_t, std::string>>{{1, "here"}, {2, "elsewhere"}}));
    EXPECT_EQ(a->messages, (std::vector<std::string>{"here", "from another server"}));
}

}  // namespace
}  // namespace vg::live
