// Prefix arithmetic and TEK selector conversions (see dataplane_selectors.h).
#include "dataplane/dataplane_selectors.h"

#include <algorithm>

namespace member {
namespace {

uint32_t read_be32(const gdoi::Bytes& b) {
    return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
           static_cast<uint32_t>(b[2]) << 8 | b[3];
}

// RFC 2407 §4.6.2.1 identification types.
constexpr uint8_t kIdIpv4Addr = 1;
constexpr uint8_t kIdIpv4Subnet = 4;
constexpr uint8_t kIdIpv4Range = 7;

}  // namespace

bool V4Prefix::contains(const V4Prefix& other) const {
    return length <= other.length && first() <= other.first() && other.last() <= last();
}

V4Prefix V4Prefix::make(uint32_t address, uint8_t length) {
    V4Prefix p;
    p.length = length > 32 ? 32 : length;
    p.address = address & ~p.host_mask();
    return p;
}

common::Result<V4Prefix> V4Prefix::parse(std::string_view text) {
    auto p = policy::Prefix::parse(text);
    if (!p) return p.error();
    if (p->family != policy::Family::ipv4)
        return common::make_error(std::string(text) + ": not an IPv4 prefix");
    return from(p->ip());
}

V4Prefix V4Prefix::from(const common::IpPrefix& p) {
    const auto& b = p.address.bytes;
    const uint32_t a = static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
                       static_cast<uint32_t>(b[2]) << 8 | b[3];
    return make(a, p.length);
}

common::IpPrefix V4Prefix::to_ip() const {
    return {common::IpAddress::ipv4(static_cast<uint8_t>(address >> 24), static_cast<uint8_t>(address >> 16),
                                    static_cast<uint8_t>(address >> 8), static_cast<uint8_t>(address)),
            length};
}

std::string V4Prefix::to_string() const { return to_ip().to_string(); }

std::vector<V4Prefix> range_to_prefixes(uint32_t first, uint32_t last) {
    std::vector<V4Prefix> out;
    uint64_t cur = first;
    const uint64_t end = last;
    while (cur <= end) {
        // The largest aligned block starting at cur that does not pass end.
        uint8_t len = 32;
        while (len > 0) {
            const uint64_t size = 1ull << (32 - (len - 1));
            if ((cur & (size - 1)) != 0 || cur + size - 1 > end) break;
            --len;
        }
        out.push_back(V4Prefix::make(static_cast<uint32_t>(cur), len));
        cur += 1ull << (32 - len);
    }
    return out;
}

std::vector<V4Prefix> normalize(std::vector<V4Prefix> prefixes) {
    std::sort(prefixes.begin(), prefixes.end(), [](const V4Prefix& a, const V4Prefix& b) {
        return a.first() != b.first() ? a.first() < b.first() : a.length < b.length;
    });
    std::vector<V4Prefix> out;
    for (const auto& p : prefixes)
        if (out.empty() || !out.back().contains(p)) out.push_back(p);
    return out;
}

std::vector<V4Prefix> subtract(const std::vector<V4Prefix>& from, const std::vector<V4Prefix>& minus) {
    std::vector<V4Prefix> current = normalize(from);
    for (const auto& m : normalize(minus)) {
        std::vector<V4Prefix> next;
        for (const auto& p : current) {
            if (m.contains(p)) continue;  // removed entirely
            if (!p.contains(m)) {
                next.push_back(p);
                continue;
            }  // disjoint
            // Split p around m: the siblings along the path from p down to m.
            for (uint8_t len = p.length + 1; len <= m.length; ++len) {
                const V4Prefix on_path = V4Prefix::make(m.address, len);
                const V4Prefix sibling = V4Prefix::make(on_path.address ^ (1u << (32 - len)), len);
                next.push_back(sibling);
            }
        }
        current = std::move(next);
    }
    return normalize(current);
}

std::vector<V4Prefix> intersect(const std::vector<V4Prefix>& a, const std::vector<V4Prefix>& b) {
    std::vector<V4Prefix> out;
    for (const auto& x : a)
        for (const auto& y : b) {
            if (x.contains(y))
                out.push_back(y);
            else if (y.contains(x))
                out.push_back(x);
        }
    return normalize(out);
}

common::Result<std::vector<V4Prefix>> id_prefixes(const gdoi::TrafficId& id) {
    if (id.is_ipv6() || id.address.size() != 4)
        return common::make_error("selector " + id.to_string() +
                                  ": only IPv4 selectors can be carried (the carrier is IPIP)");
    const uint32_t a = read_be32(id.address);
    switch (id.id_type) {
        case kIdIpv4Addr:
            return std::vector<V4Prefix>{V4Prefix::make(a, 32)};
        case kIdIpv4Subnet: {
            const auto len = id.prefix_length();
            if (!len || id.mask_or_end.size() != 4)
                return common::make_error("selector " + id.to_string() +
                                          ": the subnet mask is not contiguous");
            return std::vector<V4Prefix>{V4Prefix::make(a, static_cast<uint8_t>(*len))};
        }
        case kIdIpv4Range: {
            if (id.mask_or_end.size() != 4)
                return common::make_error("selector " + id.to_string() + ": range without an end address");
            const uint32_t end = read_be32(id.mask_or_end);
            if (end < a)
                return common::make_error("selector " + id.to_string() + ": range ends before it starts");
            return range_to_prefixes(a, end);
        }
        default:
            return common::make_error("selector " + id.to_string() + ": ID type " +
                                      std::to_string(id.id_type) +
                                      " is not an IPv4 address, subnet or range");
    }
}

common::Result<std::vector<policy::Selector>> to_policy_selectors(const gdoi::TrafficSelector& s) {
    auto src = id_prefixes(s.source);
    if (!src) return src.error();
    auto dst = id_prefixes(s.destination);
    if (!dst) return dst.error();
    std::vector<policy::Selector> out;
    for (const auto& sp : *src)
        for (const auto& dp : *dst) {
            policy::Selector sel;
            sel.source = sp.to_policy();
            sel.destination = dp.to_policy();
            if (s.protocol != 0) sel.protocol = s.protocol;
            if (s.source.port != 0) sel.source_port = policy::PortRange::single(s.source.port);
            if (s.destination.port != 0) sel.destination_port = policy::PortRange::single(s.destination.port);
            if (auto st = sel.validate(); !st)
                return common::make_error("selector " + s.to_string() + ": " + st.error().message);
            out.push_back(std::move(sel));
        }
    return out;
}

common::Result<std::vector<V4Prefix>> scope_prefixes(const gdoi::TrafficSelector& s) {
    auto src = id_prefixes(s.source);
    if (!src) return src.error();
    auto dst = id_prefixes(s.destination);
    if (!dst) return dst.error();
    std::vector<V4Prefix> all = *src;
    all.insert(all.end(), dst->begin(), dst->end());
    return normalize(all);
}

std::vector<V4Prefix> remote_prefixes(const std::vector<V4Prefix>& scope,
                                      const std::vector<V4Prefix>& local_scope,
                                      const std::vector<V4Prefix>& never) {
    std::vector<V4Prefix> minus = local_scope;
    minus.insert(minus.end(), never.begin(), never.end());
    return subtract(scope, minus);
}

std::vector<V4Prefix> local_group_prefixes(const std::vector<V4Prefix>& scope,
                                           const std::vector<V4Prefix>& local_scope) {
    return intersect(scope, local_scope);
}

}  // namespace member
