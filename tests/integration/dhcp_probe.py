"""A minimal DHCP client for the live dnsmasq test: send one DHCPDISCOVER out of INTERFACE for MAC
(with a client architecture and, optionally, the iPXE user class) and print the offer as JSON:
{"type": 2, "yiaddr": "...", "file": "..."}. Runs as root inside the test's network namespace."""

from __future__ import annotations

import json
import random
import socket
import struct
import sys

MAGIC = bytes([99, 130, 83, 99])


def discover(mac: str, arch: int, user_class: str) -> bytes:
    xid = random.getrandbits(32)
    chaddr = bytes.fromhex(mac.replace(":", "")).ljust(16, b"\0")
    header = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                         b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, chaddr, b"\0" * 64, b"\0" * 128)
    options = bytes([53, 1, 1]) + bytes([93, 2]) + struct.pack("!H", arch)
    options += bytes([60, 9]) + b"PXEClient"
    if user_class:
        options += bytes([77, len(user_class)]) + user_class.encode()
    return header + MAGIC + options + bytes([255])


def parse_offer(packet: bytes) -> dict[str, object]:
    yiaddr = socket.inet_ntoa(packet[16:20])
    boot_file = packet[108:236].split(b"\0", 1)[0].decode()
    options, index, kind = packet[240:], 0, 0
    while index < len(options) and options[index] != 255:
        code = options[index]
        if code == 0:
            index += 1
            continue
        length = options[index + 1]
        if code == 53:
            kind = options[index + 2]
        index += 2 + length
    return {"type": kind, "yiaddr": yiaddr, "file": boot_file}


def main(interface: str, mac: str, arch: int, user_class: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    sock.bind(("", 68))
    sock.settimeout(5)
    sock.sendto(discover(mac, arch, user_class), ("255.255.255.255", 67))
    while True:
        packet, _ = sock.recvfrom(4096)
        if packet[0] == 2 and packet[28:34] == bytes.fromhex(mac.replace(":", "")):
            print(json.dumps(parse_offer(packet)))
            return


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "")
