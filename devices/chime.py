"""The ding-dong before a call, synthesised in code.

Generated rather than shipped as a sound file so that it always matches the speech WAV's
format (22050 Hz mono 16-bit from espeak-ng) and can be concatenated sample for sample
without resampling; and so there is no binary asset of unknown licence in the repository.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

SAMPLE_RATE = 22050
# A falling major third (E6 → C6), the classic two-tone hall chime.
DING_HZ = 1318.5
DONG_HZ = 1046.5


def _tone(freq: float, seconds: float, rate: int, amplitude: float) -> list[int]:
    """A bell-like tone: fast attack, exponential decay, a soft octave overtone."""
    count = int(seconds * rate)
    attack = max(1, int(0.005 * rate))
    out: list[int] = []
    for i in range(count):
        t = i / rate
        envelope = min(1.0, i / attack) * math.exp(-3.5 * t / seconds)
        value = math.sin(2 * math.pi * freq * t) + 0.25 * math.sin(4 * math.pi * freq * t)
        out.append(int(max(-1.0, min(1.0, amplitude * envelope * value / 1.25)) * 32767))
    return out


def chime_samples(rate: int = SAMPLE_RATE, volume: float = 0.6) -> list[int]:
    """Signed 16-bit samples of ding (0.45 s) then dong (0.75 s)."""
    return _tone(DING_HZ, 0.45, rate, volume) + _tone(DONG_HZ, 0.75, rate, volume)


def silence_samples(seconds: float, rate: int = SAMPLE_RATE) -> list[int]:
    return [0] * int(seconds * rate)


def samples_to_bytes(samples: list[int]) -> bytes:
    """Little-endian 16-bit PCM, as WAV stores it."""
    return struct.pack(f"<{len(samples)}h", *samples)


def chime_pcm(rate: int = SAMPLE_RATE, volume: float = 0.6) -> bytes:
    return samples_to_bytes(chime_samples(rate, volume))


def write_wav(path: Path | str, pcm: bytes, rate: int = SAMPLE_RATE) -> Path:
    """Write mono 16-bit PCM as a WAV file."""
    path = Path(path)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path
