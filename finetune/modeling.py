"""Encoder with a word-shape (casing) feature, the two task heads, and the small save/load format."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from finetune.base import resolve_base
from finetune.errors import ModelError

SHAPES = ("pad", "lower", "title", "upper", "mixed", "number", "alnum", "punct")
LORA_TARGETS = ["query", "key", "value", "dense"]


def word_shape(word: str) -> int:
    """Casing class of a word (index into SHAPES); the base encoder is uncased, so this restores the signal."""
    if word.isdigit():
        return 5
    if any(c.isdigit() for c in word):
        return 6
    if not any(c.isalpha() for c in word):
        return 7
    letters = [c for c in word if c.isalpha()]
    if all(c.islower() for c in letters):
        return 1
    if all(c.isupper() for c in letters):
        return 3 if len(letters) > 1 else 2
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return 2
    return 4


class ShapeEncoder(nn.Module):
    """A Hugging Face encoder whose input embeddings get a learned casing-class embedding added per sub-token."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.shape = nn.Embedding(len(SHAPES), hidden, padding_idx=0)
        nn.init.zeros_(self.shape.weight)  # starts as a no-op on the pretrained embeddings

    @property
    def hidden_size(self) -> int:
        return self.encoder.config.hidden_size

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, shape_ids: torch.Tensor) -> torch.Tensor:
        emb = self.encoder.get_input_embeddings()(input_ids) + self.shape(shape_ids)
        return self.encoder(inputs_embeds=emb, attention_mask=attention_mask).last_hidden_state


