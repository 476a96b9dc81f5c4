"""Sealed form fields: which fields, and how values are masked at any depth."""
from __future__ import annotations

from services import sealing


def test_only_top_level_fields_marked_sealed_are_sealed() -> None:
    schema = {"properties": {"reserve_price": {"type": "number", "x-ggzy-sealed": True},
                             "basis": {"type": "string", "x-ggzy-confidential": True},
                             "flag": {"type": "string", "x-ggzy-sealed": "yes"}}}
    assert sealing.form_fields(schema) == ["reserve_price"]
    assert sealing.form_fields(None) == [] and sealing.form_fields({"type": "object"}) == []


def test_mask_hides_sealed_entries_at_any_depth_and_keeps_the_rest() -> None:
    sealed = frozenset({"reserve_price"})
    data = {"reserve_price": 5, "task": {"data": {"reserve_price": 5, "title": "t"}},
            "items": [{"reserve_price": 7}], "unset": {"reserve_price": None}}
    assert sealing.mask(data, sealed) == {
        "reserve_price": sealing.MASK, "task": {"data": {"reserve_price": sealing.MASK, "title": "t"}},
        "items": [{"reserve_price": sealing.MASK}], "unset": {"reserve_price": None}}
    assert data["reserve_price"] == 5  # a copy: the engine's values are untouched
    assert sealing.mask(data, frozenset()) is data
