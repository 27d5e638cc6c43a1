// nft-syntax printing of the compiled table, for tests, logs and `gdoictl show policy`.
// The text follows what `nft list table` prints for the same rules, so both can be compared.
#include "policy/table_spec.h"

#include <cstdio>

namespace policy {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string hex_mark(std::uint32_t mark) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", mark);
    return buf;
}

const char* ip_keyword(Family f) { return f == Family::ipv6 ? "ip6" : "ip"; }

struct MatchText {
    std::string operator()(const MatchIfname& m) const {
        return std::string(m.output ? "oifname " : "iifname ") + (m.negate ? "!= " : "") + quoted(m.name);
    }
    std::string operator()(const MatchIfnameSet& m) const {
        return std::string(m.output ? "oifname " : "iifname ") + (m.negate ? "!= " : "") + "@" + m.set;
    }
    std::string operator()(const MatchFamily& m) const {
        return std::string("meta nfproto ") + (m.family == Family::ipv6 ? "ipv6" : "ipv4");
    }
    std::string operator()(const MatchL4Proto& m) const {
        return "meta l4proto " + protocol_name(m.protocol);
    }
    std::string operator()(const MatchPrefix& m) const {
        const bool host = m.prefix.length == m.prefix.max_length();
        auto text = m.prefix.to_string();
        if (host) text = text.substr(0, text.find('/'));
        return std::string(ip_keyword(m.prefix.family)) + (m.source ? " saddr " : " daddr ") + text;
    }
    std::string operator()(const MatchPort& m) const {
        return std::string(m.source ? "th sport " : "th dport ") + m.range.to_string();
    }
    std::string operator()(const MatchMark& m) const { return "meta mark " + hex_mark(m.mark); }
    std::string operator()(const MatchSecpath& m) const {
        return std::string("meta ipsec ") + (m.exists ? "exists" : "missing");
    }
    std::string operator()(const MatchRtIpsec& m) const {
        return std::string("rt ipsec ") + (m.exists ? "exists" : "missing");
    }
    std::string operator()(const MatchIpv4Fragment&) const { return "ip frag-off & 0x1fff != 0"; }
    std::string operator()(const MatchScopeSet& m) const {
        const std::string ip = ip_keyword(m.family);
        return ip + " saddr . " + ip + " daddr . meta l4proto @" + m.set;
    }
    std::string operator()(const MatchRouteOifname& m) const { return "fib daddr oifname " + quoted(m.name); }
    std::string operator()(const MatchTcpSyn&) const { return "tcp flags & (syn | rst) == syn"; }
    std::string operator()(const MatchIcmpv6Types& m) const {
        return "icmpv6 type " + std::to_string(m.first) +
               (m.first == m.last ? std::string() : "-" + std::to_string(m.last));
    }
    std::string operator()(const MatchHopLimit& m) const { return "ip6 hoplimit " + std::to_string(m.value); }
    std::string operator()(const MatchEspSpi& m) const { return "esp spi " + std::to_string(m.spi); }
    std::string operator()(const MatchEspSequenceOutside& m) const {
        if (m.accepted.size() == 2)  // [0, A] and [B, max]: outside is A+1 .. B-1
            return "esp sequence " + std::to_string(m.accepted[0].last + 1) + "-" +
                   std::to_string(m.accepted[1].first - 1);
        if (m.accepted.size() == 1)
            return "esp sequence != " + std::to_string(m.accepted[0].first) + "-" +
                   std::to_string(m.accepted[0].last);
        return "esp sequence 0-4294967295";  // nothing accepted (validate() refuses it)
    }
    std::string operator()(const MatchFailOpenSet& m) const {
        const std::string ip = ip_keyword(m.family);
        const std::string s = m.mirrored ? "daddr" : "saddr", d = m.mirrored ? "saddr" : "daddr";
        const std::string sp = m.mirrored ? "dport" : "sport", dp = m.mirrored ? "sport" : "dport";
        return ip + " " + s + " . " + ip + " " + d + " . meta l4proto . th " + sp + " . th " + dp + " @" +
               m.set;
    }
};

