// Replaced by the daemon's modules.
namespace member {}
