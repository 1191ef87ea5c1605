"""Which network addresses the server may call on an admin's or manager's behalf (webhooks, cameras).

A URL typed into a form is fetched by the server from inside its network, so every address its host
resolves to is checked before connecting, and the connection then goes to the checked address (the
callers pin it), so a DNS answer that changes between check and connect cannot send it elsewhere:
- link-local addresses (169.254.0.0/16, fe80::/10, where most cloud metadata services answer) and the
  other clouds' metadata addresses (Alibaba, Oracle, Azure's wire server, EC2 and GCP over IPv6) are
  refused unless the caller allows them, also inside an IPv6 form that carries an IPv4 address
  (mapped, compatible, SIIT, NAT64, 6to4, Teredo, ISATAP);
- loopback (127.0.0.0/8, ::1) and the unspecified address (0.0.0.0, ::, which reaches this host)
  are refused where the caller says so (camera pulls: only with CAMERA_PULL_ALLOW_LOOPBACK=1);
- private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) are allowed: cameras live there.
"""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
BLOCKED = [ipaddress.ip_network(n) for n in (
    "169.254.0.0/16", "100.100.100.200/32", "192.0.0.192/32", "168.63.129.16/32",
    "fe80::/10", "fd00:ec2::254/128", "fd20:ce::254/128",
)]
# IPv6 forms whose last 32 bits are an IPv4 address: IPv4-compatible (::a.b.c.d, deprecated but still
# routed by some stacks), SIIT's IPv4-translated (::ffff:0:a.b.c.d) and NAT64's well-known prefix.
LOW32_CARRIERS = [ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")]
# NAT64's local-use prefix: the IPv4 address sits where RFC 6052 puts it for the operator's prefix length.
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
RFC6052_BYTES = ((4, 5, 6, 7), (5, 6, 7, 9), (6, 7, 9, 10), (7, 9, 10, 11), (9, 10, 11, 12), (12, 13, 14, 15))
ISATAP_IDS = (0x00005EFE, 0x02005EFE)
LOOPBACK = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "0.0.0.0/32", "::/128")]


class AddressRefused(ValueError):
    """The host is, or resolves to, an address the server may not call."""


class AddressUnresolvable(AddressRefused):
    """The host does not resolve (now)."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries in a translation or tunnelling form."""
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    value = int(address)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if any(address in network for network in LOW32_CARRIERS):
        found.append(low32)
    if (value >> 32) & 0xFFFFFFFF in ISATAP_IDS:
        found.append(low32)
    if address in NAT64_LOCAL:
        packed = address.packed
        found.extend(ipaddress.IPv4Address(bytes(packed[i] for i in at)) for at in RFC6052_BYTES)
    return [a for a in found if a is not None]


def _blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A link-local or metadata address, itself or inside an IPv6 form (::ffff:169.254.169.254 is 169.254.169.254)."""
    candidates = [address, *(embedded_ipv4(address) if address.version == 6 else ())]
    return any(a in network for a in candidates for network in BLOCKED if a.version == network.version)


def _in(address: IPAddress, networks: list) -> bool:
    """The address, or an IPv4 address inside its IPv6 form (::ffff:169.254.169.254), is in one of ``networks``."""
    candidates = [address, *(embedded_ipv4(address) if address.version == 6 else ())]
    return any(a in network for a in candidates for network in networks if a.version == network.version)


def is_link_local_or_metadata(address: IPAddress) -> bool:
    """A link-local or cloud metadata address, itself or inside an IPv6 form."""
    return _in(address, BLOCKED)


def address_refusal(address: IPAddress, *, allow_link_local: bool, allow_loopback: bool) -> str | None:
    """Why the server may not call ``address`` (words), or None when it may."""
    if not allow_link_local and is_link_local_or_metadata(address):
        return "a link-local or cloud metadata address"
    if not allow_loopback and _in(address, LOOPBACK):
        return "this server itself (loopback)"
    if address.is_multicast:
        return "a multicast address"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address when ``host`` is written as one (brackets of an IPv6 URL host removed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve_checked(host: str, port: int, *, allow_link_local: bool, allow_loopback: bool) -> str:
    """The first address of ``host`` after checking all of them; raises AddressRefused (with the
    reason in words) or AddressUnresolvable."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressUnresolvable(f"Cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    for address in addresses:
        reason = address_refusal(address, allow_link_local=allow_link_local, allow_loopback=allow_loopback)
        if reason:
            shown = host if str(address) == host.strip("[]") else f"{host} resolves to {address}, which"
            raise AddressRefused(f"{shown} is {reason}")
    return str(addresses[0])
