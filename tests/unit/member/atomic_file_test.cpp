// write_file_atomically: the file is replaced by rename() (a reader holding the old file keeps
// reading it whole), gets the requested mode whatever the umask, and nothing is left behind.
#include "gdoictl/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/atomic-file-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

std::string slurp(std::istream& in) {
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> names_in(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename());
    return names;
}

}  // namespace

TEST_CASE("atomic file: replaced by rename, mode set whatever the umask, no temporary left",
          "[atomic_file]") {
    TempDir dir;
    const std::string file = (dir.path / "m.prom").string();
    const mode_t old_umask = ::umask(077);
    REQUIRE(member::write_file_atomically(file, "first\n", 0644).ok());
    ::umask(old_umask);
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    const ino_t first_inode = st.st_ino;

    std::ifstream reader(file);  // a collector in the middle of reading the old file
    const std::string big(1 << 20, 'x');
    REQUIRE(member::write_file_atomically(file, big, 0640).ok());
    CHECK(slurp(reader) == "first\n");  // the old file, whole
    std::ifstream now(file);
    CHECK(slurp(now) == big);
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK(st.st_ino != first_inode);  // a new file renamed over, not rewritten in place
    CHECK((st.st_mode & 07777) == 0640);
    CHECK(names_in(dir.path) == std::vector<std::string>{"m.prom"});
}

TEST_CASE("atomic file: failures are values naming the file; the old file stays", "[atomic_file]") {
    TempDir dir;
    const std::string missing = (dir.path / "no" / "m.prom").string();
    auto r = member::write_file_atomically(missing, "x", 0644);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "cannot create a temporary file for " + missing + ": No such file or directory");
    CHECK(r.error().code == ENOENT);

    // The target is a directory: rename fails, the temporary file is removed.
    const std::string target = (dir.path / "d").string();
    std::filesystem::create_directory(target);
    r = member::write_file_atomically(target, "x", 0644);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.starts_with("cannot rename " + target + ".tmp-"));
    CHECK(names_in(dir.path) == std::vector<std::string>{"d"});
    CHECK(member::write_file_atomically("", "x", 0644).error().message == "the output path is empty");
}
