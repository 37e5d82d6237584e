"""Full verification of the register (filled in by the register issue)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.runtime import Runtime


@dataclass(frozen=True)
class VerificationReport:
    ok: bool
    entries: int
    message: str

    def summary(self) -> str:
        return self.message


def verify_register(runtime: Runtime) -> VerificationReport:
    return VerificationReport(ok=True, entries=0, message="register is empty")
