"""First start of a data directory: create the database, load the regions and a catalogue.

The catalogue is the shipped training data (``resources/training/``) unless a catalogue file is
given. Loading happens in one write transaction that first re-checks that nothing is loaded, so
two processes starting on the same empty directory cannot both load.

The source decides the platform's mode, kept in the database: loaded from the training data it is
a *training* platform, with the training accounts (``accounts.TRAINING_ACCOUNTS``) so a training
client logs in by itself, and the simulated 办理地; loaded from a catalogue file it is a
*reference* platform whose accounts the operator adds. A directory loaded before modes existed
gets its mode from the note of its first catalogue version.
"""

from __future__ import annotations

import logging
from pathlib import Path

from counter_client.paths import resources_dir
from counter_client.refplatform.accounts import ensure_training_accounts
from counter_client.refplatform.catalogue_file import CatalogueFile, TrainingDirectory
from counter_client.refplatform.regions import REGIONS_SOURCE, REGIONS_VERSION, load_regions
from counter_client.refplatform.store import ImportReport, PlatformStore

log = logging.getLogger(__name__)


TRAINING, REFERENCE = "training", "reference"
TRAINING_NOTE = "initial load of the training catalogue"


def _settle_mode(store: PlatformStore) -> None:
    """Record the mode if it is missing; a training platform gets its training accounts."""
    if store.meta("mode") is None:
        row = store.conn.execute("SELECT note FROM catalogue_versions ORDER BY version LIMIT 1").fetchone()
        store.set_meta(mode=TRAINING if row and row[0] == TRAINING_NOTE else REFERENCE)
    if store.mode() == TRAINING:
        made = ensure_training_accounts(store)
        if made:
            log.info("training accounts created: %s", ", ".join(made))


def default_training_dir() -> Path:
    return resources_dir() / "training"


def default_regions_dir() -> Path:
    return resources_dir() / "regions"


def ensure_loaded(
    data_dir: Path,
    *,
    catalogue: Path | None = None,
    training: Path | None = None,
    regions: Path | None = None,
) -> ImportReport | None:
    """Load a fresh data directory; returns the load report, or None if it was loaded before.

    The catalogue file, when given, is read strictly (a broken file stops the start); the
    training directory tolerantly (bad entries are logged and skipped).
    """
    store = PlatformStore(data_dir)
    try:
        if store.loaded():
            _settle_mode(store)
            return None
        region_rows = load_regions(regions or default_regions_dir())
        if catalogue is not None:
            source = CatalogueFile(catalogue, strict=True)
            note = f"initial load from {Path(catalogue).name}"
        else:
            folder = training or default_training_dir()
            source = TrainingDirectory(folder, strict=False)
            note = TRAINING_NOTE
        with store.write():
            if store.loaded():
                return None
            store.replace_regions(region_rows, REGIONS_VERSION, REGIONS_SOURCE)
            report = store.replace_catalogue(source, note, initial=True)
            store.set_meta(mode=TRAINING if catalogue is None else REFERENCE)
            _settle_mode(store)
        log.info(
            "data directory loaded: %d guides, %d departments, %d agreements, %d regions",
            report.added,
            len(source.departments),
            len(source.agreements),
            len(region_rows),
        )
        return report
    finally:
        store.close()
