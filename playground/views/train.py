"""Train a model: choose the hyperparameters, press Train and watch the latent space form; save the
run as a checkpoint every page can use; compare runs.

The knobs and the job id live in the URL (a link reproduces a configuration; a reloaded tab finds
its run again). Training runs in the process-wide background worker (playground.jobs); this page
polls it once a second. The logic is in playground.training_view, the figures in
playground.train_figures."""
from collections import OrderedDict

from pathlib import Path

import numpy as np
import streamlit as st

from models import lab
from models.lab import KNOBS, PRESETS, LabConfig
from playground.bounded import MB, cache_data, cache_resource
from playground import jobs, session
from playground import train_figures as tf
from playground import training_view as tv
from models.latent_model import input_to_stored
from playground.imaging import tile, upscale

ss = st.session_state
K = "train_k_"                  # widget keys of the knobs: train_k_lr, ...
RUNS = "_train_runs"            # finished runs of this session: job id -> summary (bounded)
SAVED_JOBS = "_train_saved_jobs"  # runs of this session saved: job id -> folder (bounded like RUNS)


# ---- state: the knobs (kept across pages and taken from the link), the job ------------------------

def first_visit() -> None:
    """On this session's first visit of the page: the knobs and the run from the link."""
    if "_train_cfg" in ss:
        return
    start = ss.get("_start_url") or {}
    cfg, warnings = tv.from_url(start)
    ss._train_cfg, ss._train_warnings = cfg, warnings
    if start.get("job"):
        ss.train_job = start["job"]


def knobs_now() -> dict:
    return {k: ss[K + k] for k in KNOBS}


def apply_preset() -> None:
    name = ss.get("train_preset")
    if name in PRESETS:
        for k, v in LabConfig.preset(name).to_dict().items():
            ss[K + k] = v


def start_training() -> None:
    # A double-click on Train sends a second click before the rerun that disables the button:
    # while this session's run is queued or running, a second run would orphan it (and it would
    # hold the only training slot until its idle stop).
    if ss.get("train_job") and tv.is_active(jobs.worker().poll(ss.train_job)):
        return
    cfg = LabConfig(**knobs_now())
    ss.train_job = jobs.worker().submit(tv.train_job(cfg), tv.job_label(cfg.to_dict()))
    ss.pop("_train_saved", None)
    ss.pop("_train_delete", None)


def stop_training() -> None:
    if ss.get("train_job"):
        jobs.worker().cancel(ss.train_job)


first_visit()
try:
    jobs.worker()   # made when the page first opens on a server, not by the first Train press: its thread
                    # starts the training process and warms torch and the data while the person chooses
except ValueError as e:     # a LATENT_PLAYGROUND_TRAIN_* setting the server was started with is wrong
    st.error(f"Training is not available on this server: {e}. Whoever runs the server can fix the "
             "setting and restart it; the other pages work.", icon=":material/settings_alert:")
    st.stop()
for knob in KNOBS:                        # widgets of another page's run were dropped: restore them
    if K + knob not in ss:
        ss[K + knob] = ss._train_cfg[knob]
ss.train_preset = tv.matching_preset(knobs_now())

st.header("Train a model")
st.caption("Choose the hyperparameters, press **Train** and watch the model learn: its losses, its "
           "gradients and its latent space forming, epoch by epoch. Save a run to use it on every "
           "page, and compare runs to see what one knob changes.")
for w in ss.pop("_train_warnings", []):
    st.warning(w, icon=":material/link_off:")


# ---- the knobs ----------------------------------------------------------------------------------

