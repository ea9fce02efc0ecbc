"""The supported Energi Data Service datasets, one declarative spec each (chosen by ``EF_DATASET``).

Adding a dataset is one module with a :class:`DatasetSpec` plus its test data, and one line here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from components.datasets import de35, electricity_balance, industry
from components.datasets.spec import DATETIME, TARGET, UNIT, DatasetSpec, FaultPolicy, SeriesKey

SPECS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in (de35.SPEC, electricity_balance.SPEC, industry.SPEC)
}
DEFAULT_DATASET = de35.SPEC.name
LIVE_DEFAULT_DATASET = electricity_balance.SPEC.name
"""The dataset of the hourly recurring run on the cluster."""

__all__ = [
    "DATETIME",
    "DEFAULT_DATASET",
    "LIVE_DEFAULT_DATASET",
    "SPECS",
    "TARGET",
    "UNIT",
    "DatasetSpec",
    "FaultPolicy",
    "SeriesKey",
    "get_spec",
    "sample_path",
]


def get_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; the error lists the supported datasets."""
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; supported: {', '.join(sorted(SPECS))}") from None


def sample_path(spec: DatasetSpec) -> Path:
    """The real sample shipped inside the package for offline runs (``make demo``)."""
    if spec.sample is None:
        raise ValueError(f"dataset {spec.name} ships no offline sample; set ENERGY_SNAPSHOT or go online")
    return Path(str(resources.files("components.datasets") / "samples" / spec.sample))
