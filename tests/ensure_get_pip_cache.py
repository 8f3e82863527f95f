"""Let ``ansible-test sanity --requirements`` run offline.

Before it builds each sanity virtual environment, ansible-test downloads pip's bootstrap script,
unless a copy sits in its cache (``~/.ansible/test/cache/get_pip_<version>.py``). This writes that
copy with a body that bootstraps pip from the interpreter's own ``ensurepip``, so no download is needed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from ansible_test._internal.python_requirements import get_venv_packages

BOOTSTRAP = """import runpy, sys
sys.argv = [sys.executable, "--upgrade", "--default-pip"]
runpy.run_module("ensurepip", run_name="__main__", alter_sys=True)
"""


def main() -> None:
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    python = SimpleNamespace(version=f"{sys.version_info.major}.{sys.version_info.minor}")
    pip_version = get_venv_packages(python)["pip"]
    target = cache / f"get_pip_{pip_version.replace('.', '_')}.py"
    if not target.exists():
        target.write_text(BOOTSTRAP)
        print(f"wrote offline pip bootstrap {target}")


if __name__ == "__main__":
    main()
