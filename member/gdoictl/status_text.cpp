// Helpers shared by the `gdoictl show` views and the table of views.
#include "gdoictl/status_text.h"

#include <algorithm>
#include <array>

namespace member {

namespace {

constexpr std::array kViews{
    ShowView{"groups", "registration state, key server in use, time in state, last rekey, SEQ",
             render_groups},
    ShowView{"servers", "configured key servers, which one is in use, failures, last error", render_servers},
    ShowView{"kek", "KEK (rekey SA): SPI, algorithm, signature, remaining lifetime, ACK", render_kek},
    ShowView{"tek",
             "TEKs (traffic SAs): SPI, algorithm, role, remaining lifetime, SA packets/bytes, selector",
             render_tek},
    ShowView{"policy", "policy rules in evaluation order: kind, action, selector", render_policy},
    ShowView{"stats", "counters: registrations, rekeys accepted/rejected by reason, ACKs, probes",
             render_stats},
};

std::size_t display_width(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::span<const ShowView> show_views() { return kViews; }

const ShowView* find_show_view(std::string_view name) {
    for (const ShowView& v : kViews)
        if (v.name == name) return &v;
    return nullptr;
}

std::vector<const GroupStatus*> selected_groups(const MemberStatus& status, const ViewFilter& filter) {
    std::vector<const GroupStatus*> out;
    for (const GroupStatus& g : status.groups)
        if (filter.group.empty() || g.name == filter.group) out.push_back(&g);
    return out;
}

std::string format_duration(uint64_t seconds) {
    constexpr uint64_t kMinute = 60, kHour = 3600, kDay = 86400;
    const auto s = [](uint64_t v) { return std::to_string(v); };
    if (seconds < kMinute) return s(seconds) + "s";
    if (seconds < kHour) return s(seconds / kMinute) + "m" + s(seconds % kMinute) + "s";
    if (seconds < kDay) return s(seconds / kHour) + "h" + s(seconds % kHour / kMinute) + "m";
    return s(seconds / kDay) + "d" + s(seconds % kDay / kHour) + "h";
}

std::string format_ago(uint64_t seconds) {
    return seconds == 0 ? "never" : format_duration(seconds) + " ago";
}

std::string printable(std::string_view s) {
    if (s.empty()) return "-";
    std::string out(s);
    for (char& c : out) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) c = '?';
    }
    return out;
}

std::string no_groups_text(const ViewFilter& filter) {
    if (filter.group.empty()) return "No groups configured.\n";
    return "No group named \"" + printable(filter.group) + "\".\n";
}

TextTable::TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

void TextTable::add_row(std::vector<std::string> cells) {
    cells.resize(columns_.size());
    for (std::string& c : cells) c = printable(c);
    rows_.push_back(std::move(cells));
}

std::string TextTable::render() const {
    std::vector<std::size_t> width(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        width[c] = display_width(columns_[c].title);
        for (const auto& row : rows_) width[c] = std::max(width[c], display_width(row[c]));
    }
    std::string out;
    const auto emit = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const bool last = c + 1 == cells.size();
            const std::size_t pad = width[c] - display_width(cells[c]);
            if (c > 0) line += "  ";
            if (columns_[c].align == Align::right) line.append(pad, ' ');
            line += cells[c];
            if (columns_[c].align == Align::left && !last) line.append(pad, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line;
        out += '\n';
    };
    std::vector<std::string> titles;
    for (const Column& c : columns_) titles.push_back(c.title);
    emit(titles);
    for (const auto& row : rows_) emit(row);
    return out;
}

}  // namespace member
