"""Access is checked on every route: a visitor who is not logged in reaches only public pages."""

import re

# Pages anyone may open: entry points, the invitation path and the health check.
PUBLIC = {
    "/",
    "/login",
    "/register",
    "/register/confirm",  # without a number being registered, back to /register
    "/login/verify",  # without a right password first, back to /login
    "/password/forgot",
    "/password/reset",
    "/join/<token>",
    "/healthz",
    # Personal join links and the mediator's calendar feed: the secret in the URL is the key
    # (tests/booking/test_join_links.py); the device check's network test.
    "/s/<token>",
    "/s/<token>/check",
    "/booking/feed/<token>.ics",
    "/s/<token>/ping",
    # The minutes' review link: it shows nothing before a code sent to the phone
    # (tests/minutes/test_views.py).
    "/m/<token>",
    "/a/<token>",  # an agreement's signing link: the same (tests/agreements/test_sign_flow.py)
    "/j/<token>",  # a signer's link to the joint court application: the same (the matrix)
    "/agency/<token>",  # a party's agency link: the same (tests/security/test_attacker_accounts)
    "/q/<token>",  # the asker's link to a consultation's answer: the same (tests/consultation)
    "/o/<token>",  # the obligee's link to confirm performance: the same (tests/followup)
    # Anyone holding an agreement may check it (tests/agreements/test_verify_views.py).
    "/verify",
    "/pki/<name>",  # the CA's CRLs, named in its certificates (tests/agreements/test_crl_views.py)
    # The platform's root and its fingerprint, for courts (tests/agreements/test_verify_views.py).
    "/verify/root",
    "/verify/root.pem",
    "/api/court/v1/openapi.json",  # the court API's description
    "/reception",  # the public reception times (接待日)
    # A host's free reception times; booking sends a visitor to consultation's start to
    # prove a phone first (tests/reception).
    "/reception/hosts/<int:host_id>/book",
    "/evaluation",  # court fees and time limits, before filing (tests/evaluation)
    # Consultation: what it is, and asking after proving a phone by a code, as registration
    # does (an anonymous visitor's "ask" goes to that start; tests/consultation).
    "/consultation/",
    "/consultation/ask",
    "/consultation/start",
    "/consultation/start/confirm",
    "/static/<path:filename>",
}


def test_every_other_page_needs_a_login(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule in PUBLIC:
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        url = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", url)
        url = re.sub(r"<[^>]+>", "x", url)
        response = client.get(url)
        if rule.rule.startswith("/api/court/"):  # a court's token, not a login
            assert response.status_code == 401, rule.rule
            continue
        assert response.status_code == 302, (rule.rule, response.status_code)
        assert "/login" in response.headers["Location"], rule.rule
        checked += 1
    assert checked >= 8
