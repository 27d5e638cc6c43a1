// Time to apply the member's nft table as one atomic batch, for 10 and 1,000 group policies
// (a small and a large table). Runs in a private network namespace (unshare), so it never
// touches the host's ruleset. Needs root / CAP_SYS_ADMIN + CAP_NET_ADMIN.
//   build-policy/bench/policy-apply [runs]
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "policy/compile.h"
#include "policy/nft_table.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// n policies 10.1.0.0/24 -> 10.<2 + i/256>.<i%256>.0/24, ten excludes, ten fail-open rules.
policy::MemberRules member(std::size_t n, bool tek) {
    policy::MemberRules r;
    r.wan_ifname = "wan0";
    r.lan_ifnames = {"lan0"};
    r.carrier.g_in = *policy::Ipv4::parse("192.0.0.1");
    r.carrier.g_out = *policy::Ipv4::parse("192.0.0.2");
    r.clear_mark = 0x10;
    r.local_scope = {*policy::Prefix::parse("10.1.0.0/16")};
    policy::RuleSet g;
    g.group_id = 1;
    g.group_name = "BENCH";
    g.has_valid_tek = tek;
    for (std::size_t i = 0; i < n; ++i) {
        policy::Selector s;
        s.source = *policy::Prefix::parse("10.1.0.0/24");
        s.destination = *policy::Prefix::parse("10." + std::to_string(2 + i / 256) + "." +
                                               std::to_string(i % 256) + ".0/24");
        g.policies.push_back({s});
    }
    for (std::uint16_t i = 0; i < 10; ++i) {
        policy::Selector s;
        s.protocol = 6;
        s.destination_port = policy::PortRange::single(static_cast<std::uint16_t>(179 + i));
        g.exclude.push_back({s});
        policy::Selector f;
        f.source = *policy::Prefix::parse("10.1.0.0/24");
        f.destination = *policy::Prefix::parse("10.2." + std::to_string(i) + ".0/24");
        f.protocol = 1;
        g.fail_open.push_back({f});
    }
    r.groups.push_back(g);
    return r;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::atoi(argv[1]) : 9;
    if (unshare(CLONE_NEWNET) != 0) {
        std::perror("unshare(CLONE_NEWNET) (run as root)");
        return 1;
    }
    std::printf("policy-apply: %d runs each, private netns, median (min) in ms\n", runs);
    std::printf("%8s %7s %9s %12s %16s %16s\n", "policies", "rules", "messages", "compile", "apply (new)",
                "apply (replace)");
    for (const std::size_t n : {std::size_t{10}, std::size_t{1000}}) {
        const auto rules = member(n, false);
        std::vector<double> compile_ms, fresh_ms, replace_ms;
        std::size_t rule_count = 0, messages = 0;
        for (int i = 0; i < runs; ++i) {
            auto t0 = Clock::now();
            auto table = policy::compile(rules);
            compile_ms.push_back(ms_since(t0));
            if (!table) return std::fprintf(stderr, "%s\n", table.error().message.c_str()), 1;
            if (auto st = policy::remove_table(); !st)
                return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
            t0 = Clock::now();
            auto a = policy::apply(*table);  // table absent: create
            fresh_ms.push_back(ms_since(t0));
            if (!a) return std::fprintf(stderr, "%s\n", a.error().message.c_str()), 1;
            t0 = Clock::now();
            auto b = policy::apply(*table);  // table present: atomic delete + recreate
            replace_ms.push_back(ms_since(t0));
            if (!b) return std::fprintf(stderr, "%s\n", b.error().message.c_str()), 1;
            rule_count = b->rules;
            messages = b->messages;
        }
        const auto fmt = [](const std::vector<double>& v) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.2f (%.2f)", median(v), *std::min_element(v.begin(), v.end()));
            return std::string(buf);
        };
        std::printf("%8zu %7zu %9zu %12s %16s %16s\n", n, rule_count, messages, fmt(compile_ms).c_str(),
                    fmt(fresh_ms).c_str(), fmt(replace_ms).c_str());
    }
    // Fail-open toggling (a TEK arrives / expires) without rebuilding the table.
    const auto rules = member(1000, false);
    std::vector<double> toggle_ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        if (auto st = policy::set_fail_open(rules, 1, i % 2 == 0); !st)
            return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
        toggle_ms.push_back(ms_since(t0));
    }
    std::printf("fail-open set toggle (10 elements, 1000-policy table): %.2f ms median\n", median(toggle_ms));
    return 0;
}
