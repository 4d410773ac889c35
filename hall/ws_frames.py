"""A WebSocket text frame as a server sends it, built once and written to many connections
(hall/ws_direct.py says why). Pure."""

from __future__ import annotations

import struct


def text_frame(payload: bytes) -> bytes:
    """RFC 6455 §5.2: one final, unmasked text frame (a server never masks) carrying
    `payload`, its length in 7, 16 or 64 bits as the RFC requires for its size."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, size)
    else:
        head = struct.pack("!BBQ", 0x81, 127, size)
    return head + payload
