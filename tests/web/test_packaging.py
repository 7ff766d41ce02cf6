"""The pages' templates and assets are package data, so an installed wheel serves them."""

from __future__ import annotations

import glob
import tomllib

from tests.conftest import REPO_ROOT


def test_every_template_and_asset_is_package_data() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["parking"]
    package = REPO_ROOT / "parking"
    files = [
        path.relative_to(package).as_posix()
        for folder in ("static", "web/templates")
        for path in (package / folder).rglob("*")
        if path.is_file()
    ]
    assert any(f.endswith("base.html") for f in files) and any(f.endswith("app.js") for f in files)
    # As setuptools reads the patterns: globs under the package, ``**`` across folders.
    covered = {f for p in patterns for f in glob.glob(p, root_dir=package, recursive=True)}
    left_out = [f for f in files if f not in covered]
    assert left_out == []
