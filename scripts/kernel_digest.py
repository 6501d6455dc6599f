"""Print a digest of a small PyTorch training run on this machine's CPU, to compare machines.

    python scripts/kernel_digest.py --cpu-kernels portable --threads 1

Run it on two machines with the same package versions and compare the `digest` lines: equal
digests mean the two CPUs add PyTorch's numbers in the same order for this run (a 40-step
AdamW run of a 256-512-10 MLP with GELU and LayerNorm on seeded random data). On this
project's AMD EPYC (AVX2): one thread gave the same digest with portable and native
kernels; two threads gave another digest than one, and portable another than native
(krelectra/kernels.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform

from krelectra import kernels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-kernels", choices=kernels.CHOICES, default=kernels.PORTABLE)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    kernels.use(args.cpu_kernels)  # before PyTorch is imported
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    inputs, labels = torch.randn(512, 256), torch.randint(0, 10, (512,))
    model = torch.nn.Sequential(
        torch.nn.Linear(256, 512), torch.nn.GELU(), torch.nn.LayerNorm(512), torch.nn.Linear(512, 10)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for step in range(40):
        batch = slice(step * 64 % 512, step * 64 % 512 + 64)
        loss = torch.nn.functional.cross_entropy(model(inputs[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    weights = b"".join(p.detach().numpy().tobytes() for p in model.parameters())
    flags = kernels.cpu_flags() or set()
    print(
        json.dumps(
            {
                "digest": hashlib.sha256(weights).hexdigest()[:16],
                "cpu_kernels": args.cpu_kernels,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
                "cpu": platform.processor() or platform.machine(),
                "avx512f": "avx512f" in flags,
                "amx_bf16": "amx_bf16" in flags,
            }
        )
    )


if __name__ == "__main__":
    main()
