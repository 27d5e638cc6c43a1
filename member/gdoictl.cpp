// gdoictl: control CLI for gdoi-memberd (see gdoictl(8), member/src/gdoictl_cli.h).
#include <cstdio>
#include <string>
#include <vector>

#include "gdoictl/gdoictl_cli.h"

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    std::string out;
    std::string err;
    const int code = member::gdoictl_main(args, out, err);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fwrite(err.data(), 1, err.size(), stderr);
    if (std::fflush(stdout) != 0) return member::kExitFailure;
    return code;
}
