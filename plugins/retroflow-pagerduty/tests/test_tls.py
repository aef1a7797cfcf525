"""The source against any HTTPS endpoint: a real TLS server on loopback whose certificate
is signed by a throwaway CA made here, trusted through ``ca_bundle`` or ``SSL_CERT_FILE``.

The server answers with the fake API (:class:`FakePagerDuty`), so everything above TLS is
what the other tests check; here the certificate is the point.
"""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx2
import pytest
from retroflow_pagerduty import PagerDutySource
from retroflow_pagerduty.testing import FakePagerDuty
from retroflow_pagerduty.testing_subscriptions import FakeSubscriptions

from retroflow import ConfigError, RetroRequest
from retroflow.testing import build, make_config, make_incident, make_plugins

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

SERVER_EXTENSIONS = """\
subjectAltName=IP:127.0.0.1,DNS:localhost
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
"""


@attrs.frozen
class ThrowawayCA:
    ca: Path  # the CA's certificate: what a client trusts
    certificate: Path  # the server's certificate, for 127.0.0.1, signed by the CA
    key: Path  # the server's private key


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_test_ca(directory: Path) -> ThrowawayCA:
    """A CA made for this test run only, and a server certificate it signs."""
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=retroflow throwaway test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    _openssl("req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=directory)
    (directory / "server.ext").write_text(SERVER_EXTENSIONS, encoding="utf-8")
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
        cwd=directory,
    )  # fmt: skip
    return ThrowawayCA(directory / "ca.pem", directory / "server.pem", directory / "server.key")


