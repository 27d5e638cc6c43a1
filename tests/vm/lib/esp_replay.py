"""Re-sends captured ESP packets as they were (a replay attack), for the VM tests.

  esp_replay.py PCAP SRC DST   send every IPv4 ESP packet SRC > DST of PCAP (libpcap format,
                               Ethernet frames: dumpcap -P) again, byte for byte, from this
                               namespace (raw socket, IP header included); print how many
"""
import socket
import struct
import sys

pcap, src, dst = sys.argv[1], socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3])
data = open(pcap, "rb").read()
magic = struct.unpack("<I", data[:4])[0]
endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
link = struct.unpack(endian + "I", data[20:24])[0]
if link != 1:
    sys.exit("esp_replay.py: link type %d, want Ethernet (1)" % link)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sent, at = 0, 24
while at + 16 <= len(data):
    caplen = struct.unpack(endian + "I", data[at + 8:at + 12])[0]
    frame = data[at + 16:at + 16 + caplen]
    at += 16 + caplen
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        continue
    ip = frame[14:]
    if ip[9] == 50 and ip[12:16] == src and ip[16:20] == dst:
        s.sendto(ip, (sys.argv[3], 0))
        sent += 1
print(sent)
