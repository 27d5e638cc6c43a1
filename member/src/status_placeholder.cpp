// member library anchor (the library gains its modules here).
namespace member {}
