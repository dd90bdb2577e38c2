"""OpenRouter's multimodal chat: images, audio and video in, images out, and the model catalogue."""
