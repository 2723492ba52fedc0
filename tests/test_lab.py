"""models.lab (the Train page's run object), the shipped training subsets and the additive
architecture options."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import models
from models import data as mdata
from models.architectures import ConvVAE
from models.lab import PRESETS, ConfigError, DeleteError, LabConfig, LabRun, SaveError, delete_run, save_run



@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Train on one thread, as the worker does on 2 cores: steady CPU cost, and no two-thread
    OpenMP teams spinning against each other on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_shipped_subsets_are_lean_uint8_and_disjoint_from_the_reference_sets():
    for name, n_min in (("mnist", 8000), ("fashion-mnist", 10000)):
        path = mdata.subset_path(name)
        with np.load(path, allow_pickle=False) as z:
            x, y = z["images"], z["labels"]
        assert x.dtype == np.uint8 and x.shape[1:] == (28, 28) and len(x) >= n_min and len(y) == len(x)
        assert np.bincount(y, minlength=10).min() > 0.05 * len(x)
        ref, _ = models.reference(name)
        train_rows = {r.tobytes() for r in x}
        assert not [r for r in ref if r.tobytes() in train_rows], f"{name}: reference images in the training subset"
        assert path.stat().st_size < 6e6


def test_shipped_mnist_is_the_full_training_split():
    if mdata._mnist_dir() is None:
        pytest.skip("MNIST data not installed")
    full, shipped = mdata.load_dataset("mnist", source="full"), mdata.load_dataset("mnist", source="shipped")
    assert np.array_equal(full.train_x, shipped.train_x) and np.array_equal(full.train_y, shipped.train_y)
    assert np.array_equal(full.test_x, shipped.test_x)


def test_fresh_install_falls_back_to_the_shipped_subsets(monkeypatch, tmp_path):
    monkeypatch.setattr(mdata, "DATA_DIR", tmp_path)
    monkeypatch.setattr(mdata, "FASHION_DIR", tmp_path)
    monkeypatch.setattr(mdata, "REPO", tmp_path)
    monkeypatch.chdir(tmp_path)
    d = mdata.load_dataset("fashion-mnist", source="auto")
    assert len(d.train_x) == 10000 and "shipped subset" in d.describe()["source"]
    with pytest.raises(mdata.DataError, match="Fashion-MNIST not found"):
        mdata.load_dataset("fashion-mnist", source="full")


def test_shipped_cards_load_identically_and_by_path():
    for name in ("mnist-vae", "mnist-vae2d", "fashion-mnist-vae"):
        a, b = models.load(name), models.load(models.CHECKPOINTS / name)
        sa, sb = a.modules["vae"].state_dict(), b.modules["vae"].state_dict()
        assert list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)
    # the default hidden_layers=1 keeps the shipped state-dict keys; more layers add Linear layers
    assert list(ConvVAE(2).state_dict()) == list(models.load("mnist-vae2d").modules["vae"].state_dict())
    assert sum(isinstance(m, torch.nn.Linear) for m in ConvVAE(2, hidden_layers=3).modules()) == \
        sum(isinstance(m, torch.nn.Linear) for m in ConvVAE(2).modules()) + 4
    assert "train" not in {l.name for l in models.available()}


@pytest.mark.parametrize("knob,value,words", [
    ("latent_dim", 1, "latent_dim: 1 is outside its range 2 to 64"),
    ("lr", 2.0, "lr: 2.0 is outside its range"), ("activation", "swish", "activation: 'swish' is not one of"),
    ("batch_size", 3.5, "batch_size: 3.5 is not a whole number"), ("beta", float("nan"), "beta: nan")])
def test_config_names_the_knob_and_its_range(knob, value, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")) as e:
        LabConfig(**{knob: value})
    assert e.value.knob == knob


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_runs_a_step_and_records_it(preset):
    run = LabRun(LabConfig.preset(preset))
    rec = run.step()
    assert rec["step"] == 1 and rec["grad_norms"] and run.param_count > 1000
    assert ("rec" in rec and "kl" in rec) if run.config.kind == "vae" else {"loss_d", "loss_g", "d_real", "d_fake"} <= set(rec)


def _small(**kw):
    d = mdata.load_dataset("mnist", source="shipped")
    d.train_x, d.train_y = d.train_x[:256], d.train_y[:256]
    return LabRun(LabConfig(**dict(dict(batch_size=64, epochs=2), **kw)), data=d)


def test_epoch_records_map_kl_dims_dead_relus_and_samples():
    run = _small(latent_dim=4).run()
    assert run.step_count == 8 and run.epoch == 2 and run.finished and run.stop_reason is None
    e = run.epochs[-1]
    assert e["latent_map"].shape == (1000, 2) and len(e["kl_per_dim"]) == 4
    assert abs(sum(e["kl_per_dim"]) - e["test_kl"]) < 1e-3 and 0 <= e["dead_relu"] <= 1
    assert e["prior_samples"].shape == (16, 28, 28) and e["prior_samples"].dtype == np.uint8
    assert sum(e["weight_histogram"]["counts"]) == sum(
        p.numel() for n, p in run.net.named_parameters() if n.endswith("weight"))


def test_infinite_loss_stops_the_run_with_words():
    run = LabRun(LabConfig.preset("lr-too-high"))
    run.run()
    assert run.step_count < run.total_steps
    assert run.stop_reason.startswith("the learning rate is too high: the loss became")
    assert f"at step {run.step_count}" in run.stop_reason


def test_save_never_overwrites_and_loads_by_path(tmp_path):
    run = _small()
    run.step()
    a = save_run(run, "mine", tmp_path, measure_figures=False)
    b = save_run(run, "mine", tmp_path, measure_figures=False)
    assert (a.name, b.name) == ("mine", "mine-2")
    m = models.load(b)
    assert m.card["training"]["lr"] == run.config.lr and m.card["training"]["steps"] == 1
    assert m.card["architecture"]["vae"]["args"] == run.arch and run.arch["hidden_layers"] == run.config.hidden_layers


def test_full_disk_gives_words_and_leaves_nothing(tmp_path, monkeypatch):
    run = _small()
    run.step()
    import models.checkpoint as ck

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(ck, "save_file", full)
    with pytest.raises(SaveError, match="the disk is full"):
        save_run(run, "mine", tmp_path, measure_figures=False)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def stepped():
    run = _small()
    run.step()
    return run


def _refuse(code: int, under: Path, real):
    """`real`, except that it fails with OSError(code) for a path under `under` (its first argument)."""
    def fn(path, *a, **k):
        if Path(path).resolve().is_relative_to(under.resolve()):
            raise OSError(code, os.strerror(code), str(path))
        return real(path, *a, **k)
    return fn


@pytest.mark.parametrize("code, words", [(errno.EROFS, "the disk is read-only"),
                                         (errno.EACCES, "no permission to write there")])
@pytest.mark.parametrize("where", ["user folder", "temp folder", "weights", "card", "rename"])
def test_a_read_only_or_forbidden_folder_gives_words_and_leaves_nothing(stepped, tmp_path, monkeypatch,
                                                                       code, words, where):
    """A read-only disk (EROFS) or a folder the server may not write (EACCES), met at each point of a
    save: making the user folder, its temp folder, writing the weights or the card, the final
    rename. The error says so in words (what the page shows is its strerror) and nothing is left."""
    import models.checkpoint as ck
    root = tmp_path / "runs" if where == "user folder" else tmp_path
    if where in ("user folder", "temp folder"):
        monkeypatch.setattr(os, "mkdir", _refuse(code, tmp_path, os.mkdir))
    elif where == "weights":
        monkeypatch.setattr(ck, "save_file", lambda t, path, *a, **k: _refuse(code, tmp_path, None)(path))
    elif where == "card":
        monkeypatch.setattr(Path, "write_text", _refuse(code, tmp_path, Path.write_text))
    else:
        real = os.replace
        monkeypatch.setattr(os, "replace", lambda src, dst: _refuse(code, tmp_path, real)(src, dst))
    with pytest.raises(SaveError) as e:
        save_run(stepped, "mine", root, measure_figures=False)
    assert e.value.errno == code
    said = e.value.strerror
    assert said.startswith(f"could not save 'mine' in {root}: {words}. Nothing was written"), said
    assert "LATENT_PLAYGROUND_USER_DIR" in said and "Errno" not in said
    assert sorted(p.name for p in tmp_path.rglob("*")) == []           # no folder, no temp, no file


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into a 0o555 folder anyway (the simulated test above covers it)")
def test_a_real_read_only_folder_gives_words_and_leaves_nothing(stepped, tmp_path):
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(SaveError, match="no permission to write there"):
            save_run(stepped, "mine", tmp_path, measure_figures=False)
        assert list(tmp_path.iterdir()) == []
    finally:
        tmp_path.chmod(0o755)


def _saved(tmp_path, name="mine"):
    run = _small()
    run.step()
    return save_run(run, name, tmp_path, measure_figures=False)


def test_delete_run_removes_a_saved_run_by_name_or_path(tmp_path):
    a, b, c = _saved(tmp_path, "a"), _saved(tmp_path, "b"), _saved(tmp_path, "c")
    assert delete_run("a", tmp_path) == a.resolve()
    assert delete_run(str(b), tmp_path) == b.resolve()             # a path string
    assert delete_run(c, tmp_path) == c.resolve()                  # a Path
    assert list(tmp_path.iterdir()) == [] and models.available(tmp_path) == []


def test_delete_run_uses_the_user_dir_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_PLAYGROUND_USER_DIR", str(tmp_path))
    _saved(tmp_path, "mine")
    delete_run("mine")
    assert not (tmp_path / "mine").exists()


def test_delete_run_refuses_what_is_not_a_saved_run_in_the_user_dir(tmp_path):
    users = tmp_path / "users"
    run = _saved(users, "mine")
    outside = _saved(tmp_path / "elsewhere", "other")
    (users / "link").symlink_to(outside, target_is_directory=True)
    notes = users / "notes"
    notes.mkdir()
    (notes / "card.json").write_text("{}")
    (notes / "diary.txt").write_text("mine")
    cases = [(outside, "is not in the folder of saved runs"), ("link", "is a symbolic link"),
             ("notes", "holds more than a saved run (diary.txt)"), ("nope", "no such saved run"),
             (".hidden", "is not a saved run's name"), ("..", "is not a saved run's name"),
             (str(users / "mine" / ".."), "is not a saved run's name"),
             ("../elsewhere/other", "is not in the folder of saved runs"),
             (models.CHECKPOINTS / "mnist-vae", "is not in the folder of saved runs")]
    for what, words in cases:
        with pytest.raises(DeleteError, match=words.replace("(", r"\(").replace(")", r"\)")):
            delete_run(what, users)
    with pytest.raises(DeleteError, match="no such folder of saved runs"):
        delete_run("mine", tmp_path / "missing")
    assert run.is_dir() and outside.is_dir() and (notes / "diary.txt").is_file()
    assert (models.CHECKPOINTS / "mnist-vae" / "card.json").is_file()


def test_delete_run_refuses_the_shipped_checkpoints_even_as_the_user_dir(tmp_path, monkeypatch):
    import models.lab as lab
    shipped = tmp_path / "checkpoints"               # a stand-in, so a planted bug deletes no real file
    _saved(shipped, "mnist-vae")
    monkeypatch.setattr(lab, "CHECKPOINTS", shipped)
    monkeypatch.setenv("LATENT_PLAYGROUND_USER_DIR", str(shipped))
    for root in (shipped, None):
        with pytest.raises(DeleteError, match="is a shipped checkpoint"):
            delete_run("mnist-vae", root)
    assert (shipped / "mnist-vae" / "card.json").is_file()


def test_delete_run_is_one_rename_then_removal(tmp_path, monkeypatch):
    """While the files are being removed the run is already gone from the list, whole."""
    import models.lab as lab
    folder = _saved(tmp_path, "mine")
    seen = {}

    def rmtree(path, ignore_errors=False):
        seen["listed"] = [l.name for l in models.available(tmp_path)]
        seen["moved"] = sorted(p.name for p in Path(path).rglob("*"))
        real_rmtree(path, ignore_errors=ignore_errors)
    real_rmtree = lab.shutil.rmtree
    monkeypatch.setattr(lab.shutil, "rmtree", rmtree)
    delete_run("mine", tmp_path)
    assert seen == dict(listed=[], moved=["card.json", "mine", "model.safetensors"])
    assert not folder.exists() and list(tmp_path.iterdir()) == []


def test_two_people_saving_the_same_name_keep_both_runs(tmp_path, monkeypatch):
    """Both saves pass the 'is the name free?' look before either writes; the one that renames
    second must take the next name, not replace the first one's run."""
    import itertools
    import threading
    import time
    import models.checkpoint as ck
    runs = [_small(seed=s) for s in (1, 2)]
    for r in runs:
        r.step()
    real_save, calls, both_looked = ck.save_file, itertools.count(), threading.Barrier(2, timeout=10)

    def save_file(tensors, path):
        n = next(calls)
        if n < 2:
            both_looked.wait()
            time.sleep(0.3 if n == 0 else 0)           # one writes slowly, the other renames first
        real_save(tensors, path)
    monkeypatch.setattr(ck, "save_file", save_file)
    out, errors = [None, None], []

    def save(i):
        try:
            out[i] = save_run(runs[i], "same", tmp_path, measure_figures=False)
        except Exception as e:                          # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and sorted(p.name for p in out) == ["same", "same-2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same", "same-2"]
    for run, folder in zip(runs, out):
        saved = models.load(folder).modules["vae"].state_dict()
        assert all(torch.equal(saved[k], v) for k, v in run.net.state_dict().items())


