"""The site's firewall addresses: management networks and agency server, as nftables elements.

The image's /etc/nftables.conf (image-build) declares the sets; provisioning writes
``data_dir/firewall.nft`` with the site's values and alpr-firewall.service loads it. Every value
goes through ``ipaddress``, so nothing but addresses can reach the ruleset.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from provisioning.exc import InvalidInput

FIREWALL_FILE = "firewall.nft"
TABLE = "inet alpr"


def _networks(values: Iterable[str], what: str) -> tuple[list[str], list[str]]:
    v4, v6 = [], []
    for value in values:
        try:
            net = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise InvalidInput(f"{what} {value!r}: not an IP address or network") from None
        (v4 if net.version == 4 else v6).append(str(net))
    return v4, v6


def render_firewall(mgmt_nets: Iterable[str], server_addrs: Iterable[str]) -> str:
    """nft commands adding the site's addresses to the image ruleset's sets."""
    mgmt4, mgmt6 = _networks(mgmt_nets, "management network")
    srv4, srv6 = _networks(server_addrs, "server address")
    lines = ["# Written by `alpr provision init`: this site's addresses for /etc/nftables.conf."]
    for name, items in (("mgmt4", mgmt4), ("mgmt6", mgmt6), ("server4", srv4), ("server6", srv6)):
        lines.append(f"flush set {TABLE} {name}")
        if items:
            lines.append(f"add element {TABLE} {name} {{ {', '.join(items)} }}")
    return "\n".join(lines) + "\n"
