"""copyavg.cli: the `copyavg` command (thin: parses, calls the library, prints)."""
