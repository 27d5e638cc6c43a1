// gdoi-test-keyserver: the tests' GDOI key server (not installed). The phase-1 responder
// (main and aggressive mode, PSK or signatures with X.509 certificates) and, with --group, the GDOI side
// under the SAs it establishes (group_server.h): GROUPKEY-PULL responder, GROUPKEY-PUSH sender driven by
// commands on a control socket, RFC 8263 ACKs. One UDP socket, one poll loop; time comes
// from the responder's and the group server's deadlines.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "common/hex_spi.h"
#include "field_profile.h"
#include "gdoi/cert_files.h"
#include "gdoi/multicast_socket.h"
#include "gdoi/secret_file.h"
#include "group_server.h"
#include "multicast_sender.h"
#include "phase1_responder.h"
#include "sig_options.h"
#include "tek_selectors.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

void usage() {
    std::fputs(
        "usage: gdoi-test-keyserver --listen ADDR[:PORT] (default port 848; [v6]:PORT for IPv6)\n"
        "         (--psk ADDR=FILE | --psk fqdn:NAME=FILE | --psk-any FILE) ...\n"
        "         [--cert FILE --key FILE --ca FILE [--crl FILE]... [--id-type dn|fqdn|address]]\n"
        "         [--proposal NAME ...] [--id ADDR|fqdn:NAME] [--mode main|aggressive|both]\n"
        "         [--keylog FILE] [--log-level debug|info|warning|error] [--once]\n"
        "         [--group ID (--tek SPEC [--selector PREFIX]) ... [--teks N] [--kek-sig rsa|ecdsa256]\n"
        "          [--gap ACT,DEACT] [--seq N] [--ack] [--ack-period S] [--ack-retransmits N]\n"
        "          [--tek-lifetime S] [--control PATH] [--push-pcap FILE] [--pull-pcap FILE]\n"
        "          [--multicast ADDR[:PORT]]]\n"
        "       gdoi-test-keyserver --control PATH --command CMD\n"
        "  --psk KEY=FILE  pre-shared key for an initiator: main mode chooses it by source address,\n"
        "                  aggressive mode by the initiator's identity (address or fqdn:NAME)\n"
        "  --cert FILE     our certificate (PEM or DER): members may authenticate with signatures\n"
        "                  (RFC 2409 §5.1, method 3 RSA / 9, 10, 11 ECDSA P-256 / P-384 / P-521, the one of\n"
        "                  our key); needs --key and --ca; --psk is then optional\n"
        "  --key FILE      our certificate's private key (PEM or DER, unencrypted)\n"
        "  --ca FILE       the CA(s) (PEM) that must issue the members' certificates\n"
        "  --crl FILE      a CRL (PEM or DER) of that CA, repeatable: members' certificates are then\n"
        "                  checked for revocation (the issuer's CRL must be given)\n"
        "  --id-type T     the identity we present with --cert: dn (our certificate's subject, the\n"
        "                  default), fqdn (its first subjectAltName dNSName) or address (as without\n"
        "                  --cert: --id ADDR or the --listen address)\n"
        "  --proposal      acceptable IKE proposal (repeatable), e.g. aes256-sha256-modp2048\n"
        "  --keylog FILE   append 'icookie_hex,enc_key_hex' per established SA (Wireshark's IKEv1\n"
        "                  decryption table)\n"
        "  --once          exit 0 after the first established phase-1 SA\n"
        "GDOI (with --group):\n"
        "  --group ID      the group (1..4294967295) served to every member (GROUPKEY-PULL)\n"
        "  --tek SPEC      a TEK, repeatable: cbc256-sha256:SPI, cbc128-sha256:SPI, cbc128-sha1:SPI,\n"
        "                  gcm128:SPI, gcm256:SPI (SPI decimal or 0x-hex)\n"
        "  --selector P    traffic of the TEKs, both directions (default 10.0.0.0/8); given after each\n"
        "                  --tek: that TEK's own (a dual-stack group: --tek A --selector 10.0.0.0/8\n"
        "                  --tek B --selector 2001:db8::/32); given once: every TEK's\n"
        "  --teks N        N TEKs (1..64768) like the one --tek, SPIs SPI..SPI+N-1, one policy line each:\n"
        "                  TEK i protects 10.1.0.0/24 <-> 10.(2+i/256).(i%256).0/24\n"
        "  --kek-sig ALG   push signatures: rsa (2048) or ecdsa256 (default rsa)\n"
        "  --gap A,D       GAP activation and deactivation time delays, seconds (default 10,30)\n"
        "  --seq N         SEQ handed out at registration (default 1); each rekey sends SEQ+1\n"
        "  --ack           request RFC 8263 ACKs for pushes (KEK_ACK_REQUESTED)\n"
        "  --ack-period S, --ack-retransmits N  ACK wait and retransmissions (default 10, 2)\n"
        "  --multicast G   rekeys by multicast: the SA KEK names G (port 848 by default) as DST ID and the\n"
        "                  listen address as SRC ID; pushes go to G (TTL 8, out of the listen address's\n"
        "                  interface) instead of unicast to each member\n"
        "  --control PATH  Unix socket for commands: rekey, rekey-kek, rekey-kek-lost, rekey-replay, "
        "rekey-forged,\n"
        "                  rekey-truncated, rekey-unknown-kek, status\n"
        "  --push-pcap F   write the plaintext of every push (E flag cleared) to a pcap of its own\n"
        "  --pull-pcap F   the same for the GROUPKEY-PULL messages, both directions\n"
        "  --command CMD   client: send CMD to the --control socket of a running server, print the answer\n",
        stderr);
    std::fputs(keyserver::field_usage(), stderr);
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
    return gdoi::isakmp::address_id(ep.address());
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

std::optional<uint32_t> parse_u32(const std::string& text) {
    try {
        size_t used = 0;
        unsigned long long v = std::stoull(text, &used, 0);
        if (used != text.size() || v > 0xffffffffULL) return std::nullopt;
        return static_cast<uint32_t>(v);
    } catch (...) {
        return std::nullopt;
    }
}

// --teks N: N copies of `first`, SPIs first.spi + i, TEK i protecting 10.1.0.0/24 <->
// 10.(2 + i / 256).(i % 256).0/24 — one policy line each, as a large key server policy sends them.
constexpr uint32_t kMaxDistinctTeks = 253 * 256;  // 10.2.0.0/24 .. 10.254.255.0/24
std::vector<gdoi::Tek> distinct_teks(const gdoi::Tek& first, uint32_t count) {
    std::vector<gdoi::Tek> teks;
    for (uint32_t i = 0; i < count; ++i) {
        gdoi::Tek t = first;
        t.spi = first.spi + i;
        t.selector.source.id_type = t.selector.destination.id_type = 4;  // ID_IPV4_ADDR_SUBNET
        t.selector.source.address = {10, 1, 0, 0};
        t.selector.destination.address = {10, static_cast<uint8_t>(2 + i / 256),
                                          static_cast<uint8_t>(i % 256), 0};
        t.selector.source.mask_or_end = t.selector.destination.mask_or_end = {255, 255, 255, 0};
        teks.push_back(std::move(t));
    }
    return teks;
}

// "cbc256-sha256:SPI", "gcm128:SPI", ...: an ESP TEK policy (RFC 2407 §4.4.4 transform ids,
// §4.5 auth algorithms).
std::optional<gdoi::Tek> parse_tek(const std::string& text) {
    auto colon = text.find(':');
    if (colon == std::string::npos) return std::nullopt;
    const std::string alg = text.substr(0, colon);
    auto spi = parse_u32(text.substr(colon + 1));
    if (!spi || *spi < 256) return std::nullopt;
    gdoi::Tek t;
    t.spi = *spi;
    if (alg == "cbc256-sha256") {
        t.transform_id = 12, t.key_bits = 256, t.auth_algorithm = 5;
    } else if (alg == "cbc128-sha256") {
        t.transform_id = 12, t.key_bits = 128, t.auth_algorithm = 5;
    } else if (alg == "cbc128-sha1") {
        t.transform_id = 12, t.key_bits = 128, t.auth_algorithm = 2;
    } else if (alg == "gcm128") {
        t.transform_id = 20, t.key_bits = 128, t.auth_algorithm = 0;
    } else if (alg == "gcm256") {
        t.transform_id = 20, t.key_bits = 256, t.auth_algorithm = 0;
    } else {
        return std::nullopt;
    }
    return t;
}

// Client side of --control: one command, the answer on stdout.
int control_client(const std::string& path, const std::string& command) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (fd < 0 || path.size() >= sizeof sun.sun_path) return 1;
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
        std::cerr << "gdoi-test-keyserver: connect " << path << ": " << std::strerror(errno) << "\n";
        ::close(fd);
        return 1;
    }
    std::string line = command + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        ::close(fd);
        return 1;
    }
    ::shutdown(fd, SHUT_WR);
    std::string answer;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        answer.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    std::cout << answer;
    return answer.rfind("error:", 0) == 0 ? 1 : 0;
}

