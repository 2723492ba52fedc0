"""A generative model's decoder as data for the browser: a JSON layer list and one float32 blob.

`export_decoder(model)` walks the decoder's layers (a VAE's `decoder` then a sigmoid, or a converted
ExamplesVAE's fc3, relu, fc4, unflatten and sigmoid; a GAN's generator `net`) and writes each one the browser's interpreter (playground/decoder.js) knows:

- `linear` (weights (out, in), bias or none), `convt` (ConvTranspose2d, weights (in, out, kh, kw),
  any kernel, stride, padding and output padding; groups and dilation 1),
- `affine`: a BatchNorm2d in eval mode folded into a per-channel scale and shift
  (scale = gamma / sqrt(running_var + eps), shift = beta - running_mean * scale),
- `act`: relu, leaky_relu (its slope), elu (its alpha), gelu (erf or tanh form), silu, tanh, sigmoid,
- `unflatten`: a flat vector becomes (channels, height, width).

Any other layer raises `ExportError`, whose message says which layer: the page then falls back to
the atlas blend and says so. Offsets and sizes in the spec count float32 values in the blob, which
is little-endian. Pure: torch and numpy only, no Streamlit.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import nn

FORMAT = "latent-playground-decoder/1"


class ExportError(ValueError):
    """A decoder the browser cannot run; the message names the layer and says why."""


class _Blob:
    def __init__(self):
        self.parts: list[np.ndarray] = []
        self.size = 0

    def add(self, tensor: torch.Tensor) -> int:
        a = np.ascontiguousarray(tensor.detach().cpu().double().numpy().astype("<f4").ravel())
        offset = self.size
        self.parts.append(a)
        self.size += a.size
        return offset

    def bytes(self) -> bytes:
        return b"".join(p.tobytes() for p in self.parts)


def _pair(x) -> tuple[int, int]:
    return (int(x[0]), int(x[1])) if isinstance(x, (tuple, list)) else (int(x), int(x))


def _activation(mod: nn.Module) -> dict | None:
    if isinstance(mod, nn.ReLU):
        return {"op": "act", "fn": "relu"}
    if isinstance(mod, nn.LeakyReLU):
        return {"op": "act", "fn": "leaky_relu", "slope": float(mod.negative_slope)}
    if isinstance(mod, nn.ELU):
        return {"op": "act", "fn": "elu", "alpha": float(mod.alpha)}
    if isinstance(mod, nn.GELU):
        if mod.approximate not in ("none", "tanh"):
            raise ExportError(f"GELU with approximate={mod.approximate!r} is not supported")
        return {"op": "act", "fn": "gelu" if mod.approximate == "none" else "gelu_tanh"}
    if isinstance(mod, nn.SiLU):
        return {"op": "act", "fn": "silu"}
    if isinstance(mod, nn.Tanh):
        return {"op": "act", "fn": "tanh"}
    if isinstance(mod, nn.Sigmoid):
        return {"op": "act", "fn": "sigmoid"}
    return None


def _layer(mod: nn.Module, shape: tuple, blob: _Blob, where: str) -> tuple[dict, tuple]:
    """One layer's spec and the shape it outputs, from the shape it takes."""
    act = _activation(mod)
    if act is not None:
        return act, shape
    if isinstance(mod, nn.Linear):
        if shape != (mod.in_features,):
            raise ExportError(f"{where}: Linear takes {mod.in_features} values but gets shape {shape}")
        spec = {"op": "linear", "in": mod.in_features, "out": mod.out_features, "w": blob.add(mod.weight),
                "b": None if mod.bias is None else blob.add(mod.bias)}
        return spec, (mod.out_features,)
    if isinstance(mod, nn.Unflatten):
        if mod.dim != 1 or len(mod.unflattened_size) != 3:
            raise ExportError(f"{where}: only Unflatten(1, (channels, height, width)) is supported")
        out = tuple(int(s) for s in mod.unflattened_size)
        if len(shape) != 1 or shape[0] != int(np.prod(out)):
            raise ExportError(f"{where}: Unflatten to {out} gets shape {shape}")
        return {"op": "unflatten", "shape": list(out)}, out
    if isinstance(mod, nn.BatchNorm2d):
        if len(shape) != 3 or shape[0] != mod.num_features:
            raise ExportError(f"{where}: BatchNorm2d({mod.num_features}) gets shape {shape}")
        if mod.running_mean is None or mod.running_var is None:
            raise ExportError(f"{where}: BatchNorm2d without running statistics cannot be folded")
        var = mod.running_var.double()
        mean = mod.running_mean.double()
        gamma = mod.weight.double() if mod.weight is not None else torch.ones_like(var)
        beta = mod.bias.double() if mod.bias is not None else torch.zeros_like(var)
        scale = gamma / torch.sqrt(var + mod.eps)
        shift = beta - mean * scale
        return {"op": "affine", "channels": mod.num_features, "scale": blob.add(scale),
                "shift": blob.add(shift)}, shape
    if isinstance(mod, nn.ConvTranspose2d):
        if mod.groups != 1 or _pair(mod.dilation) != (1, 1) or mod.padding_mode != "zeros":
            raise ExportError(f"{where}: ConvTranspose2d with groups, dilation or padding mode "
                              f"{mod.padding_mode!r} is not supported")
        if len(shape) != 3 or shape[0] != mod.in_channels:
            raise ExportError(f"{where}: ConvTranspose2d({mod.in_channels}, ...) gets shape {shape}")
        (kh, kw), (sh, sw) = _pair(mod.kernel_size), _pair(mod.stride)
        (ph, pw), (oph, opw) = _pair(mod.padding), _pair(mod.output_padding)
        h = (shape[1] - 1) * sh - 2 * ph + kh + oph
        w = (shape[2] - 1) * sw - 2 * pw + kw + opw
        if h < 1 or w < 1:
            raise ExportError(f"{where}: ConvTranspose2d would output {h}x{w}")
        spec = {"op": "convt", "in": mod.in_channels, "out": mod.out_channels, "kernel": [kh, kw],
                "stride": [sh, sw], "padding": [ph, pw], "in_shape": list(shape),
                "out_shape": [mod.out_channels, h, w], "w": blob.add(mod.weight),
                "b": None if mod.bias is None else blob.add(mod.bias)}
        return spec, (mod.out_channels, h, w)
    raise ExportError(f"{where}: the in-browser decoder has no {type(mod).__name__} layer")


