// Blocking driver for one sans-IO exchange over a UDP socket, for the test tools
// (gdoi-phase1); the daemon drives the same exchanges from its event loop instead.
#pragma once

#include "gdoi/phase1.h"
#include "gdoi/udp_socket.h"

namespace gdoi {

// Runs the exchange until it finishes (established or failed). Datagrams from
// anyone but the peer are ignored. Returns an error only for socket failures.
template <typename Exchange>
common::Status run_exchange(const UdpSocket& socket, const Endpoint& peer, Exchange& exchange) {
    auto handle = [&](ExchangeStep step) -> common::Status {
        if (step.send) {
            auto sent = socket.send_to(*step.send, peer);
            if (!sent) return sent;
        }
        return {};
    };
    auto status = handle(exchange.start(Clock::now()));
    if (!status) return status;
    while (!exchange.finished()) {
        auto now = Clock::now();
        auto deadline = exchange.next_deadline();
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        auto got = socket.receive(std::max(wait, std::chrono::milliseconds(0)));
        if (!got) return got.error();
        if (*got && (*got)->from == peer) {
            status = handle(exchange.on_datagram((*got)->data, Clock::now()));
        } else if (Clock::now() >= deadline) {
            status = handle(exchange.on_timer(Clock::now()));
        }
        if (!status) return status;
    }
    return {};
}

}  // namespace gdoi
