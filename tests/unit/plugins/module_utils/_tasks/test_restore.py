"""The restore task chooses its engine once: native for auto, the Database Tools only when asked and found."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.restore import choose_restorer
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import connection_options
from ansible_collections.offsite.mongodb.plugins.module_utils.restore import restore_archive
from ansible_collections.offsite.mongodb.tests.unit.helpers.fake_mongo import stand_in_tool


@pytest.mark.parametrize("engine", ["auto", "native", None])
def test_auto_and_native_restore_with_this_collection(engine):
    assert choose_restorer(connection_options({}), engine, None) == ("native", restore_archive)


def test_mongorestore_needs_the_tool(tmp_path):
    with pytest.raises(OffsiteError, match="set mongorestore_path, or use engine native"):
        choose_restorer(connection_options({}), "mongorestore", str(tmp_path / "nope"))
    engine, restorer = choose_restorer(
        connection_options({}), "mongorestore", str(stand_in_tool(tmp_path, "mongorestore"))
    )
    assert engine == "mongorestore" and restorer is not restore_archive
