// dataplane-driver: drives member::KernelDataplane with a synthetic GroupState, for the
// real-ESP VM test (tests/vm/dataplane-esp.sh). Every member of the test gets the same TEKs
// (as a key server would hand out), so their SAs interoperate.
//
//   dataplane-driver --wan IF --lan IF [--lan IF ...] [--group-id N] [--name NAME]
//                    [--selector SRC/LEN,DST/LEN] [--exclude PROTO:PORT]
// then commands on stdin, one per line; each answers "ok ..." or "error: ..." on stdout:
//   gap ACTIVATION DEACTIVATION       GAP delays in seconds for the following states
//   tek SPI cbc|gcm ENCKEYHEX [INTKEYHEX] [LIFETIME]   append a TEK and apply the state
//   delete SPI                        remove a TEK (as a Delete payload would) and apply
//   status                            roles of the TEKs and the remote prefixes
//   flush                             remove everything (gdoictl flush)
//   quit                              shutdown(): leave everything in place, exit 0
// Timers (GAP delays) run between commands. Logs go to stderr.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "common/hex_spi.h"
#include "config/config.h"
#include "daemon/policy_view.h"
#include "daemon/tek_name.h"
#include "dataplane/kernel_dataplane.h"

namespace {

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "dataplane-driver: " << why << "\n"
              << "usage: dataplane-driver --wan IF --lan IF [--group-id N] [--name NAME] [--selector SRC,DST]"
                 " [--exclude tcp:179]\n";
    std::exit(2);
}

gdoi::Bytes from_hex(const std::string& hex) {
    gdoi::Bytes out;
    std::string h = hex.rfind("0x", 0) == 0 ? hex.substr(2) : hex;
    if (h.size() % 2) throw std::runtime_error("odd number of hex digits");
    for (size_t i = 0; i < h.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
    return out;
}

gdoi::TrafficId subnet_id(const std::string& text) {
    auto p = member::NetPrefix::parse(text);
    if (!p) throw std::runtime_error(p.error().message);
    gdoi::TrafficId id;
    id.id_type = 4;
    for (int i = 0; i < 4; ++i) id.address.push_back(static_cast<uint8_t>(p->address >> (24 - 8 * i)));
    const auto mask = static_cast<uint32_t>(~p->host_mask());
    for (int i = 0; i < 4; ++i) id.mask_or_end.push_back(static_cast<uint8_t>(mask >> (24 - 8 * i)));
    return id;
}

}  // namespace

