"""The trials of a study as Ray tasks: Optuna asks for as many trials as the cluster has CPUs,
each task trains one of them as an ordinary recorded run, and the study is told the results.

A task opens the project itself, from the folder and the database and store URLs the command
resolved (never its key: the command checked the caller before any task started), so on a
cluster of several machines the project must live where every node reaches it: PostgreSQL and
an object store, or a shared folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from keel.compute.ray_cluster import cluster_cpus
from keel.config import PROJECT_FILE, Settings, load_project
from keel.errors import KeelError
from keel.training.runs import Run
from keel.training.service import TrainRequest
from keel.training.tuning import TrainMany
from keel.wiring import open_keel

RETRIES = 1
"""A trial whose worker dies is trained once more (as a new run; the first stays failed)."""


@dataclass(frozen=True)
class ProjectPlace:
    """Where a task finds the project: enough to open it, and no secret."""

    folder: Path
    database_url: str
    store_url: str

    @classmethod
    def of(cls, settings: Settings) -> ProjectPlace:
        return cls(settings.project_dir, settings.database_url, settings.store_url)


@ray.remote(max_retries=RETRIES, retry_exceptions=False)
def _train_trial(place: ProjectPlace, request: TrainRequest) -> Run | KeelError:
    project = load_project(place.folder / PROJECT_FILE)
    settings = Settings.resolve(
        place.folder,
        project,
        environ={},
        database_url=place.database_url,
        store_url=place.store_url,
    )
    keel = open_keel(settings, project=project)
    try:
        return keel.trainer().train(request)
    except KeelError as error:  # the study prunes the trial, as it does locally
        return error
    finally:
        keel.close()


def ray_trainer(ray_api: Any, settings: Settings) -> tuple[TrainMany, int]:
    """A ``TrainMany`` that trains each request as a Ray task, and how many to ask at once."""
    place = ProjectPlace.of(settings)

    def train_many(requests: list[TrainRequest]) -> list[Run | KeelError]:
        tasks = [_train_trial.remote(place, request) for request in requests]
        outcomes: list[Run | KeelError] = []
        for task in tasks:
            try:
                outcomes.append(ray_api.get(task))
            except ray.exceptions.RayError as error:
                outcomes.append(KeelError(f"a trial failed on the Ray cluster: {error}"))
        return outcomes

    return train_many, cluster_cpus(ray_api)