def test_a_run_in_progress_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_PLAYGROUND_USER_DIR", str(tmp_path / "runs"))
    run = _small()
    for _ in range(5):
        run.step()
    assert not (tmp_path / "runs").exists() and list(tmp_path.iterdir()) == []


KILLED_MID_SAVE = """
import os, sys
from models import data as mdata
from models.lab import LabConfig, LabRun, save_run
d = mdata.load_dataset("mnist", source="shipped")
d.train_x, d.train_y = d.train_x[:64], d.train_y[:64]
run = LabRun(LabConfig(batch_size=64, epochs=1), data=d)
run.step()
os.replace = lambda *a, **k: os._exit(9)   # the server dies with everything written, before the rename
save_run(run, "mine", sys.argv[1], measure_figures=False)
"""


def test_a_server_killed_mid_save_leaves_nothing_listed(tmp_path):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-c", KILLED_MID_SAVE, str(tmp_path)], timeout=120,
                       cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True)
    assert r.returncode == 9, r.stderr
    (left,) = tmp_path.iterdir()                       # the whole run was written ...
    assert left.name.startswith(".mine.") and sorted(p.name for p in left.iterdir()) == \
        ["card.json", "model.safetensors"]
    assert models.available(tmp_path) == []            # ... and nothing is listed


