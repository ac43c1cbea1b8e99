"""The response parser: typed result or typed error, never anything else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.errors import BadResponse
from app.api.models import MessageStatus, Submitted, parse_message, parse_submitted

SEED_DONE = {
    "progress": 100,
    "response": {
        "accountId": "-------",
        "createdAt": "2023-09-02T21:26:03.879Z",
        "originatingMessageId": "ptbpfClHNs9OgbqvN0H6",
        "buttons": ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4", "Web"],
        "imageUrl": "",
        "imageUrls": [f"https://cdn.example/hash/0_{i}.png" for i in range(4)],
        "description": "",
        "type": "imagine",
        "content": "A Rhinoceros in the Amazon",
        "responseAt": "2023-09-02T21:26:04.205Z",
        "buttonMessageId": "pjOBnA96E5nPM5zuLnDI",
    },
}


def test_the_seed_logs_parse() -> None:
    status = parse_message(SEED_DONE)
    assert status.done and not status.failed
    assert status.response is not None
    assert status.response.image_url is None  # "" means none
    assert len(status.response.image_urls) == 4
    assert status.response.button_message_id == "pjOBnA96E5nPM5zuLnDI"
    assert "Web" not in status.response.api_buttons
    running = parse_message({"progress": 31, "progressImageUrl": None})
    assert running.progress == 31 and not running.done
    sub = parse_submitted({"success": True, "messageId": "abc", "createdAt": "x"})
    assert sub == Submitted("abc", "x")


def test_incomplete_and_failure_codes() -> None:
    assert parse_message({"progress": "incomplete"}).failed
    failed = parse_message({"progress": 100, "response": {"content": "BUTTON_NOT_FOUND"}})
    assert failed.failed and not failed.done


@pytest.mark.parametrize(
    "body",
    [
        [],
        "x",
        None,
        {"progress": []},
        {"progress": "lots"},
        {"progress": 5, "response": "x"},
        {"progress": 100, "response": {"buttons": "U1"}},
        {"progress": float("nan")},
    ],
)
def test_wrong_shapes_are_bad_responses(body: Any) -> None:
    with pytest.raises(BadResponse):
        parse_message(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
known_keys = st.sampled_from(
    [
        "progress",
        "response",
        "progressImageUrl",
        "buttons",
        "imageUrls",
        "imageUrl",
        "content",
        "buttonMessageId",
        "messageId",
        "success",
        "type",
        "seed",
    ]
)
shaped = st.dictionaries(
    known_keys, json_values | st.dictionaries(known_keys, json_values), max_size=6
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_values, shaped))
def test_parser_returns_a_typed_result_or_a_typed_error(body: Any) -> None:
    for parse, kind in ((parse_message, MessageStatus), (parse_submitted, Submitted)):
        try:
            result = parse(body)
        except BadResponse as exc:
            assert exc.human
        else:
            assert isinstance(result, kind)
