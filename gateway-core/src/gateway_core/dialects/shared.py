"""Pieces every dialect's decoder uses: one-pass decoding with errors naming the parameter."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import msgspec

from ..decode import _param_of
from ..errors import InvalidRequestError

T = TypeVar("T")


def decode_body(decode: Callable[[bytes], T], body: bytes) -> T:
    """``decode(body)`` with msgspec's errors as 400s naming the parameter."""
    try:
        return decode(body)
    except msgspec.ValidationError as exc:
        param, message = _param_of(exc)
        raise InvalidRequestError(f"invalid value for '{param}': {message}" if param else message,
                                  code="invalid_type", param=param) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequestError(f"the body is not valid JSON: {exc}", code="invalid_json") from None


def require_model(model: str | None) -> str:
    """The model name, which must be given."""
    if model is None or not model.strip():
        raise InvalidRequestError("'model' is required", code="missing_required_parameter", param="model")
    return model
