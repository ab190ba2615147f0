"""platform.command → argv + environment: placeholders go into the already-split arguments, and into a shell's
inline script only as references to the environment (the values here are deliberately hostile: the template
layer must be safe even for a value that version validation would refuse)."""

from __future__ import annotations

import pytest

from greenflag.platform.template import command_argv, command_env, shell_script_index

HOSTILE = {"port": "8080", "version": "v4 --error-rate 1 $(touch pwned) `id`; echo x", "service": "shop",
           "instance": "v4-0"}  # fmt: skip


def test_a_value_is_exactly_one_argument_whatever_it_contains() -> None:
    argv = command_argv("app --port {port} --version {version} --name={service}-{instance}", HOSTILE)
    assert argv == ["app", "--port", "8080", "--version", HOSTILE["version"], "--name=shop-v4-0"]


def test_quoting_of_the_template_is_kept() -> None:
    argv = command_argv("""python -c "print('hi there')" --tag '{version} x'""", {"version": "v2"})
    assert argv == ["python", "-c", "print('hi there')", "--tag", "v2 x"]


@pytest.mark.parametrize(
    "template",
    [
        "sh -c 'exec app --port {port} --version {version} $(cat {version}.args)'",
        "/bin/bash -ec 'exec app --port {port} --version {version} $(cat {version}.args)'",
        "env A=1 bash -o pipefail -c 'exec app --port {port} --version {version} $(cat {version}.args)'",
        "dash -x -c 'exec app --port {port} --version {version} $(cat {version}.args)'",
    ],
)
def test_a_shell_script_gets_references_to_the_environment_never_the_values(template: str) -> None:
    argv = command_argv(template, HOSTILE)
    script = argv[-1]
    assert script == (
        "exec app --port ${GREENFLAG_PORT} --version ${GREENFLAG_VERSION} $(cat ${GREENFLAG_VERSION}.args)"
    )
    assert "pwned" not in " ".join(argv)


def test_a_shell_running_a_script_file_gets_the_values_as_arguments() -> None:
    argv = command_argv("sh ./start.sh {version}", HOSTILE)
    assert argv == ["sh", "./start.sh", HOSTILE["version"]]  # $1 of the script: data, not code
    assert shell_script_index(["sh", "-e", "./start.sh"]) is None
    assert shell_script_index(["app", "-c", "x"]) is None


def test_shell_variables_and_other_braces_are_left_alone() -> None:
    argv = command_argv("sh -c 'echo ${HOME} {a,b} {unknown} $GREENFLAG_VERSION {version}'", {"version": "v1"})
    assert argv[-1] == "echo ${HOME} {a,b} {unknown} $GREENFLAG_VERSION ${GREENFLAG_VERSION}"


def test_the_environment_carries_every_value() -> None:
    assert command_env(HOSTILE) == {
        "GREENFLAG_PORT": "8080", "GREENFLAG_VERSION": HOSTILE["version"], "GREENFLAG_SERVICE": "shop",
        "GREENFLAG_INSTANCE": "v4-0", "PORT": "8080",
    }  # fmt: skip


def test_bad_quoting_and_empty_commands_are_value_errors() -> None:
    with pytest.raises(ValueError, match="No closing quotation"):
        command_argv("app --port {port} 'oops", {"port": "1"})
    with pytest.raises(ValueError, match="empty"):
        command_argv("   ", {})


def test_an_argument_list_is_substituted_as_written_never_split_again() -> None:
    values = {"slot": "green", "address": "http://10.0.0.6:8080", "version": HOSTILE["version"], "service": "shop"}
    argv = command_argv(["ansible-playbook", "-e", "version={version} slot={slot}", "--limit", "{address}"], values)
    assert argv == ["ansible-playbook", "-e", f"version={HOSTILE['version']} slot=green", "--limit",
                    "http://10.0.0.6:8080"]  # fmt: skip
    script = command_argv(["bash", "-ec", 'scp build/{version}.tgz "{address}" && echo {slot}'], values)[-1]
    assert script == 'scp build/${GREENFLAG_VERSION}.tgz "${GREENFLAG_ADDRESS}" && echo ${GREENFLAG_SLOT}'
    assert command_env(values) == {"GREENFLAG_SLOT": "green", "GREENFLAG_ADDRESS": "http://10.0.0.6:8080",
                                   "GREENFLAG_VERSION": HOSTILE["version"], "GREENFLAG_SERVICE": "shop"}  # fmt: skip


def test_a_placeholder_without_a_value_is_left_as_written() -> None:
    assert command_argv(["echo", "{slot}", "{version}"], {"version": "v1"}) == ["echo", "{slot}", "v1"]
    script = command_argv(["sh", "-c", "echo {slot} {version}"], {"version": "v1"})[-1]
    assert script == "echo {slot} ${GREENFLAG_VERSION}"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("echo '{version}'", "echo ''\"${GREENFLAG_VERSION}\"''"),
        ("echo 'v={version}!'", "echo 'v='\"${GREENFLAG_VERSION}\"'!'"),
        ('echo "{version}" \'{slot}\'', 'echo "${GREENFLAG_VERSION}" \'\'"${GREENFLAG_SLOT}"\'\''),
        ("echo \"it's {version}\"", "echo \"it's ${GREENFLAG_VERSION}\""),
        ("echo \"$(printf '%s' '{version}')\"", "echo \"$(printf '%s' ''\"${GREENFLAG_VERSION}\"'')\""),
        ("echo \\'{version}", "echo \\'${GREENFLAG_VERSION}"),
    ],
    ids=["single", "inside words", "double then single", "apostrophe in double", "single inside $()", "escaped"],
)
def test_inside_single_quotes_a_placeholder_steps_out_of_them(script: str, expected: str) -> None:
    assert command_argv(["sh", "-c", script], {"version": "v2", "slot": "green"})[-1] == expected

