"""Serial numbers: short enough for Kakao, unique within a process and across processes."""

from __future__ import annotations

import pytest

from triage.kakao.protocol import SERIAL_MAX
from triage.kakao.serials import SerialNumbers


def test_serials_within_one_millisecond_are_unique_and_short():
    serials = SerialNumbers(clock=lambda: 1_700_000_000.123)
    made = [serials() for _ in range(50_000)]
    assert len(set(made)) == len(made)
    assert max(len(s) for s in made) <= SERIAL_MAX
    assert made[0] == f"1700000000123-{serials.instance}-0"


def test_two_processes_at_the_same_instant_do_not_collide():
    clock = lambda: 1_700_000_000.0  # noqa: E731
    first, second = SerialNumbers(clock=clock), SerialNumbers(clock=clock)
    assert first.instance != second.instance
    assert {first() for _ in range(100)}.isdisjoint({second() for _ in range(100)})


def test_the_time_part_orders_serials():
    ticks = iter([1.0, 2.0])
    serials = SerialNumbers("a1", clock=lambda: next(ticks))
    assert serials().split("-")[0] == "1000" and serials().split("-")[0] == "2000"


def test_no_instance_means_a_random_one():
    assert SerialNumbers().instance != SerialNumbers().instance


@pytest.mark.parametrize("instance", ["seven77", "a-b", "한글"])
def test_instance_part_must_be_short_ascii(instance):
    with pytest.raises(ValueError):
        SerialNumbers(instance)
