// Certificates while the daemon runs: new contents of the certificate, CA or CRL files picked up
// by a reload without restarting the group (its settings are unchanged), and the warning about our
// own certificate's expiry, at start, after every reload and once a day.
#include "daemon/certificate_status.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "gdoi/log.h"

namespace member {

using gdoi::LogLevel;

void Daemon::reload_credentials(Group& group, const GroupConfig& fresh, Clock::time_point now) {
    if (!group.config.ike_sig || !fresh.ike_sig || group.config.ike_sig->same_credentials(*fresh.ike_sig))
        return;
    const auto& running = group.config.ike_sig->credentials;
    const auto& reloaded = fresh.ike_sig->credentials;
    if (running.trust->fingerprint() != reloaded.trust->fingerprint())
        log_line(
            LogLevel::Info,
            gdoi::group_line(group.config.name, group.config.id,
                             "CA/CRL files changed: " + std::to_string(reloaded.trust->ca_subjects().size()) +
                                 " CA(s), " + std::to_string(reloaded.trust->crl_count()) +
                                 " CRL(s); key servers are checked against them from now on"));
    if (!gdoi::crypto::same_certificate_chain(running, reloaded))
        log_line(LogLevel::Info,
                 gdoi::group_line(group.config.name, group.config.id,
                                  "our certificate file changed (" + fresh.ike_sig->certificate + "): '" +
                                      reloaded.certificate->subject() + "'"));
    group.config.ike_sig = fresh.ike_sig;
    const auto& sig = *group.config.ike_sig;
    handle_output(group,
                  group.session->replace_credentials(
                      sig.credentials, sig.local_id.value_or(group.session->config().phase1.local_id), now),
                  now);
}

namespace {

// "our certificate 'CN=..' (FILE) expires in ...", "key server ADDR's certificate 'CN=..' expires ...".
void warn_certificate(const GroupConfig& group, const CertificateStatus& cert, const std::string& whose,
                      const std::string& where = {}) {
    if (cert.warning.empty()) return;
    log_line(cert.seconds_left == 0 ? LogLevel::Error : LogLevel::Warning,
             gdoi::group_line(group.name, group.id,
                              whose + " certificate '" + cert.subject + "'" + where + " " + cert.warning));
}

}  // namespace

void Daemon::warn_server_certificate(const Group& group, size_t server) {
    const auto& auth = group.session->authenticated_servers().at(server);
    if (!auth || !auth->certificate) return;
    warn_certificate(group.config,
                     certificate_status(auth->certificate->certificate, CertificateOwner::key_server,
                                        std::chrono::system_clock::now()),
                     "key server " + group.config.servers.at(server).to_string() + "'s");
}

void Daemon::check_certificates(Clock::time_point now) {
    next_certificate_check_ = now + kCertificateCheckInterval;
    for (const auto& [name, group] : groups_) {
        const auto& sig = group->config.ike_sig;
        if (!sig) continue;
        warn_certificate(group->config,
                         certificate_status(*sig->credentials.certificate, CertificateOwner::ours,
                                            std::chrono::system_clock::now()),
                         "our", " (" + sig->certificate + ")");
        for (size_t i = 0; i < group->config.servers.size(); ++i) warn_server_certificate(*group, i);
    }
}

}  // namespace member
