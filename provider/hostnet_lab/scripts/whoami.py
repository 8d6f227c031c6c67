"""The lab gateway's "what is my address" service on port 7: one line per
connection, the peer address as the gateway sees it, so NAT tests can prove the
rewrite. Runs in hn-gw as `python3 -c`."""

import socket

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 7))  # noqa: S104 -- the gateway namespace's every address
srv.listen(64)
while True:
    conn, peer = srv.accept()
    try:
        conn.sendall((peer[0] + "\n").encode())
    except OSError:
        pass
    finally:
        conn.close()
