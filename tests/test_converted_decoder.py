"""The drag and interpolate pages of a checkpoint converted with `python -m models.convert`, as the
app runs through playground/server.py (the decoder route on): every architecture models.convert
knows either gives the browser its decoder (checked against the model's own decode) or the page
says why not, and never crashes. AppTest alone has the route off, which hid an AttributeError."""
import json

import numpy as np
import pytest
import torch

import models
from conftest import assert_clean, run_app
from models import sources
from models.architectures import build
from models.architectures_external import KNOWN
from models.convert import convert
from playground import decoder_page, decoder_route
from playground.decoder_export import reference_decode

PAGES = ["views/drag.py", "views/interpolate.py"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """One converted folder per known architecture (seeded weights), listed through the env."""
    root = tmp_path_factory.mktemp("converted")
    torch.manual_seed(0)
    for arch, (cls, args, _, _) in KNOWN.items():
        pth = root / f"{arch}.pth"
        torch.save(build(cls, args).state_dict(), pth)
        convert(pth, arch, root / "ckpts" / f"conv-{arch}")
    mp = pytest.MonkeyPatch()
    mp.setenv(sources.ENV_DIRS, str(root / "ckpts"))
    from playground import session
    session.listings.clear()
    yield root / "ckpts"
    mp.undo()
    session.listings.clear()


@pytest.fixture
def served(monkeypatch):
    """The app as server.py runs it: the decoder route is made, blobs are published."""
    monkeypatch.setattr(decoder_route, "_routes_made", True)
    monkeypatch.setattr(decoder_route, "_blobs", type(decoder_route._blobs)())


def decoders_on_page(at) -> list:
    """The `decoder` argument of every browser component on the page."""
    return [json.loads(el.proto.json)["decoder"] for el in at.get("bidi_component")
            if "decoder" in json.loads(el.proto.json or "{}")]


@pytest.mark.parametrize("arch", sorted(KNOWN))
@pytest.mark.parametrize("page", PAGES)
def test_converted_models_pages_get_the_browser_decoder_or_say_why(converted, served, arch, page):
    name = f"conv-{arch}"
    at = run_app(model=name, proj="pca")
    assert at.session_state.model == name
    at.switch_page(page).run()
    assert_clean(at, f"{page} for {name}")
    found = decoders_on_page(at)
    assert found, f"{page}: no browser component got decoder data"
    d = found[0]
    assert "error" in d or "spec" in d, d
    if "error" in d:     # an ExportError in words: not the route's absence, not an unexpected failure
        assert d["error"] and d["error"] != decoder_page.NOT_SERVED, d
        assert "could not be exported" not in d["error"], d
        return
    m = models.load(converted / name)
    blob = decoder_route.lookup(d["key"])
    assert blob is not None and d["url"].endswith(d["key"] + ".bin")
    z = np.random.default_rng(1).standard_normal((3, m.latent_dim)).astype(np.float32)
    np.testing.assert_allclose(reference_decode(d["spec"], blob, z), m.decode(z), atol=1e-5)


def test_a_failing_export_is_the_pages_fallback_reason(converted, served, monkeypatch):
    """Any exception in the export (a bug, an odd module) becomes the reason, not a crash."""
    def boom(m):
        raise AttributeError("no decoder here")
    monkeypatch.setattr(decoder_page, "export_decoder", boom)
    decoder_page.browser_decoder.clear()
    try:
        name = f"conv-{sorted(KNOWN)[0]}"
        at = run_app(model=name, proj="pca")
        at.switch_page("views/drag.py").run()
        assert_clean(at, "drag page with a failing export")
        (d,) = decoders_on_page(at)
        assert "could not be exported" in d["error"] and "AttributeError: no decoder here" in d["error"]
    finally:
        decoder_page.browser_decoder.clear()
