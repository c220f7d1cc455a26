"""An example provider plugin for the gateway: the ``echo`` kind, over a tiny JSON/NDJSON API with httpx."""
