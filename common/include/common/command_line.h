// The programs' command lines, read with getopt_long as a function of a vector of words,
// so tests run it in-process. GNU conventions: "-c FILE", "-cFILE", "--config FILE",
// "--config=FILE", unambiguous abbreviations of long options, options and operands in
// any order, and "--" ends the options.
#pragma once

#include <getopt.h>

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace common {

struct OptionSpec {
    const char* long_name;  // without "--"
    char short_name;        // 0: none
    bool takes_value;
};

struct CommandLine {
    std::vector<std::pair<const OptionSpec*, std::string>> options;  // in command-line order
    std::vector<std::string> operands;                               // the other words, in order
};

// args without argv[0]. Errors are one line without the program name: "unknown option
// --x", "option --config needs a value", "option --check takes no value".
inline Result<CommandLine> parse_command_line(const std::vector<std::string>& args,
                                              std::span<const OptionSpec> specs) {
    constexpr int kLongOnly = 256;  // getopt_long's value for option k without a short name: kLongOnly + k
    std::vector<std::string> words{"program"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);

    std::string shorts = ":";  // ':' first: a missing value is reported as ':', quietly
    std::vector<option> longs;
    const auto value_of = [&](std::size_t k) {
        return specs[k].short_name != 0 ? static_cast<int>(static_cast<unsigned char>(specs[k].short_name))
                                        : kLongOnly + static_cast<int>(k);
    };
    for (std::size_t k = 0; k < specs.size(); ++k) {
        if (specs[k].short_name != 0)
            shorts += std::string(1, specs[k].short_name) + (specs[k].takes_value ? ":" : "");
        longs.push_back({specs[k].long_name, specs[k].takes_value ? required_argument : no_argument, nullptr,
                         value_of(k)});
    }
    longs.push_back({nullptr, 0, nullptr, 0});
    const auto spec_of = [&](int value) -> const OptionSpec* {
        for (std::size_t k = 0; k < specs.size(); ++k)
            if (value_of(k) == value) return &specs[k];
        return nullptr;
    };
    // How the user wrote the option: "--config" or "-c".
    const auto name_of = [&](const OptionSpec& spec, const char* word) {
        const std::string w = word == nullptr ? "" : word;
        if (w.starts_with("--") || spec.short_name == 0) return "--" + std::string(spec.long_name);
        return "-" + std::string(1, spec.short_name);
    };

    CommandLine out;
    const int argc = static_cast<int>(words.size());
    optind = 0;  // glibc: start afresh (also forgets a previous call's half-read cluster)
    opterr = 0;
    for (;;) {
        const int c = getopt_long(argc, argv.data(), shorts.c_str(), longs.data(), nullptr);
        if (c == -1) break;
        const char* word =
            optind >= 1 && optind <= argc ? argv[static_cast<std::size_t>(optind) - 1] : nullptr;
        if (c == ':') {
            const OptionSpec* spec = spec_of(optopt);
            return make_error("option " + (spec != nullptr ? name_of(*spec, word) : std::string("?")) +
                              " needs a value");
        }
        if (c == '?') {
            if (const OptionSpec* spec = optopt != 0 ? spec_of(optopt) : nullptr; spec != nullptr)
                return make_error("option " + name_of(*spec, word) + " takes no value");
            if (optopt != 0)
                return make_error("unknown option -" + std::string(1, static_cast<char>(optopt)));
            std::string w = word == nullptr ? "" : word;
            return make_error("unknown option " + w.substr(0, w.find('=')));
        }
        const OptionSpec* spec = spec_of(c);
        if (spec == nullptr) return make_error("unknown option");
        out.options.emplace_back(spec, optarg != nullptr ? std::string(optarg) : std::string());
    }
    for (int i = optind; i < argc; ++i) out.operands.emplace_back(argv[static_cast<std::size_t>(i)]);
    return out;
}

}  // namespace common
