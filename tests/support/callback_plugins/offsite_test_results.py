# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: writes each task result, with its outcome, as JSON lines to $OFFSITE_TEST_RESULTS."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: offsite_test_results
type: aggregate
short_description: Write task results as JSON lines for the collection's tests
description:
  - Appends one JSON object per task result to the file named by the E(OFFSITE_TEST_RESULTS) environment variable.
requirements:
  - enabled through C(callbacks_enabled)
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "offsite_test_results"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, outcome: str) -> None:
        path = os.environ.get("OFFSITE_TEST_RESULTS")
        if not path:
            return
        data = dict(result._result)
        data["failed"] = outcome == "failed"
        data["_outcome"] = outcome
        data["_task"] = result._task.get_name()
        data["_host"] = result._host.get_name()
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(data, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "failed")
