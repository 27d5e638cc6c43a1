// gdoi-memberd: the GDOI group member daemon (placeholder until member/ is wired).
#include <cstdio>
int main() {
    std::fputs("gdoi-memberd: not implemented yet\n", stderr);
    return 1;
}
