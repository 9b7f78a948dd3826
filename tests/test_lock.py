"""The lock: the venv holds exactly what requirements-dev.txt pins, every pin carries hashes,
the production pins are the dev pins, and every direct requirement is something we import."""

from __future__ import annotations

import ast
import hashlib
import re
from importlib import metadata

from likeness.config import REPO_ROOT
from tests.lockcheck import canonical, differences, installed, read_pins

LOCK = REPO_ROOT / "requirements.txt"
DEV_LOCK = REPO_ROOT / "requirements-dev.txt"
SOURCES = ("likeness", "webapp", "worker", "standin", "migrations", "bench", "tests")
# Direct requirements that are not imported, and why they are needed all the same.
NOT_IMPORTED = {
    "pip": "pinned so that every distribution in the venv comes from the lock",
    "setuptools": "face_recognition_models loads its files through pkg_resources",
    "dlib": "the shim that satisfies face_recognition's requirement with dlib-bin",
    "face-recognition-models": "its model files are found by importlib.util.find_spec",
    "gunicorn": "the web server the Procfile runs",
    "mypy": "the type checker, run as a command by make lint",
    "pytest-xdist": "a pytest plugin (-n), loaded by pytest",
    "ruff": "the linter, run as a command by make lint",
    "uv": "the lock tool, run as a command by make lock",
}


def test_the_venv_is_exactly_the_dev_lock():
    problems = differences(read_pins(DEV_LOCK.read_text()), installed())
    assert not problems, "the venv differs from the lock; run `make test` in a fresh clone:\n" + \
        "\n".join(problems)


def test_differences_names_extra_missing_and_moved_distributions():
    present = {"flask": "3.1.3", "babel": "2.19.0", "stray": "1.0"}
    pins = read_pins("Flask==3.1.3 \\\nBabel==2.18.0 \\\nclick==8.5.1\n")
    assert differences(pins, present) == [
        "babel is 2.19.0, the lock pins 2.18.0",
        "click==8.5.1 is locked but not installed",
        "stray==1.0 is installed but not in the lock",
    ]


def test_production_pins_are_the_dev_pins():
    production, dev = read_pins(LOCK.read_text()), read_pins(DEV_LOCK.read_text())
    assert len(production) > 40
    assert {name: dev.get(name) for name in production} == production


def test_every_pin_carries_hashes_and_the_shim_wheel_matches_its_hash():
    for lock in (LOCK, DEV_LOCK):
        entries = re.split(r"\n(?=\S)", lock.read_text())
        pinned = [entry for entry in entries if not entry.startswith(("#", "-"))]
        assert pinned and all("--hash=sha256:" in entry for entry in pinned), lock.name
        shim = next(entry for entry in pinned if entry.startswith("./toolforge/"))
        wheel = REPO_ROOT / shim.split()[0]
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert f"--hash=sha256:{digest}" in shim, f"{wheel.name} changed: run make lock"


def _direct_requirements(path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("./"):
            names.add(canonical(re.match(r"\./(?:.*/)?([A-Za-z0-9_.]+)-", line).group(1)))
        elif line and not line.startswith("-"):
            names.add(canonical(re.split(r"[<>=!~\[; ]", line)[0]))
    return names


def _imported_modules() -> set[str]:
    modules = set()
    for folder in SOURCES:
        for path in (REPO_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    return modules


def _providers() -> dict[str, set[str]]:
    """Top-level module -> distributions, from the files each installed distribution holds
    (top_level.txt is incomplete: dlib-bin names only its extension module there)."""
    providers: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        for file in dist.files or ():
            top = file.parts[0].split(".")[0]
            if not file.parts[0].endswith((".dist-info", ".data")):
                providers.setdefault(top, set()).add(canonical(dist.metadata["Name"]))
    return providers


def test_every_direct_requirement_is_imported_or_has_a_reason():
    providers = _providers()
    imported_from = {dist for module in _imported_modules() for dist in providers.get(module, ())}
    direct = _direct_requirements(REPO_ROOT / "requirements.in") | \
        _direct_requirements(REPO_ROOT / "requirements-dev.in")
    stubs = {name for name in direct if name.startswith("types-")}  # read by mypy
    unused = sorted(direct - imported_from - stubs - NOT_IMPORTED.keys())
    assert not unused, f"pinned but never imported: {unused}"
    assert not NOT_IMPORTED.keys() - direct, "a reason is kept for a requirement that is gone"
