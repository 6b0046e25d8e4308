"""A network guard for a test's subprocesses, Ray's workers included.

Write `GUARD` as `sitecustomize.py` into a folder and put that folder on the PYTHONPATH of a
process: every Python process that inherits the environment then refuses DNS look-ups and TCP
connections to anything but this machine (an audit hook), and records each refusal in
`$XEXP_TEST_NET_LOG/blocked.txt` and each guarded process as `started-<pid>` there.
"""

GUARD = r'''
import ipaddress, os, socket, sys
_LOCAL = {"localhost", socket.gethostname()}
_LOG = os.environ["XEXP_TEST_NET_LOG"]
with open(os.path.join(_LOG, f"started-{os.getpid()}"), "w"):
    pass


def _own(host):
    if host in _LOCAL:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False  # a name to resolve: the network
    return ip.is_loopback or ip.is_private or ip.is_unspecified  # this machine and its own network


def _refuse(what):
    with open(os.path.join(_LOG, "blocked.txt"), "a") as f:
        f.write(f"{os.getpid()} {what}\n")
    raise socket.gaierror(socket.EAI_NONAME, f"network blocked by the test: {what}")


def _hook(event, args):
    if event == "socket.getaddrinfo" and args[0] is not None:
        host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        try:
            ipaddress.ip_address(host.split("%")[0])  # a numeric address resolves without the network
        except ValueError:
            if not _own(host):
                _refuse(f"getaddrinfo {host}")
    elif event == "socket.connect":
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            if not _own(str(address[0])):
                _refuse(f"connect {address}")


sys.addaudithook(_hook)
'''


def refused(log) -> list[str]:
    """What the guarded processes tried to reach, less Ray's own question whether it runs on a
    cloud VM (it copes with the refusal)."""
    blocked = log / "blocked.txt"
    lines = blocked.read_text().splitlines() if blocked.exists() else []
    return [b for b in lines if "metadata.google.internal" not in b and "169.254.169.254" not in b]
