# shellcheck shell=bash
# strongSwan charon (IKEv1, PSK or certificates) as a peer for the integration tests and benchmarks.
# Sourced after netns.sh. Everything one charon needs lives in its own DIR:
#   DIR/strongswan.conf   its STRONGSWAN_CONF (plugins, vici socket, log file)
#   DIR/swanctl/          its SWANCTL_DIR: swanctl.conf with the connection and the PSK
#   DIR/charon.vici       vici socket (a path socket: reachable from the host namespace)
#   DIR/charon.log        charon's log (ike/cfg/net at level 2), kept for failure reports
#   DIR/charon.pid        PID of the charon process (ours, from $!)
#   DIR/log.mark          byte offset of the log where the current attempt began
#
# charon itself writes /run/charon.pid and refuses to start if one exists, so each instance
# runs under `unshare -m` with a private tmpfs on /run; that is what lets a responder and an
# initiator (or two test runs) coexist on one machine.

CHARON_BIN=${CHARON_BIN:-/usr/lib/ipsec/charon}
# Exactly the plugins IKEv1 with PSK needs. An explicit list (load_modular off) keeps the
# set independent of what else /etc/strongswan.d enables (stroke would open a socket in
# /run, bypass-lan/updown touch the kernel) and makes startup faster.
#   openssl: AES-CBC, 3DES, SHA-1/2, HMAC, MODP and ECP groups; kdf: PRF+ plumbing in 5.9;
#   kernel-netlink: local addresses; socket-default: UDP 500; vici: swanctl.
CHARON_PLUGINS=${CHARON_PLUGINS:-"random nonce openssl aes sha1 sha2 hmac kdf gmp pem pkcs1 pubkey x509 kernel-netlink socket-default vici"}
# Connection name inside charon; one connection is loaded at a time.
CHARON_CONN=${CHARON_CONN:-gdoi-p1}

_charon_vici_uri() { echo "unix://$1/charon.vici"; }

# _charon_swanctl DIR ARGS... — run swanctl against the charon of DIR.
_charon_swanctl() {
  local dir=$1
  shift
  STRONGSWAN_CONF="$dir/strongswan.conf" SWANCTL_DIR="$dir/swanctl" \
    swanctl "$@" --uri "$(_charon_vici_uri "$dir")"
}

# _charon_write_strongswan_conf DIR LOCAL_PORT
# CHARON_LOG_LEVEL (default 2: proposals, config matching, state changes) sets the ike and
# cfg log levels; the benchmark lowers it so file writes stay out of the timed exchange.
# Even at 0 the "IKE_SA ... established" line is logged.
_charon_write_strongswan_conf() {
  local dir=$1 port=$2 lvl=${CHARON_LOG_LEVEL:-2}
  cat >"$dir/strongswan.conf" <<CONF
charon {
  load = $CHARON_PLUGINS
  # The responder stays on 500: on its NAT-T port charon prepends the non-ESP marker.
  port = $port
  port_nat_t = $((port == 4500 ? 4501 : 4500))
  install_routes = no
  install_virtual_ip = no
  # Aggressive Mode with PSK is refused without this.
  i_dont_care_about_security_and_use_aggressive_mode_psk = yes
  # Bounded failures: a lost attempt must not keep retransmitting for minutes.
  retransmit_tries = 3
  retransmit_timeout = 1.0
  plugins {
    vici {
      socket = $(_charon_vici_uri "$dir")
    }
  }
  filelog {
    p1log {
      path = $dir/charon.log
      time_format = %H:%M:%S
      ike_name = yes
      append = no
      flush_line = yes
      default = $((lvl < 1 ? lvl : 1))
      ike = $lvl
      cfg = $lvl
      net = $((lvl < 1 ? lvl : 1))
      enc = $((lvl < 1 ? lvl : 1))
    }
  }
  # No syslog: several charons per machine, and the log file is what tests read.
  syslog {
  }
}
swanctl {
  load = random nonce openssl pem pkcs1 pubkey x509
}
CONF
}

