"""Tries the network: a TCP connection to a port the test process listens on (127.0.0.1 and
::1), to every port listening on the host's loopback (from /proc/1/net/tcp), to 10.255.255.1,
a UDP datagram to the test's port, and a DNS lookup. scale() returns the outcome of each;
the test asserts none succeeded and that its sockets received nothing. Honest RATE: 1/8.
"""
import socket

PORT = int("__PORT__")


def _try_tcp(family, host, port):
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(2.0)
    try:
        sock.connect((host, port))
        sock.sendall(b"HOSTILE hello")
        return "connected"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        sock.close()


def _host_ports():
    ports = set()
    try:
        with open("/proc/1/net/tcp") as handle:
            for line in handle.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and local.startswith("0100007F"):
                    ports.add(int(local.split(":")[1], 16))
    except OSError:
        pass
    return sorted(ports)[:50]


def _interfaces():
    try:
        return [name for _, name in socket.if_nameindex()]
    except OSError as exc:
        return f"{type(exc).__name__}"


def scale(x):
    report = {"interfaces": _interfaces()}
    # never send a packet off this machine: outside targets only when the worker sees no
    # interface but loopback (its own network namespace); otherwise report and skip them
    isolated = report["interfaces"] in (["lo"], [])
    report[f"tcp 127.0.0.1:{PORT}"] = _try_tcp(socket.AF_INET, "127.0.0.1", PORT)
    report[f"tcp [::1]:{PORT}"] = _try_tcp(socket.AF_INET6, "::1", PORT)
    if not isolated:
        report["outside targets"] = "skipped: the worker sees network interfaces"
        return report
    report["tcp 10.255.255.1:80"] = _try_tcp(socket.AF_INET, "10.255.255.1", 80)
    for port in _host_ports():
        report[f"tcp 127.0.0.1:{port} (host)"] = _try_tcp(socket.AF_INET, "127.0.0.1", port)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        udp.sendto(b"HOSTILE datagram", ("127.0.0.1", PORT))
        report[f"udp 127.0.0.1:{PORT}"] = "sent"
    except OSError as exc:
        report[f"udp 127.0.0.1:{PORT}"] = f"{type(exc).__name__}: {exc}"
    finally:
        udp.close()
    try:
        report["dns pypi.org"] = f"resolved {socket.getaddrinfo('pypi.org', 443)[0][4]}"
    except OSError as exc:
        report["dns pypi.org"] = f"{type(exc).__name__}: {exc}"
    return report


RATE = 0.01
