"""models.checkpoint on tiny checkpoints written here: every refusal's exact message and file, the
atomic writes, and what a loaded module holds (written against the mutation run:
`bash scripts/mutation.sh`, docs/mutation.md)."""
import hashlib
import json
import re
from pathlib import Path

import pytest
import torch

from models import checkpoint as ck
from models.architectures import REGISTRY, ConvVAE, Discriminator, Generator
from models.checkpoint import CheckpointError

ARCH_MSG = re.escape(f"must be {{class: one of {sorted(REGISTRY)}, args: {{...}}}}")


def tiny_card(kind="vae"):
    arch = {
        "vae": {"vae": {"class": "ConvVAE", "args": {"latent_dim": 2, "channels": 1, "hidden": 2}}},
        "gan": {"generator": {"class": "Generator", "args": {"latent_dim": 2, "channels": 1}},
                "discriminator": {"class": "Discriminator", "args": {"channels": 1}}},
        "classifier": {"classifier": {"class": "Classifier", "args": {"channels": 1, "hidden": 2}}},
    }[kind]
    return {"kind": kind, "architecture": arch, "latent_dim": 2, "image_shape": [1, 28, 28],
            "dataset": {"name": "mnist"}, "class_names": ["a", "b"], "training": {"epochs": 1}, "metrics": {}}


def tiny_modules(kind="vae", seed=0):
    torch.manual_seed(seed)
    if kind == "vae":
        return {"vae": ConvVAE(latent_dim=2, channels=1, hidden=2)}
    return {"generator": Generator(latent_dim=2, channels=1), "discriminator": Discriminator(channels=1)}


@pytest.fixture
def saved(tmp_path):
    def make(kind="vae", name="tiny"):
        return ck.save_checkpoint(tmp_path / "root" / name, tiny_card(kind), tiny_modules(kind))
    return make


def rewrite(folder, edit):
    path = folder / ck.CARD_FILE
    card = json.loads(path.read_text())
    edit(card)
    path.write_text(json.dumps(card))
    return path


def refused(fn, path, problem):
    with pytest.raises(CheckpointError) as e:
        fn()
    assert e.value.path == path
    assert re.fullmatch(problem, e.value.problem), e.value.problem
    assert str(e.value) == f"{path}: {e.value.problem}"
    return e.value


# ---- small pieces --------------------------------------------------------------------------------

def test_checkpoint_error_carries_path_and_problem(tmp_path):
    e = CheckpointError(str(tmp_path / "x.json"), "broken")
    assert e.path == tmp_path / "x.json" and e.problem == "broken" and str(e) == f"{tmp_path / 'x.json'}: broken"


def test_sha256_file_over_several_blocks(tmp_path):
    data = bytes(range(256)) * (5 * 4096 + 3)                       # 5 MiB and a bit: several 1 MiB blocks
    (tmp_path / "f").write_bytes(data)
    assert ck.sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()
    (tmp_path / "e").write_bytes(b"")
    assert ck.sha256_file(tmp_path / "e") == hashlib.sha256(b"").hexdigest()


# ---- save and load -------------------------------------------------------------------------------

def test_save_checkpoint_writes_a_card_that_reads_back_and_weights_that_load(saved, tmp_path):
    folder = saved()
    assert folder == tmp_path / "root" / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "model.safetensors"]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["tiny"]          # no temp folder left
    text = (folder / "card.json").read_text(encoding="utf-8")
    card = json.loads(text)
    assert text == json.dumps(card, indent=2) + "\n"
    w = folder / "model.safetensors"
    assert card["format"] == ck.FORMAT == "latent-playground/1" and card["name"] == "tiny"
    assert card["weights"] == {"file": "model.safetensors", "sha256": ck.sha256_file(w), "bytes": w.stat().st_size}
    assert card["training"] == {"epochs": 1}
    assert ck.read_card(folder) == card
    mods = ck.load_modules(folder, card)
    assert list(mods) == ["vae"] and isinstance(mods["vae"], ConvVAE) and not mods["vae"].training
    want = tiny_modules()["vae"].state_dict()
    for k, v in mods["vae"].state_dict().items():
        assert torch.equal(v, want[k]), k


def test_save_checkpoint_does_not_touch_the_callers_card(tmp_path):
    card = tiny_card()
    ck.save_checkpoint(tmp_path / "a", card, tiny_modules())
    assert card == tiny_card()


def test_gan_checkpoint_loads_both_modules_with_their_own_weights(saved):
    folder = saved("gan", "tiny-gan")
    mods = ck.load_modules(folder, ck.read_card(folder))
    assert sorted(mods) == ["discriminator", "generator"]
    want = tiny_modules("gan")
    for name, net in mods.items():
        assert not net.training
        for k, v in net.state_dict().items():
            assert torch.equal(v, want[name].state_dict()[k]), (name, k)


