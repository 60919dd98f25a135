"""The SDK pieces ``cloud/`` reaches for that are not the SDKs' public API still exist and still fit.

cloud/ builds a few requests with the SDKs' generated request builders (``operations._operations``
and friends), which a new azure-mgmt-* release may rename or reshape without notice; azure-core is
pinned in pyproject.toml for the same reason. Every such import in cloud/ is found by reading the
source, so a new one is covered the day it is written: it must import, and each call cloud/ makes
must still bind to the builder's signature and produce a request with an api-version.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.rest import HttpRequest

CLOUD = Path(__file__).resolve().parents[2] / "cloud"


def _private(module: str, name: str) -> bool:
    return any(part.startswith("_") for part in module.split(".")) or name.startswith("_")


def _pieces() -> list[tuple[str, str, str]]:
    """(file, module, name) for every non-public name cloud/ imports from an azure package."""
    found = []
    for path in sorted(CLOUD.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("azure"):
                found += [
                    (path.name, node.module, a.name) for a in node.names if _private(node.module, a.name)
                ]
    return found


def _calls(name: str) -> list[ast.Call]:
    """Every call of ``name`` in cloud/."""
    calls = []
    for path in sorted(CLOUD.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
                calls.append(node)
    return calls


def _value(node: ast.expr, parameter: inspect.Parameter | None) -> object:
    """cloud's literal when it passes one, else a stand-in of the parameter's annotated type."""
    if isinstance(node, ast.Constant):
        return node.value
    return 1 if parameter is not None and "int" in str(parameter.annotation) else "x"


def test_cloud_uses_private_pieces_only_where_known() -> None:
    assert {(module, name) for _, module, name in _pieces()} >= {
        ("azure.mgmt.network.operations._operations", "build_load_balancers_list_all_request"),
        ("azure.mgmt.compute.operations._operations", "build_virtual_machines_list_all_request"),
        ("azure.mgmt.monitor.operations._metrics_operations", "build_list_at_subscription_scope_request"),
    }


@pytest.mark.parametrize(("where", "module", "name"), _pieces())
def test_each_private_piece_imports_and_fits_its_calls(where: str, module: str, name: str) -> None:
    piece = getattr(importlib.import_module(module), name)
    calls = _calls(name)
    if not name.startswith("build_"):
        return
    assert calls, f"{where} imports {name} but never calls it"
    signature = inspect.signature(piece)
    for call in calls:
        # The values are cloud's own; what must hold is the shape: as many positional arguments and
        # the same keyword names as cloud/ passes.
        args = ["00000000-0000-0000-0000-000000000000"] * len(call.args)
        kwargs = {k.arg: _value(k.value, signature.parameters.get(k.arg)) for k in call.keywords if k.arg}
        signature.bind(*args, **kwargs)
        request = piece(*args, **kwargs)
        assert isinstance(request, HttpRequest)
        assert parse_qs(urlsplit(request.url).query).get("api-version"), f"{name} sends no api-version"
