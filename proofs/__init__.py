"""copyavg.proofs: theorem checks that return certificates (proved / refuted / undecided)."""

from .certificates import Certificate, Status

__all__ = ["Certificate", "Status"]