def test_save_refuses_to_overwrite_unless_asked_and_then_replaces_cleanly(saved, tmp_path):
    folder = saved()
    with pytest.raises(FileExistsError, match=re.escape(f"{folder} exists; pass overwrite=True (--force) to replace it")):
        ck.save_checkpoint(folder, tiny_card(), tiny_modules(seed=1))
    ck.save_checkpoint(folder, tiny_card(), tiny_modules(seed=1), overwrite=True)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["tiny"]          # no .old, no temp
    mods = ck.load_modules(folder, ck.read_card(folder))
    assert torch.equal(mods["vae"].to_mu.weight, tiny_modules(seed=1)["vae"].to_mu.weight)
    ck.save_checkpoint(tmp_path / "fresh", tiny_card(), tiny_modules(), overwrite=True)   # nothing to replace
    assert (tmp_path / "fresh" / "card.json").is_file()


def test_a_failed_save_leaves_no_temp_folder_and_keeps_the_old_checkpoint(saved, monkeypatch):
    folder = saved()
    before = (folder / "card.json").read_text()

    def boom(*a, **k):
        raise KeyboardInterrupt                                     # even a Ctrl-C cleans up

    monkeypatch.setattr(ck, "save_file", boom)
    with pytest.raises(KeyboardInterrupt):
        ck.save_checkpoint(folder, tiny_card(), tiny_modules(seed=1), overwrite=True)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["tiny"]
    assert (folder / "card.json").read_text() == before


def test_update_card_rewrites_fields_atomically(saved):
    folder = saved()
    card = ck.update_card(folder, metrics={"mse": 0.5})
    assert card["metrics"] == {"mse": 0.5} and card["training"] == {"epochs": 1}
    text = (folder / "card.json").read_text()
    assert json.loads(text) == card and text == json.dumps(card, indent=2) + "\n"
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "model.safetensors"]
    rewrite(folder, lambda c: c.pop("metrics"))
    with pytest.raises(CheckpointError, match="lacks metrics"):
        ck.update_card(folder, training={})


# ---- read_card's refusals ------------------------------------------------------------------------

WEIGHTS_MSG = re.escape("weights must be {file: 'model.safetensors', sha256: ..., bytes: ...}")
CARD_REFUSALS = [
    (lambda c: c.update(format="other/2"),
     re.escape("unsupported card format 'other/2' (expected 'latent-playground/1')")),
    (lambda c: c.update(name="else"), re.escape("card names 'else' but its folder is 'tiny'")),
    (lambda c: c.update(kind="diffusion"),
     re.escape("unknown kind 'diffusion'; expected one of ['classifier', 'gan', 'vae']")),
    (lambda c: c.update(architecture=[1]), re.escape("architecture must map module names to {class, args}")),
    (lambda c: c.update(kind="gan"), re.escape("a gan card needs an architecture entry 'generator'")),
    (lambda c: c["architecture"]["vae"].update({"class": "os.system"}), "architecture 'vae' " + ARCH_MSG),
    (lambda c: c["architecture"].update(vae="ConvVAE"), "architecture 'vae' " + ARCH_MSG),
    (lambda c: c["architecture"]["vae"].update(args=[2]), "architecture 'vae' " + ARCH_MSG),
    (lambda c: c["architecture"].update(extra={"class": "Nope"}), "architecture 'extra' " + ARCH_MSG),
    (lambda c: c.update(latent_dim=3), re.escape("latent_dim 3 contradicts the architecture's 2")),
    (lambda c: c["architecture"]["vae"]["args"].pop("latent_dim"),
     re.escape("latent_dim 2 contradicts the architecture's None")),
    (lambda c: c.update(image_shape=[2, 28, 28]),
     re.escape("image_shape [2, 28, 28]: channels must be 1 (grey) or 3 (RGB), not 2")),
    (lambda c: c.update(image_shape=[1, 28, 200]),
     re.escape("image_shape [1, 28, 200]: height and width must be 8 to 128 pixels")),
    (lambda c: c.update(image_shape="28x28"),
     re.escape("image_shape must be three integers (channels, height, width); got '28x28'")),
    (lambda c: c.update(class_names=[]), "class_names must be a non-empty list"),
    (lambda c: c.update(class_names="ab"), "class_names must be a non-empty list"),
    (lambda c: c.update(weights="x"), WEIGHTS_MSG),
    (lambda c: c["weights"].update(sha256=5), WEIGHTS_MSG),
    (lambda c: c["weights"].update(file="model.bin"), WEIGHTS_MSG),
    (lambda c: c["weights"].pop("file"), WEIGHTS_MSG),
    (lambda c: [c.pop(k) for k in ("metrics", "weights")], "model card lacks metrics, weights"),
]


