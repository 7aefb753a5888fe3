"""A deterministic demo data set of Anhui's civil air defense works, bulk-loaded with COPY.

The figures it must reproduce are the province's published ones for the end of 2023:
710,000 public parking spaces in civil air defense works, 55,300 of them added by works
completed in 2023. The default size of 6,000 facilities plays the whole province; any
other size keeps realistic per-facility figures and scales the totals with it (see
`generate._parking_targets`).

Rows go through PostgreSQL COPY in the text format, never through the ORM: a million
facilities with their entrances and protection units load in well under two minutes on
two cores, most of it index maintenance and foreign-key checks in the server.

The facilities come first (`facilities.load`); the other modules add each domain's
records for them: peacetime uses, signs, maintenance, problem reports and a population
layer. The tables the generator draws from are data files in data/.
"""

from app.demo.facilities import load
from app.demo.generate import (
    DEFAULT_SEED,
    DEFAULT_SIZE,
    PARKING_SPACES_COMPLETED_2023,
    PARKING_YEAR,
    PROVINCE_PARKING_SPACES,
)
from app.demo.places import CITIES, PROVINCE_CODE

__all__ = [
    "CITIES",
    "DEFAULT_SEED",
    "DEFAULT_SIZE",
    "PARKING_SPACES_COMPLETED_2023",
    "PARKING_YEAR",
    "PROVINCE_CODE",
    "PROVINCE_PARKING_SPACES",
    "load",
]
