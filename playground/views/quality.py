"""Quality against diversity (being built)."""
import streamlit as st

from playground import session

m = session.header("Quality against diversity", "Precision and recall of generated images against real ones.", needs_classifier=False)
st.info("This page is being built.", icon=":material/construction:")