def test_save_sweeps_only_stale_hidden_temp_folders(tmp_path):
    import os
    import time
    from models.lab import STALE_S, sweep_stale
    names = [".a.x1.tmp", ".b.x2.deleting", ".c.x3.tmp", ".keep", "visible.tmp"]
    for n in names:
        (tmp_path / n).mkdir()
        (tmp_path / n / "model.safetensors").write_bytes(b"0")
    old = time.time() - STALE_S - 60
    for n in (".a.x1.tmp", ".b.x2.deleting", ".keep", "visible.tmp"):
        os.utime(tmp_path / n, (old, old))
    run = _small()
    run.step()
    save_run(run, "mine", tmp_path, measure_figures=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.x3.tmp", ".keep", "mine", "visible.tmp"]
    assert sweep_stale(tmp_path / "missing") == []


def test_every_shipped_training_subset_loads_without_pickle():
    files = sorted((models.CHECKPOINTS / "train").glob("*.npz"))
    assert [f.stem for f in files] == ["fashion-mnist", "mnist"]
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}         # reading an object array would raise here
        assert {"images", "labels", "source"} <= set(arrays)
        assert all(a.dtype.kind in "uiU" for a in arrays.values()), {k: a.dtype for k, a in arrays.items()}


def test_a_pickled_training_subset_is_refused_not_unpickled(tmp_path):
    (tmp_path / "train").mkdir()
    np.savez(tmp_path / "train" / "mnist.npz", images=np.array([{"x": 1}], dtype=object),
             labels=np.zeros(1, np.uint8), source=np.array("evil"))
    with pytest.raises(mdata.DataError, match="not a valid training subset"):
        mdata.load_shipped("mnist", tmp_path)


