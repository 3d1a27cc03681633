"""copyavg.cli: the `copyavg` command (thin: parses, calls the library, prints)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("copyavg")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "unknown"

__all__ = ["__version__"]
