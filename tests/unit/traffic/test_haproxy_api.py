"""The Runtime API's answers parse into server states and counters, and no argument can smuggle a second command."""

from __future__ import annotations

import pytest

from greenflag.traffic.haproxy_api import HAProxyError, RuntimeAPI, parse_servers_state, parse_stat

# as HAProxy 2.6 answers `show servers state app` (ready at 100, drain, maint, and `disabled` then set ready)
HEADER = (
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state "
    "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr "
    "srv_agent_addr srv_agent_port\n"
)
STATE = (
    "1\n"
    + HEADER
    + """3 app 1 s_blue 127.0.0.1 2 0 100 100 2 6 3 4 6 0 0 0 - 18501 - 0 0 - - 0
3 app 2 s_green 127.0.0.1 2 8 50 0 0 6 3 4 6 0 0 0 - 18502 - 0 0 - - 0
3 app 3 s_red 127.0.0.1 0 1 50 0 0 6 3 0 14 0 0 0 - 18503 - 0 0 - - 0
3 app 4 s_new 127.0.0.1 2 4 10 0 0 1 0 2 6 0 0 0 - 18504 - 0 0 - - 0
4 other 1 s_blue 127.0.0.1 2 0 1 1 2 6 3 4 6 0 0 0 - 1 - 0 0 - - 0

"""
)


def test_servers_state() -> None:
    states = parse_servers_state(STATE, "app")
    assert list(states) == ["s_blue", "s_green", "s_red", "s_new"]
    assert [(s.address, s.weight, s.mode, s.effective_weight) for s in states.values()] == [
        ("127.0.0.1:18501", 100, "ready", 100),
        ("127.0.0.1:18502", 50, "drain", 0),
        ("127.0.0.1:18503", 50, "maint", 0),
        ("127.0.0.1:18504", 10, "ready", 10),  # `disabled` in haproxy.cfg, then `state ready`: serving
    ]


@pytest.mark.parametrize("answer", ["Can't find backend.\n", "Permission denied\n", ""])
def test_an_error_answer_is_an_error_not_an_empty_backend(answer: str) -> None:
    with pytest.raises(HAProxyError, match="show servers state app"):
        parse_servers_state(answer, "app")


def test_stat_rows_of_one_proxy() -> None:
    text = "# pxname,svname,scur,hrsp_5xx,\nf,FRONTEND,1,0,\napp,s_blue,3,7,\napp,BACKEND,3,7,\nx,s_blue,9,9,\n"
    assert parse_stat(text, "app") == {"s_blue": {"pxname": "app", "svname": "s_blue", "scur": "3", "hrsp_5xx": "7"}}
    with pytest.raises(HAProxyError, match="Unknown command"):
        parse_stat("Unknown command\n", "app")


@pytest.mark.parametrize(
    "word", ["s_blue;shutdown sessions server app/s_blue", "a b", "x\nset server", "#1", "", "a\\b", "x\x00"]
)
async def test_arguments_that_would_split_into_another_command_are_refused_before_sending(word: str) -> None:
    api = RuntimeAPI("/nonexistent/admin.sock", timeout=1)
    with pytest.raises(HAProxyError, match="refusing to send"):
        await api.run("set", "server", word, "weight", "0")
