"""The dump task chooses its engine once (native for auto, the Database Tools only when asked and found); keep_* rules need the catalog."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks import dump as task
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.dump import choose_dumper
from ansible_collections.offsite.mongodb.plugins.module_utils.dump import dump_archive
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import connection_options
from ansible_collections.offsite.mongodb.tests.unit.helpers.fake_mongo import stand_in_tool


@pytest.mark.parametrize("engine", ["auto", "native", None])
def test_auto_and_native_dump_with_this_collection(engine):
    assert choose_dumper(connection_options({}), engine, None) == ("native", dump_archive)


def test_mongodump_needs_the_tool(tmp_path):
    with pytest.raises(OffsiteError, match="set mongodump_path, or use engine native"):
        choose_dumper(connection_options({}), "mongodump", str(tmp_path / "nope"))
    engine, dumper = choose_dumper(
        connection_options({}), "mongodump", str(stand_in_tool(tmp_path, "mongodump"))
    )
    assert engine == "mongodump" and dumper is not dump_archive


def test_keep_rules_without_a_bucket_are_refused_before_anything_is_dumped(monkeypatch, tmp_path):
    monkeypatch.setattr(
        task, "dump_to_file", lambda *args, **kwargs: pytest.fail("dumped despite the bad options")
    )
    with pytest.raises(OffsiteError, match="keep_\\* rules prune the S3 catalog: set bucket"):
        task.run_dump_task({"dest": str(tmp_path / "x.archive"), "keep_last": 3}, check_mode=False)


def test_bad_keep_rules_with_a_bucket_are_refused_before_the_catalog_is_opened(monkeypatch):
    monkeypatch.setattr(task, "catalog_from_options", lambda params: pytest.fail("opened the catalog"))
    with pytest.raises(OffsiteError, match="keep_last must be a count"):
        task.run_dump_task({"bucket": "b", "set_name": "rs0", "keep_last": -5}, check_mode=False)