def knob(knob: str, container, *, disabled: bool = False) -> None:
    """One knob's widget, built from lab.KNOBS (so a value outside its range cannot be entered),
    with its one-line explanation as a caption under it."""
    title, words, key = tv.TITLES[knob], tv.explanation(knob), K + knob
    with container:
        if knob in ("dataset", "kind", "optimiser"):
            st.radio(title, KNOBS[knob][0], key=key, horizontal=True, disabled=disabled,
                     format_func=lambda v, k=knob: tv.label(k, v))
        elif tv.is_choice(knob):
            st.selectbox(title, KNOBS[knob][0], key=key, disabled=disabled,
                         format_func=lambda v, k=knob: tv.label(k, v))
        elif knob in tv.SCALES:
            st.select_slider(title, tv.SCALES[knob], key=key, disabled=disabled,
                             format_func=lambda v, k=knob: tv.label(k, v))
        elif knob == "seed":
            lo, hi = KNOBS[knob][0]
            st.number_input(title, lo, hi, step=1, key=key, disabled=disabled)
        else:
            lo, hi = KNOBS[knob][0]
            st.slider(title, lo, hi, step=1, key=key, disabled=disabled)
        st.caption(words if not disabled else f"{words} *(not used by a GAN)*")


left, right = st.columns([1.1, 2.2], gap="large")
with left:
    st.subheader("Hyperparameters", divider="gray")
    st.caption("Chosen by you, before training.")
    st.selectbox("Preset: one lesson in one click", list(PRESETS), key="train_preset", index=None,
                 placeholder="Your own mix of knobs", on_change=apply_preset, format_func=tv.preset_title,
                 help="A preset sets every knob to show one lesson. Change any knob afterwards to "
                      "make your own mix.")
    if ss.train_preset:
        st.info(PRESETS[ss.train_preset][1], icon=":material/school:")
    else:
        st.info("Your own mix of knobs. Pick a preset to start from one lesson.", icon=":material/tune:")
    gan = ss[K + "kind"] == "gan"
    for group, names in tv.GROUPS.items():
        box = st.expander(group, expanded=True)
        for k in names:
            knob(k, box, disabled=gan and k in tv.VAE_ONLY)
ss._train_cfg = knobs_now()

job_id = ss.get("train_job")
status = jobs.worker().poll(job_id) if job_id else None
if job_id and status is None:             # a link or a reload named a run the server no longer has
    right.warning(tv.describe(None, jobs.worker().idle_s)[1], icon=":material/history:")
    job_id = ss.train_job = None
active = tv.is_active(status)

# The URL holds the knobs and the run (app.py rewrites it on every full run; add ours back).
st.query_params.update({**tv.to_url(ss._train_cfg), **({"job": job_id} if job_id else {})})


# ---- train, stop, and the live view ----------------------------------------------------------------

def hyperparameter_table(cfg: dict) -> None:
    rows = [(tv.TITLES[k], tv.label(k, cfg[k]) if not (cfg["kind"] == "gan" and k in tv.VAE_ONLY) else "—")
            for k in KNOBS]
    st.dataframe({"hyperparameter": [r[0] for r in rows], "value": [r[1] for r in rows]},
                 hide_index=True, width="stretch", height=35 * len(rows) + 38)


@cache_resource(show_spinner=False, max_entries=32, max_bytes=64 * MB)
def epoch_figures(job_id: str, epoch: int, stamp: tuple, _snap: dict) -> dict:
    """The figures of one finished epoch, built once and shared (an epoch's records never change;
    `stamp` tells a recycled job id after a restart apart): the page redraws every second while a
    run trains, and rebuilding them took more time from the training thread than the curves."""
    cfg, row = _snap["config"], _snap["epochs"][epoch - 1]
    out = dict(samples=upscale(tile(row["prior_samples"], 4), 3),
               weights=tf.weight_histogram_figure(row["weight_histogram"], epoch))
    if cfg["kind"] == "vae":
        out["map"] = tf.latent_map_figure(row["latent_map"], _snap["map_labels"], _snap["class_names"],
                                          cfg["latent_dim"], epoch)
        out["kl"] = tf.kl_dims_figure(row["kl_per_dim"], epoch)
    elif row.get("class_histogram") is not None:
        out["classes"] = tf.class_histogram_figure(row["class_histogram"], _snap["class_names"], epoch)
    return out