def decoder_layers(model) -> list[nn.Module]:
    """The layers from a latent code to an image in [0, 1], as `model.decode` runs them: the
    project's VAEs (`decoder`, a sequence) and GANs (`net`), and the converted architectures of
    models/architectures_external.py; any other architecture raises ExportError, in words."""
    from models.architectures_external import ExamplesVAE
    net = model.modules.get("vae" if model.kind == "vae" else "generator")
    if model.kind == "vae" and isinstance(net, ExamplesVAE):      # fc3 -> relu -> fc4, then a sigmoid
        side = int(round(net.pixels ** 0.5))
        if side * side != net.pixels:
            raise ExportError(f"{model.name}: {net.pixels} pixels are not a square image")
        return [net.fc3, nn.ReLU(), net.fc4, nn.Unflatten(1, (1, side, side)), nn.Sigmoid()]
    if model.kind == "vae" and isinstance(getattr(net, "decoder", None), nn.Sequential):
        return [*net.decoder, nn.Sigmoid()]
    if model.kind == "gan" and isinstance(getattr(net, "net", None), nn.Sequential):
        return list(net.net)
    if model.kind not in ("vae", "gan"):
        raise ExportError(f"{model.name} is a {model.kind}: it has no decoder")
    raise ExportError(f"{model.name}: the in-browser decoder does not know its architecture "
                      f"({type(net).__name__}), only the project's own VAEs and GANs and ExamplesVAE")


