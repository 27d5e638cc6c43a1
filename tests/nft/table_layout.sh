#!/bin/bash
# The table as the kernel holds it: chains, hooks, priorities, rule order, counters, comments,
# sets; atomic re-apply; removal; existence; operator errors.
. "$(dirname "$0")/lib.sh"

NS=$(new_ns layout)
APPLIED=$(tool "$NS" apply) && pass "apply the member's table" || fail "apply the member's table"
JSON=$(ip netns exec "$NS" nft -j list table inet gdoi_member)
TEXT=$(ip netns exec "$NS" nft list table inet gdoi_member)

jqc() { jq -e "$@" <<<"$JSON"; }
check "chain esp_inbound hooks prerouting at -300" jqc '.nftables[] | select(.chain.name=="esp_inbound") | .chain | .hook=="prerouting" and .prio==-300'
check "chain local_classify is a route chain on output" jqc '.nftables[] | select(.chain.name=="local_classify") | .chain | .type=="route" and .hook=="output"'
check "chain postrouting hooks postrouting" jqc '.nftables[] | select(.chain.name=="postrouting") | .chain.hook=="postrouting"'
check "chain forward and input hook their hooks" jqc '[.nftables[] | select(.chain.name=="forward" or .chain.name=="input") | select(.chain.hook==.chain.name)] | length==2'
check "health chains count decrypted traffic after the router's filters" jqc '[.nftables[] | select(.chain.name=="health_forward" or .chain.name=="health_input") | select(.chain.prio > 0)] | length==2'
check "every rule has a counter" jqc '[.nftables[] | select(.rule) | .rule | select([.expr[] | select(.counter)] | length == 0)] | length == 0'
check "every rule has a comment" jqc '[.nftables[] | select(.rule) | .rule | select(.comment == null)] | length == 0'
check "table has no owner flag (outlives the process)" jqc '.nftables[] | select(.table) | .table | (.flags // []) | index("owner") | not'

# Order in classify: exclude (both directions), group policy, fail-open.
ORDER=$(echo "$JSON" | jq -r '.nftables[] | select(.rule.chain=="classify") | .rule.comment' | cut -c1-14 | tr '\n' '|')
check "classify order: exclude, group policy, fail-open" test "$ORDER" = "exclude 1 of G|exclude 1 of G|GROUP_ID-0001 |fail-open of G|fail-open of G|"
ORDER=$(echo "$JSON" | jq -r '.nftables[] | select(.rule.chain=="outbound") | .rule.comment' | cut -c1-11 | tr '\n' '|')
check "outbound order: LAN return, clear mark, fail-closed" test "$ORDER" = "LAN to LAN:|excluded or|fail-closed|"
ORDER=$(echo "$JSON" | jq -r '.nftables[] | select(.rule.chain=="postrouting") | .rule.comment' | cut -c1-12 | tr '\n' '|')
check "postrouting order: ESP, carrier rewrite, carrier guard, IPIP-to-peer guard, IPv6 link signalling, WAN guard" test "$ORDER" = "ESP|carrier: out|carrier with|carrier alre|IPIP to a ca|IPv6 neighbo|IPv6 multica|IPv6 MLDv2 r|marked clear|last resort,|"
ORDER=$(echo "$JSON" | jq -r '.nftables[] | select(.rule.chain=="postrouting_early") | .rule.comment' | cut -c1-12 | tr '\n' '|')
check "postrouting_early (before NAT): not the WAN's, ESP, the carrier with an SA, IPv6 link signalling, then the WAN guard" test "$ORDER" = "not leaving |ESP|carrier with|IPv6 neighbo|IPv6 multica|IPv6 MLDv2 r|marked clear|last resort,|"
check "chain postrouting_early runs before source NAT (100)" jqc '.nftables[] | select(.chain.name=="postrouting_early") | .chain | .hook=="postrouting" and .prio < 100'
check "chain notrack_output hooks output before conntrack (-200)" jqc '.nftables[] | select(.chain.name=="notrack_output") | .chain | .hook=="output" and .prio < -200'
check "no bridge table left after apply" test "$(ip netns exec "$NS" nft list tables | grep -c gdoi_member)" = 1

grep_text() { grep -qF -- "$1" <<<"$TEXT"; }  # (a pipe into grep -q + pipefail is flaky)
check "text: ESP readdressing rule" grep_text 'iifname "wan0" meta l4proto esp ip daddr 10.1.0.0/16 ip saddr set 192.0.0.2 ip daddr set 192.0.0.1 notrack counter packets 0 bytes 0'
check "text: the carrier IPIP is untracked (no NAT)" grep_text 'ip saddr 192.0.0.1 meta l4proto ipencap notrack counter packets 0 bytes 0'
check "text: the group's ESP is untracked (no NAT)" grep_text 'meta l4proto esp ip saddr 10.1.0.0/16 notrack counter packets 0 bytes 0'
check "text: carrier rewrite copies the inner addresses" grep_text 'ip saddr 192.0.0.1 meta l4proto ipencap rt ipsec exists ip saddr set @nh,256,32 ip daddr set @nh,288,32 counter packets 0 bytes 0 accept'
check "text: exclude marks clear" grep_text 'tcp dport 179 meta mark set 0x00000010 counter packets 0 bytes 0 accept'
check "text: decrypted traffic passes inbound" grep_text 'meta ipsec exists counter packets 0 bytes 0 accept'
check "text: fail-open set lookup" grep_text 'ip saddr . ip daddr . meta l4proto . th sport . th dport @failopen4_1 meta mark set 0x00000010'
check "text: fail-open set holds the rule while no TEK" grep_text '10.1.0.0/16 . 10.2.5.0/24 . icmp . 0-65535 . 0-65535'
check "text: scope set with a counter per policy and direction" grep_text '10.2.0.0/16 . 10.1.0.0/16 . 0-255 counter packets 0 bytes 0 comment "GROUP_ID-0001 policy 1: 10.2.0.0/16 -> 10.1.0.0/16"'
check "text: fail-closed is one lookup in the scope set" grep_text 'ip saddr . ip daddr . meta l4proto @scope4_1 counter packets 0 bytes 0 drop comment "fail-closed GROUP_ID-0001 policies @scope4_1"'
check "text: LAN interface set" grep_text 'elements = { "lan0",'
check "text: LAN-bound traffic skips classification" grep_text 'fib daddr oifname "lan1" counter packets 0 bytes 0 return'

