"""Real or generated? (being built)."""
import streamlit as st

from playground import session

m = session.header("Real or generated?", "Guess which images a model made.", needs_classifier=False)
st.info("This page is being built.", icon=":material/construction:")
