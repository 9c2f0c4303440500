"""The Webhooks pages in a real browser: a publisher adds a webhook, copies its secret
from the one page that shows it, finds the delivery log, and the list shows a disabled
webhook's reason."""

from __future__ import annotations

import pytest

from pipelines_admin.webhooks import services
from pipelines_admin.webhooks.models import WebhookSubscription
from tests.pipelines_admin.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_webhooks__publisher_adds_one__secret_shown_once_then_log_and_banner(
    login, live_server, django_user_model, tmp_path
):
    publisher = make_user(django_user_model, "pat", "viewer", "editor", "publisher")
    page = login("pat", "pat-password-1")
    page.set_viewport_size({"width": 1280, "height": 900})
    # When the publisher adds a webhook
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("Name").fill("chat-ops bot")
    page.get_by_label("URL").fill("https://hooks.example.com/pipelines")
    page.get_by_label("release.created").check()
    page.get_by_label("batch.finished").check()
    page.screenshot(path=str(tmp_path / "webhooks-new.png"), full_page=True)
    page.get_by_role("button", name="Create the webhook").click()
    # Then its secret is shown, once, with the receiver's recipe
    secret = page.locator("#webhook-secret").inner_text().strip()
    subscription = WebhookSubscription.objects.get()
    assert services.subscription_secret(subscription) == secret
    assert page.get_by_text("shown only this once").is_visible()
    page.screenshot(path=str(tmp_path / "webhooks-secret.png"), full_page=True)
    # When an event is published and fails, and the webhook is disabled for it
    services.event_publish(event="batch.finished", data={"batch_id": "b-1", "total": 3})
    services.subscription_disable(subscription=subscription, actor=publisher, reason="the receiver moved")
    page.get_by_role("link", name="I have copied it").click()
    # Then its page shows the delivery log, without the secret
    assert page.get_by_role("heading", name="Deliveries").is_visible()
    assert page.get_by_role("button", name="Re-send").count() == 1
    assert secret not in page.content()
    page.screenshot(path=str(tmp_path / "webhooks-detail.png"), full_page=True)
    # and the list shows it disabled, with the reason
    page.get_by_role("link", name="Webhooks", exact=True).first.click()
    assert page.get_by_role("alert").filter(has_text="the receiver moved").is_visible()
    page.screenshot(path=str(tmp_path / "webhooks-list.png"), full_page=True)
