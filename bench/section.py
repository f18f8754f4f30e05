"""What every benchmark section shares: the command line ``python -m bench`` calls it with."""

import argparse
import os
from pathlib import Path


def section_parser(doc: str | None, *, quick_help: str = "small sizes, to try the harness",
                   out_required: bool = True):
    """``--out F`` (the Markdown fragment to write) and ``--quick``, which bench/__main__
    passes to every section; a section adds its own options to the parser returned."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=out_required,
                        help="write the Markdown fragment here")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    return parser


def empty_database(base_url: str, name: str) -> str:
    """Drop and create scratch database ``name`` on the server at ``base_url``; its URL."""
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base_url}/{name}"


def django_in_process(environment: dict[str, str]) -> None:
    """Django in this process with ``environment`` and nothing inherited that would send a
    section to real AWS or a broker (a profile, a session token, a broker URL); Keyledger's
    own log quiet but for warnings, so the section's output stays readable."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    os.environ.update(environment)
    import logging

    import django

    django.setup()
    logging.getLogger("keyledger").setLevel(logging.WARNING)


def write_fragment(out: Path | None, fragment: str) -> None:
    """Write the section's Markdown fragment to ``out`` (when given) and show it."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(fragment)
    print(fragment)
