"""Issue 24, part 4: `build.py serve` answers byte ranges (HTTP 206), as a static host
does, so that the talk's video seeks there too (Chromium asks for ranges to seek)."""
from __future__ import annotations

import http.client

import pytest

from test_battery_serve import server  # noqa: F401  (the preview's handler on a small site)

BODY = bytes(range(256)) * 40  # 10,240 bytes


def ask(port, path, rng=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, headers={"Range": rng} if rng else {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


@pytest.fixture
def media(server, tmp_path):  # noqa: F811
    (tmp_path / "site" / "media").mkdir()
    (tmp_path / "site" / "media" / "talk.webm").write_bytes(BODY)
    return server


@pytest.mark.parametrize("rng, start, end", [
    ("bytes=0-99", 0, 99), ("bytes=100-", 100, len(BODY) - 1), ("bytes=-50", len(BODY) - 50, len(BODY) - 1),
    ("bytes=10000-99999", 10000, len(BODY) - 1), ("bytes=0-0", 0, 0)])
def test_a_range_is_answered_with_206_and_those_bytes(media, rng, start, end):
    status, headers, body = ask(media, "/media/talk.webm", rng)
    assert status == 206
    assert body == BODY[start:end + 1]
    assert headers["Content-Range"] == f"bytes {start}-{end}/{len(BODY)}"
    assert headers["Content-Length"] == str(end - start + 1)
    assert headers["Accept-Ranges"] == "bytes"


def test_whole_file_says_it_accepts_ranges(media):
    status, headers, body = ask(media, "/media/talk.webm")
    assert status == 200 and body == BODY and headers["Accept-Ranges"] == "bytes"


def test_a_range_past_the_end_is_416(media):
    status, headers, body = ask(media, "/media/talk.webm", "bytes=20000-")
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(BODY)}" and body == b""


@pytest.mark.parametrize("rng", ["bytes=abc", "items=0-5", "bytes=5-2,7-9"])
def test_a_range_not_understood_gets_the_whole_file(media, rng):
    status, _, body = ask(media, "/media/talk.webm", rng)
    assert status == 200 and body == BODY


def test_ranges_stay_inside_the_site(media):
    assert ask(media, "/leak.txt", "bytes=0-5")[0] == 404
    assert ask(media, "/", "bytes=0-5", )[0] == 200  # a page is always whole (the preview adds its script)
