#!/bin/bash
# Time-based anti-replay in the member's table (policy/: ReplayCheck, set_replay_window): real ESP
# packets (raw IP protocol 50, sent by a peer namespace to the member's WAN) whose sequence
# number is outside the group's window are dropped before the readdressing to G_OUT -> G_IN, and
# counted by the SPI's rule in chain replay_1; inside the window, or under an SPI without the
# check, they go on. The window moves (also across the 2^32 wrap) by replacing the check rules
# in place; the counting rules keep their counters.
# No ESP in this kernel: what happens after the readdressing (decryption) is the VM's to prove.
. "$(dirname "$0")/lib.sh"

M=$(new_ns member)
P=$(new_ns peer)
ip link add wan0 netns "$M" type veth peer name wan0 netns "$P"
ip -n "$M" addr add 192.0.2.1/24 dev wan0
ip -n "$P" addr add 192.0.2.2/24 dev wan0
ip -n "$M" link set wan0 up
ip -n "$P" link set wan0 up
ip -n "$P" route add 10.1.0.0/16 via 192.0.2.1

ARGS=(--wan wan0 --lan lan0 --local 10.1.0.0/16
      --group 1 --name G1 --tek --policy "src=10.1.0.0/16 dst=10.2.0.0/16"
      --replay-spi 0x1000 --replay-spi 0x1001 --replay-window 1000-1999)
tool() { ip netns exec "$1" "$TOOL" "${ARGS[@]}" "${@:2}"; }

# esp SPI SEQ: one ESP packet (SPI, sequence number, 16 octets of "ciphertext") from the peer to a
# LAN host behind the member.
esp() {
    ip netns exec "$P" "$PY" -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
s.sendto(struct.pack("!II", int(sys.argv[1], 0), int(sys.argv[2], 0)) + bytes(16), ("10.1.0.10", 0))
' "$1" "$2"
}
REPLAY="anti-replay G1 SPI 0x00001000"
READDRESS="ESP for own scope"
drops() { rule_packets "$M" replay_1 "$REPLAY"; }
passed() { rule_packets "$M" esp_inbound "$READDRESS"; }
# expect DROPS PASSED: the counters now (the packets are sent synchronously by the raw socket, but
# cross a veth: poll briefly).
expect() {
    for _ in $(seq 50); do
        [ "$(drops)" = "$1" ] && [ "$(passed)" = "$2" ] && return 0
        sleep 0.02
    done
    echo "replay drops $(drops) (want $1), readdressed $(passed) (want $2)" >&2
    return 1
}

check "apply the table with the replay check of SPIs 0x1000 and 0x1001, window 1000-1999" tool "$M" apply
check "  the drop rule of SPI 0x1000 comes before the readdressing" \
    sh -c "ip netns exec $M nft -a list chain inet gdoi_member esp_inbound | grep -n . | grep -E 'anti-replay G1 SPI 0x00001000|ESP for own scope' | head -1 | grep -q anti-replay"
check "  the window is in the check rule (esp sequence != 1000-1999)" \
    sh -c "ip netns exec $M nft list chain inet gdoi_member esp_inbound | grep -q 'esp sequence != 1000-1999 jump replay_1'"

esp 0x1000 1500
check "in the window (1500): readdressed, not dropped" expect 0 1
esp 0x1000 1000
esp 0x1000 1999
check "at both ends of the window (1000, 1999): readdressed" expect 0 3
esp 0x1000 999
esp 0x1000 2000
esp 0x1000 1
esp 0x1000 0xfffffff0
check "outside the window (999, 2000, 1, 0xfffffff0): dropped by the SPI's rule, none readdressed" expect 4 3
esp 0x2000 1
check "an SPI without the check (0x2000, seq 1) is not touched" expect 4 4
esp 0x1001 5
check "SPI 0x1001 outside the window: dropped by its own rule" \
    sh -c "[ \"\$(ip netns exec $M nft -j list chain inet gdoi_member replay_1 | jq '[.nftables[] | select(.rule) | .rule | select(.comment | startswith(\"anti-replay G1 SPI 0x00001001\")) | .expr[] | select(.counter) | .counter.packets] | add')\" = 1 ]"

# The window moves across the wrap: 0-99 and 4000000000-4294967295. policy_tool is a new process,
# which did not apply the table: set_replay_window replaces the whole table (counters from 0).
check "move the window across the wrap (two ranges)" tool "$M" replay-window 1 0-99,4000000000-4294967295
check "  the check rule now drops what lies between" \
    sh -c "ip netns exec $M nft list chain inet gdoi_member esp_inbound | grep -q 'esp sequence 100-3999999999 jump replay_1'"
D0=$(drops)
R0=$(passed)
esp 0x1000 50
esp 0x1000 4100000000
esp 0x1000 0xffffffff
check "  50, 4100000000 and 0xffffffff now pass" expect "$D0" $((R0 + 3))
esp 0x1000 1500
esp 0x1000 100
esp 0x1000 3999999999
check "  1500 (the old window), 100 and 3999999999 are dropped" expect $((D0 + 3)) $((R0 + 3))
check_not "an empty window is refused (it would drop every packet)" tool "$M" replay-window 1 ""
finish
