#!/usr/bin/env bash
# A stand-in for gdoi-phase1 built from strongSwan's charon: same command line, same exit
# status and the same `phase1: established` line, so the matrix test and the benchmark can
# be proven (and the benchmark's reference figure measured) with charon as the initiator.
# Run it inside the initiator's namespace (`ip netns exec NS charon-initiator.sh ...`); it
# starts a private charon (own /run, own vici socket) for one attempt and stops it again.
#
#   charon-initiator.sh --local IP --server IP [--server-port 500] [--local-port 500]
#       --mode main|aggressive --proposal P [--proposal P...] --psk-file FILE
#       --timeout SECONDS [--doi 1|2] [--id fqdn:NAME] [--keep-dir DIR]
#
# Differences from gdoi-phase1, by nature of charon: the SA payload always carries DOI 1
# (--doi is accepted and ignored); --local-port N becomes charon's IKE port (its NAT-T port
# stays 4500, so packets from N carry no non-ESP marker), default 500.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/netns.sh
. "$HERE/netns.sh"
# shellcheck source=SCRIPTDIR/charon.sh
. "$HERE/charon.sh"

usage() {
  sed -n '8,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,3\}//' >&2
  exit 2
}

# parse_args "$@" — fills the globals below; proposals joined by commas, which is how
# strongSwan lists several proposals in one SA.
LOCAL="" SERVER="" SERVER_PORT=500 LOCAL_PORT=500 MODE="" PROPOSALS="" PSK_FILE=""
TIMEOUT=10 ID="" KEEP_DIR=""
parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --local) LOCAL=$2 ;;
      --server) SERVER=$2 ;;
      --server-port) SERVER_PORT=$2 ;;
      --local-port) LOCAL_PORT=$2 ;;
      --mode) MODE=$2 ;;
      --proposal) PROPOSALS=${PROPOSALS:+$PROPOSALS,}$2 ;;
      --psk-file) PSK_FILE=$2 ;;
      --timeout) TIMEOUT=$2 ;;
      --doi) ;; # charon always sends DOI 1
      --id) ID=$2 ;;
      --keep-dir) KEEP_DIR=$2 ;;
      *) echo "charon-initiator: unknown option $1" >&2; usage ;;
    esac
    shift 2
  done
  if [ -z "$LOCAL" ] || [ -z "$SERVER" ] || [ -z "$MODE" ] || [ -z "$PROPOSALS" ] ||
    [ -z "$PSK_FILE" ]; then
    usage
  fi
}

# explain_failure LOG — one line naming the likely cause, as gdoi-phase1 must print.
explain_failure() {
  local log=$1
  if grep -qE "NO_PROPOSAL_CHOSEN|no proposal chosen|no acceptable proposal" "$log"; then
    echo "phase1: failed: no proposal chosen by the responder"
  elif grep -qE "decryption failed|calculated HASH does not match|AUTHENTICATION_FAILED|INVALID_HASH_INFORMATION|PAYLOAD_MALFORMED|INVALID_PAYLOAD_TYPE|integrity check failed" "$log"; then
    echo "phase1: failed: authentication failed, likely a pre-shared key (PSK) mismatch"
  elif grep -qE "INVALID_ID_INFORMATION" "$log"; then
    echo "phase1: failed: responder rejected our identity (INVALID-ID-INFORMATION)"
  elif grep -qE "giving up after [0-9]+ retransmits|retransmit" "$log"; then
    echo "phase1: failed: no complete answer from the responder within ${TIMEOUT}s (wrong pre-shared key in Main Mode looks like this too)"
  else
    echo "phase1: failed: see $log"
  fi
}

main() {
  parse_args "$@"
  local dir psk
  if [ -n "$KEEP_DIR" ]; then
    dir=$KEEP_DIR
    rm -rf "$dir"
    mkdir -p "$dir"
  else
    dir=$(mktemp -d /tmp/charon-initiator.XXXXXX)
    cleanup_add "rm -rf '$dir'"
  fi
  psk=$(cat "$PSK_FILE")
  # shellcheck disable=SC2034  # read by charon_configure in charon.sh
  CHARON_REMOTE_PORT=$SERVER_PORT
  # swanctl understands the same "fqdn:NAME" form the tool takes; default is our address,
  # sent as ID_IPV4_ADDR like gdoi-phase1 does.
  CHARON_LOCAL_ID=${ID:-$LOCAL}
  charon_start_initiator "$dir"
  local rc=0
  _charon_swanctl "$dir" --initiate --ike "$CHARON_CONN" --timeout "$TIMEOUT" \
    >"$dir/initiate.out" 2>&1 || rc=$?
  if [ $rc -eq 0 ] && charon_established_since_mark "$dir"; then
    echo "phase1: established"
    return 0
  fi
  explain_failure "$dir/charon.log" >&2
  return 1
}

# charon_start_initiator DIR — charon_start in the current namespace with our options.
charon_start_initiator() {
  local dir=$1
  charon_start - "$dir" "$LOCAL" "$SERVER" "$psk" "$MODE" "$PROPOSALS" "$LOCAL_PORT"
  if [ "$CHARON_LOCAL_ID" != "$LOCAL" ]; then
    charon_configure "$dir" "$LOCAL" "$SERVER" "$psk" "$MODE" "$PROPOSALS" "$CHARON_LOCAL_ID"
  fi
}

main "$@"
