"""Writes the seed archives of the fuzz_zip and fuzz_pickle corpora (tests/fuzz/corpus/): tiny
TorchScript archives (scripted, traced, dynamically quantized) and their data.pkl and
constants.pkl. Run with Debian's python3-torch from tests/fuzz: /usr/bin/python3 make_seed_archives.py
"""
import zipfile

import torch


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(5, 3)
        self.lin = torch.nn.Linear(3, 2)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.lin(self.emb(input_ids)).mean(1)


def main():
    torch.manual_seed(0)
    archives = {
        "tiny_scripted": torch.jit.script(Tiny()),
        "tiny_traced": torch.jit.trace(Tiny(), torch.tensor([[1, 2]])),
        "tiny_quantized": torch.jit.script(
            torch.quantization.quantize_dynamic(Tiny(), {torch.nn.Linear}, dtype=torch.qint8)),
    }
    for name, module in archives.items():
        path = "corpus/fuzz_zip/%s.pt" % name
        torch.jit.save(module, path)
        with zipfile.ZipFile(path) as z:
            for entry in z.namelist():
                if entry.endswith("/data.pkl") or entry.endswith("/constants.pkl"):
                    with open("corpus/fuzz_pickle/%s_%s" % (name, entry.split("/")[-1]), "wb") as f:
                        f.write(z.read(entry))


if __name__ == "__main__":
    main()