# The compiled text (policy_tool print) and the kernel agree on the number of rules.
WANT=$(sed -n 's/^applied: \([0-9]*\) rules.*/\1/p' <<<"$APPLIED")
GOT=$(echo "$JSON" | jq '[.nftables[] | select(.rule)] | length')
check "kernel holds every compiled rule ($WANT)" test "$WANT" = "$GOT"

# Re-apply replaces (no duplicates), with a TEK the fail-open set is empty.
APPLIED=$(tool "$NS" --tek apply) && pass "re-apply with a valid TEK" || fail "re-apply with a valid TEK"
GOT2=$(ip netns exec "$NS" nft -j list table inet gdoi_member | jq '[.nftables[] | select(.rule)] | length')
WANT2=$(sed -n 's/^applied: \([0-9]*\) rules.*/\1/p' <<<"$APPLIED")
check "re-apply replaced the rules ($WANT2, not added)" test "$WANT2" = "$GOT2"
check "with a TEK the fail-open set is empty" bash -c "! ip netns exec $NS nft list set inet gdoi_member failopen4_1 | grep -q elements"
check "with a TEK group policy accepts into the carrier" bash -c "ip netns exec $NS nft list chain inet gdoi_member outbound | grep -qF 'oifname \"gdoi0\" ip saddr . ip daddr . meta l4proto @scope4_1 counter packets 0 bytes 0 accept'"
check "fail-open on fills the set" tool "$NS" --tek fail-open 1 on
check "set filled" bash -c "ip netns exec $NS nft list set inet gdoi_member failopen4_1 | grep -q '10.1.0.0/16 . 10.2.5.0/24'"
check "fail-open off empties it" tool "$NS" --tek fail-open 1 off
check "set empty" bash -c "! ip netns exec $NS nft list set inet gdoi_member failopen4_1 | grep -q elements"

# IPv6 selectors: a v6 group policy and a fail-open rule for any family (both fail-open sets).
check "apply with an IPv6 group" tool "$NS" --group 2 --name V6 --policy "'src=2001:db8:1::/48 dst=2001:db8:2::/48'" \
    --fail-open "'proto=udp dport=53'" --fail-open "'src=2001:db8:1::/48 dst=2001:db8:2:5::/64 proto=ipv6-icmp'" apply
V6=$(ip netns exec "$NS" nft list table inet gdoi_member)
check "text: IPv6 fail-closed rule" grep -qF 'ip6 saddr . ip6 daddr . meta l4proto @scope6_2 counter packets 0 bytes 0 drop' <<<"$V6"
check "text: IPv6 scope element" grep -qF '2001:db8:1::/48 . 2001:db8:2::/48 . 0-255 counter packets 0 bytes 0' <<<"$V6"
check "text: IPv6 fail-open set element" grep -qF '2001:db8:1::/48 . 2001:db8:2:5::/64 . ipv6-icmp . 0-65535 . 0-65535' <<<"$V6"
check "text: any-family fail-open rule in the IPv4 set too" grep -qF '0.0.0.0/0 . 0.0.0.0/0 . udp . 0-65535 . 53' <<<"$V6"

# Overlapping fail-open rules (pipapo refuses overlaps): split over two sets, both filled.
check "apply with overlapping fail-open rules" tool "$NS" --fail-open "'proto=icmp'" apply
check "  the overlapping rule went into a second set" bash -c "ip netns exec $NS nft list set inet gdoi_member failopen4_1_2 | grep -q '0.0.0.0/0 . 0.0.0.0/0 . icmp'"

# Existence and removal.
check "exists says yes" tool "$NS" exists
check "remove the table" tool "$NS" remove
check_not "exists says no after removal" tool "$NS" exists
check_not "table gone from the kernel" ip netns exec "$NS" nft list table inet gdoi_member
check "removing a missing table is not an error" tool "$NS" remove

# Operator errors.
OUT=$(tool "$NS" fail-open 1 on 2>&1 || true)
check "fail-open without the table explains itself" grep -q "apply the member's table first" <<<"$OUT"
OUT=$(eval ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
      --bounding-set=-all "$TOOL" "$(member_args)" apply 2>&1 || true)
check "without CAP_NET_ADMIN the error says so" grep -q "needs CAP_NET_ADMIN" <<<"$OUT"
OUT=$(eval ip netns exec "$NS" "$TOOL" --wan wan0 --lan lan0 --group 1 \
      --exclude "'proto=tcp dport=1'" --exclude "'proto=tcp dport=2'" --exclude "'proto=tcp dport=3'" \
      --exclude "'proto=tcp dport=4'" --exclude "'proto=tcp dport=5'" --exclude "'proto=tcp dport=6'" \
      --exclude "'proto=tcp dport=7'" --exclude "'proto=tcp dport=8'" --exclude "'proto=tcp dport=9'" \
      --exclude "'proto=tcp dport=10'" --exclude "'proto=tcp dport=11'" apply 2>&1 || true)
check "11 exclude rules are refused" grep -q "11 exclude rules, at most 10" <<<"$OUT"
check_not "and nothing was installed" tool "$NS" exists

finish
