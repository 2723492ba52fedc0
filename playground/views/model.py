"""What the model is and how it was trained: the ideas behind it, made explorable."""
import numpy as np
import streamlit as st

from playground import factors_view, session
from playground.figures import bars, lines
from playground.imaging import tile, upscale

# What the card's keys mean, for people (a key missing here is shown with its words spaced out).
METRICS = {
    "test_neg_elbo_nats": "Negative ELBO (nats per image, lower is better)",
    "test_reconstruction_nats": "Reconstruction term (nats per image)",
    "test_kl_nats": "KL term (nats per image)",
    "test_recon_mse": "Reconstruction pixel MSE",
    "active_latent_dims": "Active latent dimensions (KL > 0.01 nats)",
    "n_test": "Held-out images measured",
    "recon_class_accuracy": "Classifier accuracy on reconstructions",
    "original_class_accuracy": "Classifier accuracy on the originals",
    "n_samples": "Samples measured",
    "min_class_share": "Smallest class share of samples",
    "max_class_share": "Largest class share of samples",
    "inception_score": "Classifier Inception Score (higher is better)",
    "inception_score_real_test": "Inception Score of held-out real images",
    "frechet_distance": "Fréchet distance in classifier features (lower is better)",
    "frechet_distance_real_test": "Fréchet distance of held-out real images",
    "mean_confidence": "Classifier's mean confidence on samples",
    "discriminator_real_mean": "Discriminator's mean score on real images",
    "discriminator_fake_mean": "Discriminator's mean score on generated images",
    "test_accuracy": "Held-out accuracy",
    "mig": "MIG: mutual information gap (0 to 1, higher is more disentangled)",
    "colour_recovered": "Reconstructions keeping the shape's colour",
}
SETTINGS = {
    "optimizer": "Optimizer", "lr": "Learning rate", "batch_size": "Batch size", "epochs": "Epochs",
    "steps": "Optimizer steps", "activation": "Activation", "beta": "β (weight of the KL term)",
    "augmentation": "Augmentation", "generator_ema": "Generator EMA (decay)", "seed": "Random seed",
    "machine": "Machine",
}
CURVES = {
    "train_loss": "training loss", "test_neg_elbo": "held-out negative ELBO", "test_kl": "held-out KL",
    "loss_d": "discriminator loss", "loss_g": "generator loss", "d_real": "D(real)", "d_fake": "D(generated)",
    "train_accuracy": "training accuracy", "test_accuracy": "held-out accuracy",
    "mig": "MIG (known factors)",
}


def human(key: str, names: dict) -> str:
    return names.get(key) or key.replace("_", " ").capitalize()


def legend_below(fig):
    """Legend in rows under the plot, so long names never squeeze or clip it in a narrow column."""
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0),
                      margin=dict(l=10, r=10, t=40, b=70), height=340)
    return fig


ss = st.session_state
m = session.header(
    "How this model works",
    "The model card: architecture, hyperparameters and the figures its training run measured — plus "
    "the ideas behind the model, to poke at.", needs_classifier=False)    # the card is enough
card, tr, met = m.card, m.card["training"], m.card["metrics"]

c1, c2, c3, c4 = st.columns(4)
c1.metric("Kind", session.KIND_LABEL[m.kind])
c2.metric("Latent size", m.latent_dim)
ds = card["dataset"]
c3.metric("Training time", f"{tr['seconds'] / 60:.1f} min" if "seconds" in tr else "not recorded",
          help=f"{tr.get('machine', '')}, {tr.get('threads', '?')} threads, torch {tr.get('torch', '?')}")
c4.metric("Trained on", f"{ds['n_train']:,} images" if "n_train" in ds else "not recorded")
source = card.get("source") or {}
if source.get("type") == "adapter":
    st.caption(f"Brought by the person running this server as an adapter file, `{source['path']}`: "
               f"images {' × '.join(map(str, m.image_shape))} (channels × height × width). It has no "
               "training record, so there are no hyperparameters, curves or held-out figures here.")
else:
    st.caption(f"Data: {ds.get('source', 'not recorded')} — license {ds.get('license', 'not recorded')}.")
if card.get("notes"):
    st.info(card["notes"], icon=":material/info:")

if source.get("type") != "adapter":        # an adapter has no training record to tabulate
    left, right = st.columns(2)
    with left:
        st.subheader("Hyperparameters")
        rows = {human(k, SETTINGS): tr[k] for k in SETTINGS if tr.get(k) is not None}
        arch = {f"{mod}: {spec['class']}": ", ".join(f"{k}={v}" for k, v in spec["args"].items())
                for mod, spec in card["architecture"].items()}
        st.table({"setting": list(rows) + list(arch), "value": [str(v) for v in rows.values()] + list(arch.values())})
    with right:
        st.subheader("Measured on held-out data")
        flat = {k: v for k, v in met.items() if not isinstance(v, (list, dict)) and k != "measured_on"}
        st.table({"metric": [human(k, METRICS) for k in flat], "value": [str(v) for v in flat.values()]})
        st.caption(met.get("measured_on", ""))

