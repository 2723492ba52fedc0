"""What the browser needs to map a position on the drag map to the latent code the server would use
(latent_inverse.js runs it): the same inverse as `LatentMap.to_latent`. Pure numpy.

- the latent plane of a 2-D model: 'identity';
- PCA of the codes (exact): 'pca', with the mean, the two shown components and `rest`, the hidden
  components of the cursor's current code (`base`), as `PCAProjection.inverse` keeps them;
- t-SNE, or any map of a GAN's image features (learned): 'knn', with KNNInverse's k, power,
  keep_norm and eps; the map's coordinates and codes go as one float32 blob (`map_blob`).
"""
from __future__ import annotations

import numpy as np


def inverse_kind(lmap) -> str:
    if lmap.exact:
        return "identity" if lmap.method == "latent" else "pca"
    return "knn"


def inverse_desc(lmap, extent, base=None) -> dict:
    """JSON-ready description of lmap's inverse; `extent` as dragmap.full_extent gives it."""
    extent = [[float(a), float(b)] for a, b in np.asarray(extent, np.float64)]
    kind = inverse_kind(lmap)
    desc = {"kind": kind, "extent": extent, "dim": int(lmap.z.shape[1])}
    if kind == "pca":
        proj = lmap.projection
        k = proj.n_components
        rest = np.zeros(len(proj.mean_), np.float32)
        if base is not None:
            b = np.asarray(base, np.float32).reshape(1, -1) - proj.mean_
            hidden = proj.basis_[k:]
            rest = ((b @ hidden.T) @ hidden)[0].astype(np.float32)
        desc.update(mean=proj.mean_.astype(np.float32).tolist(),
                    components=proj.components_.astype(np.float32).tolist(), rest=rest.tolist())
    elif kind == "knn":
        inv = lmap.inverse_
        desc.update(n=int(len(inv.source_)), k=int(inv.k_), power=float(inv.power),
                    keep_norm=bool(inv.keep_norm), eps=float(inv.eps))
    return desc


def map_blob(lmap) -> bytes:
    """The learned inverse's data: n x 2 map coordinates then n x d codes, float32 little-endian."""
    inv = lmap.inverse_
    return (np.ascontiguousarray(inv.source_, "<f4").tobytes()
            + np.ascontiguousarray(inv.target_, "<f4").tobytes())
