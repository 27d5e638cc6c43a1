// Text views of MemberStatus for `gdoictl show ...`: one render function per view,
// each in its own file (gdoictl_show_<view>.cpp), answering what Junos
// `show security group-vpn member ...` and IOS `show crypto gdoi` answer. Columns are
// aligned, durations human ("23h59m"), one row per group/server/SA/policy with the
// group name repeated so that `grep GROUP` keeps whole rows. Strings from the daemon
// are printed with control characters replaced, so a hostile error text cannot drive
// the terminal.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "control/status.h"

namespace member {

struct ViewFilter {
    std::string group;  // only this group; empty = all groups
};

std::string render_groups(const MemberStatus& status, const ViewFilter& filter = {});
std::string render_servers(const MemberStatus& status, const ViewFilter& filter = {});
std::string render_kek(const MemberStatus& status, const ViewFilter& filter = {});
std::string render_tek(const MemberStatus& status, const ViewFilter& filter = {});
std::string render_policy(const MemberStatus& status, const ViewFilter& filter = {});
std::string render_stats(const MemberStatus& status, const ViewFilter& filter = {});

struct ShowView {
    std::string_view name;  // "groups", "servers", ...
    std::string_view summary;
    std::string (*render)(const MemberStatus&, const ViewFilter&);
};

// Every `show` view, in the order the usage text lists them.
std::span<const ShowView> show_views();
const ShowView* find_show_view(std::string_view name);

// The groups the filter selects, in status order.
std::vector<const GroupStatus*> selected_groups(const MemberStatus& status, const ViewFilter& filter);

// ---- helpers shared by the views ----

// Two most significant units: "0s", "42s", "5m12s", "23h59m", "2d3h".
std::string format_duration(uint64_t seconds);
// "never" for 0, else "5m12s ago".
std::string format_ago(uint64_t seconds);

// Aligned columns separated by two spaces; the last column is not padded (no trailing
// blanks). Width counts UTF-8 code points.
class TextTable {
public:
    enum class Align { left, right };
    struct Column {
        std::string title;
        Align align = Align::left;
    };

    explicit TextTable(std::vector<Column> columns);
    // Cells beyond the column count are ignored, missing ones are blank.
    void add_row(std::vector<std::string> cells);
    bool empty() const { return rows_.empty(); }
    std::string render() const;

private:
    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

// Control characters (C0, DEL) replaced by '?'; "-" for an empty string.
std::string printable(std::string_view s);

// "No groups." / "No group named "X"." when the filter selects nothing.
std::string no_groups_text(const ViewFilter& filter);

}  // namespace member
