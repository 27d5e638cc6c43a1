// gdoi-phase1: runs one IKEv1 phase-1 exchange (the start of every GDOI
// registration) against a peer and reports the outcome. Used by the strongSwan
// interop tests and the phase-1 benchmark; handy for operators debugging phase 1.
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "gdoi/cert_files.h"
#include "gdoi/phase1.h"
#include "gdoi/secret_file.h"
#include "run_exchange.h"
#include "sig_options.h"

namespace {

void usage() {
    std::fputs(
        "usage: gdoi-phase1 --local ADDR --server ADDR [--server-port 848] [--local-port 848]\n"
        "                   [--mode main|aggressive] --proposal NAME [--proposal NAME ...]\n"
        "                   (--psk-file FILE | --auth rsa|ecdsa-256|ecdsa-384|ecdsa-521|auto --cert FILE "
        "--key FILE\n"
        "                    --ca FILE [--crl FILE ...] [--id-type dn|fqdn|address] [--peer-id TYPE:VALUE]\n"
        "                    [--unchecked-key])\n"
        "                   [--timeout SECONDS] [--doi 1|2] [--id fqdn:NAME] [--keylog FILE] [--verbose]\n"
        "  --peer-id: fqdn:NAME, ip:ADDR, dn:SUBJECT (\"CN=gcks, O=Example\", either order) or\n"
        "             dn-of:CERTFILE (that certificate's subject)\n"
        "  --unchecked-key: send with a key that is not the certificate's (tests the peer's check)\n",
        stderr);
}

std::optional<gdoi::crypto::SigAuthMethod> parse_method(const std::string& name) {
    using gdoi::crypto::SigAuthMethod;
    for (auto m :
         {SigAuthMethod::Rsa, SigAuthMethod::EcdsaP256, SigAuthMethod::EcdsaP384, SigAuthMethod::EcdsaP521})
        if (name == gdoi::crypto::sig_auth_method_name(m) || (name == "rsa" && m == SigAuthMethod::Rsa))
            return m;
    return std::nullopt;
}

// fqdn:NAME, ip:ADDR, dn:SUBJECT (ike.peer-id's DN text), or dn-of:CERTFILE: the subject of
// that certificate file.
common::Result<gdoi::isakmp::IdPayload> parse_id(const std::string& spec) {
    gdoi::isakmp::IdPayload id;
    const auto colon = spec.find(':');
    const std::string type = spec.substr(0, colon),
                      value = colon == std::string::npos ? "" : spec.substr(colon + 1);
    if (type == "fqdn") {
        id.type = static_cast<uint8_t>(gdoi::isakmp::IdType::Fqdn);
        id.data.assign(value.begin(), value.end());
        return id;
    }
    if (type == "ip") {
        auto ep = gdoi::Endpoint::parse(value, 0);
        if (!ep) return ep.error();
        return gdoi::isakmp::address_id(ep->address());
    }
    if (type == "dn") return gdoi::crypto::dn_id_from_text(value);
    if (type == "dn-of") {  // the subject of a certificate file
        std::ifstream in(value, std::ios::binary);
        const gdoi::Bytes text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto cert = gdoi::crypto::Certificate::parse(text);
        if (!cert) return common::make_error(value + ": " + cert.error().message);
        return gdoi::crypto::id_from_certificate(*cert, gdoi::isakmp::IdType::DerAsn1Dn);
    }
    return common::make_error("expected fqdn:NAME, ip:ADDR, dn:SUBJECT or dn-of:CERTFILE, not '" + spec +
                              "'");
}

}  // namespace

