"""The decoder and the inverse in the browser (playground/decoder.js, playground/latent_inverse.js) in
headless Chromium, against torch and the server's inverse; then on the drag page itself.

- parity: 1,000 random codes per shipped generative model, decoded by the exported spec in the
  browser, differ from `model.decode` by at most 2/255 per pixel;
- the inverse: random map positions give the server's code (learned inverse, exact PCA with the
  hidden components of the cursor's code, the latent plane);
- the page: held still mid-drag, the preview is the server's exact decoding of that point; when the
  weights cannot be fetched the page says so and blends the atlas.
"""
import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import models
from conftest import ARTIFACTS, GENERATIVE
from playground.decoder_export import export_decoder
from playground.decoder_inverse import inverse_desc, map_blob

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "playground" / "latent_inverse.js", ROOT / "playground" / "decoder.js"]
TOLERANCE = 2 / 255

B64_TO_BUFFER = "b => Uint8Array.from(atob(b), c => c.charCodeAt(0)).buffer"
DECODE_ALL = """([spec, weights, codes, dim]) => {
    const buffer = Uint8Array.from(atob(weights), c => c.charCodeAt(0)).buffer;
    const model = LatentDecoder.build(spec, buffer);
    const z = new Float32Array(Uint8Array.from(atob(codes), c => c.charCodeAt(0)).buffer);
    const n = z.length / dim, size = model.imageShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n * size);
    for (let i = 0; i < n; i++) out.set(model.run(z.subarray(i * dim, (i + 1) * dim)), i * size);
    let s = ''; const bytes = new Uint8Array(out.buffer);
    for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
    return btoa(s); }"""
INVERT_ALL = """([desc, blob, uvs]) => {
    const buffer = blob ? Uint8Array.from(atob(blob), c => c.charCodeAt(0)).buffer : null;
    const inv = LatentInverse.prepare(desc, buffer);
    return uvs.map(uv => Array.from(LatentInverse.toLatent(inv, uv))); }"""


def b64(a) -> str:
    return base64.b64encode(a if isinstance(a, bytes) else np.ascontiguousarray(a, "<f4").tobytes()).decode()


@pytest.fixture
def scripts_page(page):
    page.set_content("<!doctype html><html><body></body></html>")
    for path in SOURCES:
        page.add_script_tag(content=path.read_text(encoding="utf-8"))
    return page


@pytest.mark.parametrize("name", GENERATIVE)
def test_browser_decodes_1000_random_codes_like_torch(scripts_page, name):
    m = models.load(name)
    spec, blob = export_decoder(m)
    rng = np.random.default_rng(11)
    z = (rng.standard_normal((1000, m.latent_dim)) * rng.uniform(0.3, 2.0, (1000, 1))).astype(np.float32)
    out = scripts_page.evaluate(DECODE_ALL, [spec, b64(blob), b64(z), m.latent_dim])
    browser = np.frombuffer(base64.b64decode(out), "<f4").reshape(1000, *spec["image_shape"])
    want = m.decode(z)
    diff = np.abs(browser - want).max()
    assert diff <= TOLERANCE, f"{name}: max difference {diff * 255:.3f}/255"
