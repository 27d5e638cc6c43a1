// The configuration of gdoi-memberd: one TOML file (/etc/gdoi-member/member.toml by default).
// Every field is documented in packaging/member.toml.example (the man page gdoi-member.toml(5)
// points there). The loader is strict: unknown keys are errors, and every error names the file,
// line and column, what is wrong and what would be right, e.g.
//   member.toml:12:12: group "GROUP_ID-0001": ike.mode: expected "main" or "aggressive", got "agressive"
// Error messages never contain a pre-shared key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/socket_path.h"
#include "gdoi/ike_proposal.h"
#include "gdoi/log.h"
#include "gdoi/phase1.h"
#include "gdoi/secure_bytes.h"
#include "gdoi/udp_socket.h"
#include "policy/rules.h"

namespace member {

inline constexpr const char* kDefaultConfigPath = "/etc/gdoi-member/member.toml";
inline constexpr const char* kDefaultIkeProposal = "aes256-sha256-modp2048";

// Limits of the seed / Group VPNv2 vocabulary.
inline constexpr std::size_t kMaxServers = 4;
inline constexpr std::uint32_t kDefaultIkeLifetime = 86400;
inline constexpr std::uint32_t kMinIkeLifetime = 60;
inline constexpr std::uint32_t kMaxIkeLifetime = 604800;  // one week
inline constexpr std::uint32_t kDefaultGcmExpectedSenders = 100;
inline constexpr std::uint32_t kMaxGcmExpectedSenders = 1000000;

// A key server: IP literal and UDP port (default 848, RFC 6407 §2). Written
// "198.51.100.10", "198.51.100.11:848", "2001:db8::1" or "[2001:db8::1]:848".
using ServerAddress = gdoi::Endpoint;

// What to do with an AES-GCM TEK from the key server. Linux builds the ESP IV of a GCM SA from
// the sequence number (seqiv), so members sending under one shared key can repeat a nonce; the
// member therefore puts a packet limit on GCM SAs sized by gcm_expected_senders.
// AES-CBC + HMAC TEKs have no such limit.
enum class AllowGcm {
    accept,  // install GCM TEKs (with the packet limit), no warning
    warn,    // install them and log a warning (default)
    refuse,  // reject a GCM TEK: the group is not keyed until the key server offers another
};
const char* allow_gcm_name(AllowGcm value);

// Don't Fragment on the outer header of the group's ESP (Cisco's and Juniper's names). With
// address preservation an ICMP "fragmentation needed" from the path goes to the LAN host named
// in the outer header, never to the member, so path MTU discovery cannot work for the ESP:
// "clear" (default) lets a smaller MTU anywhere on the path fragment the ESP instead of
// black-holing it; "copy" takes the inner packet's DF; "set" always sets it.
enum class DfBit { clear, copy, set };
const char* df_bit_name(DfBit value);

// anti-replay-time-window (seconds): Junos' range (its default, 100, is what operators set).
inline constexpr std::uint32_t kMinAntiReplayWindow = 60;
inline constexpr std::uint32_t kMaxAntiReplayWindow = 360;

// ike.auth.
enum class IkeAuth { psk, rsa_sig, ecdsa_sig };

// Phase 1 with signatures and X.509 certificates (RFC 2409 §5.1, gdoi/cert.h): ike.auth =
// "rsa-sig" / "ecdsa-sig", or ike.certificate given. The files are read with the configuration.
struct IkeSignatureConfig {
    std::string certificate;       // resolved paths
    std::string private_key;       // owner-only, like ike.psk-file
    std::string ca;                // the CA(s) that issue the key servers' certificates
    std::vector<std::string> crl;  // optional CRLs
    gdoi::isakmp::IdType id_type = gdoi::isakmp::IdType::DerAsn1Dn;  // ike.id-type: our identity
    std::optional<gdoi::isakmp::IdPayload> peer_id;                  // ike.peer-id: the key server's
    gdoi::crypto::SigCredentials credentials;                        // loaded from the files
    // Our identity taken from the certificate (id-type dn / fqdn); nullopt: the local address.
    std::optional<gdoi::isakmp::IdPayload> local_id;

