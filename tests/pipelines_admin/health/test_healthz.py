import pytest
from django.db import connection

from pipelines_admin.celery import app as celery_app


@pytest.fixture
def broker_url(monkeypatch):
    """Set the broker URL the app uses (Celery lets CELERY_BROKER_URL win over its config)."""

    def _set(url: str) -> None:
        monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
        monkeypatch.setitem(celery_app.conf, "broker_url", url)

    return _set


@pytest.fixture
def broken_database(monkeypatch):
    """Point the default connection at a database that cannot be opened."""
    connection.close()
    if connection.vendor == "sqlite":
        monkeypatch.setitem(connection.settings_dict, "NAME", "/nonexistent-folder/db.sqlite3")
    else:
        monkeypatch.setitem(connection.settings_dict, "PORT", "1")
    yield
    connection.close()


@pytest.mark.django_db
def test_healthz__database_and_broker_up__200_ok(client):
    # Given the suite's database and broker
    # When an anonymous client asks for /healthz
    response = client.get("/healthz")
    # Then both checks pass
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz__broker_unreachable__503_names_the_broker(client, broker_url):
    # Given a broker URL where nothing listens
    broker_url("redis://127.0.0.1:1/0")
    # When /healthz is asked
    response = client.get("/healthz")
    # Then it answers 503 and says the broker is down, the database up
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz__filesystem_broker_folder_missing__503(client, monkeypatch, broker_url, tmp_path):
    # Given the filesystem transport pointed at a folder that does not exist
    missing = str(tmp_path / "gone")
    broker_url("filesystem://")
    monkeypatch.setitem(
        celery_app.conf, "broker_transport_options", {"data_folder_in": missing, "data_folder_out": missing}
    )
    # When /healthz is asked
    response = client.get("/healthz")
    # Then the broker check fails
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


@pytest.mark.django_db(transaction=True)
def test_healthz__database_unreachable__503_names_the_database(client, broken_database):
    # Given a database that cannot be opened
    # When /healthz is asked
    response = client.get("/healthz")
    # Then it answers 503 and says the database is down
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["ok"] is False


@pytest.mark.django_db
def test_healthz__post__405(client):
    # Given / When a POST to the health check / Then only GET is allowed
    assert client.post("/healthz").status_code == 405
