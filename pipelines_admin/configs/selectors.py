"""Reads of pipelines, versions, releases and effective configs."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Prefetch

from pipelines_admin.configs.diffs import semantic_diff, text_diff
from pipelines_admin.configs.engine import document_service_uses
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release, ServiceBinding
from pipelines_admin.configs.overrides import apply_override, provenance
from pipelines_admin.core.errors import NotFound
from pipelines_admin.core.revisions import row_revision


def pipeline_get(slug: str) -> Pipeline:
    try:
        return Pipeline.objects.get(slug=slug)
    except Pipeline.DoesNotExist:
        raise NotFound(f"There is no pipeline {slug!r}.", {"pipeline": slug}) from None


def environment_get(name: str) -> Environment:
    try:
        return Environment.objects.get(name=name)
    except Environment.DoesNotExist:
        names = ", ".join(Environment.objects.values_list("name", flat=True))
        raise NotFound(
            f"There is no environment {name!r} (there are: {names}).", {"environment": name}
        ) from None


def version_get(pipeline: Pipeline, number: int) -> ConfigVersion:
    try:
        return pipeline.versions.get(number=number)
    except ConfigVersion.DoesNotExist:
        raise NotFound(f"{pipeline.slug} has no version {number}.", {"version": number}) from None


def version_latest(pipeline: Pipeline) -> ConfigVersion | None:
    return pipeline.versions.order_by("-number").first()


def release_live(pipeline: Pipeline | int, environment: Environment | int) -> Release | None:
    """The release live in `environment` (objects or ids), None when never released there."""
    return (
        Release.objects.filter(pipeline=pipeline, environment=environment)
        .select_related("version", "released_by")
        .order_by("-id")
        .first()
    )


def settings_revision(thing) -> str:
    """The revision of an environment's settings or of a service binding."""
    return row_revision(thing)


RELEASE_REVISION = "release-"


def environment_revision(release: Release | None) -> str:
    """The revision of what a pipeline runs in an environment: its live release."""
    return f"{RELEASE_REVISION}{release.pk}" if release is not None else "unreleased"


def release_of_revision(pipeline: Pipeline, environment: Environment, revision: str) -> Release | None:
    """The release an environment revision names (None: unreleased, or not a release of
    this pipeline there)."""
    number = revision.removeprefix(RELEASE_REVISION)
    if not revision.startswith(RELEASE_REVISION) or not number.isdigit():
        return None
    return (
        Release.objects.filter(pk=int(number), pipeline=pipeline, environment=environment)
        .select_related("version")
        .first()
    )


def release_history(pipeline: Pipeline, environment: Environment | None = None):
    qs = Release.objects.filter(pipeline=pipeline).select_related("version", "environment", "released_by")
    if environment is not None:
        qs = qs.filter(environment=environment)
    return qs.order_by("-id")


def live_releases(pipeline: Pipeline) -> dict[str, Release]:
    """Environment name -> live release, for every environment where the pipeline runs."""
    live: dict[str, Release] = {}
    for release in release_history(pipeline):
        live.setdefault(release.environment.name, release)
    return live


@dataclass(frozen=True)
class EffectiveConfig:
    pipeline: Pipeline
    environment: Environment
    release: Release
    document: dict
    provenance: dict[str, str]

    @property
    def version(self) -> ConfigVersion:
        return self.release.version


def effective_config(pipeline: Pipeline, environment: Environment) -> EffectiveConfig:
    """What runs in an environment: the live version merged with its override, with
    where each value came from."""
    release = release_live(pipeline, environment)
    if release is None:
        raise NotFound(
            f"{pipeline.slug} has not been released to {environment.name} yet.",
            {"pipeline": pipeline.slug, "environment": environment.name},
        )
    document = apply_override(release.version.document, release.override)
    return EffectiveConfig(
        pipeline, environment, release, document, provenance(release.version.document, release.override)
    )


@dataclass(frozen=True)
class PipelineOverview:
    pipeline: Pipeline
    latest_version: int | None
    live: list[Release | None]  # one per environment, in environment order


def pipeline_overview() -> list[PipelineOverview]:
    """Each pipeline with its latest version and the release live in each environment
    (three queries whatever the number of pipelines)."""
    environments = list(Environment.objects.all())
    pipelines = Pipeline.objects.prefetch_related(
        Prefetch(
            "releases", queryset=Release.objects.select_related("version").order_by("-id"), to_attr="newest"
        ),
    ).annotate(latest_version=Max("versions__number"))
    rows = []
    for pipeline in pipelines:
        live: dict[int, Release] = {}
        for release in pipeline.newest:
            live.setdefault(release.environment_id, release)
        rows.append(
            PipelineOverview(pipeline, pipeline.latest_version, [live.get(e.pk) for e in environments])
        )
    return rows


