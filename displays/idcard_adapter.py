"""ID card readers at the kiosks: each read goes to its own kiosk's page, and nowhere else.

One `IdCardReader` per `[[devices]]` of kind `idcard`, keyed by the `kiosk` it sits in. A
card read is handed to `hall.card_reads.CardReads.post(kiosk, …)`, which keeps it in memory
under a random token and pushes the masked name and number to the pages of that kiosk
(`/ws/kiosk`, authenticated by the kiosk's device credential: hall/real_name_api.py). Not
to the public `/ws`: anyone in the hall can open that one, and a read is a person's.

Nothing is logged of a read but that it happened; the driver never hands over the photo.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from devices.idcard import UNSUPPORTED_TYPE, CardFailure, IdCard, IdCardReader
from displays.led_adapter import device_row
from hall.card_reads import UNREADABLE, UNSUPPORTED, CardReads
from hall.config import Device

log = logging.getLogger(__name__)

ReaderFactory = Callable[[Device], IdCardReader]


class KioskCardReaders:
    def __init__(self, devices: Sequence[Device], reads: CardReads,
                 reader_factory: ReaderFactory | None = None) -> None:
        self.reads = reads
        make = reader_factory or (lambda d: IdCardReader(d.name, d.url, d.baudrate))
        self.entries: list[tuple[Device, IdCardReader]] = []
        self._unused: dict[str, str] = {}
        kiosks: set[str] = set()
        for device in devices:
            if device.kind != "idcard" or not device.kiosk:
                continue
            reader = make(device)
            self.entries.append((device, reader))
            if device.kiosk in kiosks:  # one card slot per kiosk: the first reader wins
                self._unused[device.name] = f"unused: {device.kiosk} already has a reader"
            kiosks.add(device.kiosk)

    async def start(self) -> None:
        for device, reader in self.entries:
            if device.name in self._unused:
                continue
            kiosk = device.kiosk or ""
            reader.on_read = self._on_read(kiosk)
            reader.on_failure = self._on_failure(kiosk, device.name)
            self.reads.attach_reader(kiosk, reader.health)
            reader.start()

    async def stop(self) -> None:
        for device, reader in self.entries:
            if device.name not in self._unused:
                self.reads.detach_reader(device.kiosk or "")
            await reader.stop()

    def health(self) -> list[dict[str, Any]]:
        return [device_row(d, self._unused.get(d.name) or r.health()) for d, r in self.entries]

    def _on_read(self, kiosk: str) -> Callable[[IdCard], Any]:
        async def on_read(card: IdCard) -> None:
            message = self.reads.post(kiosk, card.name, card.id_number)
            log.info("id card read at %s: %s", kiosk, message["type"])

        return on_read

    def _on_failure(self, kiosk: str, name: str) -> Callable[[CardFailure], Any]:
        async def on_failure(failure: CardFailure) -> None:
            log.info("id card reader %s: card not read (%s)", name, failure.reason)
            self.reads.fail(kiosk, UNSUPPORTED if failure.reason == UNSUPPORTED_TYPE
                            else UNREADABLE)

        return on_failure