@pytest.mark.parametrize("edit, problem", CARD_REFUSALS)
def test_read_card_refuses_with_the_reason_and_the_card_path(saved, edit, problem):
    folder = saved()
    path = rewrite(folder, edit)
    refused(lambda: ck.read_card(folder), path, problem)


def test_read_card_accepts_what_it_should(saved):
    folder = saved()
    rewrite(folder, lambda c: c.update(image_shape=(1, 28, 28)))
    assert ck.read_card(str(folder))["image_shape"] == [1, 28, 28]
    rewrite(folder, lambda c: c["architecture"]["vae"].update(args={"latent_dim": 2}))
    assert ck.read_card(folder)["architecture"]["vae"]["args"] == {"latent_dim": 2}
    rewrite(folder, lambda c: c["architecture"].update(extra={"class": "Discriminator"}))   # args optional here
    assert ck.read_card(folder)["architecture"]["extra"] == {"class": "Discriminator"}


def test_a_main_module_without_args_gets_a_message_not_a_key_error(saved):
    folder = saved()
    path = rewrite(folder, lambda c: c["architecture"]["vae"].pop("args"))
    refused(lambda: ck.read_card(folder), path, re.escape("latent_dim 2 contradicts the architecture's None"))


def test_a_classifier_card_needs_no_latent_dim_agreement(tmp_path):
    card = tiny_card("classifier")
    card.update(latent_dim=0, format=ck.FORMAT, name="clf", weights={"file": ck.WEIGHTS_FILE, "sha256": "0"})
    (tmp_path / "clf").mkdir()
    (tmp_path / "clf" / "card.json").write_text(json.dumps(card))
    assert ck.read_card(tmp_path / "clf")["kind"] == "classifier"
    card["architecture"] = {"other": card["architecture"]["classifier"]}
    (tmp_path / "clf" / "card.json").write_text(json.dumps(card))
    refused(lambda: ck.read_card(tmp_path / "clf"), tmp_path / "clf" / "card.json",
            re.escape("a classifier card needs an architecture entry 'classifier'"))


