"""The type stubs (python/tightfit/_core.pyi) cover the compiled module: every public name of
tightfit._core is declared, and so is every public attribute and method of its classes, so
editors complete the whole API; every public function and class has a docstring."""

import ast
import inspect
from pathlib import Path

import tightfit
import tightfit._core as core

STUBS = Path(core.__file__).with_name("_core.pyi")


def declared():
    tree = ast.parse(STUBS.read_text(encoding="utf-8"))
    names, members = set(), {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            inner = set()
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    inner.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    inner.add(item.target.id)
            members[node.name] = inner
    return names, members


def public(names):
    return {n for n in names if not n.startswith("_")}


def test_every_name_and_member_has_a_stub():
    names, members = declared()
    exported = {n for n in public(dir(core)) if not inspect.ismodule(getattr(core, n))}
    missing = sorted(exported - names)
    assert not missing, f"not in _core.pyi: {missing}"
    for name in sorted(exported):
        obj = getattr(core, name)
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        missing = sorted(public(vars(obj)) - members.get(name, set()))
        assert not missing, f"{name} members not in _core.pyi: {missing}"


def test_the_package_exports_and_documents_the_api():
    for name in tightfit.__all__:
        obj = getattr(tightfit, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), f"tightfit.{name} has no docstring"
    for name in ("load", "generate", "stream_generate", "plan", "convert", "inspect", "Chat"):
        assert name in tightfit.__all__
