#include <algorithm>
#include <utility>

#include "common/hex_spi.h"
#include "gdoi/log.h"

namespace gdoi {
namespace {

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// logfmt (log.h): quoted when empty or holding a blank, '=', '"', '\\' or a control character.
void append_value(std::string& out, std::string_view value) {
    const bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
        return c == ' ' || c == '=' || c == '"' || c == '\\' || is_control(c);
    });
    if (plain) {
        out.append(value);
        return;
    }
    out.push_back('"');
    for (char c : value) {
        if (c == '"' || c == '\\') out.push_back('\\');
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (is_control(c))
            out.push_back('?');  // never a raw control character in a log line
        else
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
