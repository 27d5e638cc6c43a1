#include "gdoictl/prometheus_text.h"

namespace member {

std::string prometheus_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string prometheus_help_text(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (char c : help) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void PrometheusExposition::family(std::string_view name, std::string_view type, std::string_view help) {
    const std::string n(name);
    families_.push_back(
        {n,
         "# HELP " + n + " " + prometheus_help_text(help) + "\n# TYPE " + n + " " + std::string(type) + "\n",
         {}});
}

void PrometheusExposition::sample(const Labels& labels, uint64_t value) {
    if (families_.empty()) return;  // a sample before any family: a programming error, left out
    Family& f = families_.back();
    f.samples += f.name;
    if (!labels.empty()) {
        f.samples += '{';
        bool first = true;
        for (const auto& [label, v] : labels) {
            if (!first) f.samples += ',';
            first = false;
            f.samples += std::string(label) + "=\"" + prometheus_label_value(v) + "\"";
        }
        f.samples += '}';
    }
    f.samples += ' ' + std::to_string(value) + '\n';
}

std::string PrometheusExposition::text() const {
    std::string out;
    for (const Family& f : families_)
        if (!f.samples.empty()) out += f.header + f.samples;
    return out;
}

}  // namespace member
