// gdoi-test-keyserver: the tests' GDOI key server (not installed). For now the phase-1
// responder (main and aggressive mode, PSK); the GROUPKEY-PULL responder and the push
// sender will run under the SAs it establishes. One UDP socket, one poll loop; time comes
// from the responder's expiry deadlines.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "phase1_responder.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

void usage() {
    std::fputs(
        "usage: gdoi-test-keyserver --listen ADDR[:PORT] (default port 848; [v6]:PORT for IPv6)\n"
        "         (--psk ADDR=FILE | --psk fqdn:NAME=FILE | --psk-any FILE) ...\n"
        "         [--proposal NAME ...] [--id ADDR|fqdn:NAME] [--mode main|aggressive|both]\n"
        "         [--keylog FILE] [--log-level debug|info|warning|error] [--once]\n"
        "  --psk KEY=FILE  pre-shared key for an initiator: main mode chooses it by source address,\n"
        "                  aggressive mode by the initiator's identity (address or fqdn:NAME)\n"
        "  --proposal      acceptable IKE proposal (repeatable), e.g. aes256-sha256-modp2048\n"
        "  --keylog FILE   append 'icookie_hex,enc_key_hex' per established SA (Wireshark's IKEv1\n"
        "                  decryption table)\n"
        "  --once          exit 0 after the first established phase-1 SA\n",
        stderr);
}

std::optional<gdoi::SecureBytes> read_psk(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    gdoi::SecureBytes psk(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    gdoi::wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
    return psk;
}

// "192.0.2.1", "192.0.2.1:500", "2001:db8::1", "[2001:db8::1]:500"
common::Result<gdoi::Endpoint> parse_listen(const std::string& spec) {
    std::string addr = spec;
    uint16_t port = gdoi::kGdoiPort;
    auto parse_port = [&](const std::string& p) -> bool {
        try {
            size_t used = 0;
            unsigned long v = std::stoul(p, &used);
            if (used != p.size() || v == 0 || v > 65535) return false;
            port = static_cast<uint16_t>(v);
            return true;
        } catch (...) {
            return false;
        }
    };
    if (!spec.empty() && spec.front() == '[') {
        auto close = spec.find(']');
        if (close == std::string::npos) return common::make_error("bad --listen " + spec);
        addr = spec.substr(1, close - 1);
        if (close + 1 < spec.size()) {
            if (spec[close + 1] != ':' || !parse_port(spec.substr(close + 2)))
                return common::make_error("bad port in --listen " + spec);
        }
    } else if (std::count(spec.begin(), spec.end(), ':') == 1) {
        auto colon = spec.find(':');
        addr = spec.substr(0, colon);
        if (!parse_port(spec.substr(colon + 1))) return common::make_error("bad port in --listen " + spec);
    }
    return gdoi::Endpoint::parse(addr, port);
}

gdoi::isakmp::IdPayload id_of_endpoint(const gdoi::Endpoint& ep) {
    gdoi::isakmp::IdPayload id;
    if (ep.family() == AF_INET) {
        id.type = static_cast<uint8_t>(gdoi::isakmp::IdType::Ipv4Addr);
        const auto* p =
            reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&ep.addr)->sin_addr);
        id.data.assign(p, p + 4);
    } else {
        id.type = static_cast<uint8_t>(gdoi::isakmp::IdType::Ipv6Addr);
        const auto* p =
            reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(&ep.addr)->sin6_addr);
        id.data.assign(p, p + 16);
    }
    return id;
}

bool is_unspecified(const gdoi::Endpoint& ep) {
    if (ep.family() == AF_INET)
        return reinterpret_cast<const sockaddr_in*>(&ep.addr)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&ep.addr)->sin6_addr);
}

// A sensible default set: AES-CBC with SHA-1/SHA-2 over the common MODP and ECP groups.
const char* const kDefaultProposals[] = {
    "aes256-sha256-modp2048", "aes128-sha256-modp2048", "aes256-sha1-modp2048",
    "aes128-sha1-modp2048",   "aes256-sha384-ecp384",   "aes128-sha256-ecp256",
    "aes256-sha512-modp4096", "aes256-sha256-modp3072", "3des-sha1-modp2048",
};

}  // namespace

