// `gdoictl show --format prometheus`: MemberStatus as the Prometheus text exposition format,
// version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/), for
// node-exporter's textfile collector. Every metric family has its HELP and TYPE line once,
// its samples right after them; label values are escaped (\ " newline), so a group name
// cannot break a line or a label. The metric list is in packaging/gdoictl.8.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/status.h"
#include "gdoictl/status_text.h"

namespace member {

// The metrics of the groups the filter selects (all groups: every one), plus the
// member-wide gdoi_member_build_info and gdoi_member_uptime_seconds.
std::string render_prometheus(const MemberStatus& status, const ViewFilter& filter = {});

// A label value between its double quotes: \ -> \\, " -> \", newline -> \n.
std::string prometheus_label_value(std::string_view value);
// A HELP text: \ -> \\, newline -> \n.
std::string prometheus_help_text(std::string_view help);

// Builds an exposition family by family. A family's samples follow its HELP and TYPE
// lines; a family that gets no sample is left out altogether.
class PrometheusExposition {
public:
    using Labels = std::vector<std::pair<std::string_view, std::string>>;

    // Starts a family ("counter" or "gauge"); the samples that follow belong to it.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(const Labels& labels, uint64_t value);
    std::string text() const;

private:
    struct Family {
        std::string name;
        std::string header;  // HELP and TYPE lines
        std::string samples;
    };
    std::vector<Family> families_;
};

}  // namespace member
