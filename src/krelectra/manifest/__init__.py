"""What a run produced, and where two runs part.

`krelectra manifest write` (the workflow's `manifest` rule, workflow/rules/manifest.smk)
records every rule output of a run in `<results>/manifest.json`: path, bytes, SHA-256, the
tensor values of checkpoints and safetensors, the test scores of finetuning runs, and the
machine and packages it ran on. `krelectra compare` lines up two such manifests (or two
runs) rule by rule in the workflow's order and names the first rule whose outputs differ,
with the size of the difference.
"""

MANIFEST_FILE = "manifest.json"  # in the results folder: <results>/manifest.json
FORMAT = "krelectra-manifest/1"
