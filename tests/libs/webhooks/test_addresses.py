"""SSRF: only public unicast addresses, unless the operator allow-listed a network."""

from __future__ import annotations

import ipaddress

import pytest
from clearway.webhooks.addresses import AddressPolicy, url_problem

STRICT = AddressPolicy()
SANDBOX = AddressPolicy.from_config("127.0.0.0/8")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - the address under test
        ("100.64.0.1", "shared (CGNAT)"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("2002:a9fe:a9fe::", "link-local"),  # 6to4 of 169.254.169.254
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    reason = STRICT.refusal(ipaddress.ip_address(address))
    assert reason is not None
    assert f"a {kind} address" in reason


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert STRICT.refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_opens_only_its_networks() -> None:
    assert SANDBOX.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert SANDBOX.refusal(ipaddress.ip_address("127.8.9.10")) is None
    assert SANDBOX.refusal(ipaddress.ip_address("10.0.0.1")) is not None
    assert SANDBOX.refusal(ipaddress.ip_address("169.254.169.254")) is not None
    assert SANDBOX.refusal(ipaddress.ip_address("::1")) is not None
    both = AddressPolicy.from_config("127.0.0.0/8, ::1/128 10.1.0.0/16")
    assert both.refusal(ipaddress.ip_address("::1")) is None
    assert both.refusal(ipaddress.ip_address("10.1.2.3")) is None


def test_urls_with_a_refused_literal_address_are_refused_before_any_lookup() -> None:
    assert url_problem("http://10.0.0.1/hook", livemode=False, policy=SANDBOX)
    assert url_problem("http://169.254.169.254/latest/meta-data", livemode=False, policy=SANDBOX)
    assert url_problem("http://127.0.0.1:9000/hook", livemode=False, policy=SANDBOX) is None
    assert url_problem("http://127.0.0.1:9000/hook", livemode=False, policy=STRICT)
    # A name is judged after resolution, on every delivery.
    assert url_problem("https://hooks.example.com/x?y=1", livemode=False, policy=STRICT) is None


def test_live_mode_endpoints_need_https() -> None:
    problem = url_problem("http://hooks.example.com/x", livemode=True, policy=STRICT)
    assert problem is not None
    assert "https" in problem
    assert url_problem("https://hooks.example.com/x", livemode=True, policy=STRICT) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "https://user:pass@example.com/",
        "https://example.com:99999/",
        "https://[::1]/",
        "https://exa mple.com/",
        "example.com/hook",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    assert url_problem(url, livemode=False, policy=STRICT) is not None
