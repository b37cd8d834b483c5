"""`frontdesk ask "TEXT"`: one customer message in, intent + entities + draft out.

A thin layer over `Assistant.respond`: the message (and any --history) is stored in a session
like any other conversation, so what the CLI answered can be reviewed and exported later.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.errors import InputError
from engine.types import ROLES, Reply, Turn


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ask",
        help="intent, entities and a draft answer for one customer message",
        description="Name the intent of a customer message and draft an answer from the "
        "knowledge base. The message and the reply are kept in the session store.",
    )
    parser.add_argument(
        "text", metavar="TEXT", nargs="?", default=None,
        help='the customer message ("-" reads stdin); leave out with --audio or --image',
    )
    parser.add_argument(
        "--audio", type=Path, metavar="FILE",
        help="a recording of the message: transcribed with Whisper, kept with the turn",
    )
    parser.add_argument(
        "--image", type=Path, metavar="FILE",
        help="a screenshot the customer sent: OCRed, read with the fused model, kept with the turn",
    )
    parser.add_argument(
        "--history",
        type=Path,
        metavar="FILE",
        help="earlier turns: JSONL or a JSON list of {role, text} (role: customer|agent)",
    )
    parser.add_argument("--session", type=int, metavar="ID", help="add to this session")
    parser.add_argument("--model", type=Path, metavar="DIR", help="intent model folder")
    parser.add_argument("--knowledge", type=Path, metavar="DIR", help="knowledge-base folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read the input, answer it, print the reply."""
    if args.text is None and args.audio is None and args.image is None:
        raise InputError("Give the customer's message as TEXT, a recording with --audio, "
                         "or a screenshot with --image.")
    text = read_message(args.text) if args.text is not None else ""
    history = read_history(args.history) if args.history else []
    from engine.assistant import Assistant, checked_text

    if args.image is not None:  # refuse a bad image before loading any model
        from engine.vision.ocr import open_image

        open_image(args.image)
    if args.audio is None and args.image is None:
        checked_text(text)  # refuse bad input before loading the model
    elif args.audio is not None:  # missing, not audio, or over the length limit
        if not args.audio.is_file():
            raise InputError(f"No audio file at {args.audio}.")
        from engine.store.media import read_media

        read_media("audio", args.audio)
    with Assistant(home=args.home, model=args.model, knowledge=args.knowledge) as assistant:
        session_id, reply = ask(
            assistant, text, history, session_id=args.session, audio=args.audio,
            image=args.image,
        )
    if args.json:  # Reply.to_dict, plus the session so a script can continue it (--session)
        print(json.dumps({**reply.to_dict(), "session": session_id}, ensure_ascii=False))
    else:
        print(format_reply(reply, session_id))
    return 0


def ask(
    assistant,
    text: str,
    history: list[Turn],
    session_id: int | None = None,
    audio: Path | None = None,
    image: Path | None = None,
) -> tuple[int, Reply]:
    """Store `history` then answer `text` (with the recording `audio` or the screenshot
    `image`, either of which may stand alone) in `session_id`."""
    source = "typed"
    if not text.strip():
        source = "voice" if audio else "image" if image else "typed"
    created = session_id is None
    if session_id is None:
        media = audio or image
        title = text[:60] if text.strip() else f"{source}: {media.name if media else ''}"
        session_id = assistant.new_session(channel="cli", title=title)
    try:
        for turn in history:
            assistant.add_turn(session_id, turn)
        turn = Turn(text=text, source=source, audio=audio, images=[image] if image else [])
        return session_id, assistant.respond(session_id, turn)
    except BaseException:
        if created:  # its first turn was refused (or the disk is full): leave no empty session
            assistant.store.discard_empty_session(session_id)
        raise


def format_reply(reply: Reply, session_id: int) -> str:
    """A short block a person reads in a terminal."""
    lines = [f"intent    {reply.intent}  ({reply.level}, {reply.confidence:.0%})"]
    others = [f"{name} {score:.0%}" for name, score in reply.top if name != reply.intent]
    if others:
        lines.append(f"also      {', '.join(others)}")
    if reply.entities:
        lines.append("entities  " + ", ".join(f"{e.type}={e.value}" for e in reply.entities))
    lines.append(f"source    {reply.source or '-'}")
    if reply.evidence.transcript:
        lines.append(f"heard     {reply.evidence.transcript}")
    for box in reply.evidence.boxes:
        lines.append(f"seen      {box.text!r} ({box.weight:.2f})")
    lines.append("draft")
    lines += [f"  {line}" for line in (reply.draft or "-").splitlines()]
    lines.append(f"(session {session_id}, turn {reply.turn_id}, reply {reply.id}, "
                 f"{reply.latency_ms:.0f} ms)")
    return "\n".join(lines)


def read_message(text: str) -> str:
    """The TEXT argument (or stdin for "-"), refused in one sentence if not UTF-8."""
    if text == "-":
        raw = sys.stdin.buffer.read()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputError("The message on stdin is not UTF-8 text.") from err
    try:
        text.encode("utf-8")  # undecodable argv bytes arrive as lone surrogates
    except UnicodeEncodeError as err:
        raise InputError("The message is not UTF-8 text.") from err
    return text


def read_history(path: Path) -> list[Turn]:
    """Turns from JSONL or a JSON list of {role, text}; one sentence naming the file if bad."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as err:
        raise InputError(f"No history file at {path}.") from err
    except UnicodeDecodeError as err:
        raise InputError(f"The history file {path.name} is not UTF-8 text.") from err
    except OSError as err:
        raise InputError(f"The history file {path} cannot be read ({err.strerror}).") from err
    stripped = raw.strip()
    if not stripped:
        return []
    items: list[tuple[int, object]]
    if stripped.startswith("["):
        try:
            items = list(enumerate(json.loads(stripped), 1))
        except json.JSONDecodeError as err:
            raise InputError(f"The history file {path.name} is not valid JSON.") from err
        except RecursionError as err:
            raise InputError(f"The history file {path.name} is nested too deeply to be a "
                             "list of turns.") from err
    else:
        items = []
        for number, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    items.append((number, json.loads(line)))
                except json.JSONDecodeError as err:
                    raise InputError(
                        f"Line {number} of {path.name} is not valid JSON.") from err
                except RecursionError as err:
                    raise InputError(
                        f"Line {number} of {path.name} is nested too deeply to be a turn.") \
                        from err
    return [_history_turn(item, number, path.name) for number, item in items]


def _history_turn(item: object, number: int, name: str) -> Turn:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise InputError(f"Entry {number} of {name} needs a `text` string.")
    role = item.get("role", "customer")
    if role not in ROLES:
        raise InputError(f"Entry {number} of {name} has role {role!r}; use customer or agent.")
    return Turn(text=item["text"], role=role, source="typed")
