"""Accounts and rating tablets for the demo hall, made once with random secrets (there are no
default accounts: domain.md). The passwords and the tablets' 登记码 are printed and kept in
var/demo-accounts.txt (0600) for the person trying the demo; a real hall makes its own with
`python -m hall user add` and `python -m hall device add`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from hall.passwords import temporary  # random, and keeping the password rules
from hall.store_pg import is_postgres

ACCOUNTS = [("clerk1", "clerk"), ("clerk2", "clerk"), ("clerk3", "clerk"),
            ("clerk5", "clerk"), ("clerk12", "clerk"), ("manager", "manager"),
            ("admin", "admin"), ("auditor", "auditor")]
TABLETS = (1, 2, 3)  # /evaluate/N asks for its 登记码 once (issue 9.1)
KIOSK = "kiosk-1"  # enrolled: the kiosk's ticket limits, not one address's (issue 9.2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="var/hall.db")
    parser.add_argument("--sheet", default=None,
                        help="where the sheet goes (default: beside a SQLite file, else var/)")
    args = parser.parse_args()
    beside = Path("var") if is_postgres(args.db) else Path(args.db).parent
    sheet = Path(args.sheet) if args.sheet else beside / "demo-accounts.txt"
    if sheet.exists():
        print(sheet.read_text(encoding="utf-8"))
        return 0
    lines = []
    for name, role in ACCOUNTS:
        password = temporary()
        subprocess.run([sys.executable, "-m", "hall", "user", "add", name, "--role", role,
                        "--db", args.db, "--password-stdin"], input=password + "\n",
                       text=True, check=True, capture_output=True)
        lines.append(f"{name:10} {role:8} {password}")
    lines.append("rating tablets (page, 登记码):")
    for n in TABLETS:
        added = subprocess.run([sys.executable, "-m", "hall", "device", "add", f"tablet-{n}",
                                "--kind", "tablet", "--window", str(n), "--db", args.db],
                               text=True, check=True, capture_output=True)
        lines.append(f"/evaluate/{n}  {added.stdout.strip().splitlines()[-1]}")
    # the kiosk the live demo takes tickets at (hall simulate --live reads this line)
    added = subprocess.run([sys.executable, "-m", "hall", "device", "add", KIOSK,
                            "--kind", "kiosk", "--db", args.db],
                           text=True, check=True, capture_output=True)
    lines.append(f"kiosk {KIOSK} {added.stdout.strip().splitlines()[-1]}")
    sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet.touch(mode=0o600)
    sheet.write_text("demo accounts (user role password):\n" + "\n".join(lines) + "\n",
                     encoding="utf-8")
    print(sheet.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
