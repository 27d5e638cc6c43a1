"""Cleartext IPv6-in-IPv6 (next header 41) for the carrier bypass checks of the VM tests.

  ip6ip6_send.py OUTER_SRC OUTER_DST INNER_SRC INNER_DST MARKER COUNT

sends COUNT packets OUTER_SRC > OUTER_DST carrying an inner IPv6 packet INNER_SRC > INNER_DST
with a UDP datagram (40000 -> 9999) holding MARKER, from a raw socket (OUTER_SRC must be local).
"""
import socket
import struct
import sys

osrc, odst, isrc, idst, marker, count = sys.argv[1:7]


def a6(a):
    return socket.inet_pton(socket.AF_INET6, a)


payload = marker.encode()
ulen = 8 + len(payload)
udp = struct.pack("!HHHH", 40000, 9999, ulen, 0) + payload
b = a6(isrc) + a6(idst) + struct.pack("!I3xB", ulen, 17) + udp
if len(b) % 2:
    b += b"\0"
s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
while s >> 16:
    s = (s & 0xFFFF) + (s >> 16)
c = (~s) & 0xFFFF or 0xFFFF
udp = udp[:6] + struct.pack("!H", c) + udp[8:]
inner = struct.pack("!IHBB", 6 << 28, ulen, 17, 64) + a6(isrc) + a6(idst) + udp
sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 41)
sock.bind((osrc, 0))
for _ in range(int(count)):
    sock.sendto(inner, (odst, 0))