def environment_list():
    return Environment.objects.all()


def environment_overview():
    """Every environment with how many pipelines were released there and how many
    services it binds (`pipeline_count`, `binding_count`)."""
    return Environment.objects.annotate(
        pipeline_count=Count("releases__pipeline", distinct=True),
        binding_count=Count("service_bindings", distinct=True),
    ).order_by("position", "name")


def environment_live_releases(environment: Environment) -> list[Release]:
    """The release live in `environment` for every pipeline released there, by pipeline name."""
    live: dict[int, Release] = {}
    for release in (
        Release.objects.filter(environment=environment)
        .select_related("pipeline", "version", "released_by")
        .order_by("-id")
    ):
        live.setdefault(release.pipeline_id, release)
    return sorted(live.values(), key=lambda r: (r.pipeline.name, r.pipeline.slug))


def parse_service(service: str) -> tuple[str, str] | None:
    """(interface, name) from "Interface:name" or "service:Interface:name"; None otherwise."""
    parts = str(service).removeprefix("service:").split(":")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def binding_list(environment: Environment):
    return environment.service_bindings.all()


def binding_get(environment: Environment, service: str) -> ServiceBinding:
    """The binding of "Interface:name" in `environment`."""
    key = parse_service(service)
    binding = (
        environment.service_bindings.filter(interface=key[0], name=key[1]).first()
        if key is not None
        else None
    )
    if binding is None:
        raise NotFound(
            f"{environment.name} has no binding for {service!r}: its rules call the simulated adapter.",
            {"environment": environment.name, "service": service},
        )
    return binding


@dataclass(frozen=True)
class ServiceCaller:
    pipeline: Pipeline
    version: int
    stage: str
    rule: str
    enabled: bool
    time_limit: float
    path: str

    @property
    def limited(self) -> bool:
        return self.time_limit != float("inf")


@dataclass
class ReferencedService:
    """A service the pipelines live in an environment call, who calls it, and its binding
    there (None: the simulated adapter serves it)."""

    interface: str
    name: str
    callers: list[ServiceCaller]
    binding: ServiceBinding | None = None

    @property
    def service(self) -> str:
        return f"{self.interface}:{self.name}"

    @property
    def reference(self) -> str:
        return f"service:{self.interface}:{self.name}"

    @property
    def pipelines(self) -> list[Pipeline]:
        return list({c.pipeline.pk: c.pipeline for c in self.callers}.values())

    @property
    def shortest_time_limit(self) -> float:
        return min((c.time_limit for c in self.callers if c.enabled), default=float("inf"))


def environment_services(environment: Environment) -> list[ReferencedService]:
    """Every service the effective config of each pipeline live in `environment` calls
    (found from its rules' params, as validation finds them), by interface and name."""
    bindings = {(b.interface, b.name): b for b in binding_list(environment)}
    found: dict[tuple[str, str], ReferencedService] = {}
    for release in environment_live_releases(environment):
        document = apply_override(release.version.document, release.override)
        for use in document_service_uses(document):
            key = (use.ref.interface, use.ref.name)
            entry = found.setdefault(key, ReferencedService(*key, callers=[], binding=bindings.get(key)))
            entry.callers.append(
                ServiceCaller(
                    release.pipeline,
                    release.version.number,
                    use.stage,
                    use.rule,
                    use.enabled,
                    use.time_limit,
                    use.path,
                )
            )
    return [found[key] for key in sorted(found)]


@dataclass(frozen=True)
class ConfigDiff:
    before_label: str
    after_label: str
    changes: list[dict]
    text: str


def versions_diff(before: ConfigVersion, after: ConfigVersion) -> ConfigDiff:
    """What changed from one version to another, semantic and textual."""
    before_label, after_label = f"v{before.number}", f"v{after.number}"
    return ConfigDiff(
        before_label,
        after_label,
        semantic_diff(before.document, after.document),
        text_diff(before.document, after.document, before_label, after_label),
    )


def environments_diff(pipeline: Pipeline, before: Environment, after: Environment) -> ConfigDiff:
    """How the effective config of one environment differs from another's."""
    a, b = effective_config(pipeline, before), effective_config(pipeline, after)
    return ConfigDiff(
        before.name,
        after.name,
        semantic_diff(a.document, b.document),
        text_diff(a.document, b.document, before.name, after.name),
    )
