"""Kiosk ticket printers: refuse before a number is used, print after it is committed.

One `TicketPrinter` per `[[devices]]` kind `printer`, keyed by the `kiosk` it serves.

* `service.issue_guards[kiosk]` asks the printer's real-time status (DLE EOT) before the
  service takes a number, so a kiosk out of paper answers 503 `printer_not_ready` with the
  reason (缺纸, 盖未关 …) and no number is consumed (domain.md).
* `service.on_issued` prints the committed ticket: what domain.md lists for a paper ticket
  (hall, queue, service, number, people ahead, estimated wait, time of issue, materials, the
  过号 rule, a QR code of `/t/{token}`), nothing personal. If the printer fails in the
  milliseconds between the check and the print, the ticket still exists (the kiosk page
  shows it with its QR code); the failure is logged and shows on the devices page.
* A background task asks each printer's status every `POLL_SECONDS`, so the manager's devices
  page shows "paper near end" or "paper out" before a citizen meets it.

The QR code needs an absolute URL a phone can open: `public_url` is the server's base URL
as served (see `hall.app.public_base`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from devices.printer import PrintedTicket, PrinterNotReady, TicketPrinter
from devices.tasks import cancel_and_wait
from displays.led_adapter import device_row
from hall.config import Device, HallConfig
from hall.service import HallService

log = logging.getLogger(__name__)

POLL_SECONDS = 30.0
SKIP_RULES = {
    "void": "过号作废，请重新取号。",
    "requeue": "过号后可重新排队一次（排在 {n} 位之后）。",
    "recall": "过号后请到原窗口，工作人员可为您重新叫号。",
}

PrinterFactory = Callable[[Device], TicketPrinter]


def skip_rule(config: HallConfig) -> str:
    """The hall's 过号 rule in one line, as the kiosk page says it."""
    skip = config.hall.skip
    return SKIP_RULES.get(skip.policy, "").format(n=skip.requeue_after)


def printed_ticket(config: HallConfig, view: dict[str, Any], public_url: str) -> PrintedTicket:
    """The paper ticket of an issued ticket (the holder's view from `issue_ticket`)."""
    issued = view.get("issued_at") or ""
    with contextlib.suppress(ValueError):
        issued = datetime.fromisoformat(issued).strftime("%Y-%m-%d %H:%M")
    return PrintedTicket(
        hall_name=config.hall.name,
        queue_name=view["queue_name"],
        service_name=view["service_name"],
        number=view["number"],
        people_ahead=int(view.get("position") or 0),
        eta_minutes=int(view.get("eta_minutes") or 0),
        issued_at=issued,
        materials=list(view.get("materials") or []),
        skip_rule=skip_rule(config),
        qr_url=f"{public_url.rstrip('/')}/t/{view['token']}",
    )


class KioskPrinters:
    """The printers of the hall's kiosks, hooked into `issue_ticket`."""

    def __init__(self, service: HallService, devices: Sequence[Device], public_url: str,
                 printer_factory: PrinterFactory | None = None) -> None:
        self.service = service
        self.public_url = public_url
        make = printer_factory or (lambda d: TicketPrinter(d.name, d.url, d.baudrate))
        self.entries: list[tuple[Device, TicketPrinter]] = []
        self.by_kiosk: dict[str, TicketPrinter] = {}
        self._unused: dict[str, str] = {}
        for device in devices:
            if device.kind != "printer" or not device.kiosk:
                continue
            printer = make(device)
            self.entries.append((device, printer))
            if device.kiosk in self.by_kiosk:
                # check-config allows it; a kiosk has one paper slot, so the first one wins
                self._unused[device.name] = f"unused: {device.kiosk} already has a printer"
            else:
                self.by_kiosk[device.kiosk] = printer
        self._task: asyncio.Task[None] | None = None

    async def guard(self, kiosk: str) -> str | None:
        """`service.issue_guards[kiosk]`: None when a ticket can be printed, else why not."""
        printer = self.by_kiosk.get(kiosk)
        return None if printer is None else await printer.ready()

    async def print_issued(self, view: dict[str, Any]) -> None:
        """`service.on_issued`: print the ticket if its kiosk has a printer. Never raises
        (it runs as a detached task)."""
        printer = self.by_kiosk.get(view.get("kiosk") or "")
        if printer is None:
            return
        try:
            await printer.print_ticket(printed_ticket(self.service.config, view,
                                                      self.public_url))
        except PrinterNotReady as exc:
            log.warning("printer %s: ticket %s not printed: %s", printer.name,
                        view.get("number"), exc.reason)
        except Exception as exc:  # noqa: BLE001 - see docstring
            log.warning("printer %s: ticket %s not printed: %r", printer.name,
                        view.get("number"), exc)

    async def start(self) -> None:
        if not self.entries:
            return
        for kiosk in self.by_kiosk:
            self.service.issue_guards[kiosk] = self.guard
        self.service.on_issued.append(self.print_issued)
        self._task = asyncio.get_running_loop().create_task(self._poll(), name="printer-poll")

    async def stop(self) -> None:
        for kiosk in self.by_kiosk:
            self.service.issue_guards.pop(kiosk, None)
        with contextlib.suppress(ValueError):
            self.service.on_issued.remove(self.print_issued)
        task, self._task = self._task, None
        await cancel_and_wait([task])
        for _, printer in self.entries:
            await printer.close()

    def health(self) -> list[dict[str, Any]]:
        return [device_row(d, self._unused.get(d.name) or p.health()) for d, p in self.entries]

    async def _poll(self) -> None:
        while True:
            for _, printer in self.entries:
                with contextlib.suppress(Exception):
                    await printer.status()
            await asyncio.sleep(POLL_SECONDS)
