"""Network definitions. Every module is rebuilt from (class name, constructor kwargs) stored in a
model card, so a checkpoint never needs pickled Python objects."""
from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def _side(image_size: int) -> int:
    """The feature map's side after two stride-2 layers: images must be a multiple of 4, 8 to 128."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) \
            or not 8 <= image_size <= 128 or image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4 from 8 to 128, not {image_size!r}")
    return image_size // 4


def _act(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class ConvVAE(nn.Module):
    """VAE for square images (28x28 grayscale by default; `image_size` a multiple of 4 from 8 to
    128, `image_channels` 1 or 3): two stride-2 convolutions, `hidden_layers` fully connected layers
    of width `hidden` (each way), a diagonal Gaussian posterior.

    The decoder returns logits; `decode` in `LatentModel` applies the sigmoid. With the default
    `hidden_layers=1` the module (and its state-dict keys) is the one every shipped card describes;
    `image_size` changes only the sizes of the fully connected layers next to the convolutions.
    The decoder is a plain Sequential of standard layers (a browser can rebuild it from the list).
    """

    def __init__(self, latent_dim: int = 16, channels: int = 32, hidden: int = 128,
                 activation: str = "relu", image_channels: int = 1, hidden_layers: int = 1,
                 image_size: int = 28):
        super().__init__()
        if hidden_layers < 1:
            raise ValueError(f"hidden_layers must be at least 1, not {hidden_layers}")
        s = _side(image_size)
        c = channels
        self.latent_dim = latent_dim
        extra = lambda: [m for _ in range(hidden_layers - 1)                      # noqa: E731
                         for m in (nn.Linear(hidden, hidden), _act(activation))]
        self.encoder = nn.Sequential(
            nn.Conv2d(image_channels, c, 4, 2, 1), _act(activation),      # 14x14 (size / 2)
            nn.Conv2d(c, 2 * c, 4, 2, 1), _act(activation),               # 7x7 (size / 4)
            nn.Flatten(),
            nn.Linear(2 * c * s * s, hidden), _act(activation),
            *extra(),
        )
        self.to_mu = nn.Linear(hidden, latent_dim)
        self.to_logvar = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), _act(activation),
            *extra(),
            nn.Linear(hidden, 2 * c * s * s), _act(activation),
            nn.Unflatten(1, (2 * c, s, s)),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1), _act(activation),      # 14x14
            nn.ConvTranspose2d(c, image_channels, 4, 2, 1),               # 28x28 logits
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h).clamp(-12.0, 8.0)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    @staticmethod
    def reparameterise(mu: torch.Tensor, logvar: torch.Tensor,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return mu + eps * torch.exp(0.5 * logvar)

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encode(x)
        z = self.reparameterise(mu, logvar)
        return self.decode_logits(z), mu, logvar


class Generator(nn.Module):
    """DCGAN-style generator for 28x28 (or `image_size`): z -> 7x7 (size / 4) feature map -> two
    transposed convolutions."""

    def __init__(self, latent_dim: int = 64, channels: int = 64, activation: str = "relu",
                 image_channels: int = 1, image_size: int = 28):
        super().__init__()
        s = _side(image_size)
        c = channels
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 2 * c * s * s, bias=False),
            nn.Unflatten(1, (2 * c, s, s)),
            nn.BatchNorm2d(2 * c), _act(activation),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False),            # 14x14
            nn.BatchNorm2d(c), _act(activation),
            nn.ConvTranspose2d(c, image_channels, 4, 2, 1),               # 28x28
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MinibatchStd(nn.Module):
    """Appends the batch's mean feature standard deviation as one extra channel (ProGAN): a batch
    of near-identical fakes stands out, which pushes the generator to cover every mode."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = x.std(0, unbiased=False).mean() if x.shape[0] > 1 else x.new_zeros(())
        return torch.cat([x, std.expand(x.shape[0], 1, *x.shape[2:])], 1)


class Discriminator(nn.Module):
    """DCGAN-style discriminator: returns one logit per image (real > 0)."""

    def __init__(self, channels: int = 64, image_channels: int = 1, minibatch_std: bool = False,
                 image_size: int = 28):
        super().__init__()
        s = _side(image_size)
        c = channels
        extra = [MinibatchStd()] if minibatch_std else []
        self.net = nn.Sequential(
            nn.Conv2d(image_channels, c, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),
            *extra,
            nn.Flatten(),
            nn.Linear((2 * c + len(extra)) * s * s, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class Classifier(nn.Module):
    """Small CNN. `features` (the penultimate layer) serves FID, GAN maps and nearest neighbours."""

    def __init__(self, num_classes: int = 10, channels: int = 32, hidden: int = 128,
                 dropout: float = 0.3, activation: str = "relu", image_channels: int = 1,
                 image_size: int = 28):
        super().__init__()
        s = _side(image_size)
        c = channels
        self.body = nn.Sequential(
            nn.Conv2d(image_channels, c, 3, padding=1), nn.BatchNorm2d(c), _act(activation),
            nn.MaxPool2d(2),                                              # 14x14
            nn.Conv2d(c, 2 * c, 3, padding=1), nn.BatchNorm2d(2 * c), _act(activation),
            nn.MaxPool2d(2),                                              # 7x7
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.BatchNorm2d(2 * c), _act(activation),
            nn.Flatten(),
            nn.Linear(2 * c * s * s, hidden), _act(activation),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


# Card "architecture.class" -> constructor. Only names listed here can be built from a card.
REGISTRY: dict[str, type[nn.Module]] = {
    cls.__name__: cls for cls in (ConvVAE, Generator, Discriminator, Classifier)
}


def build(class_name: str, args: dict) -> nn.Module:
    if class_name not in REGISTRY:
        raise ValueError(f"unknown architecture {class_name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[class_name](**args)
