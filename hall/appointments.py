"""Appointments, check-in and 云取号 (issue 11): the three desks joined over the hall's one
store, as hall.feedback joins the feedback desks. hall.booking books, changes and cancels;
hall.arrivals checks in, takes phone tickets and marks no-shows; hall.booking_figures is the
managers' side. The rules: docs/appointments.md."""

from __future__ import annotations

from hall.arrivals import ArrivalDesk
from hall.booking_figures import BookingFigureDesk
from hall.service import HallService


class Appointments(ArrivalDesk, BookingFigureDesk):
    def __init__(self, service: HallService) -> None:
        super().__init__(service)
        if self.settings.enabled:  # no-shows are marked in the day close's transaction too
            service.on_day_close.append(self.sweep_tx)
