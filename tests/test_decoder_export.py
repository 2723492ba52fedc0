"""playground/decoder_export.py: a decoder as a JSON layer list and one float32 blob, for the browser.

The spec is run here by `reference_decode` (numpy, the same arithmetic as decoder.js) and compared
with torch: shipped models, a GAN whose BatchNorm statistics are far from the identity, every
activation, odd transposed-convolution geometry and colour images. Unknown layers are refused with
a message that names them. (decoder.js itself is checked in Chromium by test_browser_decoder.py.)
"""
import json

import numpy as np
import pytest
import torch
from torch import nn

import models
from models.architectures import ACTIVATIONS, ConvVAE, Generator
from playground.decoder_export import ExportError, export_decoder, export_layers, reference_decode
from playground.decoder_inverse import inverse_desc, map_blob
from playground import decoder_route


class Fake:
    """A LatentModel's face, enough for export_decoder."""

    def __init__(self, kind, net, latent_dim, image_shape=(1, 28, 28)):
        self.kind, self.name, self.latent_dim = kind, f"fake-{kind}", latent_dim
        self.modules = {"vae" if kind == "vae" else "generator": net.eval()}
        self.card = {"image_shape": list(image_shape), "weights": {"sha256": "0" * 64}}

    @torch.inference_mode()
    def decode(self, z):
        z = torch.as_tensor(np.asarray(z, np.float32))
        if self.kind == "vae":
            return torch.sigmoid(self.modules["vae"].decode_logits(z)).numpy()
        return self.modules["generator"](z).numpy()


def codes(d, n=16, seed=0):
    return (np.random.default_rng(seed).standard_normal((n, d)) * 1.5).astype(np.float32)


def randomise_batchnorm(net, seed=0):
    """Running statistics and affine parameters far from (0, 1): folding mistakes show."""
    g = torch.Generator().manual_seed(seed)
    for mod in net.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c, generator=g) * 2)
            mod.running_var.copy_(torch.rand(c, generator=g) * 3 + 0.05)
            mod.weight.data.copy_(torch.randn(c, generator=g))
            mod.bias.data.copy_(torch.randn(c, generator=g))
    return net


@pytest.mark.parametrize("name", ["mnist-vae", "mnist-gan", "fashion-mnist-vae"])
def test_shipped_decoders_export_exactly(name):
    m = models.load(name)
    spec, blob = export_decoder(m)
    z = codes(m.latent_dim)
    assert np.abs(reference_decode(spec, blob, z) - m.decode(z)).max() < 1e-5
    assert spec["weights_sha256"] == m.card["weights"]["sha256"]
    assert len(blob) == 4 * spec["floats"]
    json.dumps(spec)                                              # goes to the browser as JSON


def test_batchnorm_is_folded_with_its_running_statistics_and_eps():
    torch.manual_seed(0)
    gen = randomise_batchnorm(Generator(latent_dim=8, channels=6))
    fake = Fake("gan", gen, 8)
    spec, blob = export_decoder(fake)
    assert [l["op"] for l in spec["layers"]].count("affine") == 2
    z = codes(8)
    assert np.abs(reference_decode(spec, blob, z) - fake.decode(z)).max() < 1e-5


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_of_the_architectures(activation):
    torch.manual_seed(1)
    vae = ConvVAE(latent_dim=5, channels=4, hidden=12, activation=activation, hidden_layers=2)
    fake = Fake("vae", vae, 5)
    spec, blob = export_decoder(fake)
    z = codes(5)
    assert np.abs(reference_decode(spec, blob, z) - fake.decode(z)).max() < 1e-5


def odd_layers():
    """Colour 3 x 11 x 13 output through kernels, strides and paddings the shipped models lack."""
    torch.manual_seed(2)
    return [nn.Linear(4, 5 * 3 * 4), nn.Unflatten(1, (5, 3, 4)), nn.BatchNorm2d(5), nn.GELU(approximate="tanh"),
            nn.ConvTranspose2d(5, 4, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 0)),
            nn.ELU(alpha=0.7), nn.LeakyReLU(0.1),
            nn.ConvTranspose2d(4, 3, 3, stride=1, padding=0, bias=False), nn.Sigmoid()]


def test_odd_geometry_and_colour():
    layers = odd_layers()
    randomise_batchnorm(nn.Sequential(*layers).eval())
    net = nn.Sequential(*layers).eval()
    z = codes(4)
    with torch.inference_mode():
        want = net(torch.from_numpy(z)).numpy()
    spec, blob = export_layers(layers, 4, want.shape[1:])
    assert spec["image_shape"] == list(want.shape[1:])
    assert np.abs(reference_decode(spec, blob, z) - want).max() < 1e-5