hist = tr.get("history") or []
if hist:
    keys = [k for k in hist[0] if k != "epoch"]
    ep = [h["epoch"] for h in hist]
    groups = {"loss": [k for k in keys if "loss" in k or "elbo" in k],
              "other": [k for k in keys if not ("loss" in k or "elbo" in k)]}
    cols = st.columns(2)
    for col, (g, ks) in zip(cols, groups.items()):
        if ks:
            col.plotly_chart(legend_below(lines({human(k, CURVES): (ep, [h[k] for h in hist]) for k in ks},
                                                title="Training curves" if g == "loss" else "Per-epoch measurements",
                                                x_title="epoch", y_title="")), key=f"hist-{g}")

@st.fragment
def reparameterisation_demo():
    """Sliders here rerun only this part of the page."""
    images, labels = session.reference(m.dataset)
    i = st.slider("Reference image", 0, len(images) - 1, 0, key="rep_index")
    eps_scale = st.slider("Scale of ε (1 = what training used)", 0.0, 3.0, 1.0, 0.1, key="rep_eps")
    x = m.as_input(images[i][None])
    mu, logvar = m.posterior(x)
    sigma = np.exp(0.5 * logvar)[0]
    eps = np.random.default_rng(i).standard_normal((8, m.latent_dim)).astype(np.float32)
    zs = mu + eps_scale * eps * sigma
    out = np.concatenate([x.astype(np.float32), m.decode(mu), m.decode(zs)])
    st.image(upscale(tile(out, 10), 3),
             caption=f"input ({m.class_names[labels[i]]}) · decode(μ) · 8 decodes of μ + σ·ε")
    st.plotly_chart(bars(sigma, [f"z{j + 1}" for j in range(m.latent_dim)],
                         title="σ of each latent dimension for this image", y_title="σ", line=1.0),
                    key="rep-sigma")


st.divider()
if m.kind == "vae" and source.get("type") == "adapter":
    st.subheader("Encoder and decoder")
    st.markdown("The **encoder** maps an image to a latent code and the **decoder** turns a code back "
                "into an image. An adapter gives the posterior mean only (not its spread σ), so the "
                "reparameterisation trick cannot be shown for it.")
elif m.kind == "vae":
    st.subheader("Encoder, decoder and the reparameterisation trick")
    st.markdown(
        "The **encoder** maps an image to a Gaussian over latent codes: a mean μ and a spread σ per "
        "dimension. Training samples **z = μ + σ·ε** with ε ~ N(0, I): the randomness sits in ε, "
        "so gradients flow through μ and σ (the *reparameterisation trick*). The **decoder** turns "
        "z back into an image. Pick an image and watch what different ε give.")
    reparameterisation_demo()
    st.subheader("The KL term")
    st.markdown(
        f"The loss is reconstruction error **+ β · KL(q(z|x) ‖ N(0, I))** (β = {tr.get('beta')}). The KL "
        "term pulls every posterior towards the prior, which keeps the latent space smooth and "
        "sample-able. Dimensions the model does not need collapse to the prior (KL ≈ 0, σ ≈ 1): "
        "they are *inactive*. Train one with another β on the **Train a model** page ("
        + ("the **β-VAE on shapes** preset" if m.dataset == "shapes" else "the β-0 and β-4 presets")
        + ") to see the trade-off move.")
    kl = met.get("kl_per_dim_nats")
    if kl:
        st.plotly_chart(bars(kl, [f"z{j + 1}" for j in range(len(kl))], y_title="nats",
                             title=f"Average KL per latent dimension ({met.get('active_latent_dims')} "
                                   f"of {len(kl)} active)", line=0.01), key="kl-dims")
    factors_view.render(m)                 # data with known factors (shapes): MIG and traversals
elif m.kind == "gan":
    st.subheader("Generator against discriminator")
    st.markdown(
        "The **generator** turns noise z into an image; the **discriminator** scores images as real "
        "or fake. They train against each other: the discriminator learns to tell them apart, the "
        "generator learns to fool it. Nothing forces the generator to cover every class: if it "
        "finds a few images that fool the discriminator, it can keep making only those — "
        "**mode collapse**.")
    if "discriminator_real_mean" in met:
        d1, d2 = st.columns(2)
        d1.metric("D's mean belief that held-out real images are real", f"{met['discriminator_real_mean']:.2f}")
        d2.metric("… and that generated images are real", f"{met['discriminator_fake_mean']:.2f}")
    share = met.get("class_share")
    if share:
        st.plotly_chart(bars(share, m.class_names, title=f"Classifier's votes over {met.get('n_samples', 0):,} "
                             "samples (green band: 5–15%, no class missing or dominating)",
                             y_title="share", band=(0.05, 0.15), line=0.1, percent=True),
                        key="gan-share")
    if not session.has_classifier(m):
        st.caption(session.NO_CLASSIFIER)
    else:
        q1, q2 = st.columns(2)
        q1.metric("Classifier Inception Score (higher is better)", met.get("inception_score"),
                  help=f"Held-out real images score {met.get('inception_score_real_test')}")
        q2.metric("Fréchet distance in the classifier's feature space (lower is better)",
                  met.get("frechet_distance"),
                  help=f"Held-out real images: {met.get('frechet_distance_real_test')}")
        st.caption(f"Floors from held-out real images: IS {met.get('inception_score_real_test')}, "
                   f"FD {met.get('frechet_distance_real_test')}.")

with st.expander("Model card (JSON)"):
    st.json(card, expanded=False)
