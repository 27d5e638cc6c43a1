// --no-dataplane: the protocol runs, the kernel is left alone.
#include "daemon/daemon.h"
#include "daemon/logging.h"

namespace member {
namespace {

class MonitorDataplane : public Dataplane {
public:
    common::Status start(const MemberConfig&) override {
        log_line(gdoi::LogLevel::Warning,
                 "dataplane disabled (--no-dataplane): no SA, policy or rule is installed");
        return {};
    }
    common::Status apply(const GroupConfig& group, const gdoi::GroupState& state,
                         Clock::time_point) override {
        log_line(gdoi::LogLevel::Info, gdoi::group_line(group.name, group.id,
                                                        "would install " + std::to_string(state.teks.size()) +
                                                            " TEK(s) (dataplane disabled)"));
        return {};
    }
    common::Status remove_group(const GroupConfig&) override { return {}; }
    Clock::time_point next_deadline() const override { return Clock::time_point::max(); }
    void on_timer(Clock::time_point) override {}
    common::Status flush() override { return {}; }
    void shutdown() override {}
    std::optional<GroupRules> rules(const GroupConfig&) const override { return std::nullopt; }
    TekRole tek_role(const GroupConfig&, uint32_t) const override {
        return {TekRole::Kind::not_installed, "monitor"};
    }
};

}  // namespace

std::unique_ptr<Dataplane> make_monitor_dataplane() { return std::make_unique<MonitorDataplane>(); }

}  // namespace member
