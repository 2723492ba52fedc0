"""Fill in missing parts (being built)."""
import streamlit as st

from playground import session

m = session.header("Fill in missing parts", "A VAE or GAN fills in the part of an image you hide.", needs_classifier=False)
st.info("This page is being built.", icon=":material/construction:")
