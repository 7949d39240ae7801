"""docs/API.md stays true: every name it lists exists, with the parameters it shows.

The page's layout is the contract: a ``## `grader.module[.Class]` `` heading names where
the ``### `name(params)` `` headings below it live; tables of attributes (`` | `attr` | ``)
under a class heading list its attributes. Markers, fixtures and the keys of
``[[assignments.X.manual]]`` are checked against the plugin and the config reader.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[2] / "docs" / "API.md"
H2 = re.compile(r"^## .*?`(?P<path>grader(?:\.\w+)+)`")
H3 = re.compile(r"^### `(?P<name>\w+)(?:\((?P<params>.*)\))?`\s*$")
ROW = re.compile(r"^\| `(?P<name>[\w@.]+)(?:\((?P<arg>[^)]*)\))?` \|")


def _resolve(path: str):
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def _sections() -> dict[str, dict]:
    """``## heading`` -> {"obj": path or None, "h3": [(name, params)], "rows": [(name, arg)]}."""
    out: dict[str, dict] = {}
    current = None
    for line in API.read_text("utf-8").splitlines():
        if line.startswith("## "):
            match = H2.match(line)
            current = out.setdefault(line, {"obj": match.group("path") if match else None, "h3": [], "rows": []})
        elif current is not None and (m := H3.match(line)):
            current["h3"].append((m.group("name"), m.group("params")))
        elif current is not None and (m := ROW.match(line)):
            current["rows"].append((m.group("name"), m.group("arg")))
    return out


def _documented(params: str) -> list[tuple[str, str, bool, object]]:
    """``a, b=1, *args, c=None, **kw`` -> [(name, kind, has_default, default or None)]."""
    args = ast.parse(f"def f({params}): pass").body[0].args  # type: ignore[attr-defined]
    out = []
    plain = args.posonlyargs + args.args
    defaults = [None] * (len(plain) - len(args.defaults)) + list(args.defaults)
    for a, d in zip(plain, defaults, strict=True):
        out.append((a.arg, "POSITIONAL_OR_KEYWORD", d is not None, d))
    if args.vararg:
        out.append((args.vararg.arg, "VAR_POSITIONAL", False, None))
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append((a.arg, "KEYWORD_ONLY", d is not None, d))
    if args.kwarg:
        out.append((args.kwarg.arg, "VAR_KEYWORD", False, None))
    return out


def _actual(obj) -> list[tuple[str, str, bool, object]]:
    out = []
    for p in inspect.signature(obj).parameters.values():
        if p.name == "self":
            continue
        kind = "POSITIONAL_OR_KEYWORD" if p.kind == p.POSITIONAL_ONLY else p.kind.name
        out.append((p.name, kind, p.default is not p.empty, p.default))
    return out


def _literal(node):
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return None
    return tuple(value) if isinstance(value, list) else value


def _entries():
    for section in _sections().values():
        if section["obj"] is None:
            continue
        for name, params in section["h3"]:
            yield pytest.param(section["obj"], name, params, id=f"{section['obj']}.{name}")


@pytest.mark.parametrize(("owner", "name", "params"), list(_entries()))
def test_each_documented_name_exists_with_its_parameters(owner, name, params):
    obj = getattr(_resolve(owner), name, None)
    assert obj is not None, f"docs/API.md lists {owner}.{name}, which does not exist (renamed?)"
    if params is None:
        return
    documented, actual = _documented(params), _actual(obj)
    assert [d[:3] for d in documented] == [a[:3] for a in actual], (
        f"docs/API.md shows {name}({params}); the code has {name}{inspect.signature(obj)}")
    for (pname, _, has_default, node), (_, _, _, value) in zip(documented, actual, strict=True):
        if has_default and isinstance(value, (int, float, str, bool, tuple, type(None))):
            assert _literal(node) == value, f"{name}: default of {pname} is {value!r} in the code"


def _public(module) -> set[str]:
    return {n for n, o in vars(module).items()
            if not n.startswith("_") and (inspect.isfunction(o) or inspect.isclass(o))
            and o.__module__ == module.__name__}


@pytest.mark.parametrize("module", ["grader.checks", "grader.keras_checks"])
def test_every_public_function_of_the_check_modules_is_documented(module):
    listed = {name for s in _sections().values() if s["obj"] == module for name, _ in s["h3"]}
    missing = _public(importlib.import_module(module)) - listed
    assert not missing, f"add to docs/API.md under `{module}`: {sorted(missing)}"


def test_documented_attributes_exist():
    for section in _sections().values():
        if section["obj"] is None or not section["rows"]:
            continue
        cls = _resolve(section["obj"])
        fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
        for name, _ in section["rows"]:
            assert name in fields or hasattr(cls, name), f"docs/API.md: {section['obj']} has no attribute {name!r}"


def _rows(heading: str) -> list[tuple[str, str | None]]:
    return next(s["rows"] for h, s in _sections().items() if h.startswith(heading))


def test_markers_are_the_plugins():
    from grader.engine.marks import MARKERS

    registered = set(MARKERS)
    documented = {name.rsplit(".", 1)[-1] for name, _ in _rows("## Markers")}
    assert documented == registered == {"points", "hidden", "target", "budget"}


def test_fixtures_are_the_plugins():
    from grader.engine.plugin import GradingPlugin

    fixtures = {n for n, o in vars(GradingPlugin).items() if "fixture" in type(o).__name__.lower()}
    assert {name for name, _ in _rows("## Fixtures")} == fixtures


def test_manual_question_keys_are_the_config_readers(tmp_path):
    from grader.config import ManualQuestion, load_course

    documented = {name for name, _ in _rows("## Explanation questions")}
    assert documented == {f.name for f in dataclasses.fields(ManualQuestion)}
    (tmp_path / "autograder.toml").write_text(
        '[assignments.a]\nnotebook = "a.ipynb"\nsuite = "t.py"\n[[assignments.a.manual]]\nname = "why"\n', "utf-8")
    question = load_course(tmp_path / "autograder.toml").assignment("a").manual[0]
    assert (question.points, question.prompt) == (0.0, "")  # the defaults the page gives


def test_authoring_links_the_api_page():
    assert "(API.md)" in (API.parent / "AUTHORING.md").read_text("utf-8")


def test_an_uncompiled_model_has_no_compile_config():
    """What the page says `compile_config` is for a model that was never compiled."""
    keras = pytest.importorskip("keras")
    from grader.checks import compile_problems, summarize_compile
    from grader.worker.main import Worker

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    data = Worker.model_data(object.__new__(Worker), model)
    assert data["compile_config"] is None
    assert summarize_compile(None).compiled is False
    assert compile_problems(None, optimizer="adam")[0].startswith("the model is not compiled")
    model.compile(optimizer="adam", loss="mse")
    assert Worker.model_data(object.__new__(Worker), model)["compile_config"] is not None