def test_read_card_missing_unparsable_or_not_an_object(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    path = folder / "card.json"
    refused(lambda: ck.read_card(folder), path, re.escape("missing model card (card.json)"))
    path.mkdir()
    refused(lambda: ck.read_card(folder), path, re.escape("missing model card (card.json)"))   # not a file
    path.rmdir()
    path.write_text("{not json")
    refused(lambda: ck.read_card(folder), path, r"model card is not valid JSON \(Expecting property name.*\)")
    path.write_bytes(b'{"a": "\xff"}')
    refused(lambda: ck.read_card(folder), path, r"model card is not valid JSON \(.*utf-8.*\)")
    path.write_text("[1, 2]")
    refused(lambda: ck.read_card(folder), path, "model card must be a JSON object")
    path.write_text("{}")
    refused(lambda: ck.read_card(folder), path, "model card lacks " + ", ".join(ck.REQUIRED))


# ---- the weights' refusals -----------------------------------------------------------------------

def test_check_weights_file_missing_or_wrong_size(saved):
    folder = saved()
    card = ck.read_card(folder)
    w = folder / "model.safetensors"
    assert ck.check_weights_file(str(folder), card) == w
    size = w.stat().st_size
    w.write_bytes(w.read_bytes()[:-1])
    refused(lambda: ck.check_weights_file(folder, card), w,
            re.escape(f"file is {size - 1} bytes but the card says {size}: truncated or replaced"))
    del card["weights"]["bytes"]                                      # no size in the card: not checked
    assert ck.check_weights_file(folder, card) == w
    w.unlink()
    refused(lambda: ck.check_weights_file(folder, card), w, "weights file is missing")
    w.mkdir()
    refused(lambda: ck.check_weights_file(folder, card), w, "weights file is missing")


def test_load_modules_refuses_changed_weights_with_both_hashes(saved):
    folder = saved()
    card = ck.read_card(folder)
    w = folder / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    now = ck.sha256_file(w)
    refused(lambda: ck.load_modules(folder, card), w,
            re.escape(f"sha256 is {now[:12]}… but the card says {card['weights']['sha256'][:12]}…: "
                      "the file was changed after training"))


def test_load_modules_refuses_garbage_that_matches_its_card(saved):
    folder = saved()
    card = ck.read_card(folder)
    w = folder / "model.safetensors"
    w.write_bytes(b"\x00" * 100)
    card["weights"].update(sha256=ck.sha256_file(w), bytes=100)
    refused(lambda: ck.load_modules(folder, card), w, r"not a readable safetensors file \(.+\)")


def test_load_modules_refuses_an_architecture_it_cannot_build(saved):
    folder = saved()
    card = ck.read_card(folder)
    card["architecture"]["vae"]["args"]["colour"] = True
    refused(lambda: ck.load_modules(folder, card), folder / "card.json",
            r"cannot build 'vae': .*unexpected keyword argument 'colour'")
    card["architecture"]["vae"]["args"] = {"latent_dim": 2, "channels": 1, "hidden": 2, "activation": "swish"}
    refused(lambda: ck.load_modules(folder, card), folder / "card.json", r"cannot build 'vae': unknown activation 'swish'.*")


def test_load_modules_refuses_weights_that_do_not_fit(saved):
    folder = saved()
    card = ck.read_card(folder)
    card["architecture"]["vae"]["args"]["hidden"] = 3
    e = refused(lambda: ck.load_modules(folder, card), folder / "model.safetensors",
                r"weights do not fit the ConvVAE in the card \(size mismatch for .+\)")
    assert "Error(s) in loading" not in e.problem                    # the detail lines, not the headline
    assert e.problem.count("; ") == 2                                # three detail lines, joined


def test_load_modules_refuses_missing_modules_and_only_takes_its_own_prefix(saved):
    folder = saved("gan", "tiny-gan")
    card = ck.read_card(folder)
    card["architecture"]["vae"] = {"class": "ConvVAE", "args": {"latent_dim": 2, "channels": 1, "hidden": 2}}
    e = refused(lambda: ck.load_modules(folder, card), folder / "model.safetensors",
                r"weights do not fit the ConvVAE in the card \(.+\)")
    assert "Missing key" in e.problem
    card = ck.read_card(folder)
    card["architecture"] = {"generator": card["architecture"]["generator"]}    # the discriminator's keys unused
    assert list(ck.load_modules(folder, card)) == ["generator"]


# ---- second mutation pass -------------------------------------------------------------------------

def test_save_creates_missing_parents_and_works_in_a_hidden_temp_folder_beside_the_target(tmp_path, monkeypatch):
    import os
    seen = []
    real = os.replace
    monkeypatch.setattr(ck.os, "replace", lambda a, b: (seen.append((Path(a), Path(b))), real(a, b))[1])
    folder = tmp_path / "a" / "b" / "tiny"                          # neither a nor b exists yet
    ck.save_checkpoint(folder, tiny_card(), tiny_modules())
    (src, dst), = seen
    assert dst == folder and src.parent == folder.parent           # same folder: an atomic rename
    assert src.name.startswith(".tiny.") and src.name.endswith(".tmp")   # hidden while being written


def test_overwrite_clears_a_stale_old_folder_left_by_a_crash(saved):
    folder = saved()
    stale = folder.with_name(".tiny.old")
    stale.mkdir()
    (stale / "junk").write_text("x")
    ck.save_checkpoint(folder, tiny_card(), tiny_modules(seed=1), overwrite=True)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["tiny"]


def test_update_card_writes_a_tmp_file_beside_the_card(saved, monkeypatch):
    import os
    folder = saved()
    seen = []
    real = os.replace
    monkeypatch.setattr(ck.os, "replace", lambda a, b: (seen.append((Path(a), Path(b))), real(a, b))[1])
    ck.update_card(folder, metrics={})
    assert seen == [(folder / "card.json.tmp", folder / "card.json")]


def test_a_module_spec_without_args_is_built_with_its_defaults(tmp_path):
    card = tiny_card("gan")
    mods = {"generator": Generator(latent_dim=2, channels=1), "discriminator": Discriminator()}
    folder = ck.save_checkpoint(tmp_path / "g", dict(card, architecture={
        "generator": card["architecture"]["generator"], "discriminator": {"class": "Discriminator"}}), mods)
    loaded = ck.load_modules(folder, ck.read_card(folder))
    assert isinstance(loaded["discriminator"], Discriminator)


def test_the_weights_mismatch_detail_is_the_errors_own_lines(saved, monkeypatch):
    folder = saved()
    card = ck.read_card(folder)
    card["architecture"]["vae"]["args"]["hidden"] = 3
    net = ConvVAE(latent_dim=2, channels=1, hidden=3)
    from safetensors.torch import load_file
    state = {k[4:]: v for k, v in load_file(folder / "model.safetensors").items()}
    with pytest.raises(RuntimeError) as torch_error:
        net.load_state_dict(state, strict=True)
    lines = str(torch_error.value).strip().splitlines()
    e = refused(lambda: ck.load_modules(folder, card), folder / "model.safetensors", ".*")
    assert e.problem == f"weights do not fit the ConvVAE in the card ({'; '.join(l.strip() for l in lines[1:4])})"

    class OneLine(torch.nn.Module):
        def load_state_dict(self, state, strict=True):
            raise RuntimeError("only one line")
    monkeypatch.setattr(ck, "build", lambda cls, args: OneLine())
    e = refused(lambda: ck.load_modules(folder, ck.read_card(folder)), folder / "model.safetensors", ".*")
    assert e.problem == "weights do not fit the ConvVAE in the card (only one line)"
