// gdoictl's command line, as a function so tests can run it in-process:
//   gdoictl [-s SOCKET] show [groups|servers|kek|tek|policy|stats] [--group NAME]
//           [--json | --format text|json|prometheus] [--output FILE]
//   gdoictl [-s SOCKET] register GROUP
//   gdoictl [-s SOCKET] flush
//   gdoictl [-s SOCKET] monitor [--group NAME] [--json]   (streams to stdout until a signal)
//   gdoictl --help | --version
// Exit status: 0 success, 1 failure (daemon unreachable, request refused, no such
// group), 2 usage error.
#pragma once

#include <string>
#include <vector>

namespace member {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// args without argv[0]; `out` and `err` receive what goes to stdout and stderr.
int gdoictl_main(const std::vector<std::string>& args, std::string& out, std::string& err);

std::string gdoictl_usage();
std::string gdoictl_version();  // "gdoictl 0.1.0\n"

}  // namespace member
