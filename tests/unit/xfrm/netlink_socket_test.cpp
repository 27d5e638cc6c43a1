// common::netlink (the loop xfrm/ and policy/ share) and common::UniqueFd. The socket tests
// talk to this host's rtnetlink with requests that need no privilege (RTM_GETLINK).
#include "common/netlink_socket.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "common/unique_fd.h"

using common::netlink::Ack;
using common::netlink::parse_ack;
using common::netlink::Socket;

namespace {

// An NLMSG_ERROR as the kernel sends it with NETLINK_CAP_ACK and NETLINK_EXT_ACK.
std::vector<uint8_t> error_message(int err, const char* text) {
    std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_flags = NLM_F_CAPPED;
    auto* e = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nlmsgerr)));
    e->error = -err;
    e->msg.nlmsg_len = 1000;  // the original request's length; capped, so not copied
    if (text) {
        nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
        mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
    }
    buf.resize(nlh->nlmsg_len);
    return buf;
}

// RTM_GETLINK for a device name: answered by RTM_NEWLINK then the ACK, or ENODEV.
void put_getlink(std::vector<uint8_t>& out, const char* name) {
    std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_GETLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    out.insert(out.end(), buf.begin(), buf.begin() + NLMSG_ALIGN(nlh->nlmsg_len));
}

}  // namespace

TEST_CASE("an ACK gives the errno and the kernel's extended-ACK text", "[netlink]") {
    const Ack ok = parse_ack(error_message(0, nullptr));
    CHECK(ok.error == 0);
    CHECK(ok.kernel_message.empty());
    CHECK_FALSE(ok.truncated);

    const Ack failed = parse_ack(error_message(ENODEV, "Unknown device type"));
    CHECK(failed.error == ENODEV);
    CHECK(failed.kernel_message == "Unknown device type");

    auto short_message = error_message(EINVAL, nullptr);
    short_message.resize(sizeof(nlmsghdr) + 2);
    reinterpret_cast<nlmsghdr*>(short_message.data())->nlmsg_len =
        static_cast<uint32_t>(short_message.size());
    const Ack truncated = parse_ack(short_message);
    CHECK(truncated.truncated);
    CHECK(truncated.error == EPROTO);
}

TEST_CASE("one exchange: replies and ACKs reach the request they answer", "[netlink]") {
    auto sock = Socket::open(NETLINK_ROUTE);
    REQUIRE(sock);
    std::vector<uint8_t> block;
    put_getlink(block, "lo");
    put_getlink(block, "gdoi-nothere0");
    put_getlink(block, "lo");
    std::vector<std::size_t> replies;
    std::vector<std::pair<std::size_t, int>> acks;
    const auto on_ack = [&](std::size_t index, const Ack& ack) { acks.emplace_back(index, ack.error); };
    const auto on_reply = [&](std::size_t index, std::span<const uint8_t> message) {
        CHECK(reinterpret_cast<const nlmsghdr*>(message.data())->nlmsg_type == RTM_NEWLINK);
        replies.push_back(index);
    };
    REQUIRE(sock->exchange(block, on_ack, on_reply));
    CHECK(replies == std::vector<std::size_t>{0, 2});
    CHECK(acks == std::vector<std::pair<std::size_t, int>>{{0, 0}, {1, ENODEV}, {2, 0}});

    // A second exchange on the same socket gets fresh sequence numbers.
    acks.clear();
    replies.clear();
    std::vector<uint8_t> again;
    put_getlink(again, "lo");
    REQUIRE(sock->exchange(again, on_ack, on_reply));
    CHECK(acks == std::vector<std::pair<std::size_t, int>>{{0, 0}});
    CHECK(replies == std::vector<std::size_t>{0});
}

TEST_CASE("a dump ends at NLMSG_DONE and a plain request at its ACK", "[netlink]") {
    auto sock = Socket::open(NETLINK_ROUTE);
    REQUIRE(sock);
    std::vector<uint8_t> dump;
    put_getlink(dump, "lo");
    auto* nlh = reinterpret_cast<nlmsghdr*>(dump.data());
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_len = static_cast<uint32_t>(mnl_nlmsg_size(sizeof(ifinfomsg)));  // no name filter
    int links = 0;
    auto done = sock->request(dump, [&](std::span<const uint8_t>) -> common::Status {
        ++links;
        return {};
    });
    REQUIRE(done);
    CHECK(done->error == 0);
    CHECK(links >= 1);  // lo at least

    std::vector<uint8_t> missing;
    put_getlink(missing, "gdoi-nothere0");
    auto refused = sock->request(missing, [](std::span<const uint8_t>) -> common::Status { return {}; });
    REQUIRE(refused);
    CHECK(refused->error == ENODEV);
}

TEST_CASE("UniqueFd closes once, on reset and destruction, and not after release", "[netlink]") {
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(raw >= 0);
    {
        common::UniqueFd fd(raw);
        CHECK(fd.valid());
        common::UniqueFd moved(std::move(fd));
        CHECK_FALSE(fd.valid());
        CHECK(moved.get() == raw);
    }
    CHECK(::fcntl(raw, F_GETFD) == -1);  // closed by `moved`

    int kept = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(kept >= 0);
    {
        common::UniqueFd fd(kept);
        CHECK(fd.release() == kept);
    }
    CHECK(::fcntl(kept, F_GETFD) != -1);
    common::UniqueFd owner(kept);
    owner.reset();
    CHECK(::fcntl(kept, F_GETFD) == -1);
}