struct StatementText {
    std::string operator()(const SetMark& s) const { return "meta mark set " + hex_mark(s.mark); }
    std::string operator()(const SetAddresses& s) const {
        const std::string ip = s.source.family == common::IpFamily::ipv6 ? "ip6" : "ip";
        return ip + " saddr set " + s.source.to_string() + " " + ip + " daddr set " +
               s.destination.to_string();
    }
    std::string operator()(const CopyInnerAddresses& c) const {
        return c.family == Family::ipv6 ? "ip6 saddr set @nh,384,128 ip6 daddr set @nh,512,128"
                                        : "ip saddr set @nh,256,32 ip daddr set @nh,288,32";
    }
    std::string operator()(const Notrack&) const { return "notrack"; }
    std::string operator()(const ClearDf&) const { return "ip frag-off set ip frag-off & 0xbfff"; }
    std::string operator()(const ClampMssToRoute&) const { return "tcp option maxseg size set rt mtu"; }
};

const char* hook_name(Hook h) {
    switch (h) {
        case Hook::prerouting:
            return "prerouting";
        case Hook::input:
            return "input";
        case Hook::forward:
            return "forward";
        case Hook::output:
            return "output";
        case Hook::postrouting:
            return "postrouting";
    }
    return "?";
}

std::string element_text(const SetElement& e, bool with_ports) {
    const auto& s = e.selector;
    const auto fam = s.family() == Family::any ? Family::ipv4 : s.family();
    const auto addr = [&](const std::optional<Prefix>& p) { return (p ? *p : Prefix::any(fam)).to_string(); };
    const auto proto = s.protocol ? std::to_string(*s.protocol) : std::string("0-255");
    const auto port = [](const std::optional<PortRange>& r) { return (r ? *r : PortRange{}).to_string(); };
    auto text = addr(s.source) + " . " + addr(s.destination) + " . " + proto;
    if (with_ports) text += " . " + port(s.source_port) + " . " + port(s.destination_port);
    return text + " comment " + quoted(e.comment);
}

}  // namespace

std::string RuleSpec::to_string() const {
    std::string out;
    const auto add = [&](const std::string& part) {
        if (!out.empty()) out += ' ';
        out += part;
    };
    for (const auto& m : matches) add(std::visit(MatchText{}, m));
    for (const auto& s : statements) add(std::visit(StatementText{}, s));
    if (counter) add("counter");
    switch (verdict.kind) {
        case VerdictKind::none:
            break;
        case VerdictKind::accept:
            add("accept");
            break;
        case VerdictKind::drop:
            add("drop");
            break;
        case VerdictKind::ret:
            add("return");
            break;
        case VerdictKind::jump:
            add("jump " + verdict.chain);
            break;
    }
    if (!comment.empty()) add("comment " + quoted(comment));
    return out;
}

const ChainSpec* TableSpec::find_chain(const std::string& chain) const {
    for (const auto& c : chains)
        if (c.name == chain) return &c;
    return nullptr;
}

const SetSpec* TableSpec::find_set(const std::string& set) const {
    for (const auto& s : sets)
        if (s.name == set) return &s;
    return nullptr;
}

std::size_t TableSpec::rule_count() const {
    std::size_t n = 0;
    for (const auto& c : chains) n += c.rules.size();
    return n;
}

std::string TableSpec::to_string() const {
    std::string out = "table inet " + name + " {\n";
    for (const auto& s : sets) {
        out += "\tset " + s.name + " {\n";
        if (s.kind == SetSpec::Kind::ifname) {
            out += "\t\ttype ifname\n\t\telements = {";
            for (std::size_t i = 0; i < s.ifnames.size(); ++i) out += (i ? ", " : " ") + quoted(s.ifnames[i]);
            out += " }\n";
        } else {
            const bool ports = s.kind == SetSpec::Kind::fail_open;
            const std::string a = s.family == Family::ipv6 ? "ipv6_addr" : "ipv4_addr";
            out += "\t\ttype " + a + " . " + a + " . inet_proto" +
                   (ports ? " . inet_service . inet_service" : "") + "\n\t\tflags interval\n";
            if (!ports) out += "\t\tcounter\n";
            if (!s.elements.empty()) {
                out += "\t\telements = {";
                for (std::size_t i = 0; i < s.elements.size(); ++i)
                    out += (i ? ",\n\t\t\t" : " ") + element_text(s.elements[i], ports);
                out += " }\n";
            }
        }
        out += "\t}\n";
    }
    for (const auto& c : chains) {
        out += "\tchain " + c.name + " {\n";
        if (c.base)
            out += std::string("\t\ttype ") + (c.base->type == ChainType::route ? "route" : "filter") +
                   " hook " + hook_name(c.base->hook) + " priority " + std::to_string(c.base->priority) +
                   "; policy accept;\n";
        for (const auto& r : c.rules) out += "\t\t" + r.to_string() + "\n";
        out += "\t}\n";
    }
    return out + "}\n";
}

}  // namespace policy