def test_runs_share_the_uint8_training_images_and_batches_are_the_float_images():
    from models.data import to_float
    d = mdata.load_dataset("mnist", source="shipped")
    a, b = LabRun(LabConfig(), data=d), LabRun(LabConfig(seed=3), data=d)
    assert a.x.dtype == torch.uint8 and a.x.data_ptr() == b.x.data_ptr() == d.train_x.ctypes.data
    idx = np.array([5, 0, 7999, 12])
    assert torch.equal(a._batch(idx), torch.as_tensor(to_float(d.train_x[idx])))


def test_warm_reads_the_data_and_imports_what_the_first_optimiser_needs(monkeypatch):
    import sys
    import models.lab as lab
    read = []
    monkeypatch.setattr(lab, "training_data", read.append)
    monkeypatch.setattr(lab, "_warmed", set())
    lab.warm(("mnist", "fashion-mnist"))
    lab.warm()
    assert read == ["mnist", "fashion-mnist", "mnist"] and lab._warmed == {"torch"}
    assert "torch._dynamo" in sys.modules


# Each preset's lesson, checked in a few dozen steps (the bench, bench/train_speed.py, shows them
# over whole runs). Loss noise: the median step-to-step change relative to the median loss.
def _steps(preset, n, data=None, **kw):
    run = LabRun(LabConfig(**dict(PRESETS[preset][0], **kw)), data=data)
    for _ in range(n):
        run.step()
    return run


