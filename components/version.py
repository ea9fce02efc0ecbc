"""The package version and the one project image that every component, the API and the dashboard run from."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("energy-forecasting")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0.0.0"
