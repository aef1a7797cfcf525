"""Secrets never leak: not into log lines, tracebacks, error messages or documents."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from retroflow import plugins as plugins_module
from retroflow.cli import cli
from retroflow.logs import redact_text, register_secret

SECRET = "tok-9f8e7d6c5b4a-SECRET"

LEAKY_PLUGIN = (
    '''
import attrs
from retroflow import Secret, SourceResult, hookimpl

@attrs.frozen
class LeakySettings:
    token: Secret

@hookimpl
def retroflow_register_settings(register):
    register("leaky", LeakySettings)

@hookimpl
def retroflow_timeline_source(request, config):
    api_token = config.settings_for("leaky").token.reveal()  # a local holding the secret
    headers = {"Authorization": f"Token token={api_token}"}
    raise RuntimeError(f"request with {headers} refused for token {api_token}")

@hookimpl
def retroflow_register_renderers(register):
    class Exploding:
        name = "exploding"
        extension = "txt"
        def render(self, retro, secret="'''
    + SECRET
    + """"):
            raise ValueError("renderer saw " + secret)
    register(Exploding())
"""
)


@pytest.fixture
def leaky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "rf_leaky.py").write_text(LEAKY_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    point = ("retroflow-leaky 0.1", importlib.metadata.EntryPoint("leaky", "rf_leaky", "retroflow"))
    monkeypatch.setattr(plugins_module, "_entry_points", lambda: iter([point]))
    monkeypatch.delenv("RETROFLOW_LOAD_PLUGINS", raising=False)
    monkeypatch.setenv("LEAKY_TOKEN", SECRET)
    events = tmp_path / "events.jsonl"
    events.write_text('{"at": "2026-11-02T14:00:00Z", "kind": "alert", "summary": "p95 high"}\n', encoding="utf-8")
    config = tmp_path / "retroflow.toml"
    config.write_text(
        f'[plugins.leaky]\ntoken = "env:LEAKY_TOKEN"\n[plugins.file]\nevents = ["{events}"]\n', encoding="utf-8"
    )
    yield config
    sys.modules.pop("rf_leaky", None)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_plugin_failing_with_the_secret_in_scope_leaks_it_nowhere(
    leaky: Path, tmp_path: Path, log_format: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(
        cli,
        ["--debug", "--log-format", log_format, "--config", str(leaky), "retro", "X", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "plugin failed" in result.stderr
    assert "Traceback" in result.stderr or '"exc_type"' in result.stderr, "--debug shows the traceback"
    assert "RuntimeError" in result.stderr, "the failure itself is logged"
    documents = [p.read_text() for p in out.iterdir()]
    assert any("leaky" in d for d in documents), "the failure is a gap in the retro"
    for text in [result.stdout, result.stderr, *documents]:
        assert SECRET not in text


def test_an_unexpected_error_with_the_secret_is_one_redacted_line(leaky: Path, tmp_path: Path) -> None:
    args = ["--config", str(leaky), "retro", "X", "-f", "exploding", "--out", str(tmp_path)]
    plain = CliRunner().invoke(cli, ["-q", *args])
    assert plain.exit_code == 1
    assert plain.stderr.strip().splitlines()[-1] == (
        "Error: renderer 'exploding' of plugin 'leaky' failed: ValueError: renderer saw [redacted]"
    )
    assert "Traceback" not in plain.stderr and '"frames"' not in plain.stderr
    assert SECRET not in plain.stderr
    debug = CliRunner().invoke(cli, ["--debug", "--log-format", "json", *args])
    assert debug.exit_code == 1
    assert "renderer saw" in debug.stderr and '"frames"' in debug.stderr, "the traceback is shown"
    assert SECRET not in debug.stderr + debug.stdout


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Token token=abc123def",
        "Authorization: Bearer eyJhbGciOi.payload.sig",
        "slack says xoxb-1234-5678-abcdef",
        "webhook secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "rotating slack token xoxe.xoxp-1-Mi0yLTQ2NjQ",
        "file url?t=xoxe-202525716848-307302644288-309011455943-473e6f6e9f9c51261dcf5996ec6d5759",
        "socket mode xapp-1-A0123456789-1234567890123-abcdef0123456789",
    ],
)
def test_credential_shaped_strings_are_masked(text: str) -> None:
    secret = text.split()[-1].removeprefix("token=")
    assert secret not in redact_text(text)


def test_registered_secret_values_are_masked_anywhere() -> None:
    register_secret("plain-value-42")
    assert redact_text("url?key=plain-value-42&x=1") == "url?key=[redacted]&x=1"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("clone https://deploy:s3cr3t-pass@git.example.com/shop.git", "clone https://deploy:[redacted]@git.example.com/shop.git"),
        ("postgresql://retro:hunter2@db:5432/retros", "postgresql://retro:[redacted]@db:5432/retros"),
        ("see https://grafana.example.com/d/abc?orgId=1&api_key=eyJrIjoi&from=now-1h",
         "see https://grafana.example.com/d/abc?orgId=1&api_key=[redacted]&from=now-1h"),
        ("https://hooks.example.com/x?access_token=abc123&x=1", "https://hooks.example.com/x?access_token=[redacted]&x=1"),
        ("mail alice@example.com about https://example.com/a?b=c", "mail alice@example.com about https://example.com/a?b=c"),
        ("already hidden postgresql://retro:***@db/retros", "already hidden postgresql://retro:***@db/retros"),
    ],
)  # fmt: skip
def test_credentials_inside_urls_are_masked_and_the_rest_stays_readable(text: str, shown: str) -> None:
    assert redact_text(text) == shown


def test_redact_text_is_public_api() -> None:
    import retroflow

    assert retroflow.redact_text is redact_text


def test_a_secret_is_masked_url_encoded_too() -> None:
    register_secret("p@ss/word+42 x")
    text = "POST /login?password=p%40ss%2Fword%2B42%20x body=p%40ss%2Fword%2B42+x"
    assert redact_text(text) == "POST /login?password=[redacted] body=[redacted]"


def test_the_base64_of_a_basic_auth_pair_is_masked_without_the_word_basic(monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from retroflow.config import Secret

    monkeypatch.setenv("BASIC_TOKEN", "tok?en>>>~~~-77")
    secret = Secret.from_reference("env:BASIC_TOKEN", where="test")
    assert secret.basic_auth("bot@example.com") == ("bot@example.com", "tok?en>>>~~~-77")
    pair = b"bot@example.com:tok?en>>>~~~-77"
    forms = (base64.b64encode(pair).decode(), base64.urlsafe_b64encode(pair).decode())
    assert forms[0] != forms[1]
    for encoded in forms:
        masked = redact_text(f"bad header {encoded} and unpadded {encoded.rstrip('=')}.")
        assert encoded.rstrip("=")[:-2] not in masked and masked.startswith("bad header [redacted]")


def test_a_trackers_error_text_is_redacted_before_it_is_cut() -> None:
    from retroflow.http import ERROR_TEXT_LIMIT, error_text

    register_secret("cut-me-0123456789-secret")
    text = "_" * (ERROR_TEXT_LIMIT - 8) + "cut-me-0123456789-secret and more"
    quoted = error_text(text)
    assert len(quoted) == ERROR_TEXT_LIMIT and "cut-me" not in quoted
    assert quoted.endswith("_" + "[redacted]"[:8])
