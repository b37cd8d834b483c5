"""Audio decoding: real clips and variants of them (stereo 44.1 kHz, 8 kHz telephone, truncated,
corrupt), each either decoded to 16 kHz mono float32 or refused in one clear sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputError
from engine.speech.audio import (
    SAMPLE_RATE,
    StreamResampler,
    as_audio_array,
    load_audio,
    resample,
    save_wav,
    to_mono_16k,
)
from tests.recordings import write_wav


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def test_flac_decodes_to_16k_mono_float32(jfk: Path) -> None:
    audio = load_audio(jfk)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / SAMPLE_RATE - 11.0) < 0.05
    assert 0.1 < np.abs(audio).max() <= 1.0


def test_every_clip_in_the_shared_folder_decodes(speech_dir: Path) -> None:
    for path in sorted((speech_dir / "audio").iterdir()):
        audio = load_audio(path)
        assert audio.size > SAMPLE_RATE, path.name  # every clip is over a second long


def test_stereo_44k_file_is_mixed_down_and_resampled(jfk: Path, tmp_path: Path) -> None:
    mono = load_audio(jfk)
    at_44k = resample(mono, SAMPLE_RATE, 44_100)
    stereo = np.stack([0.9 * at_44k, 0.5 * at_44k], axis=1)
    decoded = load_audio(write_wav(tmp_path / "stereo.wav", stereo, 44_100))
    assert abs(len(decoded) - len(mono)) < SAMPLE_RATE * 0.01
    assert _similarity(decoded, mono) > 0.99


def test_8k_telephone_audio_is_upsampled(jfk: Path, tmp_path: Path) -> None:
    mono = load_audio(jfk)
    phone = resample(mono, SAMPLE_RATE, 8_000)
    decoded = load_audio(write_wav(tmp_path / "phone.wav", phone, 8_000))
    assert abs(len(decoded) - len(mono)) < SAMPLE_RATE * 0.01
    band_limited = resample(phone, 8_000, SAMPLE_RATE)
    assert _similarity(decoded, band_limited) > 0.99


def test_truncated_file_keeps_what_is_there(jfk: Path, tmp_path: Path) -> None:
    wav = save_wav(load_audio(jfk), tmp_path / "full.wav")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(wav.read_bytes()[: wav.stat().st_size // 2])
    audio = load_audio(cut)
    assert 5.0 < len(audio) / SAMPLE_RATE < 6.0


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.wav", b"", "empty"),
        ("notes.wav", b"the customer wants a refund\n" * 20, "not a readable audio file"),
        ("noise.mp3", bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)),
         "not a readable audio file"),
    ],
)
def test_bad_files_are_refused_in_one_sentence(
    tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=words) as caught:
        load_audio(path)
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".")
    assert str(tmp_path) not in message  # the file's name, not the whole path


def test_image_file_has_no_audio_track(shared_data: Path) -> None:
    with pytest.raises(InputError, match="no audio track"):
        load_audio(shared_data / "screenshots" / "pytesseract" / "test.png")


def test_wav_header_without_samples_is_refused(jfk: Path, tmp_path: Path) -> None:
    wav = save_wav(load_audio(jfk)[:0], tmp_path / "header_only.wav")
    with pytest.raises(InputError, match="no audio samples"):
        load_audio(wav)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_audio(tmp_path / "nowhere.flac")


def test_save_wav_round_trip(jfk: Path, tmp_path: Path) -> None:
    audio = load_audio(jfk)
    again = load_audio(save_wav(audio, tmp_path / "copy.wav"))
    assert len(again) == len(audio)
    assert np.abs(again - audio).max() < 1e-3  # 16-bit quantisation


def test_arrays_are_checked() -> None:
    with pytest.raises(InputError, match="mono"):
        as_audio_array(np.zeros((100, 2), dtype=np.float32))
    with pytest.raises(InputError, match="NaN"):
        as_audio_array(np.array([0.0, np.nan], dtype=np.float32))
    pcm = np.array([0, 16384, -32767], dtype=np.int16)
    assert np.allclose(as_audio_array(pcm), [0.0, 0.5, -1.0], atol=1e-4)


def test_stream_resampler_matches_one_shot_resampling(jfk: Path) -> None:
    """The recorder resamples block by block; it must equal resampling the whole clip."""
    audio = load_audio(jfk)
    at_48k = resample(audio, SAMPLE_RATE, 48_000)
    stream = StreamResampler(48_000)
    blocks = [stream.push(at_48k[i : i + 2400]) for i in range(0, len(at_48k), 2400)]
    joined = np.concatenate(blocks + [stream.flush()])
    assert abs(len(joined) - len(audio)) <= 2
    assert _similarity(joined, audio) > 0.999
    assert np.allclose(to_mono_16k(np.stack([at_48k, at_48k], 1), 48_000)[:1000],
                       resample(at_48k, 48_000, SAMPLE_RATE)[:1000])


def test_decoding_needs_only_pyav_not_faster_whisper(jfk: Path) -> None:
    """Playing a voice turn back decodes it in the window's process: that must not import
    faster-whisper (CTranslate2, tokenizers). Checked in a fresh interpreter; the samples are
    what faster-whisper's own decoder gives (16-bit, scaled), within float rounding."""
    import subprocess
    import sys

    from faster_whisper.audio import decode_audio

    code = ("import sys; from engine.speech.audio import load_audio; "
            f"n = len(load_audio({str(jfk)!r})); "
            "print(n, sorted(m for m in ('faster_whisper', 'ctranslate2', 'tokenizers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2]).stdout.split(maxsplit=1)
    theirs = decode_audio(str(jfk), sampling_rate=SAMPLE_RATE)
    assert int(out[0]) == len(theirs) and out[1].strip() == "[]"
    assert np.abs(load_audio(jfk) - theirs).max() < 1e-6
