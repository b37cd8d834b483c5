"""What a text-model folder holds, by file name, and where the shipped one lives."""

from engine.paths import ASSETS

DEFAULT_FOLDER = ASSETS / "models" / "default"
WEIGHTS_FILE = "model.safetensors"  # the whole model, or an adapter model's head
CONFIG_FILE = "config.json"
ADAPTERS_FILE = "adapters.safetensors"  # LoRA matrices over a base (engine.nlu.adapters)
