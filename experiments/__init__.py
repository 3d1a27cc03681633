"""copyavg.experiments: gradient-flow runs, resumable sweeps and plots (the paper's experiments)."""