int main(int argc, char** argv) {
    member::MemberConfig config;
    member::GroupConfig group;
    group.name = "dataplane-test";
    group.id = 1;
    group.allow_gcm = member::AllowGcm::warn;
    std::string sel_src = "10.0.0.0/8", sel_dst = "10.0.0.0/8";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage(a + " needs a value");
            return argv[++i];
        };
        if (a == "--wan")
            config.wan_interface = next();
        else if (a == "--lan")
            group.lan_interfaces.push_back(next());
        else if (a == "--group-id")
            group.id = static_cast<uint32_t>(std::stoul(next()));
        else if (a == "--name")
            group.name = next();
        else if (a == "--selector") {
            const auto v = next();
            const auto comma = v.find(',');
            if (comma == std::string::npos) usage("--selector SRC/LEN,DST/LEN");
            sel_src = v.substr(0, comma);
            sel_dst = v.substr(comma + 1);
        } else if (a == "--exclude") {
            const auto v = next();
            const auto colon = v.find(':');
            policy::ExcludeRule r;
            r.selector.protocol = *policy::parse_protocol(v.substr(0, colon));
            r.selector.destination_port =
                policy::PortRange::single(static_cast<uint16_t>(std::stoul(v.substr(colon + 1))));
            group.exclude.push_back(r);
        } else
            usage("unknown option " + a);
    }
    if (config.wan_interface.empty() || group.lan_interfaces.empty()) usage("--wan and --lan are required");
    config.groups.push_back(group);

    member::KernelDataplaneOptions options;
    options.log = [](gdoi::LogLevel level, const std::string& line) {
        static const char* names[] = {"debug", "info", "warning", "error"};
        std::cerr << names[static_cast<int>(level)] << ": " << line << std::endl;
    };
    member::KernelDataplane dp(options);
    if (auto s = dp.start(config); !s) {
        std::cout << "error: start: " << s.error().message << std::endl;
        return 1;
    }
    std::cout << "ok started" << std::endl;

    gdoi::GroupState state;
    state.group_id = group.id;
    std::string line;
    for (;;) {
        const auto deadline = dp.next_deadline();
        int timeout = -1;
        if (deadline != std::chrono::steady_clock::time_point::max()) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                deadline - std::chrono::steady_clock::now())
                                .count();
            timeout = ms < 0 ? 0 : static_cast<int>(ms) + 1;
        }
        pollfd pfd{STDIN_FILENO, POLLIN, 0};
        const int n = poll(&pfd, 1, timeout);
        if (n == 0) {
            dp.on_timer(std::chrono::steady_clock::now());
            std::cout << "ok timer" << std::endl;
            continue;
        }
        if (!std::getline(std::cin, line)) break;
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        try {
            if (cmd == "gap") {
                in >> state.gap.activation_time_delay >> state.gap.deactivation_time_delay;
                std::cout << "ok gap" << std::endl;
            } else if (cmd == "tek") {
                std::string spi, kind, enc, integ;
                uint32_t lifetime = 3600;
                in >> spi >> kind >> enc;
                gdoi::Tek t;
                t.spi = static_cast<uint32_t>(std::stoul(spi, nullptr, 0));
                t.transform_id = kind == "gcm" ? 20 : 12;
                t.auth_algorithm = kind == "gcm" ? 0 : 5;  // HMAC-SHA-256
                if (kind != "gcm") in >> integ;
                if (!(in >> lifetime)) lifetime = 3600;
                t.lifetime_seconds = lifetime;
                t.encryption_key = gdoi::SecureBytes(from_hex(enc));
                if (!integ.empty()) t.integrity_key = gdoi::SecureBytes(from_hex(integ));
                t.key_bits = static_cast<uint16_t>((t.encryption_key.size() - (kind == "gcm" ? 4 : 0)) * 8);
                t.selector.source = subnet_id(sel_src);
                t.selector.destination = subnet_id(sel_dst);
                if (auto why = dp.accept_tek(group, t); !why.empty()) {
                    std::cout << "error: TEK refused: " << why << std::endl;
                    continue;
                }
                state.teks.push_back(std::move(t));
                if (auto s = dp.apply(group, state, std::chrono::steady_clock::now()); !s)
                    std::cout << "error: apply: " << s.error().message << std::endl;
                else
                    std::cout << "ok tek " << spi << std::endl;
            } else if (cmd == "delete") {
                std::string spi;
                in >> spi;
                const auto v = static_cast<uint32_t>(std::stoul(spi, nullptr, 0));
                std::erase_if(state.teks, [v](const gdoi::Tek& t) { return t.spi == v; });
                state.deleted_tek_spis = {v};
                if (auto s = dp.apply(group, state, std::chrono::steady_clock::now()); !s)
                    std::cout << "error: apply: " << s.error().message << std::endl;
                else
                    std::cout << "ok delete " << spi << std::endl;
            } else if (cmd == "status") {
                for (const auto& t : state.teks) {
                    std::cout << "tek " << common::hex_spi(t.spi) << " "
                              << member::tek_role_text(dp.tek_role(group, t.spi)) << std::endl;
                }
                std::cout << "remote prefixes " << dp.remote_prefixes().size() << std::endl;
                const auto rules = dp.rules(group);
                for (const auto& p :
                     rules ? member::policy_status(*rules) : std::vector<member::PolicyStatus>{})
                    std::cout << "policy " << p.kind << " " << p.selector << " " << p.action << std::endl;
                std::cout << "ok status" << std::endl;
            } else if (cmd == "flush") {
                if (auto s = dp.flush(); !s)
                    std::cout << "error: flush: " << s.error().message << std::endl;
                else
                    std::cout << "ok flush" << std::endl;
            } else if (cmd == "quit") {
                dp.shutdown();
                std::cout << "ok quit" << std::endl;
                return 0;
            } else if (!cmd.empty()) {
                std::cout << "error: unknown command " << cmd << std::endl;
            }
        } catch (const std::exception& e) {
            std::cout << "error: " << cmd << ": " << e.what() << std::endl;
        }
    }
    dp.shutdown();
    return 0;
}