@pytest.mark.parametrize("layer, words", [(nn.Dropout(0.1), "no Dropout layer"),
                                          (nn.Conv2d(4, 4, 3), "no Conv2d layer"),
                                          (nn.ConvTranspose2d(4, 4, 3, groups=2), "groups")])
def test_unknown_layers_are_refused_by_name(layer, words):
    layers = [nn.Linear(3, 4 * 2 * 2), nn.Unflatten(1, (4, 2, 2)), layer]
    with pytest.raises(ExportError, match=words) as e:
        export_layers(layers, 3, (4, 2, 2), "test")
    assert "layer 2" in str(e.value)


def test_a_shape_that_does_not_end_in_the_image_is_refused():
    with pytest.raises(ExportError, match="not the image shape"):
        export_layers([nn.Linear(3, 8), nn.Unflatten(1, (2, 2, 2))], 3, (1, 28, 28))
    with pytest.raises(ExportError, match="Linear takes 5"):
        export_layers([nn.Linear(5, 8)], 3, (8,))


def test_blob_is_little_endian_float32_at_the_specs_offsets():
    lin = nn.Linear(2, 3)
    spec, blob = export_layers([lin, nn.Unflatten(1, (3, 1, 1))], 2, (3, 1, 1))
    w = np.frombuffer(blob, "<f4")
    layer = spec["layers"][0]
    np.testing.assert_array_equal(w[layer["w"]: layer["w"] + 6].reshape(3, 2), lin.weight.detach().numpy())
    np.testing.assert_array_equal(w[layer["b"]: layer["b"] + 3], lin.bias.detach().numpy())


def test_the_served_store_is_bounded_and_keyed_by_name(monkeypatch):
    monkeypatch.setattr(decoder_route, "_blobs", type(decoder_route._blobs)())
    monkeypatch.setattr(decoder_route, "MAX_BYTES", 10)
    assert decoder_route.publish("a-1", b"12345") == "/lp-decoder/a-1.bin"
    decoder_route.publish("b-2", b"12345")
    decoder_route.publish("a-1", b"12345")                       # used again: now the newest
    decoder_route.publish("c-3", b"12345")                       # over 10 bytes: the oldest goes
    assert decoder_route.lookup("b-2") is None and decoder_route.lookup("a-1") == b"12345"
    with pytest.raises(ValueError):
        decoder_route.publish("../x", b"")


def test_inverse_description_for_the_browser():
    from playground.latent_map import build_map
    m = models.load("mnist-vae")
    ref = models.reference(m.dataset)
    lmap = build_map(m, "pca", ref, write_dir=None)
    extent = np.array([[-1.0, 1.0], [-2.0, 2.0]])
    base = lmap.z[3]
    desc = inverse_desc(lmap, extent, base=base)
    assert desc["kind"] == "pca" and desc["extent"] == [[-1.0, 1.0], [-2.0, 2.0]]
    # mean + y @ components + rest is the server's inverse with base's hidden components
    y = np.array([[0.3, -0.4]], np.float32)
    z = np.array(desc["mean"]) + y @ np.array(desc["components"]) + np.array(desc["rest"])
    np.testing.assert_allclose(z, lmap.to_latent(y, base=base[None]), atol=1e-5)
    tsne = build_map(m, "tsne", ref, write_dir=None)
    desc = inverse_desc(tsne, extent)
    assert desc["kind"] == "knn" and desc["keep_norm"] and desc["k"] == 8 and desc["n"] == len(tsne.y)
    blob = np.frombuffer(map_blob(tsne), "<f4")
    np.testing.assert_array_equal(blob[: 2 * desc["n"]].reshape(-1, 2), tsne.y)
    np.testing.assert_array_equal(blob[2 * desc["n"]:].reshape(desc["n"], -1), tsne.z)


def test_a_drawn_path_from_the_browser_is_read_or_refused():
    from playground.scrubber import MAX_DRAWN, read_drawn
    seq, path = read_drawn({"path": [[0.1, 0.2], [1.5, -0.3]], "seq": 3})
    assert seq == 3 and path.tolist() == [[0.1, 0.2], [1.0, 0.0]]            # clipped to the map
    for bad in (None, [], {"path": [[0.1, 0.2]], "seq": 1}, {"path": [[0.1, 0.2], [0.3, 0.4]], "seq": True},
                {"path": [[0.1, float("nan")], [0.3, 0.4]], "seq": 1}, {"path": [[0.1], [0.3, 0.4]], "seq": 1},
                {"path": [["a", 0.2], [0.3, 0.4]], "seq": 1},
                {"path": [[0.5, 0.5]] * (MAX_DRAWN + 1), "seq": 1}):
        assert read_drawn(bad) is None, bad
