// Where gdoi/ reports what happened: the caller decides how lines reach the operator.
// Messages never contain key material.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace gdoi {

enum class LogLevel { Debug, Info, Warning, Error };
using LogSink = std::function<void(LogLevel, const std::string&)>;

// The fixed key=value fields a line about a group (and one of its SAs) ends with, in logfmt
// (a value is quoted when it is empty or holds a blank, '=', '"', '\\' or a control character;
// '"' and '\\' are escaped, newline, CR and tab written as \n, \r, \t), so that journald queries
// (`journalctl -u gdoi-memberd --grep 'group=NAME( |$)'`) and log shippers' logfmt parsers find
// every line of a group or SA: " group=NAME group_id=N" and, about one SA, " spi=0x0123abcd".
struct LogFields {
    std::string_view group;
    std::uint32_t group_id = 0;
    std::optional<std::uint32_t> spi;
};
std::string log_fields(const LogFields& fields);

// A line about one group (and one of its SAs): "group NAME: text" and the fields above.
std::string group_line(std::string_view group, std::uint32_t group_id, std::string_view text,
                       std::optional<std::uint32_t> spi = std::nullopt);

// A sink that ends every line it passes to `sink` with the group's fields (no SPI): what a
// group's exchanges (phase 1, pull, push) log through.
LogSink with_group_fields(LogSink sink, std::string group, std::uint32_t group_id);

}  // namespace gdoi
