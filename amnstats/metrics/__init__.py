"""Metrics over the observation table: pure polars/numpy functions, no Streamlit.

Every function takes observations (see amnstats.schema) and returns a new frame. They use
the preferred rows only (`is_preferred`), propagate suppressed and missing values (a sum
or average that would need one is null and says why) and read each measure's unit,
additivity and direction from the catalogue (or from an `attrs` frame). Callers filter
first, one series and measure per page: `SelectionIndex` precomputes, slices and caches that.

- year_on_year            change against the same period one year earlier
- latest                  the latest row per key
- gender_split            women's share, gap women - men, check kvinnor + män = totalt
- gender_mismatches       the cells where a source's kvinnor + män differ from its totalt
- area_comparison         each district's rank and difference from the city
- per_capita              counts per 10 000 inhabitants, given a population frame
- aggregate_areas         sums to district groups (Järva, Innerstaden, Söderort, ...)
- harmonise_areas         Hägersten-Liljeholmen + Älvsjö -> Hägersten-Älvsjö before 2020-07-01
- target_status           utfall against målvärde: met, partly met, missed
- index_to_base           index, base year = 100
- rolling_12_months       rolling 12-month average of monthly series
- page_metrics            all of the above for one selection (two metrics at a time)
- SelectionIndex          the table sorted by series and measure, its keys numbered and every
                          page metric computed over the whole table once: a click is a few
                          zero-copy slices; a non-default base year is computed on the
                          selection and cached by inputs
- scan_selection          one selection read from parquet with predicate pushdown
- ObsKeys                 integer ids of a frame's keys and periods, shared by the metrics
"""

from ._keys import SERIES_KEY, ObsKeys, attributes
from .areas import SHARE_PARTS, aggregate_areas, area_comparison, area_groups, harmonise_areas, per_capita
from .gender import gender_mismatches, gender_split
from .page import PageMetrics, SelectionIndex, page_metrics, scan_selection
from .targets import PARTLY_MET_TOLERANCE, target_status
from .trend import index_to_base, rolling_12_months
from .yoy import latest, previous_period_labels, year_on_year

__all__ = [
    "ObsKeys", "PARTLY_MET_TOLERANCE", "SERIES_KEY", "SHARE_PARTS", "PageMetrics", "SelectionIndex", "aggregate_areas",
    "area_comparison", "area_groups", "attributes", "gender_mismatches", "gender_split", "harmonise_areas",
    "index_to_base", "latest", "page_metrics", "per_capita", "previous_period_labels", "rolling_12_months",
    "scan_selection", "target_status", "year_on_year",
]
