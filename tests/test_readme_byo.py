"""The README's "Bring your own model" section, run: every shell command, the Python example, and
each `streamlit run` line (its arguments given to the app as Streamlit gives them, in sys.argv;
one real server through playground/server.py, as the README starts it)."""
import re
import shlex
import subprocess
import sys
import urllib.parse

import pytest

from conftest import ROOT, assert_clean, run_app, streamlit_server

README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Bring your own model", 1)[1].split("\n## ", 1)[0]
BASH = [line for block in re.findall(r"```bash\n(.*?)```", SECTION, re.S) for line in block.strip().splitlines()]
PYTHON = re.findall(r"```python\n(.*?)```", SECTION, re.S)
TMP = "/tmp/my-checkpoints"


@pytest.fixture
def here(tmp_path, monkeypatch):
    """The README's commands with /tmp/my-checkpoints in a fresh temp folder."""
    from playground import session
    session.listings.clear()
    yield lambda text: text.replace(TMP, str(tmp_path / "my-checkpoints"))
    session.listings.clear()


def run_shell(line: str):
    subprocess.run(line, shell=True, cwd=ROOT, check=True, capture_output=True, text=True)


def app_args(line: str) -> list[str]:
    words = shlex.split(line)
    assert words[:3] == ["streamlit", "run", "playground/app.py"] and words[3] == "--", line
    return words[4:]


def test_the_section_has_the_three_ways_in():
    assert any("--checkpoints" in line for line in BASH)
    assert any("--model examples/pytorch_examples_vae.py" in line for line in BASH)
    assert any(line.startswith("python -m models.convert") for line in BASH)
    assert len(PYTHON) == 1


def open_with_args(args, monkeypatch, model):
    """The app as `streamlit run playground/app.py -- ARGS` runs it: ARGS in sys.argv."""
    monkeypatch.setattr(sys, "argv", ["playground/app.py", *args])
    at = run_app(model=model, proj="pca")
    assert at.session_state.model == model, (model, at.sidebar.selectbox[0].options)
    assert_clean(at, f"{model} with {args}")
    return at


def test_way_1_a_folder_in_the_projects_format(here, monkeypatch):
    lines = [here(l) for l in BASH[:BASH.index(next(l for l in BASH if "LATENT_PLAYGROUND_CHECKPOINT_DIRS" in l))]]
    run_shell(lines[0])
    open_with_args(app_args(lines[1]), monkeypatch, "mnist-vae2d (from my-checkpoints)")


def test_way_2_an_adapter_file(here, monkeypatch):
    line = next(l for l in BASH if "--model" in l)
    at = open_with_args(app_args(line), monkeypatch, "examples-vae-adapter")
    assert "adapter file" in " ".join(str(c.value) for c in at.sidebar.caption)


def test_way_3_a_state_dict_converted(here, monkeypatch):
    i = next(i for i, l in enumerate(BASH) if l.startswith("python -m models.convert"))
    run_shell(here(BASH[i]))
    open_with_args(app_args(here(BASH[i + 1])), monkeypatch, "pytorch-examples-vae")
    at = run_app(model="pytorch-examples-vae", proj="pca")
    at.switch_page("views/sample.py").run()
    assert_clean(at, "sample page of the converted model")


def test_the_python_example(here, capsys):
    run_shell(here(next(l for l in BASH if l.startswith("python -m models.convert"))))
    exec(compile(here(PYTHON[0]), "README.md", "exec"), {})
    shape, diff = capsys.readouterr().out.strip().rsplit(" ", 1)
    assert shape == "(1, 28, 28)" and float(diff) < 1e-4      # adapter and converted folder agree


def test_a_real_server_takes_the_env_and_the_arguments(here, page, monkeypatch, tmp_path):
    """`LATENT_PLAYGROUND_CHECKPOINT_DIRS=... streamlit run playground/server.py`, plus an adapter
    after `--`: both models are in the sidebar of the real server (st.App passes the arguments on)."""
    line = here(next(l for l in BASH if "LATENT_PLAYGROUND_CHECKPOINT_DIRS" in l))
    run_shell(here(BASH[0]))
    env, _ = line.split(" ", 1)
    name, value = env.split("=", 1)
    monkeypatch.setenv(name, value)
    with streamlit_server("server.py", args=["--model", "examples/pytorch_examples_vae.py"]) as (url, log):
        for model, says in (("mnist-vae2d (from my-checkpoints)", "my-checkpoints"),
                            ("examples-vae-adapter", "pytorch_examples_vae.py")):
            page.goto(f"{url}/?model={urllib.parse.quote(model)}&proj=pca")
            page.get_by_text("Decoded atlas").first.wait_for(timeout=120_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert says in page.locator('[data-testid="stSidebar"]').inner_text(), open(log).read()[-2000:]
