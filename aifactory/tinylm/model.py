"""A byte-level causal transformer: 256 token ids (one per byte, so any text and any prompt encodes), learned
positions, pre-norm blocks, and greedy or sampled generation within its context window.

Saved as two files, `config.json` and `weights.pt` (a state dict, loaded with `weights_only=True`), which is what
the registry stores as a model version's artifacts."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

VOCAB = 256  # bytes


@dataclass(frozen=True)
class Config:
    context: int = 64
    dim: int = 64
    layers: int = 2
    heads: int = 4

    @classmethod
    def from_json(cls, text: str) -> Config:
        data = json.loads(text)
        return cls(**{k: int(data[k]) for k in ("context", "dim", "layers", "heads")})


def encode(text: str) -> list[int]:
    return list(text.encode("utf-8"))


def decode(ids: list[int]) -> str:
    return bytes(ids).decode("utf-8", errors="replace")


class TinyLM(nn.Module):
    mask: torch.Tensor  # the causal mask, a buffer

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.tokens = nn.Embedding(VOCAB, config.dim)
        self.positions = nn.Embedding(config.context, config.dim)
        layer = nn.TransformerEncoderLayer(
            config.dim, config.heads, dim_feedforward=4 * config.dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, VOCAB, bias=False)
        mask = torch.triu(torch.full((config.context, config.context), float("-inf")), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits for the next byte at every position: (batch, time) -> (batch, time, 256)."""
        t = ids.shape[1]
        pos = torch.arange(t, device=ids.device)
        x = self.tokens(ids) + self.positions(pos)
        x = self.blocks(x, mask=self.mask[:t, :t], is_causal=True)
        return self.head(self.norm(x))  # type: ignore[no-any-return]

    def loss(self, ids: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy (nats per byte) of predicting ids[:, 1:] from ids[:, :-1]."""
        logits = self(ids[:, :-1])
        return F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1))

    @torch.no_grad()
    def generate(self, prompt: list[int], max_tokens: int, temperature: float = 0.0, seed: int = 0) -> list[int]:
        """Up to `max_tokens` new byte ids after `prompt` (its last `context` bytes are what the model sees):
        greedy at temperature 0, sampled otherwise (seeded, so the same request gives the same text)."""
        ids = (prompt or [ord("\n")])[-self.config.context :]
        gen = torch.Generator().manual_seed(seed)
        out: list[int] = []
        for _ in range(max_tokens):
            window = torch.tensor([ids[-self.config.context :]], dtype=torch.long)
            logits = self(window)[0, -1]
            if temperature <= 0:
                nxt = int(torch.argmax(logits))
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=gen))
            ids.append(nxt)
            out.append(nxt)
        return out


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save(model: TinyLM, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(asdict(model.config), sort_keys=True) + "\n")
    torch.save(model.state_dict(), directory / "weights.pt")


def load(directory: Path) -> TinyLM:
    model = TinyLM(Config.from_json((directory / "config.json").read_text()))
    model.load_state_dict(torch.load(directory / "weights.pt", map_location="cpu", weights_only=True))
    model.eval()
    return model


def corpus(path: Path) -> torch.Tensor:
    """The training text as byte ids: a file, or every `train-*.txt` of a directory in name order."""
    files = sorted(path.glob("train-*.txt")) if path.is_dir() else [path]
    if not files:
        raise SystemExit(f"{path}: no train-*.txt files to train on")
    data = b"".join(f.read_bytes() for f in files)
    return torch.tensor(list(data), dtype=torch.long)


def held_out_loss(model: TinyLM, data: torch.Tensor) -> float:
    """Mean nats per byte over the whole text, in consecutive windows of the model's context."""
    n = model.config.context + 1
    windows = data[: (len(data) // n) * n].view(-1, n)
    model.eval()
    with torch.no_grad():
        total = sum(
            float(model.loss(windows[i : i + 64])) * len(windows[i : i + 64]) for i in range(0, len(windows), 64)
        )
    return total / len(windows)


def perplexity(loss: float) -> float:
    return math.exp(loss)
