"""Where webhooks may point: the SSRF guard's rules, with the name resolution left to callers.

A tenant's webhook URL is an instruction to our servers to connect somewhere. Without a guard a
tenant could make the delivery process call loopback services, the cluster's private network or
a cloud metadata endpoint (169.254.169.254) and read part of the answer back from the logs or
dead letters. The rules:

* ``https`` only (``http`` where :attr:`UrlGuard.require_https` is off: the local stack);
* no credentials in the URL (they would be logged and stored);
* every address the host resolves to must be globally routable: no loopback, private,
  link-local (metadata), shared (CGNAT), multicast, reserved or unspecified address, in IPv4 or
  IPv6, IPv4-mapped and 6to4 addresses included (unless :attr:`UrlGuard.allow_private`:
  the local stack and tests, whose receivers listen on 127.0.0.1).

The API checks a URL when it is registered (resolving it then) and the delivery process checks
it again before every attempt and checks each address its resolver returns at connect time, so
a name that later resolves to a private address (DNS rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from domain.errors import ConfigurationError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAME_REFUSED: Final = "webhook: the host must resolve to public addresses only"
_NAT64: Final = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_GLOBAL_UNICAST_V6: Final = ipaddress.ip_network("2000::/3")
_TEREDO: Final = ipaddress.ip_network("2001::/32")
Resolver = Callable[[str, int], Iterable[str]]
"""``(host, port) -> addresses`` (text); raises ``OSError`` when the name does not resolve."""


class RefusedAddressError(ConfigurationError):
    """A webhook URL the guard refuses; the message says why (reject, never retry)."""


def address_refusal(address: IpAddress) -> str | None:
    """Why connecting to ``address`` is refused, or ``None`` when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return address_refusal(inner)
        if any(address in net for net in _NAT64):  # NAT64 reaches the IPv4 in the low bits
            return address_refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address not in _GLOBAL_UNICAST_V6 or address in _TEREDO:
            return "not a global unicast IPv6 address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if not address.is_global:
        return "a private or reserved address"
    return None


@dataclass(frozen=True, slots=True)
class UrlGuard:
    """The rules above, for one deployment.

    Attributes:
        allow_private: Accept non-public addresses (local stack and tests only).
        require_https: Refuse plain ``http``.
    """

    allow_private: bool = False
    require_https: bool = True

    def check_url(self, url: str) -> tuple[str, int]:
        """Check a URL's scheme, credentials and literal address; no name resolution.

        Returns:
            The host and port to resolve.

        Raises:
            RefusedAddressError: why the URL is refused.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as e:
            raise RefusedAddressError(f"webhook: not a valid URL ({e})") from e
        schemes = ("https",) if self.require_https else ("https", "http")
        if parts.scheme not in schemes:
            raise RefusedAddressError(f"webhook: the URL must use {' or '.join(schemes)}")
        if parts.username is not None or parts.password is not None:
            raise RefusedAddressError("webhook: the URL must not carry credentials")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise RefusedAddressError("webhook: the URL has no host")
        if not self.allow_private and (host == "localhost" or host.endswith(".localhost")):
            raise RefusedAddressError("webhook: the URL points at a loopback address")
        try:
            literal: IpAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            self.check_address(str(literal))
        return host, port or (443 if parts.scheme == "https" else 80)

    def check_address(self, address: str) -> None:
        """Check one resolved address.

        Raises:
            RefusedAddressError: the address is not public (and private ones are not allowed).
        """
        if self.allow_private:
            return
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError as e:
            raise RefusedAddressError(f"webhook: {address!r} is not an IP address") from e
        reason = address_refusal(ip)
        if reason is not None:
            raise RefusedAddressError(f"webhook: the URL resolves to {reason}")

    def check_resolved(self, url: str, resolve: Resolver) -> None:
        """Check a URL and every address its host resolves to (at registration).

        A name that does not resolve and one that resolves inside get the same answer, so
        registering webhooks cannot map the deployment's internal DNS.

        Raises:
            RefusedAddressError: the URL, or one of its addresses, is refused, or the host
                does not resolve.
        """
        host, port = self.check_url(url)
        refused = RefusedAddressError(NAME_REFUSED)
        try:
            addresses = list(resolve(host, port))
        except OSError as e:
            raise refused from e
        if not addresses:
            raise refused
        for address in addresses:
            try:
                self.check_address(address)
            except RefusedAddressError as e:
                raise refused from e
