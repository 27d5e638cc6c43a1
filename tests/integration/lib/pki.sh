# A test PKI made at run time with `openssl ca` (it sets past dates and writes CRLs), in $PKI
# (the caller sets it): ca_init, ca_init_sub, new_key, issue, member_pki_init. Sourced by the
# certificate tests (tests/integration/phase1-strongswan-certs.sh, tests/member/certs.sh and
# cert_ops.sh). Every certificate passes OpenSSL's X509_STRICT checks (the RFC 5280 profile), as
# our trust store asks: CAs with critical basicConstraints, keyUsage and a subjectKeyIdentifier;
# issued ones with an authorityKeyIdentifier.
# shellcheck shell=bash

# ca_config NAME — the `openssl ca` directory and configuration of CA NAME in $PKI/NAME.
ca_config() {
  local dir=$PKI/$1
  mkdir -p "$dir/newcerts"
  : >"$dir/index.txt"
  echo 1000 >"$dir/serial"
  echo 1000 >"$dir/crlnumber"
  cat >"$dir/ca.cnf" <<CNF
[ ca ]
default_ca = this
[ this ]
dir = $dir
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
unique_subject = no
[ any ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_sub ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
}

# ca_init NAME CN — a self-signed RSA-2048 CA in $PKI/NAME.
ca_init() {
  local cn=$2 dir=$PKI/$1
  ca_config "$1"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 30 \
    -subj "/O=gdoi-test/CN=$cn" -config "$dir/ca.cnf" -extensions v3_ca 2>/dev/null
}

# ca_init_sub NAME CN PARENT — an intermediate RSA-2048 CA in $PKI/NAME, issued by CA PARENT.
ca_init_sub() {
  local cn=$2 dir=$PKI/$1
  ca_config "$1"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.csr" \
    -subj "/O=gdoi-test/CN=$cn" 2>/dev/null
  openssl ca -batch -config "$PKI/$3/ca.cnf" -in "$dir/ca.csr" -out "$dir/ca.pem" -notext -preserveDN \
    -extfile "$dir/ca.cnf" -extensions v3_sub >/dev/null 2>&1
}

# new_key FILE TYPE — rsa2048 | rsa3072 (PKCS#1) | p256 | p384 | p521 (SEC1): the formats swanctl's
# rsa/ and ecdsa/ folders take.
new_key() {
  case "$2" in
    rsa2048) openssl genrsa -traditional -out "$1" 2048 2>/dev/null ;;
    rsa3072) openssl genrsa -traditional -out "$1" 3072 2>/dev/null ;;
    p256) openssl ecparam -name prime256v1 -genkey -noout -out "$1" ;;
    p384) openssl ecparam -name secp384r1 -genkey -noout -out "$1" ;;
    p521) openssl ecparam -name secp521r1 -genkey -noout -out "$1" ;;
  esac
}

# issue CA OUT KEY CN DNS IP [USAGE] [START END] — a certificate from CA for KEY with subject
# O=gdoi-test, CN=CN and subjectAltName DNS:DNS, IP:IP.
issue() {
  local ca=$1 out=$2 key=$3 cn=$4 dns=$5 ip=$6 usage=${7:-digitalSignature} start=${8:-} end=${9:-}
  local dir=$PKI/$ca dates=()
  cat >"$out.ext" <<EXT
[ leaf ]
basicConstraints = CA:false
keyUsage = critical, $usage
subjectAltName = DNS:$dns, IP:$ip
authorityKeyIdentifier = keyid
EXT
  openssl req -new -key "$key" -subj "/O=gdoi-test/CN=$cn" -out "$out.csr" 2>/dev/null
  [ -n "$start" ] && dates=(-startdate "$start" -enddate "$end")
  openssl ca -batch -config "$dir/ca.cnf" -in "$out.csr" -out "$out" -notext -preserveDN \
    -extfile "$out.ext" -extensions leaf "${dates[@]}" >/dev/null 2>&1
}

# member_pki_init TEST — for gdoi-memberd's certificate tests (tests/member): openssl present
# (else skip, exit 77); PKI=$WORK/pki holding the CA "good" and the RSA-2048 keys gm.key (the
# member's) and ks.key (the key server's).
member_pki_init() {
  command -v openssl >/dev/null || { echo "$1: needs openssl" >&2; exit 77; }
  PKI=$WORK/pki
  mkdir -p "$PKI"
  ca_init good "gdoi member test CA"
  new_key "$PKI/gm.key" rsa2048
  new_key "$PKI/ks.key" rsa2048
}
