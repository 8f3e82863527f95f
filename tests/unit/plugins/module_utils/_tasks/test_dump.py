"""The dump task chooses its engine once: native for auto, the Database Tools only when asked and found."""

from __future__ import annotations

import pytest

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
