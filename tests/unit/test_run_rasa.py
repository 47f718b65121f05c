"""The Rasa server launcher passes the JWT secret so Rasa's own parser reads it whole."""
from __future__ import annotations

from rasa_plugins.run_rasa import rasa_args


def test_a_secret_that_begins_with_a_dash_reaches_rasa_whole():
    from rasa.__main__ import create_argument_parser

    secret = "-Xk3_a-secret-from-token_urlsafe"  # about 1 in 64 random secrets look like this
    args = rasa_args(["run", "--enable-api", "--jwt-method", "HS256"], secret)
    assert create_argument_parser().parse_args(args).jwt_secret == secret


def test_a_secret_given_on_the_command_line_is_left_alone():
    assert rasa_args(["run", "--jwt-secret=abc"], "xyz") == ["run", "--jwt-secret=abc"]
    assert rasa_args(["run"], "") == ["run"]
