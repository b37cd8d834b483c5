"""`frontdesk transcribe FILE...`: speech to text from audio files, with timings."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "transcribe",
        help="transcribe audio files (wav, flac, mp3, ...) offline",
        description="Transcribe audio files with Whisper, offline. Prints the text with timings.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files")
    parser.add_argument(
        "--backend",
        choices=("faster-whisper", "openai-whisper"),
        default="faster-whisper",
        help="faster-whisper (CTranslate2, default) or openai-whisper (torch)",
    )
    parser.add_argument(
        "--model",
        help="'tiny.en' (bundled, default), 'base', a CTranslate2 folder or a .pt checkpoint",
    )
    parser.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the transcriber once, then transcribe each file; a bad file fails alone."""
    from engine.errors import InputError
    from engine.paths import home
    from engine.speech.transcribe import load_transcriber

    transcriber = load_transcriber(args.backend, args.model, args.device, home(args.home))
    failures = 0
    for path in args.files:
        try:
            transcript = transcriber.transcribe(path)
        except InputError as err:
            failures += 1
            if args.json:
                print(json.dumps({"file": str(path), "error": str(err)}))
            else:
                print(f"frontdesk: {err}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({"file": str(path), **transcript.to_dict()}, ensure_ascii=False))
        else:
            print(
                f"{path}: {transcript.duration_s:.1f} s of audio in {transcript.elapsed_s:.2f} s "
                f"(RTF {transcript.real_time_factor:.3f}, {transcript.backend} "
                f"{transcript.model}, {transcript.language})"
            )
            print(transcript.text or "(no speech)")
    return InputError.exit_code if failures else 0
