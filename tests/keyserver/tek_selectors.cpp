#include "tek_selectors.h"

#include "common/ip_address.h"

namespace keyserver {

std::optional<gdoi::TrafficId> parse_prefix(const std::string& text) {
    auto prefix = common::IpPrefix::parse(text);
    if (!prefix) return std::nullopt;
    const auto& a = prefix->address;
    gdoi::TrafficId id;
    id.id_type = a.family == common::IpFamily::ipv6 ? 6 : 4;  // ID_IPV6/IPV4_ADDR_SUBNET (RFC 2407 §4.6.2.1)
    id.address.assign(a.bytes.begin(), a.bytes.begin() + static_cast<std::ptrdiff_t>(a.byte_count()));
    id.mask_or_end.assign(id.address.size(), 0);
    for (unsigned i = 0; i < prefix->length; ++i)
        id.mask_or_end[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
    for (size_t i = 0; i < id.address.size(); ++i) id.address[i] &= id.mask_or_end[i];
    return id;
}

std::string assign_selectors(std::vector<gdoi::Tek>& teks, const std::vector<SelectorOption>& options) {
    std::vector<gdoi::TrafficId> ids;
    for (const auto& o : options) {
        auto id = parse_prefix(o.prefix);
        if (!id) return "--selector wants a prefix like 10.0.0.0/8 or 2001:db8::/32, not " + o.prefix;
        ids.push_back(std::move(*id));
    }
    if (options.size() <= 1) {  // one policy for every TEK
        const auto id = ids.empty() ? *parse_prefix(kDefaultSelector) : ids.front();
        for (auto& t : teks) t.selector.source = t.selector.destination = id;
        return {};
    }
    // One per TEK: the --selector right after each --tek.
    if (options.size() != teks.size())
        return "several --selector: one after each --tek (" + std::to_string(teks.size()) + " TEKs, " +
               std::to_string(options.size()) + " selectors)";
    for (size_t i = 0; i < options.size(); ++i) {
        if (options[i].teks_before != i + 1)
            return "several --selector: each right after its --tek (--selector " + options[i].prefix +
                   " follows TEK " + std::to_string(options[i].teks_before) + ")";
        teks[i].selector.source = teks[i].selector.destination = ids[i];
    }
    return {};
}

}  // namespace keyserver