# charon_configure DIR LOCAL_IP REMOTE_IP PSK MODE PROPOSALS [LOCAL_ID] [REMOTE_ID]
# Write the connection and secret and (if charon runs) load them, replacing what was
# loaded before (swanctl --load-all unloads connections no longer in the file; --clear
# drops the previous PSK). Marks the log so charon_wait_established only looks at what
# happens from now on.
charon_configure() {
  local dir=$1 local_ip=$2 remote_ip=$3 psk=$4 mode=$5 proposals=$6
  local local_id=${7:-$local_ip} remote_id=${8:-%any} aggressive
  case "$mode" in
    main) aggressive=no ;;
    aggressive) aggressive=yes ;;
    *) echo "charon_configure: mode must be main or aggressive, not '$mode'" >&2; return 2 ;;
  esac
  mkdir -p "$dir/swanctl"
  # PSK goes into a file only root can read; it is a test key, but keep the habit.
  (
    umask 077
    cat >"$dir/swanctl/swanctl.conf" <<CONF
connections {
  $CHARON_CONN {
$(charon_conn_settings "$aggressive" "$local_ip" "$remote_ip" "$proposals")
    local {
      auth = psk
      id = $local_id
    }
    remote {
      auth = psk
      id = $remote_id
    }
  }
}
secrets {
  ike-p1 {
    # No id: this PSK applies to any pair of identities. In Main Mode charon must pick the
    # PSK before it sees the peer's ID (msg 5 is encrypted with it), so it can only go by
    # the configs matching the addresses anyway.
    secret = "$psk"
  }
}
CONF
  )
  if [ -S "$dir/charon.vici" ]; then
    charon_reload "$dir"
  else
    charon_mark "$dir"
  fi
}

# charon_reload DIR — load DIR/swanctl (connections and credentials, replacing the previous
# ones) into the running charon, then mark the log: the attempt's log starts with the
# attempt, not the config dump.
charon_reload() {
  local dir=$1
  _charon_swanctl "$dir" --load-all --clear --noprompt >"$dir/swanctl-load.out" 2>&1 || {
    echo "charon: swanctl --load-all failed:" >&2
    cat "$dir/swanctl-load.out" >&2
    return 1
  }
  charon_mark "$dir"
}

# charon_conn_settings AGGRESSIVE(yes|no) LOCAL_IP REMOTE_IP PROPOSALS — the settings of the
# test connection other than its authentication (lines of swanctl.conf's connection block).
charon_conn_settings() {
  cat <<CONF
    version = 1
    aggressive = $1
    local_addrs = $2
    remote_addrs = $3
    remote_port = ${CHARON_REMOTE_PORT:-500}
    proposals = $4
    # Phase 1 only: no DPD, no rekeying, no reauthentication during a test.
    dpd_delay = 0s
    rekey_time = 0s
    reauth_time = 0s
    over_time = 0s
    unique = never
CONF
}

# charon_pubkey_load DIR MODE LOCAL_IP REMOTE_IP PROPOSALS CERT KEY KEYTYPE LOCAL_ID CA_FILE...
# Replace the connection of the charon of DIR by one with certificates (auth = pubkey on both
# ends): our certificate CERT and its key KEY (KEYTYPE rsa2048|rsa3072|p256|p384|p521: swanctl's rsa/
# or ecdsa/ folder), trusting the CA files; LOCAL_ID "" is charon's default (the certificate's
# subject), the remote may be anyone the CAs vouch for. Loads it and marks the log.
charon_pubkey_load() {
  local dir=$1 mode=$2 local_ip=$3 remote_ip=$4 proposals=$5 cert=$6 key=$7 keytype=$8 lid=$9
  shift 9
  local sw=$dir/swanctl keydir=rsa aggressive=no idline="" ca
  [ "$mode" = aggressive ] && aggressive=yes
  case "$keytype" in p256 | p384 | p521) keydir=ecdsa ;; esac
  [ -n "$lid" ] && idline="id = $lid"
  rm -rf "$sw"/x509 "$sw"/x509ca "$sw"/rsa "$sw"/ecdsa
  mkdir -p "$sw"/x509 "$sw"/x509ca "$sw/$keydir"
  cp "$cert" "$sw/x509/own.pem"
  cp "$key" "$sw/$keydir/own.key"
  for ca in "$@"; do cp "$ca" "$sw/x509ca/$(basename "$(dirname "$ca")")-$(basename "$ca")"; done
  cat >"$sw/swanctl.conf" <<CONF
connections {
  $CHARON_CONN {
$(charon_conn_settings "$aggressive" "$local_ip" "$remote_ip" "$proposals")
    local {
      auth = pubkey
      certs = own.pem
      $idline
    }
    remote {
      auth = pubkey
      id = %any
    }
  }
}
CONF
  charon_reload "$dir"
}

# charon_mark DIR — remember the current end of the log as the start of an attempt.
charon_mark() {
  local dir=$1
  stat -c %s "$dir/charon.log" 2>/dev/null >"$dir/log.mark" || echo 0 >"$dir/log.mark"
}

