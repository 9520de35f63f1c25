"""Make docs/report.png, the README's picture of report.html: a night's import of 6,000 customers with
typical export mistakes, into the sandbox answering some requests 429 or 5xx, shown in headless Chromium.

    .venv/bin/python docs/screenshot.py      # needs /usr/bin/chromium (apt-get install chromium)
"""

from __future__ import annotations

import csv
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from importer.cli import cli  # noqa: E402
from importer.sandbox import Faults, SandboxServer  # noqa: E402
from tests.support.browser import Browser  # noqa: E402


def export(path: Path, rows: int = 6000) -> None:
    rng = random.Random(7)
    first = ["Anna", "Piotr", "Marek", "Beata", "Ewa", "Jan", "Zofia", "Tomasz", "Kasia", "Ola"]
    last = ["Nowak", "Kowalski", "Wiśniewska", "Zając", "Król", "Lewandowski"]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "phone", "firstName", "lastName", "dateOfBirth", "gender", "consent.1"])
        for i in range(rows):
            email, phone = (
                f"user{i}@example.com",
                f"+48 6{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
            )
            birth, gender, consent = (
                f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "Female",
                "True",
            )
            luck = rng.random()
            if luck < 0.02:
                email = f"user{i}.example.com"
            elif luck < 0.03:
                gender = rng.choice(["Kobieta", "Mężczyzna"])
            elif luck < 0.04:
                birth = f"{rng.randint(1960, 1999)}-02-3{rng.randint(0, 1)}"
            elif luck < 0.045:
                consent = "maybe"
            elif luck < 0.05:
                phone = "call me"
            writer.writerow([email, phone, rng.choice(first), rng.choice(last), birth, gender, consent])


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as work,
        SandboxServer(faults=Faults(rate_limit=25, error_rate=0.05, seed=3)) as server,
    ):
        base = Path(work)
        source = base / "customers.csv"
        export(source)
        os.chdir(base)
        result = CliRunner().invoke(
            cli,
            [
                "customers",
                str(source),
                "--chunk-size",
                "25",
                "--report-dir",
                str(base / "report"),
                "--output",
                "line",
            ],
            env={"ECDP_API_KEY": server.api_key, "ECDP_API_URL": server.url, "ECDP_STATE": str(base / "state.db")},
        )
        print(result.stdout, end="")
        with Browser(base / "chromium") as browser:
            seen = browser.open(
                (base / "report" / "report.html").as_uri(), ["#outcome"], screenshot=ROOT / "docs" / "report.png"
            )
        if seen.errors:
            raise SystemExit(f"the page had errors: {seen.errors}")


if __name__ == "__main__":
    main()
