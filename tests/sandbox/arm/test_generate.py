"""The world generator's limit is Azure's per subnet, as each generated subscription has its own."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sandbox.arm import seed
from sandbox.arm.server import make_world


def test_the_busiest_subnet_is_counted_as_the_generator_fills_it(tmp_path: Path) -> None:
    world = make_world(tmp_path / "arm.json")
    seed.generate(world, 3, 7, 4)
    taken = Counter({key: len(addresses.taken) for key, addresses in world._addresses.items()})
    assert max(taken.values()) == seed.busiest_subnet(3, 7, 4) == 10  # 7 services x 4 PEs over 3 subs
    assert sum(taken.values()) == 7 * 3 + 7 * 4


def test_the_limit_is_per_subnet_not_per_world() -> None:
    # issue 14's big world: 200 services and 600 endpoints a subscription, far below a /18 each
    assert seed.busiest_subnet(50, 10_000, 3) == 600
    assert seed.busiest_subnet(1, 8_189, 0) == seed.SUBNET_ADDRESSES - 1  # frontend + NAT IP each
    world = make_world(None)
    with pytest.raises(ValueError, match="holds 16,379 addresses; this world needs 16,380"):
        seed.generate(world, 1, 8_190, 0)
    with pytest.raises(ValueError, match="needs 16,380"):
        seed.generate(world, 1, 1, 16_380)  # its endpoints subnet