int main(int argc, char** argv) {
    std::string listen, keylog, id_spec, mode = "both";
    gdoi::LogLevel min_level = gdoi::LogLevel::Info;
    bool once = false;
    keyserver::ResponderConfig config;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--listen")
            listen = next();
        else if (a == "--psk" || a == "--psk-any") {
            std::string key, file = next();
            if (a == "--psk") {
                auto eq = file.rfind('=');
                if (eq == std::string::npos || eq == 0) {
                    std::cerr << "gdoi-test-keyserver: --psk wants KEY=FILE, not " << file << "\n";
                    return 2;
                }
                key = file.substr(0, eq);
                file = file.substr(eq + 1);
            }
            auto psk = read_psk(file);
            if (!psk || psk->empty()) {
                std::cerr << "gdoi-test-keyserver: cannot read a pre-shared key from " << file << "\n";
                return 2;
            }
            if (a == "--psk")
                config.psks.add(key, std::move(*psk));
            else
                config.psks.set_any(std::move(*psk));
        } else if (a == "--proposal") {
            auto p = gdoi::parse_ike_proposal(next());
            if (!p) {
                std::cerr << "gdoi-test-keyserver: " << p.error().message << "\n";
                return 2;
            }
            config.proposals.push_back(*p);
        } else if (a == "--id")
            id_spec = next();
        else if (a == "--mode")
            mode = next();
        else if (a == "--keylog")
            keylog = next();
        else if (a == "--log-level") {
            std::string l = next();
            if (l == "debug")
                min_level = gdoi::LogLevel::Debug;
            else if (l == "info")
                min_level = gdoi::LogLevel::Info;
            else if (l == "warning")
                min_level = gdoi::LogLevel::Warning;
            else if (l == "error")
                min_level = gdoi::LogLevel::Error;
            else {
                usage();
                return 2;
            }
        } else if (a == "--once")
            once = true;
        else if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if (listen.empty() || config.psks.empty()) {
        usage();
        return 2;
    }
    if (mode == "main")
        config.allow_aggressive = false;
    else if (mode == "aggressive")
        config.allow_main = false;
    else if (mode != "both") {
        usage();
        return 2;
    }
    if (config.proposals.empty())
        for (const char* name : kDefaultProposals)
            config.proposals.push_back(*gdoi::parse_ike_proposal(name));
    auto local = parse_listen(listen);
    if (!local) {
        std::cerr << "gdoi-test-keyserver: " << local.error().message << "\n";
        return 2;
    }
    if (id_spec.rfind("fqdn:", 0) == 0) {
        config.local_id.type = static_cast<uint8_t>(gdoi::isakmp::IdType::Fqdn);
        config.local_id.data.assign(id_spec.begin() + 5, id_spec.end());
    } else if (!id_spec.empty()) {
        auto ep = gdoi::Endpoint::parse(id_spec, 0);
        if (!ep) {
            std::cerr << "gdoi-test-keyserver: --id: " << ep.error().message << "\n";
            return 2;
        }
        config.local_id = id_of_endpoint(*ep);
    } else if (is_unspecified(*local)) {
        config.local_id.type = static_cast<uint8_t>(gdoi::isakmp::IdType::Fqdn);
        const std::string name = "gdoi-test-keyserver";
        config.local_id.data.assign(name.begin(), name.end());
    } else {
        config.local_id = id_of_endpoint(*local);
    }
    config.log = [min_level](gdoi::LogLevel level, const std::string& line) {
        if (static_cast<int>(level) < static_cast<int>(min_level)) return;
        // The per-SA "phase1 established" line is printed by main() on stdout.
        if (line.rfind("phase1 established", 0) == 0) return;
        std::cerr << (level == gdoi::LogLevel::Error     ? "error: "
                      : level == gdoi::LogLevel::Warning ? "warning: "
                      : level == gdoi::LogLevel::Debug   ? "debug: "
                                                         : "")
                  << line << std::endl;
    };

    auto socket = gdoi::UdpSocket::bind(*local);
    if (!socket) {
        std::cerr << "gdoi-test-keyserver: " << socket.error().message << "\n";
        return 1;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    keyserver::Phase1Responder responder(std::move(config));
    std::cerr << "gdoi-test-keyserver: listening on " << local->to_string() << std::endl;
    while (!g_stop) {
        const auto now = gdoi::Clock::now();
        const auto deadline = responder.next_deadline();
        int timeout_ms = -1;
        if (deadline != gdoi::Clock::time_point::max())
            timeout_ms = static_cast<int>(std::clamp<long long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1, 0,
                3600000));
        pollfd p{socket->fd(), POLLIN, 0};
        int r = ::poll(&p, 1, timeout_ms);
        if (r < 0) {
            if (errno == EINTR) continue;
            std::cerr << "gdoi-test-keyserver: poll: " << std::strerror(errno) << "\n";
            return 1;
        }
        if (r == 0) {
            responder.on_timer(gdoi::Clock::now());
            continue;
        }
        auto got = socket->receive(std::chrono::milliseconds(0));
        if (!got) {
            std::cerr << "gdoi-test-keyserver: " << got.error().message << "\n";
            return 1;
        }
        if (!*got) continue;
        const gdoi::Datagram& d = **got;
        auto step = responder.on_datagram(d.data, d.from, gdoi::Clock::now());
        if (step.send) {
            auto sent = socket->send_to(*step.send, d.from);
            if (!sent) std::cerr << "warning: " << sent.error().message << "\n";
        }
        if (step.event == keyserver::ResponderStep::Event::Established && step.sa) {
            const auto& s = *step.sa;
            std::cout << "phase1 established with " << s.peer.address_string() << " ("
                      << gdoi::phase1_mode_name(s.mode) << ", " << s.sa.proposal.name() << ")" << std::endl;
            if (!keylog.empty()) {
                // Wireshark's IKEv1 decryption table: initiator cookie, encryption key (hex).
                const mode_t old = umask(077);
                std::ofstream out(keylog, std::ios::app);
                umask(old);
                out << gdoi::to_hex(s.sa.initiator_cookie) << "," << gdoi::to_hex(s.sa.keys.enc_key.view())
                    << "\n";
            }
            if (once) return 0;
        } else if (step.event == keyserver::ResponderStep::Event::Phase2) {
            std::cerr << "debug: phase-2 exchange from " << d.from.to_string()
                      << " ignored (no GDOI responder yet)" << std::endl;
        }
        responder.on_timer(gdoi::Clock::now());
    }
    return 0;
}
