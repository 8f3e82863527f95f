"""Namespace patterns as the Database Tools take them: include/exclude filters and ns_from/ns_to renames."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import (
    NamespaceFilter,
    Renamer,
    compile_pattern,
    namespace_name,
    split_namespace,
    timeseries_data_collection,
)


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("sales.*", ["sales.orders", "sales.a.b", "sales."], ["sales", "salesx.orders", "x.sales.orders"]),
        ("*.orders", ["sales.orders", "a.orders"], ["sales.orders2", "sales.order"]),
        ("db*.b*", ["db1.b", "db.bx", "dbz.b.c"], ["d.b", "db1.a"]),
        ("a.b", ["a.b"], ["a.bc", "xa.b", "a.b "]),
        ("a.b+c", ["a.b+c"], ["a.bbc"]),  # regex characters are literal
        ("shop.$x$", ["shop.$x$"], ["shop.anything"]),  # $name$ captures only in ns_from
    ],
)
def test_patterns_match_whole_namespaces_with_star_as_any_run(pattern, matches, misses):
    regex = compile_pattern(pattern)
    assert [ns for ns in matches if regex.match(ns)] == matches
    assert [ns for ns in misses if regex.match(ns)] == []


@pytest.mark.parametrize("bad", ["sales", ".orders", "", None, 7])
def test_a_pattern_without_db_and_collection_is_refused_with_an_example(bad):
    with pytest.raises(
        OffsiteError, match=r"^exclude pattern .* must look like db\.collection \(for example"
    ):
        compile_pattern(bad, "exclude")


def test_filter_selects_includes_minus_excludes():
    everything = NamespaceFilter()
    assert everything.selects("any.thing")
    chosen = NamespaceFilter(include=["shop.*", "hr.people"], exclude=["shop.tmp*"])
    selected = [
        ns
        for ns in ["shop.orders", "shop.tmp_1", "hr.people", "hr.salaries", "other.x"]
        if chosen.selects(ns)
    ]
    assert selected == ["shop.orders", "hr.people"]
    assert not NamespaceFilter(exclude=["*.*"]).selects("a.b")


def test_renames_reuse_anonymous_captures_in_order():
    renamer = Renamer(["sales.*"], ["archive.*"])
    assert renamer.rename("sales.orders") == "archive.orders"
    assert renamer.rename("sales.a.b") == "archive.a.b"
    assert renamer.rename("other.orders") == "other.orders"  # no rule: unchanged
    swap = Renamer(["*.*"], ["*_copy.*"])
    assert swap.rename("shop.orders") == "shop_copy.orders"


def test_named_captures_can_be_reordered():
    renamer = Renamer(["$db$.$coll$"], ["$coll$.$db$"])
    assert renamer.rename("shop.orders") == "orders.shop"


def test_the_first_matching_pair_wins():
    renamer = Renamer(["shop.orders", "shop.*"], ["keep.orders", "moved.*"])
    assert renamer.rename("shop.orders") == "keep.orders"
    assert renamer.rename("shop.items") == "moved.items"
    assert bool(renamer) and not Renamer()


@pytest.mark.parametrize(
    ("ns_from", "ns_to", "message"),
    [
        (["a.*"], [], "must have the same length"),
        (["a.*"], ["b.c"], "must use as many \\* as ns_from"),
        (["a.*"], ["b.*.*"], "must use as many \\* as ns_from"),
        (["$x$.$x$"], ["a.$x$"], "uses \\$x\\$ twice"),
        (["$x$.b"], ["$y$.b"], "uses \\$y\\$, which ns_from"),
        (["nodot"], ["a.b"], "ns_from pattern 'nodot' must look like db.collection"),
        (["a.b"], ["nodot"], "ns_to pattern 'nodot' must look like db.collection"),
    ],
)
def test_inconsistent_renames_are_refused(ns_from, ns_to, message):
    with pytest.raises(OffsiteError, match=message):
        Renamer(ns_from, ns_to)


def test_names_split_at_the_first_dot():
    assert namespace_name("shop", "a.b") == "shop.a.b"
    assert split_namespace("shop.a.b") == ("shop", "a.b")
    assert namespace_name("", "oplog") == ".oplog"
    assert split_namespace(".oplog") == ("", "oplog")


def test_timeseries_data_lives_in_buckets_before_8_3():
    assert timeseries_data_collection("ts", (7, 0, 12)) == "system.buckets.ts"
    assert timeseries_data_collection("ts", None) == "system.buckets.ts"
    assert timeseries_data_collection("ts", (8, 3, 0)) == "ts"
