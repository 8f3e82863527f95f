"""Ansible callback: each task's wall time (first start to last result), as JSON lines in $OFFSITE_BENCH_TIMINGS."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_timings
type: aggregate
short_description: each task's wall time as JSON lines (benchmarks)
description: Writes one line per task with its name and seconds to the file named by OFFSITE_BENCH_TIMINGS.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timings"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._task = None
        self._started = 0.0
        self._path = os.environ.get("OFFSITE_BENCH_TIMINGS")

    def _close(self) -> None:
        if self._task is not None and self._path:
            with open(self._path, "a", encoding="utf-8") as out:
                out.write(
                    json.dumps({"task": self._task, "seconds": time.perf_counter() - self._started}) + "\n"
                )
        self._task = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._task, self._started = task.get_name(), time.perf_counter()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_stats(self, stats):
        self._close()
