// Test driver for tests/nft: builds MemberRules from the command line and applies them (or
// toggles fail-open, removes the table, checks it exists) in the current network namespace.
// Run it inside a test namespace: `ip netns exec NS policy_tool ...`.
//
//   policy_tool [options] apply | hold | churn PID | flip [back] | fail-open GROUP on|off |
//   replay-window GROUP RANGES | remove | exists | print
// churn PID: while process PID lives, replace the table again and again in this process, each time
// with one more policy (10.9.<k>.0/24, k = 0..99 round) so that the scope set changes every time,
// and every other time keyed (the groups' --tek) or not (no group has a TEK: the keyed flip).
// replay-window GROUP RANGES: refill the group's anti-replay window set (set_replay_window).
// flip [back]: in this process, apply the rules unkeyed (no group has a TEK, each group's policies
// are its --unkeyed-policy selectors when it has some, as a member's before registration), then
// as given (the keyed flip), then with `back` unkeyed again; prints one report line per apply.
// options: --wan IF --lan IF (repeatable) --carrier IF --g-in A --g-out A --mark N
//          --local PREFIX (repeatable) --table NAME --peers PREFIX --own SEL (repeatable)
//          --g-in6 A --g-out6 A --peers6 PREFIX (the IPv6 carrier)
//          --group ID [--name N] [--tek] [--carrier-peer A] [--clear-df] [--carrier6 IF --carrier6-peer A]
//          then, for that group, repeatable:
//          --policy SEL --exclude SEL --fail-open SEL --unkeyed-policy SEL
//          --replay-spi SPI (anti-replay check of an inbound SPI) --replay-window RANGES
// RANGES: FIRST-LAST[,FIRST-LAST] ESP sequence numbers (decimal or 0x hex)
// SEL: space-separated key=value: src=PREFIX dst=PREFIX proto=NAME|NUM sport=P[-Q] dport=P[-Q]
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "policy/compile.h"
#include "policy/nft_table.h"

namespace {

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "policy_tool: %s\n", msg.c_str());
    std::exit(2);
}

template <typename T>
T must(common::Result<T> r) {
    if (!r) die(r.error().message);
    return std::move(r).value();
}

policy::PortRange parse_ports(const std::string& text) {
    const auto dash = text.find('-');
    const auto num = [&](const std::string& s) {
        unsigned v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || end != s.data() + s.size() || v > 65535) die("bad port '" + text + "'");
        return static_cast<std::uint16_t>(v);
    };
    if (dash == std::string::npos) return policy::PortRange::single(num(text));
    return {num(text.substr(0, dash)), num(text.substr(dash + 1))};
}

policy::Selector parse_selector(const std::string& text) {
    policy::Selector s;
    std::istringstream in(text);
    std::string item;
    while (in >> item) {
        const auto eq = item.find('=');
        if (eq == std::string::npos) die("selector item '" + item + "' is not key=value");
        const auto key = item.substr(0, eq), value = item.substr(eq + 1);
        if (key == "src")
            s.source = must(policy::Prefix::parse(value));
        else if (key == "dst")
            s.destination = must(policy::Prefix::parse(value));
        else if (key == "proto")
            s.protocol = must(policy::parse_protocol(value));
        else if (key == "sport")
            s.source_port = parse_ports(value);
        else if (key == "dport")
            s.destination_port = parse_ports(value);
        else
            die("unknown selector key '" + key + "'");
    }
    return s;
}

void print_report(const char* what, const policy::ApplyReport& r) {
    std::printf("%s: %zu rules, %zu sets, %zu messages ACKed, %s, %zu rules written\n", what, r.rules, r.sets,
                r.messages, policy::to_string(r.how), r.rules_written);
    std::fflush(stdout);
}

