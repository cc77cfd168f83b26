"""What the server leg's plugin (conformance.plugin) and the client leg's
(conformance.client_plugin) share in collecting the shipped checks: finding a scenario
directory of the installed package, importing its modules by package name, replacing
pytest's default collection with it, `-k` by area and requirement ID, and refusing to start
without the schemas.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

from . import schema as schemas


def package_dir(package: str) -> Path:
    """The directory of an installed package (scenarios live in `conformance.scenarios`)."""
    spec = importlib.util.find_spec(package)
    return Path(next(iter(spec.submodule_search_locations))).resolve()


class PackageModule(pytest.Module):
    """A shipped scenario module, imported by its package name whatever the rootdir."""

    package = "conformance.scenarios"

    def _getobj(self):
        return importlib.import_module(f"{self.package}.{self.path.stem}")

    @property
    def area(self) -> str:
        return self.path.stem


def is_scenario_file(file_path: Path, directory: Path) -> bool:
    return file_path.suffix == ".py" and file_path.parent == directory and not file_path.name.startswith("_")


def collect_only(config: pytest.Config, directory: Path) -> None:
    """The shipped scenarios replace what pytest would collect by default (paths given on
    the command line are kept)."""
    explicit = config.args if config.args_source is pytest.Config.ArgsSource.ARGS else []
    config.args[:] = [*explicit, str(directory)]


def add_keywords(items: list[pytest.Item], module_class: type[PackageModule]) -> None:
    """`-k` matches a check's requirement IDs and its area (the module name)."""
    for item in items:
        marker = item.get_closest_marker("mcp_requirement")
        if marker:
            item.extra_keyword_matches.update(marker.args)
        if isinstance(item.parent, module_class):
            item.extra_keyword_matches.add(item.parent.area)


def require_schemas(revisions: list[str], schema_dir: str | None) -> None:
    """A usage error, not a traceback, when a revision's schema cannot be had."""
    for revision in revisions:
        try:
            schemas.load(revision, schema_dir)
        except schemas.SchemaUnavailable as exc:
            raise pytest.UsageError(str(exc)) from None
