"""The bundle's executable: the same `frontdesk` command as the pip-installed script."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["--frontdesk-speech-process"]:  # engine.speech.process's child: Whisper
        from engine.speech.process import main as speech_process  # alone, no window, no Qt

        sys.exit(speech_process(sys.argv[2:]))
    if sys.argv[1:2] == ["--frontdesk-assistant-process"]:  # engine.assistant_process's child:
        from engine.assistant_process import main as assistant_process  # the models, no Qt

        sys.exit(assistant_process(sys.argv[2:]))
    from desktop.cli import main

    sys.exit(main())
