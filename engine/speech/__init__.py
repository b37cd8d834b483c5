"""Speech: audio files, the microphone recorder, Whisper transcription and its models."""