// Reads one command line from an accepted control connection (bounded wait).
std::string read_command(int fd) {
    std::string text;
    char buf[256];
    for (int i = 0; i < 50 && text.find('\n') == std::string::npos && text.size() < 1024; ++i) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    auto nl = text.find('\n');
    if (nl != std::string::npos) text.resize(nl);
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.pop_back();
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen, keylog, id_spec, mode = "both", id_type = "dn";
    gdoi::SigCredentialFiles sig_files;
    sig_files.key_owner_only = false;  // test tool: like --psk, the file mode is not enforced
    gdoi::LogLevel min_level = gdoi::LogLevel::Info;
    bool once = false;
    keyserver::ResponderConfig config;
    // GDOI side (--group)
    uint32_t group_id = 0;
    std::vector<gdoi::Tek> teks;
    std::vector<keyserver::SelectorOption> selectors;
    std::string kek_sig = "rsa", control_path, command, push_pcap, pull_pcap;
    std::string multicast_spec;
    gdoi::Gap gap{10, 30};
    uint32_t seq = 1, tek_lifetime = 3600, tek_count = 0;
    bool ack = false;
    keyserver::GroupServerConfig group_config;
    keyserver::FieldOptions field;
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
            auto psk = gdoi::read_secret_file(file, false);  // test tool: mode not enforced
            if (!psk) {
                std::cerr << "gdoi-test-keyserver: " << psk.error().message << "\n";
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
        else if (gdoi::tools::take_sig_option(a, next, sig_files, id_type))
            continue;  // --cert, --key, --ca, --crl, --id-type
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
        else if (a == "--group" || a == "--seq" || a == "--ack-period" || a == "--ack-retransmits" ||
                 a == "--tek-lifetime" || a == "--teks") {
            std::string v = next();
            auto n = parse_u32(v);
            if (!n || (a == "--group" && *n == 0) || (a == "--teks" && (*n == 0 || *n > kMaxDistinctTeks))) {
                std::cerr << "gdoi-test-keyserver: " << a << ": not a number: " << v << "\n";
                return 2;
            }
            if (a == "--group")
                group_id = *n;
            else if (a == "--seq")
                seq = *n;
            else if (a == "--ack-period")
                group_config.ack_period = std::chrono::milliseconds(uint64_t{*n} * 1000);
            else if (a == "--ack-retransmits")
                group_config.ack_retransmits = *n;
            else if (a == "--teks")
                tek_count = *n;
            else
                tek_lifetime = *n;
        } else if (a == "--tek") {
            std::string v = next();
            auto t = parse_tek(v);
            if (!t) {
                std::cerr
                    << "gdoi-test-keyserver: --tek wants ALG:SPI (cbc256-sha256, cbc128-sha256, cbc128-sha1, "
                       "gcm128, gcm256; SPI >= 256), not "
                    << v << "\n";
                return 2;
            }
            teks.push_back(std::move(*t));
        } else if (a == "--selector")
            selectors.push_back({teks.size(), next()});
        else if (a == "--kek-sig")
            kek_sig = next();
        else if (a == "--gap") {
            std::string v = next();
            auto comma = v.find(',');
            auto act = parse_u32(v.substr(0, comma));
            auto deact = comma == std::string::npos ? std::nullopt : parse_u32(v.substr(comma + 1));
            if (!act || !deact) {
                std::cerr << "gdoi-test-keyserver: --gap wants ACT,DEACT (seconds), not " << v << "\n";
                return 2;
            }
            gap = gdoi::Gap{*act, *deact};
        } else if (a == "--ack")
            ack = true;
        else if (a == "--control")
            control_path = next();
        else if (a == "--command")
            command = next();
        else if (a == "--push-pcap")
            push_pcap = next();
        else if (a == "--pull-pcap")
            pull_pcap = next();
        else if (a == "--multicast")
            multicast_spec = next();
        else if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else if (std::string error; keyserver::parse_field_option(a, next, field, error)) {
            if (!error.empty()) {
                std::cerr << "gdoi-test-keyserver: " << error << "\n";
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    config.drop_gdoi_situation = field.drop_gdoi_situation;
    group_config.delete_old_teks = !field.no_delete;
    group_config.rekey_every = std::chrono::seconds(field.rekey_every);
    group_config.kek_rekey_every = std::chrono::seconds(field.kek_rekey_every);
    if (!command.empty()) {
        if (control_path.empty()) {
            usage();
            return 2;
        }
        return control_client(control_path, command);
    }
    const bool with_sig =
        !sig_files.certificate.empty() || !sig_files.private_key.empty() || !sig_files.ca_file.empty();
    if (with_sig) {
        if (sig_files.certificate.empty() || sig_files.private_key.empty() || sig_files.ca_file.empty()) {
            std::cerr << "gdoi-test-keyserver: --cert, --key and --ca go together\n";
            return 2;
        }
        auto creds = gdoi::load_sig_credentials(sig_files);
        if (!creds) {
            std::cerr << "gdoi-test-keyserver: " << creds.error().message << "\n";
            return 2;
        }
        config.sig = std::move(*creds);
    } else if (!sig_files.crl_files.empty()) {
        std::cerr << "gdoi-test-keyserver: --crl needs --cert, --key and --ca\n";
        return 2;
    }
    if (id_type != "dn" && id_type != "fqdn" && id_type != "address") {
        std::cerr << "gdoi-test-keyserver: --id-type wants dn, fqdn or address, not " << id_type << "\n";
        return 2;
    }
    if (listen.empty() || (config.psks.empty() && !config.sig)) {
        usage();
        return 2;
    }
    if (group_id != 0 && teks.empty()) {
        std::cerr << "gdoi-test-keyserver: --group needs at least one --tek\n";
        return 2;
    }
    if ((group_id == 0) != teks.empty() ||
        (group_id == 0 && (!control_path.empty() || !multicast_spec.empty()))) {
        std::cerr << "gdoi-test-keyserver: --tek, --control and --multicast need --group\n";
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
    // With a certificate: an identity it names (RFC 4945 §3.1), so members can check it.
    auto cert_id = config.sig ? gdoi::tools::id_for_id_type(*config.sig, id_type)
                              : common::Result<std::optional<gdoi::isakmp::IdPayload>>(std::nullopt);
    if (!cert_id) {
        std::cerr << "gdoi-test-keyserver: --id-type " << id_type << ": " << cert_id.error().message << "\n";
        return 2;
    }
    if (*cert_id) {
        config.local_id = std::move(**cert_id);
    } else if (id_spec.rfind("fqdn:", 0) == 0) {
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

    if (!multicast_spec.empty()) {
        auto group_address = parse_listen(multicast_spec);
        if (!group_address || !gdoi::is_multicast(*group_address) ||
            group_address->family() != local->family()) {
            std::cerr
                << "gdoi-test-keyserver: --multicast wants a multicast ADDR[:PORT] of the --listen address's "
                   "family, not "
                << multicast_spec << "\n";
            return 2;
        }
        group_config.multicast = *group_address;
    }
    auto socket = gdoi::UdpSocket::bind(*local);
    if (!socket) {
        std::cerr << "gdoi-test-keyserver: " << socket.error().message << "\n";
        return 1;
    }
    if (group_config.multicast) {
        if (auto set = keyserver::set_multicast_sender(socket->fd(), *local, keyserver::kMulticastTtl);
            !set) {
            std::cerr << "gdoi-test-keyserver: " << set.error().message << "\n";
            return 1;
        }
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    // The GDOI side: one group, its pull responder and push sender.
    std::unique_ptr<keyserver::GroupServer> group;
    std::unique_ptr<keyserver::PcapWriter> pcap, pull_pcap_writer;
    int control_fd = -1;
    if (group_id != 0) {
        gdoi::crypto::SigAlgorithm sig_alg;
        if (kek_sig == "rsa")
            sig_alg = gdoi::crypto::SigAlgorithm::Rsa;
        else if (kek_sig == "ecdsa256")
            sig_alg = gdoi::crypto::SigAlgorithm::EcdsaP256;
        else {
            std::cerr << "gdoi-test-keyserver: --kek-sig wants rsa or ecdsa256, not " << kek_sig << "\n";
            return 2;
        }
        if (tek_count != 0) {
            if (teks.size() != 1 || !selectors.empty() ||
                uint64_t{teks[0].spi} + tek_count - 1 > 0xffffffffu) {
                std::cerr << "gdoi-test-keyserver: --teks wants exactly one --tek (its SPI the first), no "
                             "--selector\n";
                return 2;
            }
            teks = distinct_teks(teks[0], tek_count);
        } else if (auto error = keyserver::assign_selectors(teks, selectors); !error.empty()) {
            std::cerr << "gdoi-test-keyserver: " << error << "\n";
            return 2;
        }
        for (auto& t : teks) t.lifetime_seconds = tek_lifetime;
        gcks::Group g = gcks::Group::make(group_id, std::move(teks), sig_alg);
        g.state.kek->ack_requested = ack;
        g.habits = field.habits;
        if (field.habits.kek_lifetime_basic)  // what a 16-bit basic attribute can say
            g.state.kek->lifetime_seconds = std::min<uint32_t>(g.state.kek->lifetime_seconds, 0xffff);
        if (group_config.multicast) {
            // RFC 6407 §5.3: the rekeys' source (us) and destination (the multicast group).
            if (!is_unspecified(*local)) g.state.kek->selector.source = keyserver::traffic_id_of(*local);
            g.state.kek->selector.destination = keyserver::traffic_id_of(*group_config.multicast);
        }
        g.state.gap = gap;
        g.state.sequence = seq;
        if (!push_pcap.empty()) {
            pcap = std::make_unique<keyserver::PcapWriter>(push_pcap);
            if (!pcap->ok()) {
                std::cerr << "gdoi-test-keyserver: cannot write " << push_pcap << "\n";
                return 1;
            }
            group_config.push_plaintext = [&pcap, local = *local](const gdoi::Endpoint& to,
                                                                  gdoi::ByteView plain) {
                pcap->write_udp(local, to, plain);
            };
        }
        if (!pull_pcap.empty()) {
            pull_pcap_writer = std::make_unique<keyserver::PcapWriter>(pull_pcap);
            if (!pull_pcap_writer->ok()) {
                std::cerr << "gdoi-test-keyserver: cannot write " << pull_pcap << "\n";
                return 1;
            }
            group_config.pull_plaintext = [&pull_pcap_writer, local = *local](const gdoi::Endpoint& member,
                                                                              bool to_member,
                                                                              gdoi::ByteView plain) {
                if (to_member)
                    pull_pcap_writer->write_udp(local, member, plain);
                else
                    pull_pcap_writer->write_udp(member, local, plain);
            };
        }
        group_config.events = [](const std::string& line) { std::cout << line << std::endl; };
        group = std::make_unique<keyserver::GroupServer>(std::move(g), std::move(group_config));
        std::cerr << "gdoi-test-keyserver: group " << group_id << ", KEK SPI "
                  << gdoi::to_hex(group->group().state.kek->spi) << ", SEQ " << seq << ", rekeys "
                  << group->group().state.kek->selector.to_string() << std::endl;
        for (const auto& t : group->group().state.teks)
            std::cerr << "gdoi-test-keyserver: TEK " << common::hex_spi(t.spi) << " protects "
                      << t.selector.to_string() << std::endl;
        if (!control_path.empty()) {
            control_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un sun{};
            sun.sun_family = AF_UNIX;
            if (control_fd < 0 || control_path.size() >= sizeof sun.sun_path) {
                std::cerr << "gdoi-test-keyserver: bad --control path " << control_path << "\n";
                return 1;
            }
            std::memcpy(sun.sun_path, control_path.c_str(), control_path.size() + 1);
            ::unlink(control_path.c_str());
            const mode_t old = umask(077);
            const int bound = ::bind(control_fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
            umask(old);
            if (bound != 0 || ::listen(control_fd, 8) != 0) {
                std::cerr << "gdoi-test-keyserver: control socket " << control_path << ": "
                          << std::strerror(errno) << "\n";
                return 1;
            }
        }
    }
    // --push-port: pushes leave from (and their ACKs come back to) a socket of their own.
    std::optional<gdoi::UdpSocket> push_socket;
    if (field.push_port != 0 && group) {
        auto push_local = gdoi::Endpoint::parse(local->address_string(), field.push_port);
        auto bound = push_local ? gdoi::UdpSocket::bind(*push_local)
                                : common::Result<gdoi::UdpSocket>(push_local.error());
        if (!bound) {
            std::cerr << "gdoi-test-keyserver: --push-port: " << bound.error().message << "\n";
            return 1;
        }
        push_socket.emplace(std::move(*bound));
        std::cerr << "gdoi-test-keyserver: pushes from " << push_local->to_string() << std::endl;
    }
    const gdoi::UdpSocket& push_out = push_socket ? *push_socket : *socket;
    auto send_all = [&](const std::vector<keyserver::Outgoing>& out) {
        for (const auto& o : out) {
            auto sent = push_out.send_to(o.datagram, o.to);
            if (!sent) std::cerr << "warning: " << sent.error().message << "\n";
        }
    };

    keyserver::Phase1Responder responder(std::move(config));
    std::cerr << "gdoi-test-keyserver: listening on " << local->to_string() << std::endl;
    while (!g_stop) {
        const auto now = gdoi::Clock::now();
        auto deadline = responder.next_deadline();
        if (group) deadline = std::min(deadline, group->next_deadline());
        int timeout_ms = -1;
        if (deadline != gdoi::Clock::time_point::max())
            timeout_ms = static_cast<int>(std::clamp<long long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1, 0,
                3600000));
        pollfd p[3] = {{socket->fd(), POLLIN, 0},
                       {control_fd, POLLIN, 0},
                       {push_socket ? push_socket->fd() : -1, POLLIN, 0}};
        int r = ::poll(p, 3, timeout_ms);
        if (r < 0) {
            if (errno == EINTR) continue;
            std::cerr << "gdoi-test-keyserver: poll: " << std::strerror(errno) << "\n";
            return 1;
        }
        if (group) {
            std::vector<keyserver::Outgoing> out;
            group->on_timer(gdoi::Clock::now(), out);
            send_all(out);
        }
        if (control_fd >= 0 && (p[1].revents & POLLIN)) {
            int c = ::accept4(control_fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c >= 0) {
                std::string cmd = read_command(c);
                std::vector<keyserver::Outgoing> out;
                std::string answer = group->command(cmd, out, gdoi::Clock::now());
                send_all(out);
                (void)!::write(c, answer.data(), answer.size());
                ::close(c);
            }
        }
        if (push_socket && (p[2].revents & POLLIN)) {
            auto got_ack = push_socket->receive(std::chrono::milliseconds(0));
            if (got_ack && *got_ack && group->is_ack((**got_ack).data))
                group->on_ack((**got_ack).data, (**got_ack).from);
        }
        if (!(p[0].revents & POLLIN)) {
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
        if (group && group->is_ack(d.data)) {
            group->on_ack(d.data, d.from);
            continue;
        }
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
                // Wireshark's IKEv1 decryption table: one record per line, as tshark 4.0
                // takes it in -o uat:ikev1_decryption_table:ICOOKIE,KEY and in a profile's
                // ikev1_decryption_table file. Both fields are byte buffers, written as bare
                // hex: quoted ("...") they would be read as 16/64 characters, not 8/32 bytes,
                // and tshark refuses them ("Length of Initiator's COOKIE must be 8 octets").
                const mode_t old = umask(077);
                std::ofstream out(keylog, std::ios::app);
                umask(old);
                out << gdoi::to_hex(s.sa.initiator_cookie) << "," << gdoi::to_hex(s.sa.keys.enc_key.view())
                    << "\n";
            }
            if (once) return 0;
        } else if (step.event == keyserver::ResponderStep::Event::Phase2 && step.sa) {
            if (group) {
                auto answer = group->on_phase2(*step.sa, d.data, d.from);
                if (answer) {
                    auto sent = socket->send_to(*answer, d.from);
                    if (!sent) std::cerr << "warning: " << sent.error().message << "\n";
                }
            } else if (min_level == gdoi::LogLevel::Debug) {
                std::cerr << "debug: phase-2 exchange from " << d.from.to_string() << " ignored (no --group)"
                          << std::endl;
            }
        }
        responder.on_timer(gdoi::Clock::now());
    }
    if (control_fd >= 0) {
        ::close(control_fd);
        ::unlink(control_path.c_str());
    }
    return 0;
}