def draw_curves(snap: dict) -> None:
    """What changes every step: the loss curves and the gradient norms (redrawn once a second)."""
    cfg, steps, epochs = snap["config"], snap["steps"], snap["epochs"]
    if not steps:
        return
    c = st.columns(2)
    first, second = tf.vae_loss_figures(steps, epochs) if cfg["kind"] == "vae" else tf.gan_loss_figures(steps, epochs)
    c[0].plotly_chart(first, key="train_curve_a", width="stretch")
    c[1].plotly_chart(second, key="train_curve_b", width="stretch")
    st.plotly_chart(tf.grad_norm_figure(steps), key="train_grads", width="stretch")


def draw_epochs(snap: dict, job_id: str) -> None:
    """What changes once an epoch: drawn by the page's full run, which the live view asks for when an
    epoch ends (redrawing these every second cost the server and the browser more than the curves,
    and slowed the other pages while a run trained)."""
    cfg, steps, epochs = snap["config"], snap["steps"], snap["epochs"]
    if not steps:
        return
    if epochs and all(e.get("dead_relu") is None for e in epochs):
        st.markdown("**Dead ReLUs**")
        st.caption("This network has no ReLU units (its activation is not ReLU), so none can die.")
    elif epochs:
        st.plotly_chart(tf.dead_relu_figure(epochs), key="train_dead", width="stretch")
    if any(e.get("mig") is not None for e in epochs):
        st.plotly_chart(tf.mig_figure(epochs), key="train_mig", width="stretch")
        st.caption("The shapes are made from known factors (shape, colour, size, x, y, rotation). MIG "
                   "asks whether each factor lives in one latent dimension of its own (1) or is spread "
                   "over several (0); a larger β usually raises it. The model page shows which "
                   "dimension follows which factor once the run is saved.")
    if not epochs:
        every = f"every {tv.plural(snap['total_steps'] // max(cfg['epochs'], 1), 'step')}"
        st.caption(f"The latent map, the samples and the weights appear when the first epoch ends ({every})."
                   if not snap["finished"] and not snap.get("run") else
                   f"The run ended before its first epoch did ({every}), so there is no latent map, "
                   "no samples and no weight histogram to show.")
        return
    n = len(epochs)
    if n > 1:
        e = st.slider("Replay: show epoch", 1, n, n, key=f"train_epoch_{job_id}_{n}",
                      help="Move back to see how the latent map and the samples formed.")
    else:
        e = 1
    row = epochs[e - 1]
    figs = epoch_figures(job_id, e, (row["step"], row["seconds"]), snap)
    c = st.columns([3, 2], gap="medium")
    with c[0]:
        if "map" in figs:
            st.plotly_chart(figs["map"], key="train_map", width="stretch")
            st.caption(f"The codes of the same {len(snap['map_labels']):,} held-out images after each "
                       "epoch, coloured by their true class.")
        elif "classes" in figs:
            st.plotly_chart(figs["classes"], key="train_classes", width="stretch")
            st.caption("What the classifier sees in the generator's samples: a few tall bars is mode "
                       "collapse. The dashed line is an even share.")
    with c[1]:
        st.image(figs["samples"], output_format="PNG",
                 caption=f"16 samples from the prior (the same z every epoch), epoch {e}")
        if "kl" in figs:
            st.plotly_chart(figs["kl"], key="train_kl_dims", width="stretch")
    st.markdown("**Parameters are learned, hyperparameters are chosen.** You chose the numbers on the "
                "left before training; training chose the numbers on the right, one step at a time.")
    c = st.columns(2, gap="medium")
    with c[0]:
        hyperparameter_table(cfg)
    with c[1]:
        st.metric("Parameters (weights and biases) learned", f"{snap['param_count']:,}")
        st.plotly_chart(figs["weights"], key="train_weights", width="stretch")


