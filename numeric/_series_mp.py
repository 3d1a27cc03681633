"""mpmath route of the quadrature family (``copyavg.numeric.mp``): nested ``mpmath.quad``."""

from __future__ import annotations

from .series import PRICE, Compiled


class _MpKernelFunctions:
    """The mpmath counterpart of ``copyavg.numeric.series._KernelFunctions`` (``copyavg.numeric.mp``): every output by
    Price's theorem as ``E[sigma^(kA)(u1) sigma^(kB)(u2)]`` with ``u2 = sqrt(C22)(rho z1 +
    sqrt(1 - rho^2) z2)``, nested ``mpmath.quad`` at the working precision (slow: seconds to
    minutes per value; a reference for small networks, independent of the Hermite series)."""

    def __init__(self, cp: Compiled):
        self.cp = cp

    def _expect2(self, kA, kB, C11, C22, C12):
        import mpmath

        fA, fB = self.cp.mp[kA], self.cp.mp[kB]
        a, b = mpmath.sqrt(C11), mpmath.sqrt(C22)
        rho = C12 / (a * b) if a * b > 0 else mpmath.mpf(0)
        rho = max(min(rho, mpmath.mpf(1)), mpmath.mpf(-1))
        s = mpmath.sqrt(1 - rho * rho)
        phi = lambda x: mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        if s == 0 or b == 0:
            return mpmath.quad(lambda x: phi(x) * fA(a * x) * fB(b * rho * x), [-mpmath.inf, 0, mpmath.inf])
        return mpmath.quad(lambda x, y: phi(x) * phi(y) * fA(a * x) * fB(b * (rho * x + s * y)),
                           [-mpmath.inf, 0, mpmath.inf], [-mpmath.inf, 0, mpmath.inf])

    def __getitem__(self, order: int):
        import mpmath

        from .kernels import PARTIAL_NAMES

        if order == 3:
            def diag(q):
                f = self.cp.mp
                rq = mpmath.sqrt(q)
                phi = lambda x: mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
                E = lambda h: mpmath.quad(lambda x: phi(x) * h(rq * x), [-mpmath.inf, 0, mpmath.inf])  # noqa: E731
                return (E(lambda u: f[0](u) ** 2), E(lambda u: f[1](u) ** 2 + f[0](u) * f[2](u)),
                        E(lambda u: 3 * f[2](u) ** 2 + 4 * f[1](u) * f[3](u) + f[0](u) * f[4](u)) / 2)
            return diag

        def fn(C11, C22, C12, D=None):
            done, out = {}, []
            for name in PARTIAL_NAMES[order]:
                kA, kB, fac = PRICE[name]
                if (kA, kB) not in done:
                    done[kA, kB] = self._expect2(kA, kB, C11, C22, C12)
                out.append(fac * done[kA, kB])
            return out[0] if order == 0 else tuple(out)

        return fn
