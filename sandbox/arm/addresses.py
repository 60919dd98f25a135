"""Address allocation inside a subnet, with Azure's rules.

Azure reserves the first four addresses of every subnet (network, gateway, two for DNS) and
the last one (broadcast). Dynamic allocation takes the lowest free address.
"""

from __future__ import annotations

import ipaddress

from .errors import bad_request


class SubnetAddresses:
    """Which addresses of one subnet are taken, and by whom (an ipConfiguration ID)."""

    def __init__(self, prefix: str) -> None:
        self.network = ipaddress.ip_network(prefix, strict=False)
        self.taken: dict[str, str] = {}
        self._first = int(self.network.network_address) + 4
        self._last = int(self.network.broadcast_address) - 1
        self._low = self._first  # no free address below this one

    def usable(self, ip: str) -> bool:
        value = int(ipaddress.ip_address(ip))
        return self._first <= value <= self._last

    def contains(self, ip: str) -> bool:
        return ipaddress.ip_address(ip) in self.network

    def claim(self, ip: str, owner: str) -> None:
        self.taken[ip] = owner

    def release(self, ip: str, owner: str) -> None:
        if self.taken.get(ip) == owner:
            del self.taken[ip]
            self._low = min(self._low, int(ipaddress.ip_address(ip)))

    def next_free(self, subnet_id: str) -> str:
        value = max(self._low, self._first)
        while value <= self._last:
            candidate = str(ipaddress.ip_address(value))
            if candidate not in self.taken:
                self._low = value
                return candidate
            value += 1
        raise bad_request(
            # SubnetIsFull: ARM's code: azure-docs common-deployment-errors.md
            "SubnetIsFull",
            f"Subnet {subnet_id} with address prefix {self.network} does not have enough capacity "
            "for 1 IP addresses.",
            subnet_id,
        )

    def check_static(self, ip: str, subnet_id: str, owner: str) -> None:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise bad_request(
                # InvalidPrivateIPAddress: the stand-in's own
                "InvalidPrivateIPAddress",
                f"'{ip}' is not a valid IP address.",
                owner,
            ) from None
        if not self.contains(ip):
            raise bad_request(
                # PrivateIPAddressNotInSubnet: ARM's code: azure-docs common-deployment-errors.md
                "PrivateIPAddressNotInSubnet",
                f"IP configuration {owner} references the private IP address {ip} which is not in the "
                f"address prefix {self.network} of subnet {subnet_id}.",
                owner,
            )
        if not self.usable(ip):
            raise bad_request(
                # PrivateIPAddressIsReserved: the stand-in's own
                "PrivateIPAddressIsReserved",
                f"Private static IP address {ip} is reserved by Azure in subnet {subnet_id}: the first "
                "four addresses and the last address of a subnet cannot be used.",
                owner,
            )
        holder = self.taken.get(ip)
        if holder and holder.lower() != owner.lower():
            raise bad_request(
                # PrivateIPAddressInUse: ARM's code, as answered in cloudfoundry/bosh-azure-cpi-release#121
                "PrivateIPAddressInUse",
                f"IP configuration {owner} is using the private IP address {ip} which is already "
                f"allocated to resource {holder}.",
                owner,
            )
