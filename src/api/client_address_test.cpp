// Whose address a request is counted under (issue 15 item 2): X-Forwarded-For believed only from the
// operator's proxies, read from the right.
#include "client_address.hpp"

#include <gtest/gtest.h>

namespace vg::api {
namespace {

http::Request From(std::string peer, std::vector<std::string> forwarded_lines = {}) {
    http::Request r;
    r.method = "POST";
    r.path = "/api/login";
    r.remote_address = std::move(peer);
    for (auto& line : forwarded_lines) r.headers.push_back({"x-forwarded-for", std::move(line)});
    return r;
}

std::vector<IpRange> Ranges(std::initializer_list<const char*> texts) {
    std::vector<IpRange> out;
    for (const char* t : texts) out.push_back(*ParseIpRange(t));
    return out;
}

TEST(ClientAddressTest, WithoutTrustedProxiesTheHeaderIsIgnored) {
    EXPECT_EQ(ClientAddressOf(From("198.51.100.7", {"203.0.113.1"}), {}), "198.51.100.7");
    EXPECT_EQ(ClientAddressOf(From("127.0.0.1", {"203.0.113.1"}), {}), "127.0.0.1");
}

TEST(ClientAddressTest, FromAPeerThatIsNotTrustedTheHeaderIsIgnored) {
    const auto trusted = Ranges({"10.0.0.0/8"});
    EXPECT_EQ(ClientAddressOf(From("198.51.100.7", {"203.0.113.1, 10.0.0.2"}), trusted), "198.51.100.7");
}

TEST(ClientAddressTest, SpoofedLeftMostEntriesAreNeverTheClient) {
    const auto trusted = Ranges({"127.0.0.0/8", "::1"});
    // The proxy appended the address it saw (198.51.100.7); whatever the client wrote before it is ignored.
    for (const char* spoofed : {"203.0.113.1", "203.0.113.2", "1.1.1.1, 2.2.2.2", "127.0.0.1", "::1", "nonsense"}) {
        EXPECT_EQ(ClientAddressOf(From("127.0.0.1", {std::string(spoofed) + ", 198.51.100.7"}), trusted),
                  "198.51.100.7")
            << spoofed;
    }
    EXPECT_EQ(ClientAddressOf(From("127.0.0.1", {"198.51.100.7"}), trusted), "198.51.100.7");
}

TEST(ClientAddressTest, AChainOfTrustedProxiesIsWalkedFromTheRight) {
    const auto trusted = Ranges({"10.0.0.0/8", "192.168.1.0/24"});
    // client -> CDN edge (untrusted, 203.0.113.9 wrote nothing we believe) -> 192.168.1.5 -> 10.0.0.2 -> us.
    EXPECT_EQ(ClientAddressOf(From("10.0.0.2", {"1.2.3.4, 198.51.100.7, 192.168.1.5"}), trusted), "198.51.100.7");
    // Every hop trusted: the left-most is the client.
    EXPECT_EQ(ClientAddressOf(From("10.0.0.2", {"10.9.9.9, 192.168.1.5"}), trusted), "10.9.9.9");
    // Several header lines are one list, in order.
    EXPECT_EQ(ClientAddressOf(From("10.0.0.2", {"6.6.6.6", "198.51.100.7", "192.168.1.5"}), trusted), "198.51.100.7");
    // A trusted peer with no header is itself the client.
    EXPECT_EQ(ClientAddressOf(From("10.0.0.2"), trusted), "10.0.0.2");
}

TEST(ClientAddressTest, Ipv6PeersAndEntries) {
    const auto trusted = Ranges({"::1", "2001:db8:ffff::/48", "10.0.0.0/8"});
    EXPECT_EQ(ClientAddressOf(From("::1", {"2001:db8::dead, 2001:0db8:0000::beef"}), trusted), "2001:db8::beef");
    EXPECT_EQ(ClientAddressOf(From("2001:db8:ffff::2", {"2001:db8::1, 2001:db8:ffff::3"}), trusted), "2001:db8::1");
    // IPv4-mapped spellings are the IPv4 address, in and out of ranges.
    EXPECT_EQ(ClientAddressOf(From("::1", {"::ffff:198.51.100.7"}), trusted), "198.51.100.7");
    EXPECT_EQ(ClientAddressOf(From("::1", {"198.51.100.7, ::ffff:10.1.2.3"}), trusted), "198.51.100.7");
    EXPECT_EQ(ClientAddressOf(From("::ffff:10.0.0.2", {"198.51.100.7"}), trusted), "198.51.100.7");
}

TEST(ClientAddressTest, MalformedEntriesCountAsTheTrustedHopThatWroteThem) {
    const auto trusted = Ranges({"127.0.0.0/8", "10.0.0.0/8"});
    for (const char* bad : {"unknown", "", " ", "198.51.100.7:5555", "[2001:db8::1]", "198.51.100.7 x", "300.1.1.1",
                            "198.51.100.7,", "198.51.100.7, , "}) {
        EXPECT_EQ(ClientAddressOf(From("127.0.0.1", {bad}), trusted), "127.0.0.1") << "'" << bad << "'";
    }
    EXPECT_EQ(ClientAddressOf(From("127.0.0.1", {"198.51.100.7, junk, 10.0.0.3"}), trusted), "10.0.0.3");
    EXPECT_EQ(ClientAddressOf(From("127.0.0.1", {"junk, 198.51.100.7"}), trusted), "198.51.100.7");
    EXPECT_EQ(ClientAddressOf(From("127.0.0.1", {"\t198.51.100.7 "}), trusted), "198.51.100.7");
}

}  // namespace
}  // namespace vg::api
