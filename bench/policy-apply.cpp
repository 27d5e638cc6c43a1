// Time to compile and apply the member's nft table, for 10, 1,000 and 10,000 group policies (or the
// counts given), next to the anchor: `nft -f` of the same table text, process start included:
// new, and replacing it by one whose policies all but one differ (delete + create in one file).
// "same": applying the table the kernel already holds again (a rekey that changes no set).
// "flip": the keyed flip of a registration, in place: the table without a TEK, the group's
// policies its LAN scope (10.1.0.0/24 -> any, as gdoi-memberd before it registers), then with the
// TEK and its policies.
// Runs interleaved (ours, then nft, per repetition) in a private network namespace (unshare), so
// it never touches the host's ruleset. Needs root / CAP_SYS_ADMIN + CAP_NET_ADMIN and nft.
//   build/bench/policy-apply [runs [policies...]]
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "policy/compile.h"
#include "policy/nft_counters.h"
#include "policy/nft_table.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// n policies 10.1.0.0/24 -> 10.<2 + j/256>.<j%256>.0/24 for j = shift .. shift + n - 1, ten excludes,
// ten fail-open rules.
policy::MemberRules member(std::size_t n, bool tek, std::size_t shift = 0) {
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
        const std::size_t j = i + shift;
        s.destination = *policy::Prefix::parse("10." + std::to_string(2 + j / 256) + "." +
                                               std::to_string(j % 256) + ".0/24");
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

// Runs `nft -f file` and returns its wall time in ms (process start included), or -1 on failure.
double nft_file_ms(const std::string& file) {
    const std::string command = "nft -f " + file;
    const auto t0 = Clock::now();
    if (std::system(command.c_str()) != 0) return -1;
    return ms_since(t0);
}

std::string figures(const std::vector<double>& v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f (%.2f)", median(v), *std::min_element(v.begin(), v.end()));
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::atoi(argv[1]) : 9;
    std::vector<std::size_t> counts;
    for (int i = 2; i < argc; ++i) counts.push_back(std::strtoul(argv[i], nullptr, 10));
    if (counts.empty()) counts = {10, 1000, 10000};
    if (unshare(CLONE_NEWNET) != 0) {
        std::perror("unshare(CLONE_NEWNET) (run as root)");
        return 1;
    }
    char dir_template[] = "/tmp/policy-apply.XXXXXX";
    const char* dir = mkdtemp(dir_template);
    if (!dir) return std::perror("mkdtemp"), 1;
    const std::string fresh_file = std::string(dir) + "/new.nft",
                      replace_file = std::string(dir) + "/replace.nft";
    std::printf("policy-apply: %d runs each, interleaved with nft -f, private netns; median (min) in ms\n",
                runs);
    std::printf("%8s %6s %9s %14s %16s %16s %16s %16s %7s %7s %16s %16s %6s\n", "policies", "rules",
                "messages", "compile", "apply (new)", "nft -f (new)", "apply (replace)", "nft -f (replace)",
                "ratio n", "ratio r", "apply (same)", "apply (flip)", "msgs");
    for (const std::size_t n : counts) {
        // replace: every policy but one changes (the policies shift by one), so the scope set is new.
        const auto rules = member(n, false), changed_rules = member(n, false, 1);
        auto unkeyed_rules = member(0, false), keyed_rules = member(n, true);
        policy::Selector lan;
        lan.source = *policy::Prefix::parse("10.1.0.0/24");
        unkeyed_rules.groups[0].policies = {{lan}};
        std::vector<double> compile_ms, fresh_ms, replace_ms, same_ms, nft_fresh_ms, nft_replace_ms, flip_ms;
        std::size_t rule_count = 0, messages = 0, flip_messages = 0;
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
            const auto changed = policy::compile(changed_rules);
            if (!changed) return std::fprintf(stderr, "%s\n", changed.error().message.c_str()), 1;
            t0 = Clock::now();
            auto b = policy::apply(*changed);  // table present, other policies: replace
            replace_ms.push_back(ms_since(t0));
            if (!b) return std::fprintf(stderr, "%s\n", b.error().message.c_str()), 1;
            rule_count = b->rules;
            messages = b->messages;
            t0 = Clock::now();
            auto c = policy::apply(*changed);  // the same table again (a rekey that changes no set)
            same_ms.push_back(ms_since(t0));
            if (!c) return std::fprintf(stderr, "%s\n", c.error().message.c_str()), 1;
            // The keyed flip: fail-closed with the LAN scope, then keyed (compile included: the
            // member compiles the keyed table at the flip).
            if (auto d = policy::apply(unkeyed_rules); !d)
                return std::fprintf(stderr, "%s\n", d.error().message.c_str()), 1;
            t0 = Clock::now();
            auto e = policy::apply(keyed_rules);
            flip_ms.push_back(ms_since(t0));
            if (!e) return std::fprintf(stderr, "%s\n", e.error().message.c_str()), 1;
            flip_messages = e->messages;

            // The anchor, on the same text: compile (ours, above) is not counted for nft, which
            // has to parse that text instead.
            const std::string text = table->to_string();
            if (i == 0) {
                std::ofstream(fresh_file) << text;
                std::ofstream(replace_file)
                    << "table inet " << table->name << "\ndelete table inet " << table->name << "\n"
                    << changed->to_string();
            }
            if (auto st = policy::remove_table(); !st)
                return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
            nft_fresh_ms.push_back(nft_file_ms(fresh_file));      // table absent: create
            nft_replace_ms.push_back(nft_file_ms(replace_file));  // present: delete + create the changed one
            if (nft_fresh_ms.back() < 0 || nft_replace_ms.back() < 0)
                return std::fprintf(stderr, "nft -f %s failed\n", dir), 1;
        }
        const double ours_new = median(compile_ms) + median(fresh_ms),
                     ours_replace = median(compile_ms) + median(replace_ms);
        std::printf("%8zu %6zu %9zu %14s %16s %16s %16s %16s %7.2f %7.2f %16s %16s %6zu\n", n, rule_count,
                    messages, figures(compile_ms).c_str(), figures(fresh_ms).c_str(),
                    figures(nft_fresh_ms).c_str(), figures(replace_ms).c_str(),
                    figures(nft_replace_ms).c_str(), ours_new / median(nft_fresh_ms),
                    ours_replace / median(nft_replace_ms), figures(same_ms).c_str(), figures(flip_ms).c_str(),
                    flip_messages);
    }
    std::printf("ratio: (compile + apply) / nft -f, medians; messages: of the replace; msgs: of the flip\n");
    // Fail-open toggling (a TEK arrives / expires) without rebuilding the table.
    const auto rules = member(counts.back(), false);
    std::vector<double> toggle_ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        if (auto st = policy::set_fail_open(rules, 1, i % 2 == 0); !st)
            return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
        toggle_ms.push_back(ms_since(t0));
    }
    std::printf("fail-open set toggle (10 elements, %zu-policy table): %.2f ms median\n", counts.back(),
                median(toggle_ms));
    // Anti-replay: the window moves once a second (set_replay_window): the group's check rules
    // are replaced in place, against the table this process applied.
    auto replay_rules = member(counts.back(), true);
    replay_rules.groups[0].replay = policy::ReplayCheck{{0x1000, 0x2000}, {{100, 200}}};
    if (auto a = policy::apply(replay_rules); !a)
        return std::fprintf(stderr, "%s\n", a.error().message.c_str()), 1;
    std::vector<double> window_ms;
    for (int i = 0; i < runs; ++i) {
        const auto first = static_cast<std::uint32_t>(1000 * (i + 1));
        replay_rules.groups[0].replay->accepted = {{first, first + 500}};
        const auto t0 = Clock::now();
        if (auto st = policy::set_replay_window(replay_rules, 1); !st)
            return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
        window_ms.push_back(ms_since(t0));
    }
    std::printf("anti-replay window move (2 SPIs, %zu-policy table): %.2f ms median\n", counts.back(),
                median(window_ms));
    // One dump of the table's rules (the health check's counters; an in-place apply reads the
    // rules' handles the same way).
    std::vector<double> dump_ms;
    std::size_t dumped = 0;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        const auto counters = policy::read_rule_counters();
        dump_ms.push_back(ms_since(t0));
        if (!counters) return std::fprintf(stderr, "%s\n", counters.error().message.c_str()), 1;
        dumped = counters->size();
    }
    std::printf("rule dump (%zu rules): %.2f ms median\n", dumped, median(dump_ms));
    std::remove(fresh_file.c_str());
    std::remove(replace_file.c_str());
    rmdir(dir);
    return 0;
}
