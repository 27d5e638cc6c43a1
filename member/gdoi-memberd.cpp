// gdoi-memberd: the GDOI group member daemon. Runs in the foreground (systemd style),
// logs to stderr in journald's form, reports readiness with sd_notify.
#include <pwd.h>
#include <sys/stat.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "dataplane/dataplane_saved_state.h"
#include "dataplane/kernel_dataplane.h"
#include "gdoi/private_file.h"

namespace {

void usage() {
    std::fputs(
        "usage: gdoi-memberd [-c FILE] [--check] [--log-level debug|info|warning|error] [--no-dataplane]\n"
        "                   [--user NAME]\n"
        "  -c FILE          configuration (default /etc/gdoi-member/member.toml)\n"
        "  --check          validate the configuration and exit (0 = valid); touches nothing\n"
        "  --log-level L    override the configured log level\n"
        "  --no-dataplane   register and follow rekeys, but install nothing in the kernel\n"
        "  --user NAME      switch to this user after binding (keeps CAP_NET_ADMIN only)\n",
        stderr);
}

}  // namespace

int main(int argc, char** argv) {
    std::string path = member::kDefaultConfigPath;
    bool check = false, no_dataplane = false;
    std::string run_as;
    std::optional<gdoi::LogLevel> level;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "-c" || a == "--config") && i + 1 < argc)
            path = argv[++i];
        else if (a == "--check")
            check = true;
        else if (a == "--no-dataplane")
            no_dataplane = true;
        else if (a == "--user" && i + 1 < argc)
            run_as = argv[++i];
        else if (a == "--log-level" && i + 1 < argc) {
            gdoi::LogLevel l;
            if (!member::parse_log_level(argv[++i], l)) {
                usage();
                return 2;
            }
            level = l;
        } else {
            usage();
            return 2;
        }
    }
    umask(077);
    // The user the daemon becomes owns its files like root (the reload reads them as that user).
    if (const passwd* pw = run_as.empty() ? nullptr : ::getpwnam(run_as.c_str()))
        gdoi::set_trusted_file_owner(pw->pw_uid);
    auto config = member::load_config(path);
    if (!config) {
        std::cerr << "gdoi-memberd: " << config.error().message << "\n";
        return 1;
    }
    if (check) {
        std::cout << path << ": valid, " << config->groups.size() << " group(s)\n";
        return 0;
    }
    member::set_log_level(level.value_or(config->log_level));
    std::unique_ptr<member::Dataplane> dataplane;
    if (no_dataplane)
        dataplane = member::make_monitor_dataplane();
    else {
        member::KernelDataplaneOptions options;
        options.log = member::log_sink();
        options.state_file = member::saved_state_path(config->control_socket);
        dataplane = std::make_unique<member::KernelDataplane>(std::move(options));
    }
    member::Daemon daemon(std::move(*config), path, std::move(dataplane), run_as);
    return daemon.run();
}