class TaggerModel(nn.Module):
    """Token tagging (document NER), and optionally a sentence-level path classifier (joint question model).

    With `crf=True` a linear-chain CRF (pytorch-crf) scores tag sequences over each window's labelled words
    (first sub-tokens): trained by its log-likelihood, decoded by Viterbi."""

    def __init__(self, body: ShapeEncoder, n_tags: int, n_paths: int = 0, dropout: float = 0.1,
                 crf: bool = False) -> None:
        super().__init__()
        self.body = body
        self.dropout = nn.Dropout(dropout)
        self.tagger = nn.Linear(body.hidden_size, n_tags)
        self.paths = nn.Linear(body.hidden_size, n_paths) if n_paths else None
        self.crf: nn.Module | None = None
        if crf:
            from torchcrf import CRF

            self.crf = CRF(n_tags, batch_first=True)

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.dropout(self.body(batch["input_ids"], batch["attention_mask"], batch["shape_ids"]))
        tag_logits = self.tagger(h)
        path_logits = self.paths(h[:, 0]) if self.paths is not None else None
        return tag_logits, path_logits

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        tag_logits, path_logits = self(batch)
        labels = batch["labels"]
        if self.crf is not None:
            emissions, order, mask = _words(tag_logits.float(), labels != -100)
            tags = labels.gather(1, order).clamp_min(0)  # masked steps and word-less rows: any valid id
            loss = -self.crf(emissions, tags, mask, reduction="token_mean")
        else:
            loss = nn.functional.cross_entropy(tag_logits.flatten(0, 1).float(), labels.flatten(), ignore_index=-100)
        if path_logits is not None:
            loss = loss + nn.functional.cross_entropy(path_logits.float(), batch["path_labels"])
        return loss

    def decode(self, tag_logits: torch.Tensor, words: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(prob, tag id) per sub-token: the arg-max, or with a CRF the Viterbi path over `words` (a bool mask
        of the sub-tokens that carry a word's tag); prob is the softmax probability of the chosen tag."""
        probs = tag_logits.float().softmax(-1)
        tags = probs.argmax(-1)
        if self.crf is not None and words is not None and bool(words.any()):
            emissions, order, mask = _words(tag_logits.float(), words)
            best = self.crf.decode(emissions, mask)
            path = torch.zeros_like(order)
            for r, seq in enumerate(best):
                path[r, :len(seq)] = torch.tensor(seq, device=order.device)
            keep = mask & words.gather(1, order)
            tags = tags.scatter(1, order, torch.where(keep, path, tags.gather(1, order)))
        return probs.gather(-1, tags[..., None]).squeeze(-1), tags

    def head_state(self) -> dict[str, torch.Tensor]:
        sd = {f"shape.{k}": v for k, v in self.body.shape.state_dict().items()}
        sd |= {f"tagger.{k}": v for k, v in self.tagger.state_dict().items()}
        if self.paths is not None:
            sd |= {f"paths.{k}": v for k, v in self.paths.state_dict().items()}
        if self.crf is not None:
            sd |= {f"crf.{k}": v for k, v in self.crf.state_dict().items()}
        return {k: v.detach().float().cpu().contiguous() for k, v in sd.items()}

    def load_head_state(self, sd: dict[str, torch.Tensor]) -> None:
        parts: dict[str, nn.Module | None] = {"shape": self.body.shape, "tagger": self.tagger, "paths": self.paths,
                                              "crf": self.crf}
        for name, mod in parts.items():
            sub = {k.split(".", 1)[1]: v for k, v in sd.items() if k.startswith(name + ".")}
            if mod is not None:
                mod.load_state_dict(sub)


def _words(logits: torch.Tensor, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gather the word positions of each row to the front: (emissions [B, W, T], positions [B, W], mask [B, W]).

    A row without words keeps one masked-in position (pytorch-crf needs every first step on); callers drop it."""
    counts = words.sum(1)
    width = max(1, int(counts.max()))
    order = torch.argsort((~words).to(torch.int8), dim=1, stable=True)[:, :width]
    mask = torch.arange(width, device=words.device)[None] < counts[:, None]
    mask[:, 0] = True
    return logits.gather(1, order[..., None].expand(-1, -1, logits.shape[-1])), order, mask


def build_model(base: str | Path | None, n_tags: int, n_paths: int = 0, adapter: str = "lora", lora_r: int = 32,
                lora_alpha: int | None = None, lora_dropout: float = 0.05,
                word_shape: bool = True, crf: bool = False) -> tuple[TaggerModel, object]:
    """A fresh trainable model and its tokenizer; with adapter='lora' only LoRA, shape and heads train.

    `word_shape=False` freezes the casing embedding at zero (the model then sees the uncased text only)."""
    from transformers import AutoModel, AutoTokenizer

    folder = resolve_base(base)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if not getattr(tok, "is_fast", False):
        raise ModelError(f"{folder}: a fast tokenizer (tokenizer.json) is needed for word alignment")
    enc = AutoModel.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
    if adapter == "lora":
        from peft import LoraConfig, get_peft_model

        enc = get_peft_model(enc, LoraConfig(r=lora_r, lora_alpha=lora_alpha or 2 * lora_r, lora_dropout=lora_dropout,
                                             target_modules=LORA_TARGETS))
    elif adapter != "full":
        raise ValueError(f"adapter must be 'lora' or 'full', got {adapter!r}")
    model = TaggerModel(ShapeEncoder(enc), n_tags, n_paths, crf=crf)
    model.body.shape.weight.requires_grad_(word_shape)
    return model, tok


def save_model(model: TaggerModel, tokenizer: object, folder: str | Path, labels: dict, card: dict) -> Path:
    """Write adapter (or full encoder) + heads as safetensors, tokenizer files, labels.json, model_card.json."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    enc = model.body.encoder
    if card["adapter"] == "lora":
        from peft import get_peft_model_state_dict

        sd = get_peft_model_state_dict(enc)
        save_file({k: v.detach().float().cpu().contiguous() for k, v in sd.items()}, folder / "adapter.safetensors")
    else:
        sd = enc.state_dict()
        save_file({k: v.detach().float().cpu().contiguous() for k, v in sd.items()}, folder / "encoder.safetensors")
    save_file(model.head_state(), folder / "heads.safetensors")
    tokenizer.save_pretrained(folder)
    (folder / "labels.json").write_text(json.dumps(labels, indent=1), encoding="utf-8")
    (folder / "model_card.json").write_text(json.dumps(card, indent=1), encoding="utf-8")
    return folder


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> tuple[TaggerModel, object, dict, dict]:
    """Rebuild a saved model for inference (LoRA merged into the base weights). Returns (model, tok, labels, card).
    A missing, broken or foreign folder raises ModelError naming the file."""
    folder = Path(folder)
    if not (folder / "model_card.json").is_file():
        raise ModelError(f"{folder}: not a kgreason model folder (no model_card.json)")
    card, labels = _model_json(folder / "model_card.json"), _model_json(folder / "labels.json")
    try:
        return _rebuild(folder, card, labels, device)
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError, OSError, RuntimeError) as exc:  # a broken or foreign folder
        raise ModelError(f"{folder}: cannot load the model ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None


def _model_json(path: Path) -> dict:
    """A model folder's JSON file; ModelError naming file:line:col when it is missing or not JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing (not a complete kgreason model folder)") from None
    except (OSError, UnicodeError) as exc:
        raise ModelError(f"{path}: cannot read ({' '.join(str(exc).split())})") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


def _rebuild(folder: Path, card: dict, labels: dict, device: str | torch.device) -> tuple:
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    base = resolve_base(card["base"])
    enc = AutoModel.from_pretrained(base, local_files_only=True, dtype=torch.float32)
    hp = card["hyperparameters"]
    if card["adapter"] == "lora":
        merge_lora(enc, load_file(folder / "adapter.safetensors"), hp["lora_alpha"] / hp["lora_r"],
                   f"{folder}/adapter.safetensors")
    else:
        enc.load_state_dict(load_file(folder / "encoder.safetensors"))
    model = TaggerModel(ShapeEncoder(enc), len(labels["tags"]), len(labels.get("paths", [])), crf=hp.get("crf", False))
    model.load_head_state(load_file(folder / "heads.safetensors"))
    return model.to(device).eval(), tok, labels, card


def load_for_inference(folder: Path, device: str | torch.device, int8: bool | str, name: str, verb: str) -> tuple:
    """(model, tokenizer, labels, card) of a saved model, int8-quantised when asked (True or "all": every encoder
    Linear; "attention": the attention projections only); a clear error if none is there."""
    if not (folder / "model_card.json").is_file():
        raise ModelError(f"no {name} model at {folder}: train one with `kgreason finetune {verb}` "
                         "and pass its folder as model_dir")
    model, tok, labels, card = load_model(folder, device)
    if int8:
        model = quantize_int8(model, "all" if int8 is True else str(int8))
    return model, tok, labels, card


def merge_lora(encoder: nn.Module, adapter: dict[str, torch.Tensor], scaling: float, source: str) -> None:
    """Fold a saved LoRA adapter into the encoder's weights in place: W += scaling * B @ A.

    The same arithmetic as peft's `merge_and_unload` for plain LoRA, without importing peft at start-up
    (2.5 s of the chat's warm start). Keys are peft's: `base_model.model.<module>.lora_{A,B}.weight`."""
    params = dict(encoder.named_parameters())
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in adapter.items():
        module, _, part = key.removeprefix("base_model.model.").rpartition(".lora_")
        if part not in ("A.weight", "B.weight") or f"{module}.weight" not in params:
            raise ModelError(f"{source} does not fit the base encoder: unexpected tensor {key!r}")
        pairs.setdefault(module, {})[part[0]] = value
    with torch.no_grad():
        for module, ab in pairs.items():
            if set(ab) != {"A", "B"}:
                raise ModelError(f"{source}: {module} lacks lora_A or lora_B")
            params[f"{module}.weight"] += scaling * (ab["B"].float() @ ab["A"].float())


INT8_SCOPES = ("all", "attention")


def quantize_int8(model: TaggerModel, scope: str = "all") -> TaggerModel:
    """Dynamic int8 quantisation (per-channel weights) of the encoder's Linear layers, for CPU inference.

    `scope="attention"` quantises only the attention projections (query/key/value/output): on CoNLL valid it
    kept F1 within 0.1 of float while `"all"` cost about 0.8. The shape embedding and the task heads stay float.
    Returns a new module; `model` is left as it is."""
    import copy
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    if scope not in INT8_SCOPES:
        raise ValueError(f"int8 scope must be one of {', '.join(INT8_SCOPES)}, got {scope!r}")
    q = copy.deepcopy(model).cpu().eval()
    enc = q.body.encoder
    spec = {name: per_channel_dynamic_qconfig for name, mod in enc.named_modules()
            if isinstance(mod, nn.Linear) and (scope == "all" or ".attention." in f".{name}.")}
    with warnings.catch_warnings():  # torch flags its quantised-tensor constructors as deprecated
        warnings.simplefilter("ignore", UserWarning)
        q.body.encoder = quantize_dynamic(enc, spec, dtype=torch.qint8)
    return q
