// gdoictl: control CLI for gdoi-memberd (placeholder until member/ is wired).
#include <cstdio>
int main() {
    std::fputs("gdoictl: not implemented yet\n", stderr);
    return 1;
}