def _first_last_grad_ratio(run):
    names = list(run.steps[0]["grad_norms"])
    first = np.mean([r["grad_norms"][names[0]] for r in run.steps])
    last = np.mean([r["grad_norms"][names[-1]] for r in run.steps])
    return first, first / last


def test_lessons_lr_too_low_crawls_and_sigmoid_vanishes_against_the_default():
    good, low = _steps("good-2d-vae", 20), _steps("lr-too-low", 20)
    drop = lambda run: 1 - np.mean([r["loss"] for r in run.steps[-3:]]) / np.mean([r["loss"] for r in run.steps[:3]])  # noqa: E731
    assert drop(good) > 0.3 and drop(low) < 0.03, (drop(good), drop(low))
    # against the same knobs with ReLU, so the difference is the activation's alone
    sig, relu = _steps("sigmoid-everywhere", 3), _steps("sigmoid-everywhere", 3, activation="relu")
    (r_first, r_ratio), (s_first, s_ratio) = _first_last_grad_ratio(relu), _first_last_grad_ratio(sig)
    assert list(sig.steps[0]["grad_norms"])[0] == "encoder.0"
    assert s_first < r_first / 10 and s_ratio < r_ratio / 3, (r_first, s_first, r_ratio, s_ratio)


def test_lessons_tiny_batches_are_noisy_and_beta_switches_dimensions_on_or_off():
    d = mdata.load_dataset("mnist", source="shipped")
    d.train_x, d.train_y = d.train_x[:2048], d.train_y[:2048]

    def noise(run):
        loss = np.array([r["loss"] for r in run.steps[20:60]])
        return np.median(np.abs(np.diff(loss))) / np.median(loss)
    assert noise(_steps("tiny-batches", 60, d)) > 2 * noise(_steps("good-2d-vae", 60, d))
    b0, b4 = _steps("beta-0", 96, d, epochs=3), _steps("beta-4", 96, d, epochs=3)
    kl0, kl4 = np.array(b0.epochs[-1]["kl_per_dim"]), np.array(b4.epochs[-1]["kl_per_dim"])
    assert len(kl4) == 8 and (kl4 < 0.15).sum() >= 4 and kl4.mean() < 0.3, kl4       # dimensions off
    assert kl0.sum() > 8 and b0.epochs[-1]["latent_map"].std(0).max() > 1.5, kl0       # codes far out


def _fake_steps(run, monkeypatch, nan_at=None):
    """Step bookkeeping without the cost of training: each step returns a fixed record (NaN at
    `nan_at`) and epochs end without their figures."""
    def fake(idx):
        bad = run.step_count + 1 == nan_at
        return dict(loss=float("nan") if bad else 1.0, rec=1.0, kl=0.0, grad_norms={})
    monkeypatch.setattr(run, "_vae_step", fake)
    monkeypatch.setattr(run, "_end_epoch", lambda: None)


def _tiny_run(n_images=100, **kw):
    d = mdata.load_dataset("mnist", source="shipped")
    d.train_x, d.train_y = d.train_x[:n_images], d.train_y[:n_images]
    return LabRun(LabConfig(**dict(dict(batch_size=4, epochs=3), **kw)), data=d)


def test_step_records_are_thinned_to_a_bound_and_keep_their_own_step_numbers(monkeypatch):
    run = _tiny_run()                                   # 25 steps an epoch, 75 in all
    run.max_step_records = 8
    _fake_steps(run, monkeypatch)
    run.run()
    nums = [r["step"] for r in run.steps]
    assert run.finished and run.step_count == run.total_steps == 75 and run.snapshot()["step"] == 75
    assert 4 <= len(nums) <= 8 and nums == sorted(set(nums))
    assert nums[-1] == 75                               # the last step is always recorded
    assert all(n % run.record_every == 0 for n in nums[:-1]) and run.record_every > 1


def test_step_records_keep_the_nan_step_that_stopped_the_run(monkeypatch):
    run = _tiny_run()
    run.max_step_records = 8
    _fake_steps(run, monkeypatch, nan_at=37)
    run.run()
    assert run.step_count == 37 and run.steps[-1]["step"] == 37 and np.isnan(run.steps[-1]["loss"])
    assert "at step 37" in run.stop_reason and len(run.steps) <= 8
