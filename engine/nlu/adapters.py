"""LoRA adapters on the encoder's attention (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large
Language Models"), injected with peft.

A retrain with adapters (`frontdesk retrain --adapters`) trains two small matrices beside the
query and value projections of the layers the model tunes (its top `trainable_layers`), and the
head; every other weight stays as it is. So a version folder holds only what changed:
  config.json            IntentConfig; `adapters` = {rank, alpha, targets, layers, base,
                         base_version}: the version they were trained on, by name and model id
  model.safetensors      the head
  adapters.safetensors   the LoRA matrices (fp32, a few hundred KB)
Loading (`IntentModel.load`) loads the base (the shipped model or the version beside this one
named in `base`, itself possibly an adapter version), checks that it is the very model the
adapters were trained on, merges the adapters into its weights (a reply costs what it cost
before) and puts the head on. A base deleted by hand makes the version unusable, in one sentence.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.errors import ModelError
from engine.model_folder import weights_version
from engine.nlu.model_files import ADAPTERS_FILE, CONFIG_FILE, DEFAULT_FOLDER, WEIGHTS_FILE

TARGETS = ["query", "value"]
LORA = "lora_"


def spec(model, base: str, rank: int = 8, alpha: int = 16) -> dict:
    """What `attach` injects into `model` (a loaded base called `base`: "default" or "v00N")."""
    layers = list(range(model.frozen_layers, len(model.bert.encoder.layer)))
    return {"rank": rank, "alpha": alpha, "targets": TARGETS, "layers": layers, "base": base,
            "base_version": model.version}


def attach(model, adapters: dict) -> None:
    """Inject fresh LoRA modules (B = 0: the model's output is unchanged until trained)."""
    from peft import LoraConfig, inject_adapter_in_model

    layers = "|".join(str(i) for i in adapters["layers"])
    targets = "|".join(adapters["targets"])
    config = LoraConfig(r=adapters["rank"], lora_alpha=adapters["alpha"], lora_dropout=0.0,
                        target_modules=rf"encoder\.layer\.({layers})\.attention\.self\.({targets})")
    inject_adapter_in_model(config, model.bert)
    model.config.adapters = dict(adapters)
    model.adapter_state = None  # the live LoRA parameters are the state now


def lora_parameters(model) -> dict[str, torch.nn.Parameter]:
    """The injected LoRA parameters by name (empty once merged)."""
    return {name: p for name, p in model.bert.named_parameters() if LORA in name}


def trained_state(model) -> dict[str, torch.Tensor]:
    """What an adapter model's training changes: the LoRA matrices and the head."""
    live = {_key(name): p for name, p in lora_parameters(model).items()}
    state = live or dict(model.adapter_state or {})
    state.update({f"head.{name}": t for name, t in model.head.state_dict().items()})
    return state


def save(model, folder: Path) -> None:
    """Write config.json, the head (model.safetensors) and the adapters (adapters.safetensors)."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: t.detach().float().cpu().contiguous() for k, t in trained_state(model).items()}
    head = {k: t for k, t in state.items() if k.startswith("head.")}
    lora = {k: t for k, t in state.items() if not k.startswith("head.")}
    meta = {"format": "pt", "base": model.config.base}
    save_file(head, str(folder / WEIGHTS_FILE), metadata=meta)
    save_file(lora, str(folder / ADAPTERS_FILE), metadata=meta)
    model.config.version = weights_version("intent", folder / WEIGHTS_FILE, folder / ADAPTERS_FILE)
    (folder / CONFIG_FILE).write_text(json.dumps(asdict(model.config), indent=2) + "\n")
    model.folder = folder


def base_folder(folder: Path, adapters: dict) -> Path:
    """Where the model the adapters were trained on lives."""
    name = adapters.get("base")
    return DEFAULT_FOLDER if name == "default" else Path(folder).parent / str(name)


def load(folder: Path, config, model):
    """`model` (the base that `folder`'s adapters were trained on, already checked by
    IntentModel.load) with those adapters merged in and the head of `folder` on."""
    adapters = config.adapters
    try:
        head, lora = load_file(str(folder / WEIGHTS_FILE)), load_file(str(folder / ADAPTERS_FILE))
    except (SafetensorError, OSError) as err:
        raise ModelError(f"The weights in {folder} are damaged or not safetensors.") from err
    config.trainable_layers = model.config.trainable_layers
    model.config = config
    attach(model, adapters)
    live = {_key(name): p for name, p in lora_parameters(model).items()}
    shape = (len(config.labels), model.head.in_features)
    if set(live) != set(lora) or set(head) != {"head.weight", "head.bias"} \
            or tuple(head["head.weight"].shape) != shape:
        raise ModelError(f"The weights in {folder} do not match its config.json "
                         "(unknown, missing or misshapen tensors).")
    with torch.no_grad():
        for name, tensor in lora.items():
            if tensor.shape != live[name].shape:
                raise ModelError(f"The weights in {folder} have the wrong shape for {name}.")
            live[name].copy_(tensor)
        model.head = torch.nn.Linear(shape[1], shape[0])
        model.head.weight.copy_(head["head.weight"])
        model.head.bias.copy_(head["head.bias"])
    merge(model)
    model.folder = folder
    return model


def merge(model) -> None:
    """Fold the LoRA matrices into the weights and drop the wrappers (kept for a later save)."""
    from peft.tuners.lora import LoraLayer

    model.adapter_state = {k: t.detach().clone() for k, t in trained_state(model).items()
                           if not k.startswith("head.")}
    wrapped = [(name, m) for name, m in model.bert.named_modules() if isinstance(m, LoraLayer)]
    with torch.no_grad():
        for name, module in wrapped:
            module.merge()
            parent, _, child = name.rpartition(".")
            setattr(model.bert.get_submodule(parent), child, module.get_base_layer())


def _key(name: str) -> str:
    """peft's parameter name without the adapter name: ...query.lora_A.default.weight ->
    encoder.layer.4.attention.self.query.lora_A.weight"""
    return name.replace(".default.", ".")