def remember_finished(job_id: str, status: dict | None) -> None:
    snap = (status or {}).get("progress")
    if not snap or not snap["steps"] or tv.is_active(status):
        return
    store = ss.setdefault(RUNS, OrderedDict())
    if job_id not in store:
        preset = tv.matching_preset(snap["config"])
        name = f"{job_id}: {preset or 'custom'} · {snap['config']['kind'].upper()} z={snap['config']['latent_dim']}"
        tv.remember(store, job_id, tv.summary_from_snapshot(name, snap))


def live(job_id: str, was_active: bool, epochs_drawn: int) -> None:
    status = jobs.worker().poll(job_id)              # polling also tells the worker someone watches
    level, words = tv.describe(status, jobs.worker().idle_s)
    getattr(st, level)(words)
    if tv.is_active(status):
        st.progress(tv.fraction(status))
    snap = (status or {}).get("progress")
    if snap:
        draw_curves(snap)
    if was_active and not tv.is_active(status):     # it just ended: redraw the page without polling
        remember_finished(job_id, status)
        st.rerun()
    if snap and len(snap["epochs"]) != epochs_drawn:
        st.rerun()                                  # an epoch ended: the full run draws its figures


with right:
    st.subheader("Training", divider="gray")
    b = st.columns([1, 1, 3])
    b[0].button("Train", type="primary", icon=":material/play_arrow:", on_click=start_training,
                disabled=active, width="stretch", key="train_start",
                help="Start a run with these knobs (it trains in the background; one run at a time, "
                     "others wait in a queue).")
    b[1].button("Stop", icon=":material/stop:", on_click=stop_training, disabled=not active,
                width="stretch", key="train_stop", help="Stop the run now; what it learned so far stays.")
    if job_id:
        snap = (status or {}).get("progress")
        st.fragment(run_every=1.0 if active else None)(live)(job_id, active, len(snap["epochs"]) if snap else 0)
        remember_finished(job_id, status)
        if snap:
            draw_epochs(snap, job_id)
    else:
        st.caption("Press **Train** to start. The curves appear within seconds and update every second.")


# ---- save, delete ------------------------------------------------------------------------------------

def user_runs() -> list:
    return [l for l in session.listings() if session.is_trained_here(l.name)]


def save(run) -> None:
    name = ss.get("train_save_name", "")
    before = ss.get(SAVED_JOBS, {}).get(job_id)
    if before and Path(before).is_dir():     # Enter in the name box, then a click on Save: one save
        st.info(f"This run is already saved, as `{Path(before).name}`. Train again for another "
                "run, or delete that one to save it under another name.", icon=":material/info:")
        return
    try:
        with st.spinner("Saving: writing the checkpoint and measuring its held-out figures "
                        "(10-20 seconds)…", show_time=True):
            folder = lab.save_run(run, name)
            # Noted before any Streamlit call: a second click on Save during the save queues a rerun
            # that cuts in at the next one (leaving the spinner), and that rerun must find it saved
            tv.remember(ss.setdefault(SAVED_JOBS, OrderedDict()), job_id, str(folder))
            ss._train_saved = dict(job=job_id, key=folder.name, folder=str(folder), asked=name)
            session.listings.clear()                    # listed at once, on every page
    except (lab.SaveError, lab.ConfigError) as e:
        why = e.strerror if isinstance(e, lab.SaveError) and e.strerror else str(e)   # no "[Errno 28]"
        st.error(f"Not saved: {why}", icon=":material/error:")
        return
    ss._train_saved["key"] = saved_key(folder)
    ss.pop("_train_name_for", None)                 # offer a fresh name for another save
    st.rerun()                                      # the sidebar's selector lists it at once


def saved_key(folder) -> str:
    """The model selector's key of a run saved in `folder` (its folder's name unless that is taken)."""
    return next((l.name for l in session.listings() if str(l.path) == str(folder)), Path(folder).name)


