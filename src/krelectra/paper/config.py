"""The `paper:` config section (workflow/schemas/paper.schema.yaml) as the commands use it.
Defaults equal the schema's, so `krelectra paper ...` run by hand with a partial or no
config behaves as the workflow does."""

from __future__ import annotations

from dataclasses import dataclass, field

from krelectra.errors import KrelectraError

# How each protocol picks the checkpoint (save point) whose test score a run reports (see
# krelectra.finetune.protocols).
PROTOCOL_LABELS = {
    "paper": "paper protocol (best test checkpoint)",
    "clean": "clean protocol (dev-selected checkpoint)",
}


# paper.uncertainty (workflow/schemas/paper.schema.yaml): the bootstrap of the results table.
UNCERTAINTY_DEFAULTS = {"reference_model": None, "confidence_level": 0.95, "resamples": 1000, "seed": 0, "threads": 1}


@dataclass(frozen=True)
class PaperConfig:
    models: tuple[str, ...] = ()  # empty: every finetuned model given
    labels: dict = field(default_factory=dict)  # model name -> name shown in tables and figures
    protocols: tuple[str, ...] = ("paper", "clean")
    decimals: int = 2
    reference: str = "KR-ELECTRA"  # the published row the comparison figure subtracts
    uncertainty: dict = field(default_factory=lambda: dict(UNCERTAINTY_DEFAULTS))

    @classmethod
    def from_dict(cls, data: dict | None) -> PaperConfig:
        data = dict(data or {})
        known = {"models", "labels", "protocols", "decimals", "reference", "uncertainty"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise KrelectraError(f"config paper: unknown key(s) {', '.join(unknown)}")
        for key in ("models", "protocols"):
            if key in data:
                if not isinstance(data[key], list) or not all(isinstance(x, str) for x in data[key]):
                    raise KrelectraError(f"config paper.{key}: expected a list of names, got {data[key]!r}")
                data[key] = tuple(data[key])
        bad = [p for p in data.get("protocols", ()) if p not in PROTOCOL_LABELS]
        if bad:
            raise KrelectraError(
                f"config paper.protocols: unknown protocol(s) {', '.join(bad)} (known: {', '.join(PROTOCOL_LABELS)})"
            )
        if not isinstance(data.get("labels", {}), dict):
            raise KrelectraError(f"config paper.labels: expected a mapping, got {data['labels']!r}")
        value = data.get("decimals", 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise KrelectraError(f"config paper.decimals: expected a non-negative integer, got {value!r}")
        uncertainty = data.get("uncertainty", {})
        if not isinstance(uncertainty, dict) or set(uncertainty) - set(UNCERTAINTY_DEFAULTS):
            raise KrelectraError(
                f"config paper.uncertainty: expected a mapping of {', '.join(UNCERTAINTY_DEFAULTS)}, "
                f"got {uncertainty!r}"
            )
        data["uncertainty"] = {**UNCERTAINTY_DEFAULTS, **uncertainty}
        return cls(**data)

    def label(self, model: str) -> str:
        return self.labels.get(model, model)

    def to_dict(self) -> dict:
        return {
            "models": list(self.models),
            "labels": dict(self.labels),
            "protocols": list(self.protocols),
            "decimals": self.decimals,
            "reference": self.reference,
            "uncertainty": dict(self.uncertainty),
        }
