"""Architectures for other image sizes and colour (issue 10), with the shipped 28x28 grey ones
unchanged: same state-dict keys and tensor shapes as the weights the shipped checkpoints hold."""
import json

import pytest
import torch
from safetensors import safe_open

import models
from models.architectures import Classifier, ConvVAE, Discriminator, Generator, build

SHIPPED = [l for l in models.available() if l.ok and l.card["image_shape"] == [1, 28, 28]]


@pytest.mark.parametrize("listing", SHIPPED, ids=lambda l: l.name)
def test_shipped_cards_build_the_same_keys_and_shapes(listing):
    with safe_open(str(listing.path / "model.safetensors"), "pt") as f:
        stored = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    built = {}
    for mod, spec in listing.card["architecture"].items():
        net = build(spec["class"], spec.get("args", {}))
        built.update({f"{mod}.{k}": tuple(v.shape) for k, v in net.state_dict().items()})
    assert built == stored


def test_default_vae_is_the_28x28_grey_one():
    net = ConvVAE()
    assert net.encoder[5].in_features == 64 * 7 * 7
    assert net.decoder[2].out_features == 64 * 7 * 7 and net.decoder[4].unflattened_size == (64, 7, 7)
    assert net.decoder[-1].out_channels == 1


@pytest.mark.parametrize("size", [8, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_vae_round_trip_shapes(size, channels):
    torch.manual_seed(0)
    net = ConvVAE(latent_dim=5, channels=8, hidden=32, image_channels=channels, image_size=size).eval()
    x = torch.rand(2, channels, size, size)
    logits, mu, logvar = net(x)
    assert logits.shape == x.shape and mu.shape == (2, 5) and logvar.shape == (2, 5)
    assert net.encoder[5].in_features == 16 * (size // 4) ** 2


def test_decoder_is_a_plain_sequential_of_standard_layers():
    net = ConvVAE(latent_dim=6, image_channels=3, image_size=32)
    assert type(net.decoder) is torch.nn.Sequential
    assert all(type(m).__module__.startswith("torch.nn") for m in net.decoder)


def test_gan_and_classifier_for_32x32_rgb():
    g = Generator(latent_dim=8, channels=8, image_channels=3, image_size=32).eval()
    d = Discriminator(channels=8, image_channels=3, image_size=32, minibatch_std=True).eval()
    c = Classifier(num_classes=4, channels=8, image_channels=3, image_size=32).eval()
    x = g(torch.randn(3, 8))
    assert x.shape == (3, 3, 32, 32)
    assert d(x).shape == (3,) and c(x).shape == (3, 4)


@pytest.mark.parametrize("size", [30, 4, 132, 32.0, True])
def test_bad_image_size_says_what_is_allowed(size):
    with pytest.raises(ValueError, match="multiple of 4 from 8 to 128"):
        ConvVAE(image_size=size)
