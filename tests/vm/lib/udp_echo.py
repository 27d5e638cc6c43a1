"""UDP datagrams with a marker, answered, for the VM tests (IPv4 or IPv6 by the address).

  udp_echo.py serve ADDR PORT READY_FILE COUNT [IDLE]
                                                 write READY_FILE once bound, print "SRC PAYLOAD"
                                                 per datagram and answer "REPLY PAYLOAD" (COUNT at
                                                 most, IDLE seconds without any: done; default 30)
  udp_echo.py send ADDR PORT MARKER COUNT        send COUNT datagrams "MARKER i", print how many
                                                 answers came back (3 s each)
"""
import socket
import sys


def sock(addr):
    return socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)


if sys.argv[1] == "serve":
    s = sock(sys.argv[2])
    s.bind((sys.argv[2], int(sys.argv[3])))
    s.settimeout(float(sys.argv[6]) if len(sys.argv) > 6 else 30)
    open(sys.argv[4], "w").write("ready\n")
    for _ in range(int(sys.argv[5])):
        try:
            d, a = s.recvfrom(4096)
        except socket.timeout:
            break
        print(a[0], d.decode(errors="replace"), flush=True)
        s.sendto(b"REPLY " + d, a)
else:
    s = sock(sys.argv[2])
    s.settimeout(3)
    marker, got = sys.argv[4].encode(), 0
    for i in range(int(sys.argv[5])):
        s.sendto(marker + b" %d" % i, (sys.argv[2], int(sys.argv[3])))
        try:
            d, _ = s.recvfrom(4096)
            got += d.startswith(b"REPLY " + marker)
        except socket.timeout:
            pass
    print(got)
