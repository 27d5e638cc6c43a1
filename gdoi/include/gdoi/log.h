// Where gdoi/ reports what happened: the caller decides how lines reach the operator.
// Messages never contain key material.
#pragma once

#include <functional>
#include <string>

namespace gdoi {

enum class LogLevel { Debug, Info, Warning, Error };
using LogSink = std::function<void(LogLevel, const std::string&)>;

}  // namespace gdoi
