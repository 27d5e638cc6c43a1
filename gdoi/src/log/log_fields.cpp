#include <utility>

#include "common/hex_spi.h"
#include "gdoi/log.h"

namespace gdoi {
namespace {

// logfmt: a value with a blank, '=' or '"' (or an empty one) is quoted, '"' and '\' escaped.
void append_value(std::string& out, std::string_view value) {
    const bool plain = !value.empty() && value.find_first_of(" =\"\\\t") == std::string_view::npos;
    if (plain) {
        out.append(value);
        return;
    }
    out.push_back('"');
    for (char c : value) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
}

}  // namespace

std::string log_fields(const LogFields& fields) {
    std::string out = " group=";
    append_value(out, fields.group);
    out += " group_id=" + std::to_string(fields.group_id);
    if (fields.spi) out += " spi=" + common::hex_spi(*fields.spi);
    return out;
}

std::string group_line(std::string_view group, std::uint32_t group_id, std::string_view text,
                       std::optional<std::uint32_t> spi) {
    std::string out = "group ";
    out.append(group);
    out += ": ";
    out.append(text);
    return out + log_fields({group, group_id, spi});
}

LogSink with_group_fields(LogSink sink, std::string group, std::uint32_t group_id) {
    if (!sink) return sink;
    return [sink = std::move(sink), suffix = log_fields({group, group_id, std::nullopt})](
               LogLevel level, const std::string& line) { sink(level, line + suffix); };
}

}  // namespace gdoi
