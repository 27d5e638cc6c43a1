// Prefix arithmetic and TEK selector conversions (see dataplane_selectors.h).
#include "dataplane/dataplane_selectors.h"

#include <algorithm>

namespace member {
namespace {

using common::IpFamily;

// A network-order address of 4 or 16 octets as a number.
AddressValue read_be(const uint8_t* b, std::size_t n) {
    AddressValue v = 0;
    for (std::size_t i = 0; i < n; ++i) v = v << 8 | b[i];
    return v;
}

// RFC 2407 §4.6.2.1 identification types of the GDOI TEK's ID payloads (RFC 6407 §5.4.1):
// ID_IPV4_ADDR 1, ID_IPV4_ADDR_SUBNET 4, ID_IPV4_ADDR_RANGE 7, ID_IPV6_ADDR 5,
// ID_IPV6_ADDR_SUBNET 6, ID_IPV6_ADDR_RANGE 8.
enum class IdKind { address, subnet, range };
struct IdType {
    uint8_t number;
    IpFamily family;
    IdKind kind;
};
constexpr IdType kIdTypes[] = {
    {1, IpFamily::ipv4, IdKind::address}, {4, IpFamily::ipv4, IdKind::subnet},
    {7, IpFamily::ipv4, IdKind::range},   {5, IpFamily::ipv6, IdKind::address},
    {6, IpFamily::ipv6, IdKind::subnet},  {8, IpFamily::ipv6, IdKind::range},
};

const IdType* id_type(uint8_t number) {
    for (const auto& t : kIdTypes)
        if (t.number == number) return &t;
    return nullptr;
}

}  // namespace

bool NetPrefix::contains(const NetPrefix& other) const {
    return family == other.family && length <= other.length && first() <= other.first() &&
           other.last() <= last();
}

NetPrefix NetPrefix::make(IpFamily family, AddressValue address, uint8_t length) {
    NetPrefix p;
    p.family = family;
    p.length = length > p.width() ? static_cast<uint8_t>(p.width()) : length;
    p.address = address & p.all_ones() & ~p.host_mask();
    return p;
}

common::Result<NetPrefix> NetPrefix::parse(std::string_view text) {
    auto p = policy::Prefix::parse(text);
    if (!p) return p.error();
    return from(p->ip());
}

NetPrefix NetPrefix::from(const common::IpPrefix& p) {
    return make(p.address.family, read_be(p.address.bytes.data(), p.address.byte_count()), p.length);
}

common::IpPrefix NetPrefix::to_ip() const {
    common::IpAddress a;
    a.family = family;
    const std::size_t n = a.byte_count();
    for (std::size_t i = 0; i < n; ++i) a.bytes[i] = static_cast<uint8_t>(address >> (8 * (n - 1 - i)));
    return {a, length};
}

std::string NetPrefix::to_string() const { return to_ip().to_string(); }

std::vector<NetPrefix> of_family(const std::vector<NetPrefix>& prefixes, IpFamily family) {
    std::vector<NetPrefix> out;
    for (const auto& p : prefixes)
        if (p.family == family) out.push_back(p);
    return out;
}

std::vector<NetPrefix> range_to_prefixes(IpFamily family, AddressValue first, AddressValue last) {
    std::vector<NetPrefix> out;
    const unsigned width = NetPrefix::make(family, 0, 0).width();
    AddressValue cur = first;
    while (cur <= last) {
        // The largest aligned block starting at cur that does not pass last. Block sizes are
        // counted as size - 1 (the host mask) so that the whole IPv6 space does not overflow.
        unsigned len = width;
        while (len > 0) {
            const AddressValue mask = NetPrefix::make(family, 0, static_cast<uint8_t>(len - 1)).host_mask();
            if ((cur & mask) != 0 || mask > last - cur) break;
            --len;
        }
        const NetPrefix block = NetPrefix::make(family, cur, static_cast<uint8_t>(len));
        out.push_back(block);
        if (block.last() >= last) break;  // also ends at the top of the address space
        cur = block.last() + 1;
    }
    return out;
}

std::vector<NetPrefix> normalize(std::vector<NetPrefix> prefixes) {
    std::sort(prefixes.begin(), prefixes.end(), [](const NetPrefix& a, const NetPrefix& b) {
        if (a.family != b.family) return a.family < b.family;
        return a.first() != b.first() ? a.first() < b.first() : a.length < b.length;
    });
    std::vector<NetPrefix> out;
    for (const auto& p : prefixes)
        if (out.empty() || !out.back().contains(p)) out.push_back(p);
    return out;
}

std::vector<NetPrefix> subtract(const std::vector<NetPrefix>& from, const std::vector<NetPrefix>& minus) {
    std::vector<NetPrefix> current = normalize(from);
    for (const auto& m : normalize(minus)) {
        std::vector<NetPrefix> next;
        for (const auto& p : current) {
            if (m.contains(p)) continue;  // removed entirely
            if (!p.contains(m)) {
                next.push_back(p);
                continue;
            }  // disjoint (or another family)
            // Split p around m: the siblings along the path from p down to m.
            for (unsigned len = p.length + 1u; len <= m.length; ++len) {
                const auto l = static_cast<uint8_t>(len);
                const NetPrefix on_path = NetPrefix::make(m.family, m.address, l);
                const AddressValue bit = AddressValue{1} << (m.width() - len);
                next.push_back(NetPrefix::make(m.family, on_path.address ^ bit, l));
            }
        }
        current = std::move(next);
    }
    return normalize(current);
}

std::vector<NetPrefix> intersect(const std::vector<NetPrefix>& a, const std::vector<NetPrefix>& b) {
    std::vector<NetPrefix> out;
    for (const auto& x : a)
        for (const auto& y : b) {
            if (x.contains(y))
                out.push_back(y);
            else if (y.contains(x))
                out.push_back(x);
        }
    return normalize(out);
}

common::Result<std::vector<NetPrefix>> id_prefixes(const gdoi::TrafficId& id) {
    const auto type = id_type(id.id_type);
    if (!type)
        return common::make_error("selector " + id.to_string() + ": ID type " + std::to_string(id.id_type) +
                                  " is not an IPv4/IPv6 address, subnet or range (RFC 2407 §4.6.2.1)");
    const std::size_t size = type->family == IpFamily::ipv4 ? 4 : 16;
    const char* family_name = type->family == IpFamily::ipv4 ? "IPv4" : "IPv6";
    if (id.address.size() != size)
        return common::make_error("selector " + id.to_string() + ": ID type " + std::to_string(id.id_type) +
                                  " needs a " + std::to_string(size) + "-octet " + family_name +
                                  " address, got " + std::to_string(id.address.size()) + " octets");
    const AddressValue a = read_be(id.address.data(), size);
    const auto width = static_cast<uint8_t>(size * 8);
    switch (type->kind) {
        case IdKind::address:
            return std::vector<NetPrefix>{NetPrefix::make(type->family, a, width)};
        case IdKind::subnet: {
            const auto len = id.prefix_length();
            if (!len || id.mask_or_end.size() != size)
                return common::make_error("selector " + id.to_string() +
                                          ": the subnet mask is not contiguous");
            return std::vector<NetPrefix>{NetPrefix::make(type->family, a, static_cast<uint8_t>(*len))};
        }
        case IdKind::range: {
            if (id.mask_or_end.size() != size)
                return common::make_error("selector " + id.to_string() + ": range without an " + family_name +
                                          " end address");
            const AddressValue end = read_be(id.mask_or_end.data(), size);
            if (end < a)
                return common::make_error("selector " + id.to_string() + ": range ends before it starts");
            return range_to_prefixes(type->family, a, end);
        }
    }
    return common::make_error("selector " + id.to_string() + ": unknown ID kind");
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

common::Result<std::vector<NetPrefix>> scope_prefixes(const gdoi::TrafficSelector& s) {
    auto src = id_prefixes(s.source);
    if (!src) return src.error();
    auto dst = id_prefixes(s.destination);
    if (!dst) return dst.error();
    std::vector<NetPrefix> all = *src;
    all.insert(all.end(), dst->begin(), dst->end());
    return normalize(all);
}

std::vector<NetPrefix> remote_prefixes(const std::vector<NetPrefix>& scope,
                                       const std::vector<NetPrefix>& local_scope,
                                       const std::vector<NetPrefix>& never) {
    std::vector<NetPrefix> minus = local_scope;
    minus.insert(minus.end(), never.begin(), never.end());
    return subtract(scope, minus);
}

std::vector<NetPrefix> local_group_prefixes(const std::vector<NetPrefix>& scope,
                                            const std::vector<NetPrefix>& local_scope) {
    return intersect(scope, local_scope);
}

}  // namespace member
