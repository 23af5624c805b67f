"""Work on local files that opens no project: a starting contract inferred from a sample."""

from __future__ import annotations

from pathlib import Path

from keel.app.use_case import offline
from keel.data.infer import infer_contract, render_contract
from keel.data.ingest import head
from keel.store.sources import open_source


@offline(action="inferring a contract")
def infer_contract_yaml(
    file: Path, *, rows: int = 100_000, entity: str | None = None, margin: float = 0.1
) -> str:
    """A contract section (YAML) that the first ``rows`` of ``file`` pass, ranges widened by
    ``margin``; ``entity`` names the id column, made unique. Review it before use."""
    sample = head(open_source(file).chunks(rows), rows)
    return render_contract(infer_contract(sample, margin=margin, entity=entity))
