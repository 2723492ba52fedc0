"""The route that serves the browser's data (playground/decoder_route.py), driven over ASGI as the
server mounts it (st.App(routes=decoder_route.routes()) in playground/server.py): what each answer
says to the browser. A year's `immutable` Cache-Control is what lets the browser keep a model's
weights and never ask again; the key it is served under must stay the same from run to run.
(tests/test_browser_decoder.py counts the fetches a real browser makes.)"""
import asyncio
import hashlib
import threading

import pytest

import models
from playground import decoder_page, decoder_route


def get(app, path: str):
    """(status, headers, body) of a GET of `path` from the ASGI app (no HTTP client needed)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "headers": [(b"host", b"test")], "client": ("127.0.0.1", 1),
             "server": ("test", 80)}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    # in a thread of its own: Playwright's sync API (browser tests in the same process) keeps an
    # event loop running in this one, and asyncio.run refuses to start inside it
    failed = []
    worker = threading.Thread(target=lambda: failed.extend(_errors(lambda: asyncio.run(app(scope, receive, send)))))
    worker.start()
    worker.join(30)
    assert not worker.is_alive() and not failed, failed
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _errors(call) -> list:
    try:
        call()
    except Exception as e:              # noqa: BLE001  (handed back to the test's thread)
        return [e]
    return []


@pytest.fixture
def served(monkeypatch):
    """An app with the route mounted, an empty store, and the module's 'served' flag put back after
    (routes() sets it, and other tests in this process run the app without the route)."""
    from starlette.applications import Starlette
    monkeypatch.setattr(decoder_route, "_routes_made", decoder_route._routes_made)
    monkeypatch.setattr(decoder_route, "_blobs", type(decoder_route._blobs)())
    return Starlette(routes=decoder_route.routes())


def test_a_published_blob_is_served_immutable_for_a_year_with_its_type(served):
    weights = bytes(range(256)) * 40
    url = decoder_route.publish("decoder-abc-123", weights)
    assert url == "/lp-decoder/decoder-abc-123.bin"
    status, headers, body = get(served, url)
    assert status == 200 and body == weights
    assert headers["content-type"] == "application/octet-stream"
    cache = [part.strip() for part in headers["cache-control"].split(",")]
    assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache, cache
    png = b"\x89PNG\r\n\x1a\nnot really"
    status, headers, body = get(served, decoder_route.publish("atlas-1", png, "png"))
    assert (status, headers["content-type"], body) == (200, "image/png", png)
    assert "immutable" in headers["cache-control"]


def test_an_unknown_or_expired_key_is_a_404_that_says_so_and_is_not_cached(served):
    decoder_route.publish("decoder-abc-123", b"1234")
    for path in ("/lp-decoder/decoder-abc-999.bin",       # never published (or dropped from the store)
                 "/lp-decoder/decoder-abc-123.png"):      # published as .bin, asked for as a picture
        status, headers, body = get(served, path)
        assert status == 404, path
        assert headers["content-type"].startswith("text/plain")
        assert b"reload the page" in body
        assert "immutable" not in headers.get("cache-control", "")   # a later publish must be fetchable
    assert get(served, "/lp-decoder/decoder-abc-123.bin")[0] == 200


def test_the_weights_url_stays_the_same_from_run_to_run_and_follows_the_weights(served):
    """A page publishes on every run: the URL must be the same each time (so the browser's copy is
    used), hold the weights' sha256, and differ for other weights."""
    m = models.load("mnist-vae")
    first, again = decoder_page.decoder_data("mnist-vae", m), decoder_page.decoder_data("mnist-vae", m)
    assert first["url"] == again["url"] and first["key"] == again["key"]
    assert m.card["weights"]["sha256"] in first["key"]
    status, headers, body = get(served, first["url"])
    assert status == 200 and "immutable" in headers["cache-control"]
    assert hashlib.sha256(body).hexdigest() == first["spec"]["blob_sha256"]          # the weights themselves
    other = models.load("fashion-mnist-vae")
    assert decoder_page.decoder_data("fashion-mnist-vae", other)["url"] != first["url"]
