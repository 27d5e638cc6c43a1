// Overlap-free partitioning in O(n log n) for the selectors key servers send.
//
// Source and destination are prefixes, and two prefixes overlap only when one contains the
// other. Each set therefore indexes its elements by source prefix, then by destination prefix;
// an element is compared (all five fields) only with the elements whose source and destination
// prefixes overlap its own: the few shorter prefixes that contain it (one map lookup per prefix
// length in use) and the prefixes inside it (one ordered range). Policies between distinct site
// prefixes, in both directions, cost O(log n) per set instead of one comparison per element.
#include "overlap_partition.h"

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace policy::detail {
namespace {

using Bytes = std::array<std::uint8_t, 16>;

// An element as a box: per field, first and last value as big-endian bytes, so ranges compare
// with memcmp. Fields: source, destination, protocol, source port, destination port.
struct Box {
    std::array<Bytes, 5> first{}, last{};
    std::array<std::size_t, 5> len{};
};

Box box(const SetElement& e) {
    const auto& s = e.selector;
    Box b;
    const auto addr = [&](std::size_t f, const Prefix& p) {
        b.len[f] = p.address_bytes();
        b.first[f] = p.address;
        b.last[f] = p.last_address();
    };
    const auto port = [&](std::size_t f, const std::optional<PortRange>& r) {
        const PortRange v = r ? *r : PortRange{};
        b.len[f] = 2;
        b.first[f][0] = static_cast<std::uint8_t>(v.first >> 8);
        b.first[f][1] = static_cast<std::uint8_t>(v.first & 0xff);
        b.last[f][0] = static_cast<std::uint8_t>(v.last >> 8);
        b.last[f][1] = static_cast<std::uint8_t>(v.last & 0xff);
    };
    addr(0, *s.source);
    addr(1, *s.destination);
    b.len[2] = 1;
    b.first[2][0] = s.protocol ? *s.protocol : 0;
    b.last[2][0] = s.protocol ? *s.protocol : 255;
    port(3, s.source_port);
    port(4, s.destination_port);
    return b;
}

bool intersects(const Box& x, const Box& y) {
    for (std::size_t f = 0; f < x.len.size(); ++f)
        if (std::memcmp(x.last[f].data(), y.first[f].data(), x.len[f]) < 0 ||
            std::memcmp(y.last[f].data(), x.first[f].data(), x.len[f]) < 0)
            return false;
    return true;
}

// The first address of the prefix of `length` bits that contains `address`.
Bytes truncated(const Bytes& address, std::uint8_t length) {
    Bytes out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int bits = std::clamp(static_cast<int>(length) - 8 * static_cast<int>(i), 0, 8);
        out[i] = static_cast<std::uint8_t>(address[i] & (0xff00 >> bits));
    }
    return out;
}

struct PrefixKey {
    Bytes first{};
    std::uint8_t length = 0;
    auto operator<=>(const PrefixKey&) const = default;
};

// Values keyed by prefix, visited by overlap with a given prefix. The visitor returns true to stop.
template <typename T>
class PrefixIndex {
public:
    T& at(const Prefix& p) {
        lengths_.insert(p.length);
        return map_[{p.address, p.length}];
    }

    template <typename Visit>
    bool any_overlapping(const Prefix& p, Visit&& visit) const {
        // The shorter prefixes that contain p: at most one per length in use.
        for (const auto length : lengths_) {
            if (length >= p.length) break;
            if (const auto it = map_.find({truncated(p.address, length), length});
                it != map_.end() && visit(it->second))
                return true;
        }
        // p and the prefixes inside it: their first address lies within p, and they order after p.
        const Bytes last = p.last_address();
        for (auto it = map_.lower_bound({p.address, p.length}); it != map_.end() && it->first.first <= last;
             ++it)
            if (it->first.length >= p.length && visit(it->second)) return true;
        return false;
    }

private:
    std::map<PrefixKey, T> map_;
    std::set<std::uint8_t> lengths_;
};

class OverlapFreeSet {
public:
    bool overlaps(const SetElement& e, const Box& b) const {
        return by_source_.any_overlapping(*e.selector.source, [&](const auto& by_destination) {
            return by_destination.any_overlapping(
                *e.selector.destination, [&](const std::vector<std::size_t>& ids) {
                    return std::any_of(ids.begin(), ids.end(),
                                       [&](std::size_t id) { return intersects(boxes_[id], b); });
                });
        });
    }

    void add(const SetElement& e, const Box& b) {
        by_source_.at(*e.selector.source).at(*e.selector.destination).push_back(boxes_.size());
        boxes_.push_back(b);
        elements_.push_back(e);
    }

    std::vector<SetElement> take() { return std::move(elements_); }

private:
    std::vector<SetElement> elements_;
    std::vector<Box> boxes_;
    PrefixIndex<PrefixIndex<std::vector<std::size_t>>> by_source_;
};

}  // namespace

std::vector<std::vector<SetElement>> partition_overlap_free(const std::vector<SetElement>& elements) {
    std::vector<OverlapFreeSet> sets;
    std::set<std::pair<std::array<Bytes, 5>, std::array<Bytes, 5>>> seen;
    for (const auto& e : elements) {
        const Box b = box(e);
        if (!seen.insert({b.first, b.last}).second) continue;
        std::size_t i = 0;
        while (i < sets.size() && sets[i].overlaps(e, b)) ++i;
        if (i == sets.size()) sets.emplace_back();
        sets[i].add(e, b);
    }
    std::vector<std::vector<SetElement>> out;
    out.reserve(sets.size());
    for (auto& s : sets) out.push_back(s.take());
    return out;
}

}  // namespace policy::detail
