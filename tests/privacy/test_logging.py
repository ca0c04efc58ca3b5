"""Log lines come out masked, whichever part of the record the personal data rode in on."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from typing import Iterator

import pytest

from triage.privacy.logging import LOG_FORMAT, MaskingFormatter, configure_logging


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the masking formatter into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MaskingFormatter(LOG_FORMAT))
    logger = logging.getLogger("triage.test.privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_personal_data_in_the_message_is_masked(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    logger.info("user wrote 제 번호는 010-1234-5678로 연락주세요")
    assert "제 번호는 010-****-5678로 연락주세요" in stream.getvalue()
    assert "1234" not in stream.getvalue()


def test_personal_data_in_percent_args_is_masked(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    logger.warning("row %s for %s failed: %r", 7, "010-1234-5678", {"card": "4323-1948-7574-9114"})
    line = stream.getvalue()
    assert "row 7 for 010-****-5678 failed: {'card': '****-****-****-9114'}" in line


def test_personal_data_in_a_traceback_is_masked(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    try:
        raise ValueError("주민번호 900101-1526011 형식 오류")
    except ValueError:
        logger.exception("processing %s failed", "hong@example.com")
    output = stream.getvalue()
    assert "Traceback (most recent call last)" in output
    assert "ValueError: 주민번호 900101-******* 형식 오류" in output
    assert "processing h***@example.com failed" in output
    assert "1526011" not in output and "hong@" not in output


def test_the_line_keeps_its_timestamp_level_and_logger(log: tuple[logging.Logger, io.StringIO]) -> None:
    """Timestamps are date-and-digit runs; they must survive masking."""
    logger, stream = log
    logger.error("nothing personal")
    line = stream.getvalue().strip()
    record_time = line.split(" ERROR ")[0]
    assert line.endswith(" ERROR triage.test.privacy: nothing personal")
    assert len(record_time) == len("2026-11-25 15:03:12,345") and "*" not in record_time


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """configure_logging changes the root logger; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_configuring_twice_installs_one_masking_handler(root_logging: logging.Logger) -> None:
    configure_logging("debug")
    configure_logging("WARNING")
    masking = [h for h in root_logging.handlers if isinstance(h.formatter, MaskingFormatter)]
    assert len(masking) == 1
    assert root_logging.level == logging.WARNING


def test_an_unknown_level_changes_nothing(root_logging: logging.Logger) -> None:
    before = root_logging.handlers[:]
    with pytest.raises(ValueError, match="LOUD"):
        configure_logging("loud")
    assert root_logging.handlers == before


def test_every_logger_writes_masked_lines_to_stderr_once_configured() -> None:
    """The whole path in a fresh interpreter: a library logger propagating to the root handler."""
    script = (
        "import logging\n"
        "from triage.privacy.logging import configure_logging\n"
        "configure_logging('INFO')\n"
        "logging.getLogger('aiohttp.access').info('GET /lookup?phone=%s 200', '01012345678')\n"
        "logging.getLogger('triage.runtime').debug('hidden %s', '010-9999-8888')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(" INFO aiohttp.access: GET /lookup?phone=010****5678 200")
