"""Issue 23, battery findings 7 and 9: the preview server answers only this machine's
names, never crashes on a request, serves only files inside site/ and lists no folder;
`check` makes no DNS lookup for the hosts a chapter links to."""
from __future__ import annotations

import functools
import http.client
import http.server
import threading

import pytest


@pytest.fixture
def server(tmp_path):
    from sitegen import serve

    site = tmp_path / "site"
    (site / "figures").mkdir(parents=True)
    (site / "empty").mkdir()
    (site / "index.html").write_text("<html><body><p>home</p></body></html>")
    (site / "latin1.html").write_bytes(b"<html><body><p>caf\xe9</p></body></html>")
    (site / "figures" / "a.svg").write_text("<svg/>")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside-the-site-5c2")
    (site / "leak.txt").symlink_to(secret)
    (site / "figures" / "leak").symlink_to(tmp_path)
    preview = serve.Preview.__new__(serve.Preview)
    preview.version, preview.error = 0, ""
    handler = functools.partial(type("H", (serve.Handler,), {"preview": preview}), directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def get(port, path, host=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest(method, path, skip_host=True)
    conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


def test_pages_are_served(server):
    status, body = get(server, "/")
    assert status == 200 and b"home" in body and b"/__version" in body
    assert get(server, "/figures/a.svg")[0] == 200
    assert get(server, "/", host=f"localhost:{server}")[0] == 200


@pytest.mark.parametrize("path", ["/%00", "/index.html%00.svg", "/figures/%00/a.svg"])
def test_nul_byte_gets_an_answer(server, path):
    assert get(server, path)[0] == 400
    assert get(server, "/")[0] == 200  # still serving


def test_non_utf8_page_is_served(server):
    status, body = get(server, "/latin1.html")
    assert status == 200 and b"caf" in body


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", ""])
def test_foreign_host_is_refused(server, host):
    status, body = get(server, "/", host=host.format(port=server))
    assert status == 403 and b"home" not in body


@pytest.mark.parametrize("path", ["/leak.txt", "/figures/leak/secret.txt"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_links_out_of_the_site_are_not_followed(server, path, method):
    status, body = get(server, path, method=method)
    assert status == 404 and b"outside-the-site" not in body


@pytest.mark.parametrize("path", ["/empty/", "/figures/"])
def test_folders_are_not_listed(server, path):
    status, body = get(server, path)
    assert status == 404 and b"a.svg" not in body


def test_check_makes_no_dns_lookup(built_copy, capsys, monkeypatch):
    import socket

    from sitegen import check
    from sitegen.project import load_project

    looked_up = []
    real = socket.getaddrinfo

    def watch(host, *a, **kw):
        if host not in ("127.0.0.1", "localhost", None):
            looked_up.append(host)
        return real(host, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", watch)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: looked_up.append(host) or "0.0.0.0")
    browsed = []
    monkeypatch.setattr(check, "check_accessibility", lambda site: browsed.append(site) or [])
    index = built_copy / "site" / "index.html"
    index.write_text(index.read_text().replace(
        "</body>", '<a href="https://dns-probe.example.org/x">x</a><img src="http://img.example.net/a.png" alt="a">'
                   '<link rel="dns-prefetch" href="//prefetch.example.com"></body>'))
    check.check(load_project(built_copy), quiet=True)
    assert browsed and looked_up == []
    # the browser resolves no name but our own server's (its requests elsewhere are aborted too)
    rules = [a for a in check.CHROMIUM_ARGS if a.startswith("--host-resolver-rules=")]
    assert rules == ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
    assert "--dns-prefetch-disable" in check.CHROMIUM_ARGS
