// Replaced by the netlink XFRM implementation.
namespace xfrm {}
