#include "vg/common/ip_range.hpp"

#include <gtest/gtest.h>

namespace vg {
namespace {

TEST(IpAddressTest, ParsesBothFamiliesAndPrintsThemBack) {
    struct Case {
        const char* text;
        const char* printed;
    };
    for (const Case& c : {Case{"192.0.2.1", "192.0.2.1"}, Case{"::ffff:192.0.2.1", "192.0.2.1"},
                          Case{"2001:DB8:0::1", "2001:db8::1"}, Case{"::1", "::1"}, Case{"::", "::"}}) {
        auto a = ParseIpAddress(c.text);
        ASSERT_TRUE(a) << c.text;
        EXPECT_EQ(ToString(*a), c.printed) << c.text;
    }
    EXPECT_EQ(ParseIpAddress("192.0.2.1"), ParseIpAddress("::ffff:192.0.2.1"));
    for (const char* bad :
         {"", " 192.0.2.1", "192.0.2.1 ", "192.0.2", "192.0.2.256", "192.0.2.1:80", "[::1]", "fe80::1%eth0",
          "host.example", "1:2:3:4:5:6:7:8:9", "01234567890123456789012345678901234567890123456789"}) {
        EXPECT_FALSE(ParseIpAddress(bad)) << bad;
    }
}

TEST(IpRangeTest, RangesContainTheirAddressesOnly) {
    auto ten = ParseIpRange("10.0.0.0/8");
    ASSERT_TRUE(ten.ok());
    EXPECT_TRUE(ten->Contains("10.0.0.0"));
    EXPECT_TRUE(ten->Contains("10.255.255.255"));
    EXPECT_TRUE(ten->Contains("::ffff:10.1.2.3"));
    EXPECT_FALSE(ten->Contains("11.0.0.0"));
    EXPECT_FALSE(ten->Contains("::a00:1"));  // IPv4-compatible, not mapped: an IPv6 address
    EXPECT_FALSE(ten->Contains("not an address"));

    auto one = ParseIpRange("192.0.2.7");
    ASSERT_TRUE(one.ok());
    EXPECT_TRUE(one->Contains("192.0.2.7"));
    EXPECT_FALSE(one->Contains("192.0.2.6"));

    auto odd = ParseIpRange("172.16.0.0/12");
    ASSERT_TRUE(odd.ok());
    EXPECT_TRUE(odd->Contains("172.31.255.1"));
    EXPECT_FALSE(odd->Contains("172.32.0.1"));

    auto all_v4 = ParseIpRange("0.0.0.0/0");
    ASSERT_TRUE(all_v4.ok());
    EXPECT_TRUE(all_v4->Contains("203.0.113.1"));
    EXPECT_FALSE(all_v4->Contains("2001:db8::1"));

    auto v6 = ParseIpRange("2001:db8::/32");
    ASSERT_TRUE(v6.ok());
    EXPECT_TRUE(v6->Contains("2001:db8:1234::1"));
    EXPECT_FALSE(v6->Contains("2001:db9::1"));
    EXPECT_FALSE(v6->Contains("10.0.0.1"));

    EXPECT_TRUE(LoopbackV4().Contains("127.8.9.10"));
    EXPECT_TRUE(LoopbackV6().Contains("::1"));
    EXPECT_FALSE(LoopbackV6().Contains("::2"));
}

TEST(IpRangeTest, RefusesWhatIsNotARangeSayingWhy) {
    struct Case {
        const char* text;
        const char* says;
    };
    for (const Case& c : {Case{"10.0.0.1/8", "host bits"}, Case{"2001:db8::1/32", "host bits"},
                          Case{"10.0.0.0/33", "prefix length must be 0 to 32"},
                          Case{"2001:db8::/129", "prefix length must be 0 to 128"}, Case{"10.0.0.0/", "prefix length"},
                          Case{"10.0.0.0/-1", "prefix length"}, Case{"10.0.0.0/8x", "prefix length"},
                          Case{"proxy.example", "not an IP address or range"}, Case{"", "not an IP address or range"},
                          Case{"10.0.0.0 /8", "not an IP address"}}) {
        auto r = ParseIpRange(c.text);
        ASSERT_FALSE(r.ok()) << c.text;
        EXPECT_EQ(r.status().code(), ErrorCode::kValidationFailed);
        EXPECT_NE(r.status().message().find(c.says), std::string::npos) << c.text << ": " << r.status().message();
        EXPECT_NE(r.status().message().find(c.text), std::string::npos) << "names what was written";
    }
}

}  // namespace
}  // namespace vg
