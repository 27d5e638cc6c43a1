// Replaced by the nftables implementation.
namespace policy {}