def export_layers(layers, latent_dim: int, image_shape, name: str = "decoder") -> tuple[dict, bytes]:
    """(spec, blob) for a list of layers from a (latent_dim,) code to an image of `image_shape`."""
    blob, specs, shape = _Blob(), [], (int(latent_dim),)
    for i, mod in enumerate(layers):
        spec, shape = _layer(mod, shape, blob, f"{name} layer {i} ({type(mod).__name__})")
        specs.append(spec)
    want = tuple(int(s) for s in image_shape)
    if shape != want:
        raise ExportError(f"{name}: the layers end in shape {shape}, not the image shape {want}")
    data = blob.bytes()
    return {"format": FORMAT, "latent_dim": int(latent_dim), "image_shape": list(want), "layers": specs,
            "floats": blob.size, "blob_sha256": hashlib.sha256(data).hexdigest()}, data


def export_decoder(model) -> tuple[dict, bytes]:
    """(spec, blob) of a LatentModel's decoder; ExportError if any layer is unknown to the browser."""
    from models.adapters import is_adapter
    if is_adapter(model) or not getattr(model, "modules", None):   # an adapter file: code, not layers
        raise ExportError(f"{model.name} is brought as an adapter file: its decoder is Python code, "
                          "which the browser cannot run")
    image_shape = model.card.get("image_shape", [1, 28, 28])
    spec, data = export_layers(decoder_layers(model), model.latent_dim, image_shape, model.name)
    spec["weights_sha256"] = model.card["weights"]["sha256"]
    return spec, data


def reference_decode(spec: dict, blob: bytes, z: np.ndarray) -> np.ndarray:
    """The spec run in numpy (float64), as decoder.js runs it: for tests of the export itself."""
    from math import erf, sqrt
    w = np.frombuffer(blob, "<f4").astype(np.float64)
    x = np.asarray(z, np.float64)
    if x.ndim == 1:
        x = x[None]
    for layer in spec["layers"]:
        op = layer["op"]
        if op == "linear":
            W = w[layer["w"]: layer["w"] + layer["in"] * layer["out"]].reshape(layer["out"], layer["in"])
            x = x @ W.T + (0 if layer["b"] is None else w[layer["b"]: layer["b"] + layer["out"]])
        elif op == "unflatten":
            x = x.reshape(len(x), *layer["shape"])
        elif op == "affine":
            c = layer["channels"]
            x = x * w[layer["scale"]: layer["scale"] + c][:, None, None] + w[layer["shift"]: layer["shift"] + c][:, None, None]
        elif op == "convt":
            (kh, kw), (sh, sw), (ph, pw) = layer["kernel"], layer["stride"], layer["padding"]
            _, ih, iw = layer["in_shape"]
            _, oh, ow = layer["out_shape"]
            W = w[layer["w"]: layer["w"] + layer["in"] * layer["out"] * kh * kw].reshape(layer["in"], layer["out"], kh, kw)
            b = None if layer["b"] is None else torch.from_numpy(w[layer["b"]: layer["b"] + layer["out"]])
            x = torch.nn.functional.conv_transpose2d(
                torch.from_numpy(x), torch.from_numpy(W), b, stride=(sh, sw), padding=(ph, pw),
                output_padding=(oh - ((ih - 1) * sh - 2 * ph + kh), ow - ((iw - 1) * sw - 2 * pw + kw))).numpy()
        elif op == "act":
            fn = layer["fn"]
            if fn == "relu":
                x = np.maximum(x, 0)
            elif fn == "leaky_relu":
                x = np.where(x > 0, x, x * layer["slope"])
            elif fn == "elu":
                x = np.where(x > 0, x, layer["alpha"] * np.expm1(np.minimum(x, 0)))
            elif fn == "gelu":
                x = 0.5 * x * (1 + np.vectorize(erf)(x / sqrt(2)))
            elif fn == "gelu_tanh":
                x = 0.5 * x * (1 + np.tanh(sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
            elif fn == "silu":
                x = x / (1 + np.exp(-x))
            elif fn == "tanh":
                x = np.tanh(x)
            elif fn == "sigmoid":
                x = 1 / (1 + np.exp(-x))
            else:
                raise ExportError(f"unknown activation {fn!r}")
        else:
            raise ExportError(f"unknown op {op!r}")
    return x.astype(np.float32)
