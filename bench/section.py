"""What every benchmark section shares: the command line ``python -m bench`` calls it with."""

import argparse
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
