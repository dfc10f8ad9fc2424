"""amnstats: labour-market statistics of Stockholm stad's Arbetsmarknadsnämnd.

Data flows one way: raw files (data/raw) -> validated observations (data/processed)
-> metrics -> Streamlit pages.
"""

from . import memory

memory.configure()  # before any module loads polars: its allocator reads the setting then

__version__ = "0.1.0"
