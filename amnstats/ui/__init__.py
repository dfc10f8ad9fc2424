"""Streamlit-side helpers shared by the pages (the only part of amnstats that imports streamlit)."""