std::vector<policy::SequenceRange> parse_sequence_ranges(const std::string& text) {
    std::vector<policy::SequenceRange> out;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        const auto dash = item.find('-');
        if (dash == std::string::npos) die("bad sequence range '" + item + "' (FIRST-LAST)");
        out.push_back({static_cast<std::uint32_t>(std::stoul(item.substr(0, dash), nullptr, 0)),
                       static_cast<std::uint32_t>(std::stoul(item.substr(dash + 1), nullptr, 0))});
    }
    return out;
}

// The rules of a member whose groups have no TEK yet (flip, churn).
policy::MemberRules unkeyed(policy::MemberRules rules,
                            const std::vector<std::vector<policy::GroupPolicy>>& unkeyed_policies) {
    for (std::size_t i = 0; i < rules.groups.size(); ++i) {
        rules.groups[i].has_valid_tek = false;
        if (!unkeyed_policies[i].empty()) rules.groups[i].policies = unkeyed_policies[i];
    }
    return rules;
}

}  // namespace

int main(int argc, char** argv) {
    policy::MemberRules rules;
    rules.carrier.g_in = must(policy::Ipv4::parse("192.0.0.1"));
    rules.carrier.g_out = must(policy::Ipv4::parse("192.0.0.2"));
    rules.clear_mark = 0x10;
    std::vector<std::string> command;
    std::vector<std::vector<policy::GroupPolicy>> unkeyed_policies;  // per group: --unkeyed-policy
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        // The IPv6 carrier (ip6tnl): created by the first of its options.
        const auto carrier6 = [&]() -> policy::Carrier6& {
            if (!rules.carrier.ipv6) rules.carrier.ipv6.emplace();
            return *rules.carrier.ipv6;
        };
        const auto group = [&]() -> policy::RuleSet& {
            if (rules.groups.empty()) die(a + " before any --group");
            return rules.groups.back();
        };
        if (a == "--wan")
            rules.wan_ifname = next();
        else if (a == "--lan")
            rules.lan_ifnames.push_back(next());
        else if (a == "--carrier")
            rules.carrier.ifname = next();
        else if (a == "--g-in")
            rules.carrier.g_in = must(policy::Ipv4::parse(next()));
        else if (a == "--g-out")
            rules.carrier.g_out = must(policy::Ipv4::parse(next()));
        else if (a == "--mark")
            rules.clear_mark = static_cast<std::uint32_t>(std::stoul(next(), nullptr, 0));
        else if (a == "--local")
            rules.local_scope.push_back(must(policy::Prefix::parse(next())));
        else if (a == "--table")
            rules.table_name = next();
        else if (a == "--peers")
            rules.carrier.peers = must(policy::Prefix::parse(next()));
        else if (a == "--g-in6")
            carrier6().g_in = must(common::IpAddress::parse(next()));
        else if (a == "--g-out6")
            carrier6().g_out = must(common::IpAddress::parse(next()));
        else if (a == "--peers6")
            carrier6().peers = must(policy::Prefix::parse(next()));
        else if (a == "--own")
            rules.own_traffic.push_back(parse_selector(next()));
        else if (a == "--group") {
            policy::RuleSet g;
            g.group_id = static_cast<std::uint32_t>(std::stoul(next()));
            rules.groups.push_back(g);
            unkeyed_policies.emplace_back();
        } else if (a == "--name")
            group().group_name = next();
        else if (a == "--tek")
            group().has_valid_tek = true;
        else if (a == "--carrier-peer")
            group().carrier_peer = must(policy::Ipv4::parse(next()));
        else if (a == "--carrier6")
            group().carrier6_ifname = next();
        else if (a == "--carrier6-peer")
            group().carrier6_peer = must(common::IpAddress::parse(next()));
        else if (a == "--clear-df")
            group().clear_df = true;
        else if (a == "--replay-spi") {
            if (!group().replay) group().replay.emplace();
            group().replay->spis.push_back(static_cast<std::uint32_t>(std::stoul(next(), nullptr, 0)));
        } else if (a == "--replay-window") {
            if (!group().replay) group().replay.emplace();
            group().replay->accepted = parse_sequence_ranges(next());
        } else if (a == "--policy")
            group().policies.push_back({parse_selector(next())});
        else if (a == "--exclude")
            group().exclude.push_back({parse_selector(next())});
        else if (a == "--fail-open")
            group().fail_open.push_back({parse_selector(next())});
        else if (a == "--unkeyed-policy") {
            group();  // dies before any --group
            unkeyed_policies.back().push_back({parse_selector(next())});
        } else
            command.push_back(a);
    }
    if (command.empty())
        die("no command (apply | hold | churn PID | flip [back] | fail-open GROUP on|off | "
            "replay-window GROUP RANGES | remove | exists | print)");

    const auto& cmd = command[0];
    if (cmd == "print") {
        std::fputs(must(policy::compile(rules)).to_string().c_str(), stdout);
        return 0;
    }
    if (cmd == "apply" || cmd == "hold") {
        print_report("applied", must(policy::apply(rules)));
        if (cmd == "hold")
            for (;;) pause();  // for the crash test: killed with SIGKILL while "running"
        return 0;
    }
    if (cmd == "churn") {
        if (command.size() != 2) die("usage: churn PID");
        const auto pid = static_cast<pid_t>(std::stol(command[1]));
        std::size_t replacements = 0, in_place = 0, flips = 0, most_written = 0;
        bool was_keyed = false;
        for (std::size_t k = 0; kill(pid, 0) == 0; ++k, ++replacements) {
            auto variant = k % 2 ? rules : unkeyed(rules, unkeyed_policies);
            variant.groups.at(0).policies.push_back(
                {parse_selector("src=10.1.0.0/16 dst=10.9." + std::to_string(k % 100) + ".0/24")});
            const auto report = must(policy::apply(variant));
            const bool keyed = variant.groups[0].has_valid_tek;
            if (report.how == policy::ApplyReport::How::in_place) {
                if (report.sets_created > 0) ++in_place;
                if (keyed != was_keyed) ++flips;
                most_written = std::max(most_written, report.rules_written);
            }
            was_keyed = keyed;
        }
        std::printf(
            "churned: %zu replacements, %zu in place with new sets, %zu keyed flips, at most %zu rules "
            "written\n",
            replacements, in_place, flips, most_written);
        return 0;
    }
    if (cmd == "flip") {
        const auto before = unkeyed(rules, unkeyed_policies);
        print_report("unkeyed", must(policy::apply(before)));
        print_report("keyed", must(policy::apply(rules)));
        if (command.size() > 1 && command[1] == "back")
            print_report("unkeyed again", must(policy::apply(before)));
        return 0;
    }
    if (cmd == "fail-open") {
        if (command.size() != 3) die("usage: fail-open GROUP on|off");
        const auto st = policy::set_fail_open(rules, static_cast<std::uint32_t>(std::stoul(command[1])),
                                              command[2] == "on");
        if (!st) die(st.error().message);
        return 0;
    }
    if (cmd == "replay-window") {
        if (command.size() != 3) die("usage: replay-window GROUP RANGES");
        const auto id = static_cast<std::uint32_t>(std::stoul(command[1]));
        for (auto& g : rules.groups)
            if (g.group_id == id && g.replay) g.replay->accepted = parse_sequence_ranges(command[2]);
        const auto st = policy::set_replay_window(rules, id);
        if (!st) die(st.error().message);
        return 0;
    }
    if (cmd == "remove") {
        const auto st = policy::remove_table(rules.table_name);
        if (!st) die(st.error().message);
        return 0;
    }
    if (cmd == "exists") {
        const bool exists = must(policy::table_exists(rules.table_name));
        std::puts(exists ? "yes" : "no");
        return exists ? 0 : 1;
    }
    die("unknown command '" + cmd + "'");
}
