"""Loading Python journey files: User classes, options, hosts, and errors that name the file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from greenflag.errors import UsageError
from greenflag.load.run import LoadRequest, prepare
from greenflag.load.scenarios.script import load_python, plan_options

GOOD = """
from greenflag import User, between, task

options = {"vus": 7, "duration": "45s", "thresholds": {"http_req_duration": ["p(95)<500"]}}

class Base(User):
    abstract = True

class Visitor(Base):
    host = "http://127.0.0.1:8080"
    wait_time = between(0.1, 0.2)

    @task(2)
    async def home(self):
        await self.http.get("/")
"""


def write(tmp_path: Path, body: str, name: str = "journeys.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_loads_classes_options_and_host(tmp_path: Path) -> None:
    loaded = load_python(write(tmp_path, GOOD), host=None)
    assert [cls.__name__ for cls in loaded.classes] == ["Visitor"]
    assert loaded.options.vus == 7 and loaded.options.duration == 45.0
    assert loaded.thresholds == {"http_req_duration": ["p(95)<500"]}
    base = loaded.bases[loaded.classes[0]]
    assert base is not None and base.port == 8080
    overridden = load_python(write(tmp_path, GOOD, "again.py"), host="http://127.0.0.1:9999")
    base = overridden.bases[overridden.classes[0]]
    assert base is not None and base.port == 9999


def test_command_line_overrides_file_options(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    _, config = prepare(LoadRequest(target=str(path), vus=3, progress=False))
    assert getattr(config.plan, "vus", None) == 3
    assert getattr(config.plan, "duration", None) == 45.0
    assert [t.source for t in config.thresholds] == ["p(95)<500"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("x = 1\n\nraise RuntimeError('boom')\n", r"bad\.py:3: cannot import the script: RuntimeError: boom"),
        ("def f(:\n", r"bad\.py:1: cannot import the script: SyntaxError"),
        ("import os\n", r"bad\.py:1: defines no User class"),
        (
            "from greenflag import User, task\n\nclass V(User):\n    pass\n",
            r"bad\.py:3: class V has no @task methods",
        ),
        (
            "from greenflag import User, task\nclass V(User):\n    @task\n    def t(self): pass\n",
            r"bad\.py:3: task V\.t must be `async def`",
        ),
        (
            "from greenflag import User, task\nclass V(User):\n    @task\n    async def t(self): pass\n",
            r"bad\.py:2: no host for V: pass --host",
        ),
        (
            "from greenflag import User, task\nclass V(User):\n    host = 'ftp://x'\n"
            "    @task\n    async def t(self): ...\n",
            r"bad\.py:2: V\.host: 'ftp://x' is not an http",
        ),
        (
            "from greenflag import User, task\nclass V(User):\n    wait_time = 'soon'\n"
            "    @task\n    async def t(self): ...\n",
            r"V\.wait_time: expected between",
        ),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        load_python(write(tmp_path, body, "bad.py"), host=None)


def test_bad_options(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"options\.vu: unknown option"):
        plan_options("f.py", {"vu": 3})
    with pytest.raises(UsageError, match="options: expected a dict"):
        plan_options("f.py", [1])
    with pytest.raises(UsageError, match=r"f\.py: options\.duration: expected a duration"):
        plan_options("f.py", {"duration": "soon"})
    path = write(tmp_path, GOOD.replace('"p(95)<500"', '"p(95)<<500"'))
    with pytest.raises(UsageError, match=r"options\.thresholds"):
        prepare(LoadRequest(target=str(path), progress=False))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"vus": 2.5}, "options.vus: expected an integer ≥ 1, got 2.5"),
        ({"maxVUs": -1}, "options.maxVUs: expected an integer ≥ 1, got -1"),
        ({"rate": "fast"}, "options.rate: expected a number > 0, got 'fast'"),
        ({"gracefulStop": [1]}, "options.gracefulStop: expected a duration"),
        ({"executor": 5}, "options.executor: expected one of constant-vus"),
        ({"stages": "10s:5"}, "options.stages: expected a list"),
        ({"stages": [{"duration": "10s"}]}, "options.stages[0]: expected {'duration': '30s', 'target': 10}"),
        ({"thresholds": ["p(95)<1"]}, "options.thresholds: expected a mapping"),
        ({"thresholds": {"http_req_duration": 95}}, "options.thresholds: http_req_duration: expected a string"),
    ],
)
def test_options_of_the_wrong_type_name_the_file_line_and_key(
    tmp_path: Path, options: dict[str, object], expected: str
) -> None:
    line = 'options = {"vus": 7, "duration": "45s", "thresholds": {"http_req_duration": ["p(95)<500"]}}'
    path = write(tmp_path, GOOD.replace(line, f"options = {options!r}"), "typed.py")
    with pytest.raises(UsageError) as caught:
        load_python(path, host="http://127.0.0.1:1")
    assert str(caught.value).startswith(f"{path}:4: ")
    assert expected in str(caught.value)
