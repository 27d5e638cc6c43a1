// The signature options the test tools share (gdoi-phase1 as initiator, gdoi-test-keyserver
// as responder): --cert FILE, --key FILE, --ca FILE, --crl FILE (repeatable) and
// --id-type dn|fqdn|address, and the identity --id-type picks from our certificate.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/result.h"
#include "gdoi/cert.h"
#include "gdoi/cert_files.h"

namespace gdoi::tools {

// True when `arg` is one of the options (its value taken with next()).
inline bool take_sig_option(const std::string& arg, const std::function<std::string()>& next,
                            SigCredentialFiles& files, std::string& id_type) {
    if (arg == "--cert")
        files.certificate = next();
    else if (arg == "--key")
        files.private_key = next();
    else if (arg == "--ca")
        files.ca_file = next();
    else if (arg == "--crl")
        files.crl_files.push_back(next());
    else if (arg == "--id-type")
        id_type = next();
    else
        return false;
    return true;
}

// --id-type dn: our certificate's subject (ID_DER_ASN1_DN); fqdn: its first dNSName (ID_FQDN)
// (RFC 4945 §3.1: an identity the certificate names). nullopt for "address" or none: the
// caller's address identity.
inline common::Result<std::optional<isakmp::IdPayload>> id_for_id_type(const crypto::SigCredentials& creds,
                                                                       const std::string& id_type) {
    if (id_type != "dn" && id_type != "fqdn") return std::optional<isakmp::IdPayload>();
    auto id = crypto::id_from_certificate(*creds.certificate,
                                          id_type == "dn" ? isakmp::IdType::DerAsn1Dn : isakmp::IdType::Fqdn);
    if (!id) return id.error();
    return std::optional<isakmp::IdPayload>(std::move(*id));
}

}  // namespace gdoi::tools
