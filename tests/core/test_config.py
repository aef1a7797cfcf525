"""Config: discovery order, validation, errors that name the file and the key, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from retroflow import ConfigError, PluginError, Secret, hookimpl
from retroflow.config import find_config_file, load_config
from retroflow.testing import make_plugins


def _validated(path: Path, *plugins: object) -> Any:
    config = load_config(path)
    manager = make_plugins(*plugins)
    config.validate_plugins({n: manager.settings.get(n) for n in manager.settings.names()})
    return config


def test_discovery_order_is_option_then_environment_then_cwd(
    tmp_path: Path, write: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_cwd = write("retroflow.toml", "")
    from_env = write("env/retroflow.toml", "")
    given = write("given.toml", "")
    assert find_config_file(None, cwd=tmp_path) == in_cwd
    monkeypatch.setenv("RETROFLOW_CONFIG", str(from_env))
    assert find_config_file(None, cwd=tmp_path) == from_env
    assert find_config_file(str(given), cwd=tmp_path) == given


def test_no_config_anywhere_means_defaults(tmp_path: Path) -> None:
    assert find_config_file(None, cwd=tmp_path) is None
    assert load_config(None).engine.scoring == "impact-math"


def test_a_missing_given_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found \(given with --config\)"):
        find_config_file(str(tmp_path / "nope.toml"))


def test_invalid_toml_names_the_file_and_line(write: Any) -> None:
    path = write("retroflow.toml", "[retroflow]\nscoring = \n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "invalid TOML" in str(info.value) and "line 2" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[retroflow]\nsource_timeout = 'soon'\n", "[retroflow] source_timeout: expected a number, got 'soon'"),
        ("[retroflow]\nformats = 'json'\n", "[retroflow] formats: expected a list of strings, got 'json'"),
        ("[retroflow]\nfocus = 2.5\n", "[retroflow] focus: expected an integer, got float 2.5"),
        ("[retroflow]\nscorng = 'rice'\n", "[retroflow] scorng: unknown key"),
        ("[engine]\n", "unknown top-level key 'engine'"),
        ("[retroflow]\nsource_timeout = -1\n", "timeouts must be positive"),
    ],
)
def test_engine_table_errors_name_file_key_and_expectation(write: Any, text: str, expected: str) -> None:
    path = write("retroflow.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(str(path) + ":")
    assert expected in str(info.value)


def test_plugin_tables_are_validated_into_typed_settings(write: Any, tmp_path: Path) -> None:
    path = write("conf/retroflow.toml", '[plugins.file]\nevents = ["a.jsonl"]\ntimeout = 5\n')
    settings = _validated(path).settings_for("file")
    assert settings.events == [tmp_path / "conf" / "a.jsonl"], "paths are relative to the config file"
    assert settings.timeout == 5.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[plugins.fiel]\n", "[plugins.fiel] is not read by any installed plugin"),
        (
            "[plugins.file]\nevent = []\n",
            "[plugins.file] event: unknown key (expected one of: events, incident, timeout)",
        ),
        ("[plugins.file]\nevents = [1]\n", "[plugins.file] events[0]: expected a path (string), got int 1"),
    ],
)
def test_plugin_table_errors_name_file_and_key(write: Any, text: str, expected: str) -> None:
    path = write("retroflow.toml", text)
    with pytest.raises(ConfigError) as info:
        _validated(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


@attrs.frozen
class VaultSettings:
    token: Secret
    region: str = "eu"


class Vault:
    __name__ = "vault"

    @hookimpl
    def retroflow_register_settings(self, register: Any) -> None:
        register("vault", VaultSettings)


def test_secrets_come_from_the_environment_and_never_show(write: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "s3cr3t-value-123")
    path = write("retroflow.toml", '[plugins.vault]\ntoken = "env:VAULT_TOKEN"\n')
    settings = _validated(path, Vault()).settings_for("vault")
    assert settings.token.reveal() == "s3cr3t-value-123"
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings.token)


def test_a_literal_secret_is_refused_without_echoing_it(write: Any) -> None:
    path = write("retroflow.toml", '[plugins.vault]\ntoken = "s3cr3t-value-123"\n')
    with pytest.raises(ConfigError) as info:
        _validated(path, Vault())
    assert "[plugins.vault] token: expected an environment reference" in str(info.value)
    assert "s3cr3t" not in str(info.value)


def test_an_unset_secret_variable_is_named(write: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    path = write("retroflow.toml", '[plugins.vault]\ntoken = "env:VAULT_TOKEN"\n')
    with pytest.raises(ConfigError, match=r"\[plugins.vault\] token: environment variable VAULT_TOKEN is not set"):
        _validated(path, Vault())


def test_a_missing_required_key_is_named(write: Any) -> None:
    path = write("retroflow.toml", '[plugins.vault]\nregion = "us"\n')
    with pytest.raises(ConfigError, match=r"\[plugins.vault\] token: required key is missing"):
        _validated(path, Vault())


def test_an_absent_table_with_required_keys_means_not_configured(write: Any) -> None:
    path = write("retroflow.toml", "")
    assert _validated(path, Vault()).settings_for("vault") is None
    assert _validated(path, Vault()).settings_for("vault", VaultSettings) is None


def test_settings_for_a_class_are_that_class_or_an_error(write: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "s3cr3t-value-123")
    config = _validated(write("retroflow.toml", '[plugins.vault]\ntoken = "env:VAULT_TOKEN"\n'), Vault())
    settings: VaultSettings | None = config.settings_for("vault", VaultSettings)
    assert settings is config.settings_for("vault")
    assert settings is not None and settings.region == "eu"
    with pytest.raises(PluginError, match=r"\[plugins.vault\] holds VaultSettings settings, not str"):
        config.settings_for("vault", str)


@attrs.frozen
class MirrorRepo:
    path: Path
    service: str
    branch: str = "main"


@attrs.frozen
class MirrorSettings:
    repos: list[MirrorRepo] = attrs.field(factory=list)
    primary: MirrorRepo | None = None


class Mirror:
    __name__ = "mirror"

    @hookimpl
    def retroflow_register_settings(self, register: Any) -> None:
        register("mirror", MirrorSettings)


def test_a_list_of_tables_is_validated_into_typed_items(write: Any, tmp_path: Path) -> None:
    path = write(
        "conf/retroflow.toml",
        '[[plugins.mirror.repos]]\npath = "pay"\nservice = "payments-api"\n\n'
        '[[plugins.mirror.repos]]\npath = "/srv/web"\nservice = "web"\nbranch = "release"\n\n'
        '[plugins.mirror.primary]\npath = "pay"\nservice = "payments-api"\n',
    )
    settings = _validated(path, Mirror()).settings_for("mirror")
    assert settings.repos == [
        MirrorRepo(path=tmp_path / "conf" / "pay", service="payments-api"),
        MirrorRepo(path=Path("/srv/web"), service="web", branch="release"),
    ], "paths in nested tables are relative to the config file too"
    assert settings.primary == MirrorRepo(path=tmp_path / "conf" / "pay", service="payments-api")
    inline = write("inline.toml", '[plugins.mirror]\nrepos = [{path = "pay", service = "payments-api"}]\n')
    assert _validated(inline, Mirror()).settings_for("mirror").repos[0].service == "payments-api"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('repos = [{path = "pay"}]', "[plugins.mirror] repos[0] service: required key is missing"),
        (
            'repos = [{path = "a", service = "a"}, {path = "b", service = "b", brnch = "x"}]',
            "[plugins.mirror] repos[1] brnch: unknown key (expected one of: branch, path, service)",
        ),
        ('repos = [{path = "a", service = 7}]', "[plugins.mirror] repos[0] service: expected a string, got int 7"),
        ('repos = ["pay"]', "[plugins.mirror] repos[0]: expected a table, got 'pay'"),
        ("repos = {path = 'pay', service = 'p'}", "[plugins.mirror] repos: expected a list of tables, got a table"),
        ("primary = 'pay'", "[plugins.mirror] primary: expected a table, got 'pay'"),
    ],
)
def test_nested_table_errors_name_file_key_and_item(write: Any, text: str, expected: str) -> None:
    path = write("retroflow.toml", f"[plugins.mirror]\n{text}\n")
    with pytest.raises(ConfigError) as info:
        _validated(path, Mirror())
    assert str(info.value).startswith(str(path) + ":")
    assert expected in str(info.value)