# charon_log_since_mark DIR — the log written since the last mark.
charon_log_since_mark() {
  local dir=$1 mark
  mark=$(cat "$dir/log.mark" 2>/dev/null || echo 0)
  tail -c +"$((mark + 1))" "$dir/charon.log" 2>/dev/null || true
}

# charon_start NETNS DIR LOCAL_IP REMOTE_IP PSK MODE PROPOSALS [LOCAL_PORT]
# Start charon in NETNS with a private /run, wait for its vici socket, load the connection.
# NETNS "-" means the namespace this shell already runs in (the charon stand-in initiator is
# itself started with `ip netns exec`).
charon_start() {
  local ns=$1 dir=$2 local_ip=$3 remote_ip=$4 psk=$5 mode=$6 proposals=$7 port=${8:-500}
  local i
  mkdir -p "$dir/swanctl"
  _charon_write_strongswan_conf "$dir" "$port"
  charon_configure "$dir" "$local_ip" "$remote_ip" "$psk" "$mode" "$proposals"
  rm -f "$dir/charon.vici"
  # ip netns exec, unshare and sh all exec, so $! is charon's own PID.
  local -a in_ns=(ip netns exec "$ns")
  [ "$ns" = "-" ] && in_ns=()
  # shellcheck disable=SC2016  # $0 is expanded by the inner sh
  STRONGSWAN_CONF="$dir/strongswan.conf" "${in_ns[@]}" \
    unshare -m --propagation private \
    sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$0"' "$CHARON_BIN" \
    >"$dir/charon.out" 2>&1 </dev/null &
  echo $! >"$dir/charon.pid"
  cleanup_add "charon_stop '$dir'"
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$(cat "$dir/charon.pid")" 2>/dev/null; then
      echo "charon in $ns exited during startup:" >&2
      tail -n 30 "$dir/charon.out" "$dir/charon.log" >&2 2>/dev/null || true
      return 1
    fi
    if [ -S "$dir/charon.vici" ] && _charon_swanctl "$dir" --stats >/dev/null 2>&1; then
      break
    fi
    sleep 0.05
  done
  if ! [ -S "$dir/charon.vici" ]; then
    echo "charon in $ns: no vici socket after 5s" >&2
    charon_log_tail "$dir" >&2
    return 1
  fi
  _charon_check_plugins "$dir"
  charon_reload "$dir"
}

# _charon_check_plugins DIR — fail early, with the reason, if a plugin did not load
# (a missing crypto plugin would otherwise show up as NO_PROPOSAL_CHOSEN much later).
_charon_check_plugins() {
  local dir=$1
  if grep -qE "plugin '[^']+':? failed to load|failed to load plugin" "$dir/charon.log" "$dir/charon.out" 2>/dev/null; then
    echo "charon: plugin failed to load:" >&2
    grep -hE "failed to load" "$dir/charon.log" "$dir/charon.out" >&2
    return 1
  fi
}

# charon_wait_established DIR TIMEOUT — wait until charon logs an established IKE_SA since
# the last mark; returns 1 after TIMEOUT seconds (fractions allowed).
charon_wait_established() {
  local dir=$1 timeout=$2 deadline ms
  # TIMEOUT may have a fraction (0.3); work in milliseconds.
  ms=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000 }')
  deadline=$(($(date +%s%N) + ms * 1000000))
  while :; do
    if charon_established_since_mark "$dir"; then return 0; fi
    [ "$(date +%s%N)" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# charon_established_since_mark DIR — true if an IKE_SA was established since the mark.
charon_established_since_mark() {
  charon_log_since_mark "$1" | grep -qE "IKE_SA [^ ]+ established between"
}

# charon_log_tail DIR [LINES] — the end of the log, for failure reports.
charon_log_tail() {
  local dir=$1 n=${2:-40}
  echo "---- tail of $dir/charon.log ----"
  tail -n "$n" "$dir/charon.log" 2>/dev/null || true
  if [ -s "$dir/charon.out" ]; then
    echo "---- $dir/charon.out ----"
    tail -n 10 "$dir/charon.out"
  fi
  echo "----"
}

# charon_terminate_all DIR — drop every IKE_SA (quietly) so the next attempt starts clean.
charon_terminate_all() {
  local dir=$1
  _charon_swanctl "$dir" --terminate --ike "$CHARON_CONN" --force --timeout 1 >/dev/null 2>&1 || true
}

# charon_stop DIR — stop the charon of DIR (TERM, then KILL), idempotent.
charon_stop() {
  local dir=$1 pid i
  [ -f "$dir/charon.pid" ] || return 0
  pid=$(cat "$dir/charon.pid")
  rm -f "$dir/charon.pid"
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 30; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}
