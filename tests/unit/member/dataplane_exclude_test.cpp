// The exclude rules as XFRM allow policies (member/dataplane/dataplane_exclude.h): both
// directions, both families for a rule without prefixes, port ranges as aligned blocks.
#include "dataplane/dataplane_exclude.h"

#include <catch2/catch.hpp>

using namespace member;

namespace {

GroupConfig with_exclude(policy::Selector s) {
    GroupConfig g;
    g.name = "G";
    g.id = 1;
    g.exclude.push_back({std::move(s)});
    return g;
}

std::string text(const xfrm::Selector& s) {
    return s.src.to_string() + " " + s.dst.to_string() + " p" + std::to_string(s.proto) + " " +
           std::to_string(s.src_port) + "/" + std::to_string(s.src_port_mask) + " " +
           std::to_string(s.dst_port) + "/" + std::to_string(s.dst_port_mask);
}

}  // namespace

TEST_CASE("exclude policies: BGP without prefixes, both directions and both families",
          "[dataplane][exclude]") {
    policy::Selector bgp;
    bgp.protocol = 6;
    bgp.destination_port = policy::PortRange::single(179);
    const auto p = exclude_policies({with_exclude(bgp)});
    std::vector<std::string> got;
    for (const auto& x : p) {
        CHECK(x.dir == xfrm::Direction::fwd);
        CHECK(x.action == xfrm::Action::allow);
        CHECK(x.templates.empty());
        CHECK(x.priority == kExcludePolicyPriority);
        CHECK(is_exclude_policy(x));
        got.push_back(text(x.selector));
    }
    CHECK(got == std::vector<std::string>{"0.0.0.0/0 0.0.0.0/0 p6 0/0 179/0", "::/0 ::/0 p6 0/0 179/0",
                                          "0.0.0.0/0 0.0.0.0/0 p6 179/0 0/0", "::/0 ::/0 p6 179/0 0/0"});
    // Priority: above the fwd policies (1000, lower wins), below the carrier guard (100).
    CHECK(kExcludePolicyPriority < 1000);
    CHECK(kExcludePolicyPriority > 100);
}

TEST_CASE("exclude policies: a prefix binds the family, a port range becomes aligned blocks",
          "[dataplane][exclude]") {
    policy::Selector s;
    s.source = policy::Prefix::parse("2001:db8:1::/48").value();
    s.protocol = 17;
    s.destination_port = policy::PortRange{1000, 1027};                   // 1000-1007, 1008-1023, 1024-1027
    const auto p = exclude_policies({with_exclude(s), with_exclude(s)});  // duplicates once
    std::vector<std::string> got;
    for (const auto& x : p) got.push_back(text(x.selector));
    CHECK(got == std::vector<std::string>{
                     "2001:db8:1::/48 ::/0 p17 0/0 1000/65528", "2001:db8:1::/48 ::/0 p17 0/0 1008/65520",
                     "2001:db8:1::/48 ::/0 p17 0/0 1024/65532", "::/0 2001:db8:1::/48 p17 1000/65528 0/0",
                     "::/0 2001:db8:1::/48 p17 1008/65520 0/0", "::/0 2001:db8:1::/48 p17 1024/65532 0/0"});
    CHECK(exclude_policies({}).empty());

    // A policy of another kind is not one of them.
    auto fwd = p.front();
    fwd.priority = 1000;
    CHECK(!is_exclude_policy(fwd));
}
