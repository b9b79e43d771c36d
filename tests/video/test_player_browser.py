"""A real stream in a real browser: ffmpeg makes a short HLS stream, a plain HTTP server plays the video
platform's gateway, and Debian's Chromium plays the camera for the granted department through the
platform (hls.js), until the grant expires."""

import functools
import shutil
import subprocess
import threading
import time
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import bearer, page_login
from tests.video.helpers import grant_cameras, register_camera
from yiwang.core.timeutil import utcnow
from yiwang.exchange.models import ShareGrant
from yiwang.org.auth import SESSION_COOKIE


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """A six-second H.264 HLS stream (one-second segments) served over HTTP, like a GB/T 28181 gateway."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.fail("ffmpeg is missing: install Debian's ffmpeg (scripts/ensure_ffmpeg.sh)")
    folder = tmp_path_factory.mktemp("hls")
    subprocess.run(
        [
            *(ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "6"),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "baseline", "-g", "25", "-f", "hls"),
            *("-hls_time", "1", "-hls_playlist_type", "vod", str(folder / "index.m3u8")),
        ],
        check=True,
        timeout=120,
    )
    assert len(list(folder.glob("*.ts"))) >= 5

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.m3u8"
    server.shutdown()


@pytest.mark.browser
def test_the_granted_department_plays_the_stream_until_the_grant_expires(client, runtime, live_url, browser, gateway):
    camera = register_camera(client, hls_url=gateway)
    code = camera["code"]
    application = grant_cameras(client, [code])
    page_login(client, "hbj_admin")
    context = browser.new_context(locale="zh-CN")
    context.add_cookies([{"name": SESSION_COOKIE, "value": client.cookies[SESSION_COOKIE], "url": live_url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_url}/video/cameras/{code}")
    played = 0.0
    deadline = time.monotonic() + 30
    while played <= 1.5 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        played = page.evaluate("() => document.getElementById('player').currentTime")
    assert played > 1.5, page.locator("#player-status").inner_text()
    # every request went to the platform itself: the gateway's address never reached the browser
    hosts = page.evaluate("performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    assert set(hosts) <= {live_url.removeprefix("http://")}
    assert errors == []
    with runtime.db.unit_of_work() as db:
        db.get(ShareGrant, application["grant_id"]).expires_at = utcnow() - timedelta(seconds=1)
    page.goto(f"{live_url}/video/cameras/{code}")
    refused = page.locator("#play-refused")
    assert "共享授权已过期或已被撤销" in refused.inner_text()
    assert page.locator("#player").count() == 0
    # the proxied stream is refused too, and the API says so in JSON
    segment = page.request.get(f"{live_url}/video/stream/{code}/index.m3u8")
    assert segment.status == 403
    api = client.post(f"/api/video/cameras/{code}/playback", headers=bearer(client, "hbj_admin"))
    assert api.status_code == 403 and api.json()["error"]["code"] == "video_grant_expired"
    context.close()
