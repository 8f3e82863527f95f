"""BSON comparison order, as the query matcher and sorts need it.

MongoDB's order across types (manual, "Comparison/Sort Order"): MinKey < Null < Numbers < Symbol,
String < Object < Array < BinData < ObjectId < Boolean < Date < Timestamp < Regular Expression <
MaxKey; numbers of any BSON type compare by value. Comparison query operators only match values of
the same bracket (manual, "Type Bracketing").
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, Tuple

import bson
from bson.binary import Binary
from bson.code import Code
from bson.datetime_ms import DatetimeMS
from bson.decimal128 import Decimal128
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

EPOCH = datetime.datetime(1970, 1, 1)
_CODEC = bson.CodecOptions()


def _millis(value: Any) -> int:
    if isinstance(value, DatetimeMS):
        return int(value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return (value - EPOCH) // datetime.timedelta(milliseconds=1)


# (types, bracket, comparable part); checked in order: bool before int, Code (a str) before str.
_BRACKETS: Tuple[Tuple[Any, int, Callable[[Any], Tuple]], ...] = (
    (MinKey, 0, lambda v: ()),
    (type(None), 1, lambda v: ()),
    (bool, 8, lambda v: (v,)),
    (Code, 12, lambda v: (str(v),)),
    ((int, float), 2, lambda v: (v,)),
    (Decimal128, 2, lambda v: (v.to_decimal(),)),
    (str, 3, lambda v: (v,)),
    (dict, 4, lambda v: (tuple((key, sort_key(item)) for key, item in v.items()),)),
    ((list, tuple), 5, lambda v: (tuple(sort_key(item) for item in v),)),
    ((Binary, bytes), 6, lambda v: (len(v), getattr(v, "subtype", 0), bytes(v))),
    (ObjectId, 7, lambda v: (v.binary,)),
    ((datetime.datetime, DatetimeMS), 9, lambda v: (_millis(v),)),
    (Timestamp, 10, lambda v: (v.time, v.inc)),
    (Regex, 11, lambda v: (v.pattern, v.flags)),
    (MaxKey, 13, lambda v: ()),
)


def sort_key(value: Any) -> Tuple:
    """A key that orders any decoded BSON value the way MongoDB does; its first item is the bracket."""
    for types, bracket, part in _BRACKETS:
        if isinstance(value, types):
            return (bracket, *part(value))
    return (12, repr(value))


def compare(left: Any, right: Any) -> int:
    """-1, 0 or 1 in MongoDB's order."""
    a, b = sort_key(left), sort_key(right)
    return (a > b) - (a < b)


def same_bracket(left: Any, right: Any) -> bool:
    return sort_key(left)[0] == sort_key(right)[0]


def identical(left: Any, right: Any) -> bool:
    """Same BSON bytes: what decides whether a field changed (an int 1 and a double 1.0 differ)."""
    return bson.encode({"": left}, codec_options=_CODEC) == bson.encode({"": right}, codec_options=_CODEC)
