"""The guard below every interface: on an environment under change control, each service
that changes what it runs or holds refuses without a ChangeAuthority, for a superuser
too, and changes nothing."""

import pytest

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.change_control import ChangeRequestRequired
from pipelines_admin.configs.models import Release, ServiceBinding
from pipelines_admin.releases import services as release_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(live_pipeline, publisher, environments):
    """Production running v1 then an override of it, with a binding; then under change control."""
    production = environments["production"]
    production.protected = False  # set-up only: no gate while it is filled
    production.save()
    v1 = live_pipeline.versions.get(number=1)
    release_services.release_create(
        pipeline=live_pipeline, environment=production, version=v1, actor=publisher
    )
    release_services.override_set(
        pipeline=live_pipeline, environment=production, actor=publisher, override={"description": "o"}
    )
    config_services.service_binding_set(
        environment=production, interface="KYCService", name="jumio", actor=publisher, kind="simulated"
    )
    production.protected = production.change_requests_required = True
    production.save()
    return production


def state(production):
    production.refresh_from_db()
    return (
        list(Release.objects.filter(environment=production).values_list("pk", flat=True)),
        list(ServiceBinding.objects.filter(environment=production).values("name", "latency_ms")),
        (production.protected, production.change_requests_required, production.approvals_required),
    )


CHANGES = {
    "release": lambda p, env, actor: release_services.release_create(
        pipeline=p, environment=env, version=p.versions.get(number=2), actor=actor, reason="r"
    ),
    "rollback": lambda p, env, actor: release_services.release_rollback(
        pipeline=p,
        environment=env,
        to_release=Release.objects.filter(environment=env).last(),
        actor=actor,
        reason="r",
    ),
    "override": lambda p, env, actor: release_services.override_set(
        pipeline=p, environment=env, override={"description": "x"}, actor=actor, reason="r"
    ),
    "stage toggle": lambda p, env, actor: release_services.stage_toggle(
        pipeline=p, environment=env, stage="business_rules", enabled=False, actor=actor, reason="r"
    ),
    "rule toggle": lambda p, env, actor: release_services.rule_toggle(
        pipeline=p,
        environment=env,
        stage="business_rules",
        rule="age_verification",
        enabled=False,
        actor=actor,
        reason="r",
    ),
    "binding set": lambda p, env, actor: config_services.service_binding_set(
        environment=env,
        interface="KYCService",
        name="jumio",
        actor=actor,
        reason="r",
        kind="simulated",
        latency_ms=9,
    ),
    "binding remove": lambda p, env, actor: config_services.service_binding_remove(
        environment=env, interface="KYCService", name="jumio", actor=actor, reason="r"
    ),
    "settings": lambda p, env, actor: config_services.environment_update(
        environment=env,
        actor=actor,
        protected=True,
        position=env.position,
        description=env.description,
        change_requests_required=False,
        reason="r",
    ),
}


@pytest.mark.parametrize("who", ["publisher", "superuser"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_service__controlled_environment_without_authority__refused_nothing_changed(
    change, who, production, live_pipeline, request
):
    actor = request.getfixturevalue(who)
    before = state(production)
    with pytest.raises(ChangeRequestRequired, match="changes only through change requests"):
        CHANGES[change](live_pipeline, production, actor)
    assert state(production) == before
