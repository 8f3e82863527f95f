"""The s3_backup_archive task: options reach the catalog functions, and put refuses what is not an archive."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks import catalog as task
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.tests.unit.helpers.archives import small_archive
from ansible_collections.offsite.mongodb.tests.unit.helpers.s3_stubs import BUCKET, stubbed_client


@pytest.fixture
def calls(monkeypatch):
    """The catalog function each mode calls, with its arguments (no S3 client is made)."""
    seen = []
    monkeypatch.setattr(task, "catalog_from_options", lambda params: "catalog")
    for name in ("put_backup", "get_backup", "delete_backup", "delete_set", "prune_set"):
        monkeypatch.setattr(
            task, name, lambda *args, _name=name, **kwargs: seen.append((_name, args, kwargs)) or {}
        )
    return seen


def test_get_passes_before_and_check_mode(calls):
    task.run_catalog_task(
        {"mode": "get", "set_name": "rs0", "dest": "/tmp/x", "before": "20261101T000000Z"}, check_mode=True
    )
    assert calls == [
        (
            "get_backup",
            ("catalog", "rs0", "/tmp/x", "latest"),
            {"before": datetime(2026, 11, 1, tzinfo=timezone.utc), "check_mode": True},
        )
    ]


def test_delete_with_an_id_deletes_one_backup_and_without_needs_confirmation(calls):
    task.run_catalog_task({"mode": "delete", "set_name": "rs0", "backup_id": "20261101T000000Z"}, False)
    task.run_catalog_task({"mode": "delete", "set_name": "rs0", "confirm_delete_all": True}, True)
    assert [(name, args) for name, args, _kwargs in calls] == [
        ("delete_backup", ("catalog", "rs0", "20261101T000000Z", False)),
        ("delete_set", ("catalog", "rs0", True, True)),
    ]


@pytest.mark.parametrize("mode", ["put", "get", "delete", "prune"])
def test_every_mode_but_list_needs_a_set(calls, mode):
    with pytest.raises(OffsiteError, match=f"mode={mode} needs set_name"):
        task.run_catalog_task({"mode": mode}, False)
    assert calls == []


def test_prune_checks_its_policy_before_the_catalog_is_opened(calls):
    with pytest.raises(OffsiteError, match="keep_within 'a week' is not a duration"):
        task.run_catalog_task({"mode": "prune", "set_name": "rs0", "keep_within": "a week"}, False)
    assert calls == []


def test_put_refuses_a_file_that_is_not_a_whole_archive_before_any_request(tmp_path):
    client, stubber = stubbed_client()  # no response scripted: any request would fail the test
    catalog = Catalog(client, BUCKET)
    notes = tmp_path / "notes.archive"
    notes.write_bytes(b"not an archive")
    cut = tmp_path / "cut.archive"
    cut.write_bytes(small_archive({"shop.orders": 5})[:-20])
    with stubber:
        for path in (notes, cut):
            with pytest.raises(
                OffsiteError, match=r"is not a whole mongodump archive .*; nothing was stored"
            ):
                task.put_backup(catalog, "rs0", str(path))
        with pytest.raises(OffsiteError, match="is not a readable file"):
            task.put_backup(catalog, "rs0", str(tmp_path / "missing.archive"))
    stubber.assert_no_pending_responses()


def test_put_refuses_disagreeing_digests_before_reading_the_file(tmp_path):
    client, stubber = stubbed_client()
    with (
        stubber,
        pytest.raises(OffsiteError, match=r"sha256 \(a{64}\) and metadata.sha256 \(b{64}\) disagree"),
    ):
        task.put_backup(
            Catalog(client, BUCKET), "rs0", str(tmp_path / "x"), expected_sha256="a" * 64,
            metadata={"sha256": "b" * 64},
        )  # fmt: skip


@pytest.fixture
def stored(monkeypatch):
    """put_backup stores nothing but says it stored backup 20261101T000000Z; prune_set records its calls."""
    pruned = []
    monkeypatch.setattr(task, "catalog_from_options", lambda params: "catalog")
    monkeypatch.setattr(
        task, "put_backup", lambda *args, **kwargs: {"changed": True, "backup_id": "20261101T000000Z"}
    )
    monkeypatch.setattr(
        task,
        "prune_set",
        lambda catalog, set_name, policy, *args, **kwargs: (
            pruned.append((set_name, policy))
            or {"changed": True, "removed": [{"backup_id": "20261001T000000Z"}]}
        ),
    )
    return pruned


PUT = {"mode": "put", "set_name": "rs0", "src": "/tmp/x.archive"}


def test_put_with_keep_rules_prunes_the_set_once_the_backup_is_stored(stored):
    result = task.run_catalog_task({**PUT, "keep_last": 2, "keep_within": "3d"}, False)
    assert result["pruned"]["removed"] == [{"backup_id": "20261001T000000Z"}]
    [(set_name, policy)] = stored
    assert (set_name, policy.keep_last, policy.keep_within.days) == ("rs0", 2, 3)


def test_put_without_keep_rules_or_in_check_mode_prunes_nothing(stored):
    assert task.run_catalog_task(PUT, False)["pruned"] is None
    assert task.run_catalog_task({**PUT, "keep_last": 2}, True)["pruned"] is None
    assert stored == []


def test_put_checks_its_keep_rules_before_anything_is_stored(stored, monkeypatch):
    monkeypatch.setattr(task, "put_backup", lambda *args, **kwargs: pytest.fail("stored despite a bad rule"))
    with pytest.raises(OffsiteError, match="keep_within 'a week' is not a duration"):
        task.run_catalog_task({**PUT, "keep_within": "a week"}, False)


def test_a_prune_that_fails_after_the_upload_is_a_warning_and_the_backup_stands(monkeypatch):
    def broken_prune(*args, **kwargs):
        raise OffsiteError("S3 denied DeleteObject")

    monkeypatch.setattr(task, "prune_set", broken_prune)
    stored = {"changed": True, "backup_id": "20261101T000000Z", "warnings": ["earlier"]}
    result = task.prune_after_upload(
        "catalog", "rs0", task.optional_retention({"keep_last": 1}), stored, False
    )
    assert result["changed"] is True and result["pruned"] is None
    assert result["warnings"] == [
        "earlier",
        "backup 20261101T000000Z of set rs0 is stored, but the retention rules were not applied: S3 denied DeleteObject",
    ]


@pytest.mark.parametrize(
    "params", [{}, {"keep_last": None, "keep_within": ""}, {"keep_daily": 0, "other": 1}]
)
def test_no_rule_set_means_no_pruning(params):
    assert task.optional_retention(params) is None
