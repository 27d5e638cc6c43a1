// gdoi-memberd: the GDOI group member daemon. Runs in the foreground (systemd style),
// logs to stderr in journald's form, reports readiness with sd_notify.
#include <malloc.h>
#include <pwd.h>
#include <sys/stat.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/command_line.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "dataplane/dataplane_saved_state.h"
#include "dataplane/kernel_dataplane.h"
#include "gdoi/private_file.h"

int main(int argc, char** argv) {
    // A daemon idle for days between rekeys (issue 13: its private memory). Blocks of 32 KiB and
    // more (an nft table's compile and batch, a netlink dump) are mapped on their own and go back
    // to the kernel when freed, instead of leaving resident holes in the heap: a fixed threshold,
    // where glibc's default one rises with the largest block freed. The loop gives back the rest
    // when it goes idle (Daemon::run).
    mallopt(M_MMAP_THRESHOLD, 32 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024);
    auto command_line = member::parse_memberd_command_line(std::vector<std::string>(argv + 1, argv + argc));
    if (!command_line) {
        std::cerr << member::memberd_usage_error(command_line.error().message);
        return member::kMemberdExitUsage;
    }
    if (command_line->action == member::MemberdOptions::Action::help) {
        std::cout << member::memberd_usage();
        return 0;
    }
    if (command_line->action == member::MemberdOptions::Action::version) {
        std::cout << member::memberd_version();
        return 0;
    }
    const std::string& path = command_line->config;
    const bool check = command_line->check, no_dataplane = command_line->no_dataplane;
    const std::string& run_as = command_line->user;
    const std::optional<gdoi::LogLevel> level = command_line->log_level;
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