def _bridge(fake: FakePagerDuty) -> type[http.server.BaseHTTPRequestHandler]:
    """A request handler answering each real HTTP request with the fake API's response."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            host = self.headers.get("Host", "127.0.0.1")
            request = httpx2.Request("GET", f"https://{host}{self.path}", headers=dict(self.headers.items()))
            response = fake.handle(request)
            body = response.read()
            self.send_response(response.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # handshake failures are expected here; keep the test output clean

    return Handler


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCA:
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def https_api(kit, test_ca: ThrowawayCA) -> Iterator[str]:
    """``https://127.0.0.1:PORT``: the spec's incident, and no webhook subscriptions, served
    over real TLS."""
    account = kit.fake_account()
    fake = FakeSubscriptions(
        incidents=account.incidents,
        log_entries=account.log_entries,
        alerts=account.alerts,
        notes=account.notes,
        token=kit.TOKEN,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _bridge(fake))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(test_ca.certificate, test_ca.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def no_proxy_no_ca_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback directly, and no trust settings from the environment of the test run."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _toml(api: str, extra: str = "") -> str:
    return f'[plugins.pagerduty]\ntoken = "env:PAGERDUTY_TOKEN"\napi = "{api}"\nhistory_days = 0\n{extra}'


def _config(api: str, base_dir: Path, extra: str = ""):
    source = PagerDutySource()  # no fake transport: real HTTPS to the server above
    config = make_config(_toml(api, extra), plugins=make_plugins(source, default_plugins=False), base_dir=base_dir)
    return source, config


def test_the_source_fetches_the_incident_over_tls_with_ca_bundle(kit, https_api, test_ca, tmp_path):
    shutil.copy(test_ca.ca, tmp_path / "company-ca.pem")
    source, config = _config(https_api, tmp_path, 'ca_bundle = "company-ca.pem"\n')  # relative to the config
    result = source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    assert result.incident.id == "PT4KHLK"
    assert any(event.kind == "resolution" for event in result.events)


def test_ssl_cert_file_is_honoured_without_ca_bundle(kit, https_api, test_ca, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca.ca))
    source, config = _config(https_api, tmp_path)
    assert source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config).incident.id == "PT4KHLK"


def test_an_untrusted_certificate_is_a_gap_naming_the_tls_problem(kit, https_api, sleeps):
    source = PagerDutySource(sleep=sleeps)
    retro = build(plugins=[source], config=_toml(https_api), incident=make_incident(id="PT4KHLK"))
    (gap,) = [g for g in retro.gaps if g.plugin == "pagerduty"]
    assert gap.kind == "error"
    assert "TLS certificate" in gap.reason and "not trusted" in gap.reason
    assert "unable to get local issuer certificate" in gap.reason
    assert "ca_bundle" in gap.reason and "SSL_CERT_FILE" in gap.reason
    assert "Traceback" not in gap.reason and kit.TOKEN not in gap.reason and kit.TOKEN[-4:] not in gap.reason
    assert sleeps == []  # the same certificate would come back: not retried


def test_a_ca_bundle_of_another_ca_is_refused_the_same_way(kit, https_api, tmp_path_factory):
    other = make_test_ca(tmp_path_factory.mktemp("other-ca"))
    config = _toml(https_api, f'ca_bundle = "{other.ca}"\n')
    retro = build(plugins=[PagerDutySource()], config=config, incident=make_incident(id="PT4KHLK"))
    (gap,) = [g for g in retro.gaps if g.plugin == "pagerduty"]
    assert "not trusted" in gap.reason


def test_a_ca_bundle_that_is_not_pem_is_a_config_error_naming_the_key(kit, https_api, tmp_path):
    (tmp_path / "ca.pem").write_text("not a certificate\n", encoding="utf-8")
    source, config = _config(https_api, tmp_path, 'ca_bundle = "ca.pem"\n')
    with pytest.raises(ConfigError, match=r"\[plugins.pagerduty\] ca_bundle: .*ca.pem: cannot be read as PEM"):
        source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)


def test_an_ssl_cert_file_that_does_not_exist_is_named(kit, https_api, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    source, config = _config(https_api, tmp_path)
    with pytest.raises(ConfigError, match=r"SSL_CERT_FILE=.*missing.pem: cannot be read as PEM CA certificates"):
        source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)


def test_config_check_reports_a_ca_bundle_that_does_not_exist(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import retroflow.cli as cli_module
    from retroflow.plugins import get_plugin_manager

    def manager(**kwargs):
        return get_plugin_manager(load_entrypoints=False, extra_plugins=[PagerDutySource()], **kwargs)

    config = tmp_path / "retroflow.toml"
    config.write_text('[plugins.pagerduty]\ntoken = "env:PAGERDUTY_TOKEN"\nca_bundle = "certs/ca.pem"\n')
    result = CliRunner().invoke(
        cli_module.cli, ["--config", str(config), "config", "check"], obj={"plugin_manager_factory": manager}
    )
    assert result.exit_code == 2
    assert f"[plugins.pagerduty] ca_bundle: {tmp_path / 'certs' / 'ca.pem'}: no such file" in result.stderr


@pytest.mark.parametrize("trusted", [True, False])
def test_the_subscription_commands_use_ca_bundle_too(https_api, test_ca, tmp_path, monkeypatch, trusted):
    from click.testing import CliRunner

    import retroflow.cli as cli_module
    from retroflow.plugins import get_plugin_manager

    def manager(**kwargs):
        return get_plugin_manager(load_entrypoints=False, extra_plugins=[PagerDutySource()], **kwargs)

    config = tmp_path / "retroflow.toml"
    config.write_text(_toml(https_api, f'ca_bundle = "{test_ca.ca}"\n' if trusted else ""), encoding="utf-8")
    result = CliRunner().invoke(
        cli_module.cli,
        ["--config", str(config), "pagerduty", "subscriptions", "--json"],
        obj={"plugin_manager_factory": manager},
    )
    if trusted:
        assert result.exit_code == 0 and json.loads(result.stdout) == []
    else:
        assert result.exit_code == 1 and "Traceback" not in result.stderr
        assert "the TLS certificate of https://127.0.0.1" in result.stderr and "not trusted" in result.stderr
