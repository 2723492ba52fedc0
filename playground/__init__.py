"""Latent Playground: the Streamlit app (pages) and the pure math it stands on."""
