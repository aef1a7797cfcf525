"""Message signatures: repeats of one message share one; different messages do not."""

from __future__ import annotations

import pytest
from retroflow_otel import signature


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        (
            "Timeout after 3000 ms for order 8812",
            "Timeout after 12 ms for order 17",
            "Timeout after <*> ms for order <*>",
        ),
        ("took 3.5 s", "took 12 s", "took <*> s"),
        ("req 9f86d081884c7d65 failed", "req d4dd1fc6a0b1c2d3 failed", "req <*> failed"),  # hex, letter-led too
        (
            "user 550e8400-e29b-41d4-a716-446655440000 not found",
            "user c45cb58f-739d-314b-7ce0-ef63f223535e not found",
            "user <*> not found",
        ),
        ("from 10.0.3.17:8080", "from 192.168.1.2:443", "from <*>:<*>"),
        ("flags 0x1F set", "flags 0xA0 set", "flags <*> set"),
        ("order ord_8f7a6b5c lost", "order ord_00aa11bb lost", "order ord_<*> lost"),
        ("GET /api/cart/123 502", "GET /api/cart/98765 504", "GET /api/cart/<*> <*>"),
    ],
)
def test_repeats_that_differ_in_numbers_and_ids_share_a_signature(first, second, shared):
    assert signature(first) == signature(second) == shared


def test_different_messages_keep_different_signatures():
    assert signature("Payment declined: card expired") != signature("Payment declined: insufficient funds")
    assert signature("cache miss") == "cache miss"


def test_only_the_first_200_characters_count():
    head = "java.lang.IllegalStateException: pool closed\n\tat com.shop.Pool.get(Pool.java:42)\n"
    first = head + "x" * 300 + "frame 1"
    second = head + "x" * 300 + "frame 2 that differs"
    assert signature(first) == signature(second)
    assert "frame" not in signature(first)
