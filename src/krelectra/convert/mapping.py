"""Which checkpoint variable fills which Hugging Face weight, and the check that all do.

The mapping is the established one (transformers <= 4.57 `load_tf_weights_in_electra`),
written here from Hugging Face key to TF1 variable name: for every weight a model has,
there is exactly one variable name that must fill it. Walking that direction makes the
two coverage checks plain set differences:

- every model weight is filled from the checkpoint (no weight keeps its random init);
- every checkpoint variable is placed into some weight, or is one of the few
  non-weights below (no variable is silently dropped, the old loader's failure).

Rules (discriminator model `ElectraForPreTraining`, generator model `ElectraForMaskedLM`):
`/` <-> `.`, `layer_<N>` <-> `layer.<N>`, `kernel` <-> `weight` (transposed), LayerNorm
`gamma`/`beta` <-> `weight`/`bias`, embedding tables gain `.weight`;
discriminator: `electra/` <-> `electra.`, `discriminator_predictions/dense_1` <->
`discriminator_predictions.dense_prediction`;
generator: `generator/` <-> `electra.`, except the embeddings, which are the shared
`electra/embeddings/` (or `generator/embeddings/` when the checkpoint has untied
generator embeddings); `generator_predictions/output_bias` <-> `generator_lm_head.bias`;
`generator_lm_head.weight` is the (tied) word embedding matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from krelectra.errors import KrelectraError

DISCRIMINATOR = "discriminator"
GENERATOR = "generator"
MODELS = (DISCRIMINATOR, GENERATOR)

# The explicit, short list of checkpoint variables that are not model weights.
NON_WEIGHT_NAMES = ("global_step",)
OPTIMIZER_SLOT_SUFFIXES = ("/adam_m", "/adam_v")  # Adam moments, one pair per trainable variable

EMBEDDING_TABLES = ("word_embeddings", "position_embeddings", "token_type_embeddings")
UNTIED_GENERATOR_EMBEDDINGS = "generator/embeddings/"


@dataclass(frozen=True)
class Placement:
    """One model weight and the checkpoint variable that fills it."""

    hf_key: str
    tf_name: str
    transpose: bool  # TF dense kernels are [in, out], torch Linear weights [out, in]


def has_untied_generator_embeddings(names) -> bool:
    return any(name.startswith(UNTIED_GENERATOR_EMBEDDINGS) for name in names)


def tf_name_for(hf_key: str, model: str, untied_generator_embeddings: bool = False) -> Placement:
    """The checkpoint variable that fills `hf_key` of the discriminator or generator model."""
    if model == DISCRIMINATOR:
        if hf_key.startswith("electra."):
            scoped = "electra/" + hf_key[len("electra.") :]
        elif hf_key.startswith("discriminator_predictions.dense_prediction."):
            scoped = "discriminator_predictions/dense_1/" + hf_key[len("discriminator_predictions.dense_prediction.") :]
        else:
            scoped = hf_key
    elif model == GENERATOR:
        embeddings = UNTIED_GENERATOR_EMBEDDINGS if untied_generator_embeddings else "electra/embeddings/"
        if hf_key == "generator_lm_head.bias":
            return Placement(hf_key, "generator_predictions/output_bias", transpose=False)
        if hf_key == "generator_lm_head.weight":  # tied to the input word embeddings
            return Placement(hf_key, embeddings + "word_embeddings", transpose=False)
        if hf_key.startswith("electra.embeddings."):
            scoped = embeddings + hf_key[len("electra.embeddings.") :]
        elif hf_key.startswith("electra."):
            scoped = "generator/" + hf_key[len("electra.") :]
        else:
            scoped = hf_key
    else:
        raise ValueError(f"unknown model {model!r}; expected one of {MODELS}")
    tf_name, transpose = _tf_parts(scoped)
    return Placement(hf_key, tf_name, transpose)


def _tf_parts(scoped: str) -> tuple[str, bool]:
    """Rename the parts of a key whose scope is already in TF form."""
    parts: list[str] = []
    for part in re.split(r"[./]", scoped):
        if part.isdigit() and parts and parts[-1] == "layer":
            parts[-1] = f"layer_{part}"
        else:
            parts.append(part)
    leaf, owner = parts[-1], parts[-2] if len(parts) > 1 else ""
    transpose = False
    if owner == "LayerNorm":
        parts[-1] = {"weight": "gamma", "bias": "beta"}.get(leaf, leaf)
    elif owner in EMBEDDING_TABLES and leaf == "weight":
        parts = parts[:-1]
    elif leaf == "weight":
        parts[-1] = "kernel"
        transpose = True
    return "/".join(parts), transpose


def is_non_weight(name: str, names) -> bool:
    """global_step, or an optimizer slot of a variable that is itself in the checkpoint."""
    if name in NON_WEIGHT_NAMES:
        return True
    return any(name.endswith(suffix) and name[: -len(suffix)] in names for suffix in OPTIMIZER_SLOT_SUFFIXES)


def plan_conversion(
    checkpoint: str, shapes: dict[str, tuple[int, ...]], expected: dict[str, dict[str, tuple[int, ...]]]
) -> dict[str, list[Placement]]:
    """Place every checkpoint variable, or raise one error that names every problem.

    `shapes`: checkpoint variable name -> shape; `expected`: model -> (Hugging Face key ->
    shape) of the models built from the config. Problems: a model weight with no
    variable, a variable that is no weight of either model, a shape that disagrees.
    """
    untied = has_untied_generator_embeddings(shapes)
    plan: dict[str, list[Placement]] = {}
    missing, mismatched, used, reported = [], [], set(), set()
    for model, weights in expected.items():
        plan[model] = []
        for hf_key, hf_shape in sorted(weights.items()):
            place = tf_name_for(hf_key, model, untied)
            want = list(_tf_shape(place, hf_shape))
            if place.tf_name not in shapes:
                if place.tf_name not in reported:  # shared embeddings fill several weights
                    missing.append(f"{place.tf_name}  (for {model} weight {hf_key}, shape {want})")
                reported.add(place.tf_name)
                continue
            used.add(place.tf_name)
            got = list(shapes[place.tf_name])
            if got != want:
                if place.tf_name not in reported:
                    mismatched.append(
                        f"{place.tf_name}: checkpoint shape {got}, the model config gives "
                        f"{want} ({model} weight {hf_key})"
                    )
                reported.add(place.tf_name)
                continue
            plan[model].append(place)
    unplaced = sorted(name for name in shapes if name not in used and not is_non_weight(name, shapes))
    if missing or mismatched or unplaced:
        raise KrelectraError(_problems_message(checkpoint, missing, unplaced, mismatched))
    return plan


def _tf_shape(place: Placement, hf_shape) -> tuple[int, ...]:
    return tuple(reversed(hf_shape)) if place.transpose else tuple(hf_shape)


def _problems_message(checkpoint, missing, unplaced, mismatched) -> str:
    lines = [f"{checkpoint}: the checkpoint does not match the model config; nothing was written."]
    if missing:
        lines.append(f"{len(missing)} model weight(s) have no checkpoint variable:")
        lines += [f"  missing {m}" for m in missing]
    if unplaced:
        lines.append(
            f"{len(unplaced)} checkpoint variable(s) are no weight of either model "
            f"(non-weights are only {', '.join(NON_WEIGHT_NAMES)} and "
            f"{', '.join('<variable>' + s for s in OPTIMIZER_SLOT_SUFFIXES)}):"
        )
        lines += [f"  unknown {name}" for name in unplaced]
    if mismatched:
        lines.append(f"{len(mismatched)} variable(s) have a shape that does not match the model config:")
        lines += [f"  shape {m}" for m in mismatched]
    if any("layer_" in line for line in lines[1:]):
        lines.append(
            "hint: compare num_hidden_layers / generator_num_hidden_layers and the sizes in "
            "the model config with the checkpoint."
        )
    return "\n".join(lines)