def open_on_map(key: str) -> None:
    ss.model = key
    session.model_switched()          # its own default projection: the latent plane for z = 2


st.subheader("Save and delete", divider="gray")
c = st.columns(2, gap="large")
with c[0]:
    st.markdown("**Save this run**")
    snap = (status or {}).get("progress") or {}
    run = snap.get("run")
    saved = ss.get("_train_saved")
    if saved and saved["job"] == job_id:
        if saved["key"] == Path(saved["folder"]).name:    # a rerun cut in before the key was looked up
            saved["key"] = saved_key(saved["folder"])
        got = saved["folder"].rsplit("/", 1)[-1]
        said_ = f"“{saved['asked']}” was taken: saved" if saved.get("asked", got) != got else "Saved"
        st.success(f"{said_} as **{got}** in `{saved['folder']}`. It is "
                   f"in the sidebar's model selector as “{session.model_label(saved['key'])}” "
                   "and works on every page.", icon=":material/check_circle:")
        if st.button("Open it on the latent map", icon=":material/scatter_plot:", key="train_open",
                     on_click=open_on_map, args=(saved["key"],)):
            st.switch_page("views/map.py")
    if run is None:
        st.caption("A run can be saved once it has finished or been stopped." if active or job_id
                   else "Train a run first; then save it here as a checkpoint.")
    elif snap.get("stop_reason"):
        st.caption("This run blew up (its loss became NaN or infinite), so its weights are not worth "
                   "saving. Lower the learning rate and train again.")
    else:
        taken = {l.path.name for l in user_runs()}
        if ss.get("_train_name_for") != job_id:
            ss.train_save_name, ss._train_name_for = tv.default_name(snap["config"], taken), job_id
        with st.form("train_save_form", border=False):
            st.text_input("Name of the checkpoint", key="train_save_name", max_chars=64,
                          placeholder="e.g. my-first-vae", help=tv.NAME_RULE)
            st.caption(tv.NAME_RULE)
            pressed = st.form_submit_button("Save", icon=":material/save:", type="primary")
        st.caption(f"Saved runs go to `{lab.user_dir()}` (set {lab.USER_DIR_ENV} to choose another folder).")
        if pressed:
            save(run)

with c[1]:
    st.markdown("**Your saved runs**")
    mine = user_runs()
    if not mine:
        st.caption("None yet.")
    else:
        st.dataframe({"run": [l.path.name for l in mine],
                      "kind": [l.card["kind"].upper() if l.ok else "?" for l in mine],
                      "data": [tv.label("dataset", l.card["dataset"]["name"]) if l.ok else "?" for l in mine],
                      "z": [l.card["latent_dim"] if l.ok else None for l in mine],
                      "saved": [(l.card.get("created") or "")[:16].replace("T", " ") if l.ok else "broken"
                                for l in mine]},
                     hide_index=True, width="stretch", height=min(35 * len(mine) + 38, 250))
        pick = st.selectbox("Delete a saved run", [l.name for l in mine], index=None, key="train_delete_pick",
                            placeholder="Choose a run to delete",
                            format_func=lambda n: next(l.path.name for l in mine if l.name == n))
        if pick:
            folder = next(l.path for l in mine if l.name == pick)
            if ss.get("_train_delete") != pick:
                if st.button(f"Delete {folder.name}…", icon=":material/delete:", key="train_delete"):
                    ss._train_delete = pick
                    st.rerun()
            else:
                st.warning(f"Delete **{folder.name}** for good? Its folder `{folder}` is removed.",
                           icon=":material/warning:")
                d = st.columns(2)
                if d[0].button("Yes, delete it", type="primary", key="train_delete_yes"):
                    try:
                        lab.delete_run(folder)
                    except lab.DeleteError as e:
                        st.error(f"Not deleted: {e}", icon=":material/error:")
                    else:
                        session.listings.clear()
                        ss.pop("_train_delete", None)
                        ss.pop("train_delete_pick", None)
                        if ss.get("_train_saved", {}).get("key") == pick:
                            ss.pop("_train_saved")
                        st.rerun()
                if d[1].button("Cancel", key="train_delete_no"):
                    ss.pop("_train_delete", None)
                    st.rerun()