int main(int argc, char** argv) {
    std::string local, server, psk_file, keylog, id_spec;
    uint16_t server_port = gdoi::kGdoiPort, local_port = gdoi::kGdoiPort;
    double timeout = 15;
    bool verbose = false;
    gdoi::Phase1Config config;
    gdoi::SigCredentialFiles cert_files;
    std::string auth, id_type, peer_id;
    // A test tool: the key file's mode is not enforced (the daemon's loader does).
    cert_files.key_owner_only = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--local")
            local = next();
        else if (a == "--server")
            server = next();
        else if (a == "--server-port")
            server_port = static_cast<uint16_t>(std::stoi(next()));
        else if (a == "--local-port")
            local_port = static_cast<uint16_t>(std::stoi(next()));
        else if (a == "--mode") {
            std::string m = next();
            if (m == "main")
                config.mode = gdoi::Phase1Mode::Main;
            else if (m == "aggressive")
                config.mode = gdoi::Phase1Mode::Aggressive;
            else {
                usage();
                return 2;
            }
        } else if (a == "--proposal") {
            auto p = gdoi::parse_ike_proposal(next());
            if (!p) {
                std::cerr << "gdoi-phase1: " << p.error().message << "\n";
                return 2;
            }
            config.proposals.push_back(*p);
        } else if (a == "--psk-file")
            psk_file = next();
        else if (a == "--timeout")
            timeout = std::stod(next());
        else if (a == "--doi")
            config.sa_doi = static_cast<uint32_t>(std::stoul(next()));
        else if (a == "--id")
            id_spec = next();
        else if (a == "--auth")
            auth = next();
        else if (gdoi::tools::take_sig_option(a, next, cert_files, id_type))
            continue;  // --cert, --key, --ca, --crl, --id-type
        else if (a == "--peer-id")
            peer_id = next();
        else if (a == "--unchecked-key")
            cert_files.require_key_match = false;
        else if (a == "--keylog")
            keylog = next();
        else if (a == "--verbose")
            verbose = true;
        else {
            usage();
            return 2;
        }
    }
    if (local.empty() || server.empty() || (psk_file.empty() == auth.empty()) || config.proposals.empty()) {
        usage();
        return 2;
    }
    if (!psk_file.empty()) {
        // A test tool: the key file's mode is not enforced (the daemon's loader does).
        auto psk = gdoi::read_secret_file(psk_file, false);
        if (!psk) {
            std::cerr << "gdoi-phase1: " << psk.error().message << "\n";
            return 2;
        }
        config.psk = std::move(*psk);
    } else {
        if (auth != "auto" && !(cert_files.method = parse_method(auth))) {
            usage();
            return 2;
        }
        auto creds = gdoi::load_sig_credentials(cert_files);
        if (!creds) {
            std::cerr << "gdoi-phase1: " << creds.error().message << "\n";
            return 2;
        }
        config.sig = std::move(*creds);
        if (!peer_id.empty()) {
            auto pin = parse_id(peer_id);
            if (!pin) {
                std::cerr << "gdoi-phase1: --peer-id: " << pin.error().message << "\n";
                return 2;
            }
            config.expected_peer_id = std::move(*pin);
        }
    }
    auto local_ep = gdoi::Endpoint::parse(local, local_port);
    auto server_ep = gdoi::Endpoint::parse(server, server_port);
    if (!local_ep || !server_ep) {
        std::cerr << "gdoi-phase1: " << (!local_ep ? local_ep.error() : server_ep.error()).message << "\n";
        return 2;
    }
    auto cert_id = config.sig ? gdoi::tools::id_for_id_type(*config.sig, id_type)
                              : common::Result<std::optional<gdoi::isakmp::IdPayload>>(std::nullopt);
    if (!cert_id) {
        std::cerr << "gdoi-phase1: " << cert_id.error().message << "\n";
        return 2;
    }
    if (*cert_id) {
        config.local_id = std::move(**cert_id);
    } else if (id_spec.rfind("fqdn:", 0) == 0) {
        config.local_id.type = static_cast<uint8_t>(gdoi::isakmp::IdType::Fqdn);
        config.local_id.data.assign(id_spec.begin() + 5, id_spec.end());
    } else {
        config.local_id = gdoi::isakmp::address_id(local_ep->address());
    }
    config.peer_name = server_ep->to_string();
    config.retransmit.total = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
    config.log = [verbose](gdoi::LogLevel level, const std::string& line) {
        if (level == gdoi::LogLevel::Debug && !verbose) return;
        const char* prefix = level == gdoi::LogLevel::Error     ? "error: "
                             : level == gdoi::LogLevel::Warning ? "warning: "
                                                                : "";
        std::cerr << prefix + line + "\n";  // one write: std::cerr is unbuffered
    };

    auto socket = gdoi::UdpSocket::bind(*local_ep);
    if (!socket) {
        std::cerr << "gdoi-phase1: " << socket.error().message << "\n";
        return 1;
    }
    const gdoi::Phase1Mode mode = config.mode;
    gdoi::Phase1Initiator exchange(std::move(config));
    auto status = gdoi::run_exchange(*socket, *server_ep, exchange);
    if (!status) {
        std::cerr << "gdoi-phase1: " << status.error().message << "\n";
        return 1;
    }
    if (!exchange.established()) {
        std::cerr << "gdoi-phase1: phase 1 failed: " << exchange.failure_message() << "\n";
        return 1;
    }
    const auto& sa = exchange.sa();
    if (!keylog.empty()) {
        // Wireshark's IKEv1 decryption table: initiator cookie, encryption key (hex).
        umask(077);
        std::ofstream out(keylog, std::ios::app);
        out << gdoi::to_hex(sa.initiator_cookie) << "," << gdoi::to_hex(sa.keys.enc_key.view()) << "\n";
    }
    std::cout << "phase1: established " << gdoi::phase1_mode_name(mode) << " " << sa.proposal.name()
              << " lifetime " << sa.lifetime_seconds << "s\n";
    return 0;
}
