"""Google Gemini provider plugin for the gateway (Gemini API and Vertex AI, through google-genai)."""
