#include "config/config_bounds.h"

#include <cerrno>

namespace member {
namespace {

std::string position(const std::string& source, std::size_t line, std::size_t column) {
    return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
}

}  // namespace

common::Status check_config_bounds(std::string_view text, const std::string& source) {
    // A lexical scan: strings (basic, literal, multi-line) and comments are skipped; outside
    // them, dots in a row of key parts and the depth of [ and { are counted.
    std::size_t line = 1, column = 0, dots = 0, depth = 0;
    std::string_view quote;  // the open string's delimiter, empty outside strings
    bool comment = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        ++column;
        if (c == '\n') {
            ++line;
            column = 0;
            comment = false;
            if (quote.size() == 1) quote = {};  // a one-line string ends here (toml++ reports it)
            dots = 0;
            continue;
        }
        if (column > kMaxConfigLineLength)
            return common::make_error(position(source, line, column) + "line longer than " +
                                          std::to_string(kMaxConfigLineLength) +
                                          " characters; split it (arrays and tables may span lines)",
                                      EINVAL);
        if (comment) continue;
        if (!quote.empty()) {
            if (c == '\\' && quote[0] == '"' && i + 1 < text.size() && text[i + 1] != '\n') {
                ++i;
                ++column;
            } else if (text.substr(i, quote.size()) == quote) {
                i += quote.size() - 1;
                column += quote.size() - 1;
                quote = {};
            }
            continue;
        }
        switch (c) {
            case '#':
                comment = true;
                break;
            case '"':
            case '\'': {
                const std::string_view triple =
                    c == '"' ? std::string_view("\"\"\"") : std::string_view("'''");
                quote = text.substr(i, 3) == triple ? triple : triple.substr(0, 1);
                i += quote.size() - 1;
                column += quote.size() - 1;
                break;
            }
            case '.':
                if (++dots >= kMaxKeyComponents)
                    return common::make_error(
                        position(source, line, column) + "a key of more than " +
                            std::to_string(kMaxKeyComponents) +
                            " dotted parts; the configuration's keys have at most 2 (e.g. ike.mode)",
                        EINVAL);
                break;
            case '[':
            case '{':
                dots = 0;
                if (++depth > kMaxNesting)
                    return common::make_error(
                        position(source, line, column) + "arrays or tables nested more than " +
                            std::to_string(kMaxNesting) + " deep; the configuration needs at most 3",
                        EINVAL);
                break;
            case ']':
            case '}':
                dots = 0;
                if (depth > 0) --depth;
                break;
            case '=':
            case ',':
                dots = 0;
                break;
            default:
                break;
        }
    }
    return {};
}

}  // namespace member
