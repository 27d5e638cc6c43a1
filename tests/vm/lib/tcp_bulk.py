"""Bulk TCP for the MTU scenarios of tests/vm/router-setups.sh (IPv4 or IPv6 by the address).

  tcp_bulk.py serve ADDR PORT N      accept N connections: "send <bytes>" -> read and answer the
                                     count; "fetch <bytes>" -> send that many bytes
  tcp_bulk.py send ADDR PORT BYTES   upload BYTES, succeed when the server counted all of them
  tcp_bulk.py fetch ADDR PORT BYTES  download BYTES, succeed when all arrived
"""
import socket
import sys
import time


def serve(addr, port, count):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4)
    s.settimeout(120)
    for _ in range(count):
        c, _ = s.accept()
        c.settimeout(30)
        f = c.makefile("rb")
        verb, n = f.readline().split()
        n = int(n)
        if verb == b"send":
            got = 0
            while got < n:
                b = f.read(min(65536, n - got))
                if not b:
                    break
                got += len(b)
            c.sendall(b"%d\n" % got)
        else:
            chunk = b"x" * 65536
            left = n
            while left:
                c.sendall(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
        c.close()


def client(verb, addr, port, n):
    start = time.time()
    c = socket.create_connection((addr, port), timeout=20)
    c.sendall(b"%s %d\n" % (verb.encode(), n))
    if verb == "send":
        chunk = b"y" * 65536
        left = n
        while left:
            c.sendall(chunk[: min(left, len(chunk))])
            left -= min(left, len(chunk))
        got = int(c.makefile("rb").readline() or b"0")
    else:
        got = 0
        while got < n:
            b = c.recv(65536)
            if not b:
                break
            got += len(b)
    secs = time.time() - start
    print("%d bytes in %.3f s" % (got, secs))
    return got == n


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(0 if client(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])) else 1)