# ---- compare ----------------------------------------------------------------------------------------

@cache_data(show_spinner=False, max_entries=16, max_bytes=64 * MB)
def saved_views(name: str, sha: str) -> dict:
    """A saved run's latent map (the same held-out sample as during training), KL per dimension and
    prior samples, cached per weights."""
    m = session.load_model(name)
    data = lab.training_data(m.dataset)
    x, y = tv.map_sample(data.test_x, data.test_y)
    import torch
    z = torch.randn(lab.PRIOR_SAMPLES, m.latent_dim, generator=torch.Generator().manual_seed(1)).numpy()
    out = dict(prior_samples=input_to_stored(m.decode(z)), map_labels=y)
    if m.kind == "vae":
        mu, logvar = m.posterior(m.as_input(x))
        out["latent_map"] = lab.pca_2d(mu)
        out["kl_per_dim"] = (0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar)).mean(0).tolist()
    return out


st.subheader("Compare runs", divider="gray")
saved_jobs = ss.get(SAVED_JOBS, {})             # a session run that was saved is listed once, as saved
candidates = {f"this session · {s['label']}": s for j, s in reversed(ss.get(RUNS, OrderedDict()).items())
              if saved_jobs.get(j) not in {str(l.path) for l in user_runs()}}
for l in user_runs():
    if l.ok:
        candidates[f"saved · {l.path.name}"] = ("saved", l)
if len(candidates) < 2:
    st.caption("Finish or save two runs to compare them here: their curves overlaid, their final "
               f"figures in one table, their maps side by side (the last {tv.MAX_SESSION_RUNS} runs of "
               "this session and your saved runs).")
else:
    picked = st.multiselect("Runs to compare", list(candidates), key="train_compare",
                            default=list(candidates)[:2], max_selections=6)
    runs = []
    for p in picked:
        s = candidates[p]
        if isinstance(s, tuple):
            l = s[1]
            summary = tv.summary_from_card(p, l.card)
            try:
                summary.update(saved_views(l.name, l.card["weights"]["sha256"]))
            except Exception as e:                 # a broken or unloadable checkpoint: say so, go on
                st.warning(f"{l.path.name}: its map cannot be drawn ({type(e).__name__}: {e})")
            runs.append(summary)
        else:
            runs.append(dict(s, label=p))
    if len(runs) >= 2:
        curves = tv.common_curves(runs)
        if curves:
            name = st.selectbox("Curve", curves, key="train_compare_curve",
                                format_func=lambda k: tv.FINAL.get(k, k.replace("_", " ")))
            st.plotly_chart(tf.compare_figure(runs, name, tv.FINAL.get(name, name.replace("_", " "))),
                            key="train_compare_fig", width="stretch")
        st.dataframe(tv.compare_table(runs), hide_index=True, width="stretch")
        c = st.columns(min(len(runs), 3))
        for i, r in enumerate(runs):
            with c[i % len(c)]:
                st.markdown(f"**{r['label']}**")
                if r.get("latent_map") is not None and r.get("map_labels") is not None:
                    st.plotly_chart(tf.latent_map_figure(r["latent_map"], r["map_labels"], r["class_names"],
                                                         r["config"].get("latent_dim", 2), len(r["history"]),
                                                         height=320),
                                    key=f"train_compare_map_{i}", width="stretch")
                if r.get("prior_samples") is not None:
                    st.image(upscale(tile(r["prior_samples"], 8), 2), output_format="PNG",
                             caption="prior samples")
    else:
        st.caption("Pick at least two runs.")
