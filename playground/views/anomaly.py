"""Spot anomalies (being built)."""
import streamlit as st

from playground import session

m = session.header("Spot anomalies", "Images a model finds unusual, by how badly it rebuilds them.", needs_classifier=False)
st.info("This page is being built.", icon=":material/construction:")
