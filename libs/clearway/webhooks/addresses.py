"""Which addresses a webhook may be sent to (SSRF protection).

A customer chooses the URL, so without a check Clearway could be made to call its own network:
the cloud metadata service (169.254.169.254), a database on 10.0.0.5, an admin page on
127.0.0.1. Only public unicast addresses are called, checked after DNS resolution, unless an
operator allow-lists a network (WEBHOOK_ALLOWED_NETWORKS, e.g. "127.0.0.0/8" for the sandbox).
IPv6 addresses that carry an IPv4 address (mapped, 6to4, Teredo, NAT64) are judged by it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT: private in practice

# What a webhook URL may look like: http(s), a DNS name or a dotted IPv4 address, an optional
# port (1-65535), and a path and query of printable ASCII. No credentials, no IPv6 literal.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
URL_PATTERN = rf"^https?://{_LABEL}(?:\.{_LABEL})*\.?(?::{_PORT})?(?:[/?][!-~]*)?$"
URL_MAX_LENGTH = 2048
_URL_RE = re.compile(URL_PATTERN)


class DestinationRefusedError(Exception):
    """The endpoint's host is, or resolves to, an address webhooks may not be sent to."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind_of(address: IPAddress) -> str | None:
    """Why this address is not a public unicast one (None: it is)."""
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (
            isinstance(address, ipaddress.IPv6Address)
            and address in ipaddress.IPv6Network("fc00::/7"),
            "unique-local",
        ),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "shared (CGNAT)"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not public"),
    )
    return next((kind for refused, kind in checks if refused), None)


@dataclass(frozen=True)
class AddressPolicy:
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_config(cls, text: str) -> AddressPolicy:
        """ "127.0.0.0/8, ::1/128" → a policy allowing those networks besides public ones."""
        parts = [part.strip() for part in text.replace(",", " ").split()]
        return cls(tuple(ipaddress.ip_network(part, strict=False) for part in parts if part))

    def _allow_listed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks)

    def refusal(self, address: IPAddress) -> str | None:
        """Why a webhook may not be sent to `address`, or None when it may."""
        if self._allow_listed(address):
            return None
        embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
        # A transition address (mapped, 6to4, Teredo, NAT64) ends at the IPv4 address it carries.
        if embedded is not None:
            kind = None if self._allow_listed(embedded) else _kind_of(embedded)
        else:
            kind = _kind_of(address)
        if kind is None:
            return None
        return f"{address} is a {kind} address; webhooks go to public addresses only"

    def check(self, address: IPAddress) -> None:
        reason = self.refusal(address)
        if reason is not None:
            raise DestinationRefusedError(reason)


def url_problem(url: str, *, livemode: bool, policy: AddressPolicy) -> str | None:
    """What is wrong with an endpoint URL before any DNS lookup, or None.

    Only a literal IP address can be judged here; a name is judged again on every delivery,
    after it is resolved (the answer may change between now and then).
    """
    if len(url) > URL_MAX_LENGTH or not _URL_RE.match(url):
        return "The URL must be http:// or https://, a host name and an optional port and path."
    parsed = httpx.URL(url)
    if livemode and parsed.scheme != "https":
        return "Live-mode endpoints must use https://."
    try:
        address = ipaddress.ip_address(parsed.host)
    except ValueError:
        return None
    return policy.refusal(address)