    // A reload restarts the group when a path, an identity or the method changed. New contents
    // of the files (a renewed certificate, a new CRL) are not a change of the group: the daemon
    // hands them to the running session (same_credentials).
    bool operator==(const IkeSignatureConfig& other) const;
    // The files' contents: our certificate and chain, the identity taken from it, the CA/CRLs.
    bool same_credentials(const IkeSignatureConfig& other) const;
};

struct GroupConfig {
    std::string name;                            // the seed's GROUP_ID, for logs and gdoictl
    std::uint32_t id = 0;                        // GDOI group id, 1..4294967295
    std::vector<ServerAddress> servers;          // 1..4, tried in order
    std::uint16_t local_port = gdoi::kGdoiPort;  // our source port towards the key servers

    // Phase 1 (IKEv1 with a pre-shared key, RFC 2409; RFC 6407 §2.1).
    gdoi::Phase1Mode ike_mode = gdoi::Phase1Mode::Main;
    std::vector<gdoi::IkeProposal> ike_proposals;  // offered in order; default aes256-sha256-modp2048
    gdoi::SecureBytes ike_psk;                     // from ike.psk or the contents of ike.psk-file
    std::string ike_psk_file;                      // resolved path when the key came from a file, else empty
    std::optional<IkeSignatureConfig> ike_sig;     // signatures instead of the pre-shared key
    std::uint32_t ike_lifetime = kDefaultIkeLifetime;  // seconds
    std::uint32_t ike_doi = 2;  // DOI of the phase-1 SA payload: 2 (GDOI, RFC 6407 §2.1) or 1

    bool recovery_probe = true;                   // pull again on unknown SPIs / outbound-only traffic
    std::vector<std::string> lan_interfaces;      // the protected side (the seed's from-zone)
    std::vector<policy::ExcludeRule> exclude;     // at most policy::kMaxExcludeRules
    std::vector<policy::FailOpenRule> fail_open;  // at most policy::kMaxFailOpenRules

    AllowGcm allow_gcm = AllowGcm::warn;
    std::uint32_t gcm_expected_senders = kDefaultGcmExpectedSenders;
    DfBit df_bit = DfBit::clear;
    // Time-based anti-replay (member/dataplane/anti_replay.h): seconds, 0 = off (the default).
    std::uint32_t anti_replay_window = 0;

    // Every field: a reload restarts a group whose configuration differs in any of them.
    bool operator==(const GroupConfig&) const = default;
};

struct MemberConfig {
    std::string source;           // the file the configuration came from (for messages)
    ServerAddress local_address;  // IP literal, source of IKE/GDOI; port is 0 (see local_port)
    std::string wan_interface;    // the seed's group-vpn-external-interface
    std::string control_socket = kDefaultControlSocket;
    gdoi::LogLevel log_level = gdoi::LogLevel::Info;  // --log-level overrides
    std::vector<GroupConfig> groups;                  // at least one

    const GroupConfig* find_group(std::string_view name) const;
};

// Reads and validates the file. Beyond parse_config, rejects an inline ike.psk when the file
// is readable by group or others. Relative ike.psk-file paths are resolved against the
// directory of `path`.
common::Result<MemberConfig> load_config(const std::string& path);

// Parses and validates TOML text; source_name is used in messages and its directory resolves
// relative ike.psk-file paths. ike.psk-file is read (and its mode checked) here. On failure the
// Error's message holds one line per problem, in file order:
//   "<source>:<line>:<column>: [group "<name>": ]<key>: <what is wrong>; <what would be right>"
common::Result<MemberConfig> parse_config(std::string_view text, const std::string& source_name);

}  // namespace member
