import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pipelines_admin.runs.models import Batch

pytestmark = pytest.mark.django_db

APPLICANT = {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"}


def test_submit_batch__csv_file__queued_and_counts_printed(released, editor, tmp_path, capsys):
    # Given a CSV file with two applications and a short row
    path = tmp_path / "apps.csv"
    path.write_text(
        "name,email,date_of_birth\nAnn Lee,ann@example.com,1990-01-01\nBo Li,bo@example.com,1985-02-02\n"
        "broken\n"
    )
    # When submitted from the command line
    call_command(
        "submit_batch", "onboarding", "--env", "development", "--input", str(path), "--user", "eddie"
    )
    out = capsys.readouterr().out
    # Then the batch is queued from the CLI and the totals are printed
    batch = Batch.objects.get()
    assert batch.source == "cli" and batch.total == 2
    assert "skipped line 4" in out
    assert (
        "total=2 processed=0 passed=0 failed=0 review=0 undecided=0 error=0 rejected=1 status=queued" in out
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope", "--env", "development"], "no pipeline 'nope'"),
        (["onboarding", "--env", "qa"], "no environment 'qa'"),
    ],
)
def test_submit_batch__unknown_names__clear_error(released, editor, tmp_path, args, message):
    path = tmp_path / "apps.jsonl"
    path.write_text(json.dumps(APPLICANT))
    with pytest.raises(CommandError, match=message):
        call_command("submit_batch", *args, "--input", str(path), "--user", "eddie")


def test_submit_batch__missing_file__clear_error(released, editor, tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command(
            "submit_batch",
            "onboarding",
            "--env",
            "development",
            "--input",
            str(tmp_path / "x.jsonl"),
            "--user",
            "eddie",
        )
