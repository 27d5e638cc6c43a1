// gdoi-test-keyserver's field habits: what deployed key servers do that the RFCs
// do not ask for, selectable all at once (--profile field) or one by one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "field_layout.h"

namespace keyserver {

struct FieldOptions {
    gcks::FieldHabits habits;          // wire layouts, raw-hash RSA, KD naming the current KEK
    bool drop_gdoi_situation = false;  // phase 1: silently drop DOI 2 with Situation != 0
    bool no_delete = false;            // rekeys without Delete of the old TEKs
    uint16_t push_port = 0;            // pushes (and their ACKs) on this source port; 0: the listen port
    unsigned rekey_every = 0;          // periodic TEK rekeys, seconds (0: on command only)
    unsigned kek_rekey_every = 0;      // periodic KEK rekeys, seconds
};

inline constexpr uint16_t kFieldPushPort = 8848;  // --profile field: pushes not from 848

// When `option` is one of the field options, applies it (taking its value from `value()`)
// and returns true; returns false for any other option. `error` is set for a bad value.
bool parse_field_option(const std::string& option, const std::function<std::string()>& value,
                        FieldOptions& options, std::string& error);

// The usage lines of the field options.
const char* field_usage();

}  // namespace keyserver
