"""The environments every installation starts with."""

DEFAULT_ENVIRONMENTS = (
    # name, position, protected, description
    ("development", 10, False, "Where changes are tried first."),
    ("staging", 20, False, "Release candidates, tested against realistic traffic."),
    ("production", 30, True, "Live decisions on real applications."),
)


def ensure_default_environments(Environment) -> None:  # noqa: N803 - a model class
    """Create the default environments that are missing (takes the model, so data
    migrations can pass their historical one)."""
    for name, position, protected, description in DEFAULT_ENVIRONMENTS:
        Environment.objects.get_or_create(
            name=name, defaults={"position": position, "protected": protected, "description": description}
        )
