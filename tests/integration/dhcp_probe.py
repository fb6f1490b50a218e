"""A minimal DHCP client for the live dnsmasq test: send one DHCPDISCOVER out of INTERFACE for MAC
(with a client architecture and, optionally, the iPXE user class) and print the offer as JSON:
{"type": 2, "yiaddr": "...", "file": "..."}, plus "class" (option 60) and "pxe_menu" (the boot
menu item names inside option 43) when the server sent them, as a proxy-DHCP server does; or
{"type": 0} when nothing answered within 3 seconds. With a client address (a 5th argument, as if
the network's DHCP server had given it) an offer without a boot file is followed by the request a
PXE ROM sends to the boot server's port 4011, whose answer is "boot_server". Runs as root in the
test's network namespace."""

from __future__ import annotations

import json
import random
import socket
import struct
import sys

MAGIC = bytes([99, 130, 83, 99])


def discover(mac: str, arch: int, user_class: str, kind: int = 1, ciaddr: str = "0.0.0.0") -> bytes:
    """A DHCPDISCOVER (kind 1), or the DHCPREQUEST (kind 3) a PXE ROM sends to a proxy server's
    port 4011 from the address the network's DHCP server gave it (ciaddr)."""
    xid = random.getrandbits(32)
    chaddr = bytes.fromhex(mac.replace(":", "")).ljust(16, b"\0")
    header = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                         socket.inet_aton(ciaddr), b"\0" * 4, b"\0" * 4, b"\0" * 4, chaddr, b"\0" * 64, b"\0" * 128)
    options = bytes([53, 1, kind]) + bytes([93, 2]) + struct.pack("!H", arch)
    options += bytes([60, 9]) + b"PXEClient"
    if user_class:
        options += bytes([77, len(user_class)]) + user_class.encode()
    return header + MAGIC + options + bytes([255])


def tlv(data: bytes) -> dict[int, bytes]:
    """DHCP-style code/length/value items (the options, and PXE's sub-options inside option 43)."""
    found, index = {}, 0
    while index < len(data) and data[index] != 255:
        if data[index] == 0:
            index += 1
            continue
        length = data[index + 1]
        found[data[index]] = data[index + 2:index + 2 + length]
        index += 2 + length
    return found


def menu_items(vendor: bytes) -> list[str]:
    """PXE_BOOT_MENU (sub-option 9): repeated type (2 bytes), length, description."""
    menu, items, index = tlv(vendor).get(9, b""), [], 0
    while index + 3 <= len(menu):
        length = menu[index + 2]
        items.append(menu[index + 3:index + 3 + length].decode())
        index += 3 + length
    return items


def parse_offer(packet: bytes) -> dict[str, object]:
    options = tlv(packet[240:])
    offer: dict[str, object] = {"type": options.get(53, b"\0")[0], "yiaddr": socket.inet_ntoa(packet[16:20]),
                                "file": packet[108:236].split(b"\0", 1)[0].decode()}
    if 60 in options:
        offer["class"] = options[60].decode()
    if 43 in options:
        offer["pxe_menu"] = menu_items(options[43])
    return offer


def ask_boot_server(sock: socket.socket, server: str, mac: str, arch: int, user_class: str, ciaddr: str
                    ) -> dict[str, object]:
    """After a proxy offer without a boot file: the PXE boot server request to port 4011."""
    sock.sendto(discover(mac, arch, user_class, kind=3, ciaddr=ciaddr), (server, 4011))
    while True:
        try:
            packet, _ = sock.recvfrom(4096)
        except TimeoutError:
            return {"type": 0}
        if packet[0] == 2 and packet[28:34] == bytes.fromhex(mac.replace(":", "")):
            return parse_offer(packet)


DISCOVER_ATTEMPTS = 5


def main(interface: str, mac: str, arch: int, user_class: str, ciaddr: str = "") -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    sock.bind(("", 68))
    sock.settimeout(3)
    attempts = 0
    # a real client sends its DISCOVER again when no offer comes (a dnsmasq just started on a
    # loaded machine may miss the first one)
    sock.sendto(discover(mac, arch, user_class), ("255.255.255.255", 67))
    while True:
        try:
            packet, _ = sock.recvfrom(4096)
        except TimeoutError:
            attempts += 1
            if attempts == DISCOVER_ATTEMPTS:
                print(json.dumps({"type": 0}))
                return
            sock.sendto(discover(mac, arch, user_class), ("255.255.255.255", 67))
            continue
        if packet[0] == 2 and packet[28:34] == bytes.fromhex(mac.replace(":", "")):
            offer = parse_offer(packet)
            if ciaddr and not offer["file"]:
                server = socket.inet_ntoa(tlv(packet[240:])[54])
                offer["boot_server"] = ask_boot_server(sock, server, mac, arch, user_class, ciaddr)
            print(json.dumps(offer))
            return


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:6])
