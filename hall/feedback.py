"""好差评 ratings and 办不成事 complaints, each with its closed loop (评价、整改、反馈、监督).

Part of the core and, like `hall.service`, a writer: every change here is one function = one
transaction through `service.store` that changes the rows, appends the case's timeline step,
writes the audit row for staff actions, and appends its event, published after commit.

Rules taken here (docs/feedback.md has the full list and the reasons):
* Rating is voluntary (the policy text: 不得强迫或者干擾評價人): no level is ever defaulted, a
  missing level is refused, reasons must be ones offered for the chosen level.
* One rating per ticket, only once it was served (`done`, whatever the outcome: a citizen
  turned away has the most to say). The phone page rates for `[ratings] days_open` days after
  service; the window tablet and the serial evaluator rate only the ticket just finished at
  that window, within `tablet_minutes`.
* Nothing public tells how anyone rated: a rating is one event, `rating.recorded` or (a 差评)
  `alarm.bad_rating`, which hall.events keeps to the managers' `/ws/manage` and shows on the
  public `/ws` only as `ticket.rated` (number and window); clerks get aggregates of their
  window released in batches of `clerk_min_ratings` (`released`); only managers list single
  ratings.
* A 差评 (1 or 2) raises `alarm.bad_rating` and opens a rectification case in the same
  transaction: 回访 due in `callback_days` working days, 整改 in `fix_days` (hall.workdays).
  A 回访 that reached nobody is an attempt on the timeline, not a 回访 done; an upheld 申诉
  takes its rating out of every figure (`COUNTED`); the citizen rates the fix on their
  ticket's page (`review_fix`).
* A complaint gets a short random reference (BC + 6 characters without 0/O/1/I) the citizen
  can quote on the phone; the sequential id stays internal to staff.
* What citizens type is sealed at rest like contacts (hall.sealed): the complaint's
  description and the rating's comment (people type ID and phone numbers into them; issue 9.8).
  Managers read them opened; nothing searches inside them.
* Contact details go in, never out: no public answer, no event, no audit detail carries them;
  managers see them masked (138****1234) and a manager who needs the number to call back uses
  the `reveal` action, which the audit log records.
* Events and alarms carry ids, statuses, windows, levels and dates: no description, comment,
  contact, ticket token or reference.
"""

from __future__ import annotations

from hall.cases import CaseDesk
from hall.feedback_figures import FigureDesk
from hall.ratings import RatingDesk
from hall.service import HallService


class Feedback(RatingDesk, CaseDesk, FigureDesk):
    """Ratings, rectification cases and complaints over the hall's one store: the three
    desks joined, so a 差评 (hall.ratings) opens its case (hall.cases) in one transaction."""

    def __init__(self, service: HallService) -> None:
        super().__init__(service)
        service.open_failed_case = self._open_failed_case
