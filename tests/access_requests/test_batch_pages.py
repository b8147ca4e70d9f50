"""The wizard for several accounts: tick more accounts, see each account's documents, submit one
request per account; the request page and the list show the requests submitted together."""

from django.test import Client
from django.urls import reverse

from access_requests.models import AccessRequest

IN_EACH = "arn:aws:dynamodb:eu-central-1:${Account}:table/MyTable"
FORM = {
    "source_account": "111111111111",
    "target_account": "999999999999",
    "more_target_accounts": ["222222222222"],
    "source_principal": "",
    "actions": "dynamodb:GetItem",
    "resources": IN_EACH,
    "access_via": "portal",
    "duration": "3600",
    "justification": "Read MyTable in data and prod",
}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_form_offers_the_other_accounts(demo):
    html = client_for(demo.alice).get(reverse("request_new")).content.decode()
    assert "Also in these accounts" in html
    assert 'name="more_target_accounts" value="222222222222"' in html
    assert "${Account} stands for each account" in html


def test_the_preview_shows_the_documents_of_each_account(demo):
    response = client_for(demo.alice).post(reverse("request_preview"), FORM)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="preview-999999999999"' in html and 'id="preview-222222222222"' in html
    assert "data (999999999999): what will be written" in html
    assert "prod (222222222222): what will be written" in html
    assert "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable" in html
    assert "arn:aws:dynamodb:eu-central-1:222222222222:table/MyTable" in html
    assert "arn:aws:iam::222222222222:role/portal/portal-access-" in html
    # Element ids stay unique with two accounts' documents on one page.
    assert html.count('id="doc-preview-999999999999-1"') == 1
    assert html.count('id="doc-preview-222222222222-1"') == 1
    assert AccessRequest.objects.count() == 0


def test_submitting_makes_one_request_per_account_shown_together(demo):
    alice = client_for(demo.alice)
    response = alice.post(reverse("request_new"), FORM, follow=True)

    data_request, prod_request = AccessRequest.objects.order_by("id")
    assert response.redirect_chain[0][0] == reverse("request_detail", args=[data_request.pk])
    assert data_request.batch == prod_request.batch is not None
    assert (data_request.target_account, prod_request.target_account) == (demo.data, demo.prod)
    html = response.content.decode()
    assert f"Request #{data_request.pk} (data (999999999999)) submitted" in html
    assert f"Request #{prod_request.pk} (prod (222222222222)) submitted" in html
    # The request page lists its sibling, and links to the list of them all.
    assert "Submitted together" in html
    assert reverse("request_detail", args=[prod_request.pk]) in html
    listed = alice.get(reverse("request_list") + f"?scope=all&batch={data_request.batch}")
    assert [r.pk for r in listed.context["page"].object_list] == [prod_request.pk, data_request.pk]
    mine = alice.get(reverse("request_list")).content.decode()
    assert f"batch={data_request.batch}" in mine


def test_a_refused_account_refuses_the_form_naming_it(demo):
    form = FORM | {"resources": "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"}
    response = client_for(demo.alice).post(reverse("request_new"), form)

    assert response.status_code == 400
    html = response.content.decode()
    assert "prod (222222222222): " in html
    assert AccessRequest.objects.count() == 0


def test_the_edit_form_has_no_other_accounts(demo):
    alice = client_for(demo.alice)
    alice.post(reverse("request_new"), FORM)
    first = AccessRequest.objects.order_by("id").first()
    html = alice.get(reverse("request_edit", args=[first.pk])).content.decode()
    assert "more_target_accounts" not in html


def test_a_bad_batch_in_the_address_lists_everything(demo):
    response = client_for(demo.alice).get(reverse("request_list") + "?batch=not-a-uuid")
    assert response.status_code == 200


def test_the_action_picker_reads_account_placeholders_as_the_target_account(demo):
    alice = client_for(demo.alice)
    url = reverse("wizard_actions")
    answer = alice.get(url, {"resources": IN_EACH, "target": "999999999999"}).json()
    assert "dynamodb:GetItem" in answer["common_reads"]
    # Without a target account the placeholder names no resource the catalog can match.
    assert alice.get(url, {"resources": IN_EACH}).json()["common_reads"] == []
