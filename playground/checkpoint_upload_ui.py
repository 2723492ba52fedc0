"""The sidebar's "Add a checkpoint" box: a checkpoint folder's two files, uploaded in the browser
(`playground.checkpoint_upload` checks and installs them). Never code: adapter files are named on
the server's command line only."""
from __future__ import annotations

import streamlit as st

from playground import checkpoint_upload, session


def add_checkpoint_box() -> None:
    with st.expander(":material/upload_file: Add a checkpoint"):
        st.caption("A VAE or GAN in this project's format: its folder's **card.json** and "
                   "**model.safetensors**, for an architecture the project knows (code is never "
                   f"accepted here). Everyone on this server sees it; the last {checkpoint_upload.LIMIT} are kept.")
        with st.form("add_checkpoint", clear_on_submit=True, border=False):
            files = st.file_uploader("card.json and model.safetensors", accept_multiple_files=True,
                                     type=["json", "safetensors"], key="ckpt_files")
            sent = st.form_submit_button("Add")
        if sent:
            try:
                dest = checkpoint_upload.install([(f.name, f.getvalue()) for f in files or []])
            except checkpoint_upload.UploadError as e:
                st.error(f"Not added: {e}" + size_hint(len(files or []), st.get_option("server.maxUploadSize")))
                return
            session.listings.clear()
            name = next((l.name for l in session.listings() if l.path == dest), dest.name)
            st.session_state["_added_checkpoint"] = name
            st.rerun()
    added = st.session_state.pop("_added_checkpoint", None)
    if added:
        st.success(f"Added **{added}**: pick it in the model list above.")


def size_hint(n_files: int, max_mb: int) -> str:
    """A file over `server.maxUploadSize` is refused in the browser and never reaches the app, so a
    missing file may be one that was too large: say so when fewer than two files arrived."""
    if n_files >= 2:
        return ""
    return (f". The uploader refuses any file over {max_mb} MB before it reaches the server (it shows "
            "the file in red): if you picked it, it was too large.")
