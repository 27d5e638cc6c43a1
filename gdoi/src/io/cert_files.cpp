#include "gdoi/cert_files.h"

#include <sys/stat.h>

#include "gdoi/private_file.h"

namespace gdoi {
namespace {

constexpr std::size_t kMaxKeyFileSize = 64 * 1024;  // an RSA-8192 PEM key is under 7 KiB

common::Result<SecureBytes> read_file(const std::string& path, const char* what, mode_t refused) {
    auto file = read_private_file(path, {what, kMaxKeyFileSize, refused});
    if (!file) return file.error();
    return std::move(file->content);
}

}  // namespace

common::Result<crypto::SigCredentials> load_sig_credentials(const SigCredentialFiles& files) {
    using crypto::SigAuthMethod;
    // The certificate is public: read with the same no-follow, regular-file checks, no mode check.
    auto cert_text = read_file(files.certificate, "the certificate file", 0);
    if (!cert_text) return cert_text.error();
    auto chain = crypto::Certificate::parse_chain(cert_text->view());
    if (!chain)
        return common::make_error("certificate file " + files.certificate + ": " + chain.error().message);
    if (chain->size() > crypto::kMaxChainCertificates)
        return common::make_error("certificate file " + files.certificate + " holds " +
                                  std::to_string(chain->size()) + " certificates; at most " +
                                  std::to_string(crypto::kMaxChainCertificates) +
                                  " (ours, then the intermediate CAs of its chain)");
    for (size_t i = 1; i < chain->size(); ++i)
        if (!(*chain)[i].is_ca())
            return common::make_error("certificate file " + files.certificate + ": certificate " +
                                      std::to_string(i + 1) + " (" + (*chain)[i].describe_names() +
                                      ") is not a CA certificate; after this member's certificate the file "
                                      "holds only the intermediate CAs of its chain, issuer after issued");
    crypto::Certificate* cert = &chain->front();  // ours; the others are its intermediate CAs

    const mode_t refused = files.key_owner_only ? (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH) : 0;
    auto key_text = read_file(files.private_key, "the private key file", refused);
    if (!key_text) return key_text.error();
    auto key = crypto::PrivateKey::parse(*key_text);
    if (!key) return common::make_error("private key file " + files.private_key + ": " + key.error().message);
    if (files.require_key_match && !key->matches(*cert))
        return common::make_error("private key file " + files.private_key +
                                  " does not hold the key of certificate " + files.certificate + " (" +
                                  cert->describe_names() + ")");

    const auto key_method = key->key_method();
    const SigAuthMethod method = files.method.value_or(key_method.value_or(SigAuthMethod::Rsa));
    if (key_method != method)
        return common::make_error(std::string("authentication method ") +
                                  crypto::sig_auth_method_name(method) + " does not fit the private key in " +
                                  files.private_key);

    auto trust = crypto::TrustStore::load(files.ca_file, files.crl_files);
    if (!trust) return trust.error();

    crypto::SigCredentials out;
    out.method = method;
    out.certificate = std::make_shared<const crypto::Certificate>(std::move(*cert));
    for (size_t i = 1; i < chain->size(); ++i)
        out.intermediates.push_back(std::make_shared<const crypto::Certificate>(std::move((*chain)[i])));
    out.private_key = std::make_shared<const crypto::PrivateKey>(std::move(*key));
    out.trust = std::make_shared<const crypto::TrustStore>(std::move(*trust));
    return out;
}

}  // namespace gdoi
