// Per-request tolerated errors in a batch (xfrm/netlink.h, Tolerate): the dataplane's batches
// hold deletes of SAs the kernel may have removed already and adds of SAs adoption kept, next to
// requests whose failure must count. Against this host's rtnetlink with RTM_GETLINK for a device
// that does not exist (ENODEV, no privilege needed).
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "xfrm/netlink.h"

using xfrm::MessageBuffer;
using xfrm::NetlinkSocket;
using xfrm::Tolerate;

namespace {

void append_getlink(MessageBuffer& buffer, const char* name) {
    std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_GETLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    buffer.append({buf.data(), NLMSG_ALIGN(nlh->nlmsg_len)}, xfrm::ObjectKind::link, xfrm::Family::ipv4,
                  std::string("get link ") + name);
}

}  // namespace

TEST_CASE("a batch counts only the failures its requests do not tolerate", "[netlink]") {
    auto socket = NetlinkSocket::open(NETLINK_ROUTE);
    REQUIRE(socket);
    const char* missing = "gdoi-no-such";

    MessageBuffer gone;
    append_getlink(gone, missing);
    gone.tolerate_last(Tolerate::gone);
    append_getlink(gone, "lo");
    CHECK(socket->transact(gone, [](std::span<const uint8_t>) { return common::Status{}; }));

    // EEXIST tolerated is not ENODEV tolerated; the failure names its request.
    MessageBuffer exists;
    append_getlink(exists, "lo");
    append_getlink(exists, missing);
    exists.tolerate_last(Tolerate::exists);
    auto s = socket->transact(exists, [](std::span<const uint8_t>) { return common::Status{}; });
    REQUIRE_FALSE(s);
    CHECK(s.error().code == ENODEV);
    CHECK(s.error().message.find(std::string("get link ") + missing) != std::string::npos);

    CHECK(xfrm::tolerated(Tolerate::gone, ESRCH));
    CHECK(xfrm::tolerated(Tolerate::exists, EEXIST));
    CHECK_FALSE(xfrm::tolerated(Tolerate::nothing, ENOENT));
    CHECK_FALSE(xfrm::tolerated(Tolerate::gone, EEXIST));
}
