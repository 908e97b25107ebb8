"""Identity linking: links on evidence only, explicit links win, guesses are suggestions."""

from __future__ import annotations

from foureyes.config import parse_config
from foureyes.identity import link, suggest
from foureyes.model import Principal, Snapshot, SourceResult


def _snap(*principals: Principal) -> Snapshot:
    return Snapshot(1, "t", "", (SourceResult("x", "multi", principals=principals),))


def test_saml_tag_and_member_emails_link_one_person():
    snap = _snap(
        Principal("github", "alice-gh", "user", "Alice", email="Alice@Acme.com", attrs={"email_source": "saml"}),
        Principal("aws", "arn:aws:iam::1:user/alice", "user", email="alice@acme.com", attrs={"email_source": "tag"}),
        Principal("gcp", "user:alice@acme.io", "user", email="alice@acme.io", attrs={"email_source": "member"}),
    )
    config = parse_config('[identity]\nemail_domains = ["acme.com"]\ndomain_aliases = { "acme.io" = "acme.com" }\n')
    ids = link(snap, config)
    assert list(ids.people) == ["alice@acme.com"]
    alice = ids.people["alice@acme.com"]
    assert {a.method for a in alice.accounts} == {"saml", "tag", "alias"}
    assert alice.display_name == "Alice"


def test_untrusted_email_does_not_link_and_unlinked_is_its_own_person():
    snap = _snap(
        Principal("github", "bob", "user", "Bob", email="bob@acme.com", attrs={"email_source": "public"}),
        Principal("aws", "arn:aws:iam::1:user/bob", "user", email="bob@acme.com", attrs={"email_source": "tag"}),
    )
    ids = link(snap, parse_config(""))
    assert set(ids.people) == {"bob@acme.com", "github:bob"}
    assert not ids.people["github:bob"].linked
    assert [(s.person, s.evidence) for s in suggest(snap, ids)] == [
        ("bob@acme.com", "login 'bob' equals the local part of bob@acme.com; "
                         "email bob@acme.com from an untrusted source"),
    ]
    # a suggestion is never applied
    assert ids.person_of["github:bob"] == "github:bob"


def test_explicit_map_wins_over_emails():
    snap = _snap(
        Principal("github", "shared", "user", email="carol@acme.com", attrs={"email_source": "saml"}),
        Principal("aws", "arn:aws:iam::1:user/carol", "user", email="carol@acme.com", attrs={"email_source": "tag"}),
    )
    config = parse_config('[identity.people."dave@acme.com"]\nname = "Dave"\ngithub = ["shared"]\n')
    ids = link(snap, config)
    assert ids.person_of["github:shared"] == "dave@acme.com"
    assert ids.person_of["aws:arn:aws:iam::1:user/carol"] == "carol@acme.com"
    assert ids.people["dave@acme.com"].accounts[0].method == "config"


def test_same_display_name_is_only_a_suggestion():
    snap = _snap(
        Principal("github", "erin", "user", "Erin Example", email="erin@acme.com", attrs={"email_source": "saml"}),
        Principal("aws", "arn:aws:iam::1:user/ee", "user", "Erin  Example"),
    )
    ids = link(snap, parse_config(""))
    assert ids.person_of["aws:arn:aws:iam::1:user/ee"] == "aws:arn:aws:iam::1:user/ee"
    (suggestion,) = suggest(snap, ids)
    assert suggestion.person == "erin@acme.com" and "same display name" in suggestion.evidence


def test_account_named_with_a_corporate_email_links_by_domain():
    snap = _snap(Principal("aws", "arn:aws:iam::1:user/frank@acme.com", "user"))
    ids = link(snap, parse_config('[identity]\nemail_domains = ["acme.com"]\n'))
    assert ids.person_of["aws:arn:aws:iam::1:user/frank@acme.com"] == "frank@acme.com"
    # without the domain configured it is not trusted
    ids = link(snap, parse_config(""))
    assert not ids.people["aws:arn:aws:iam::1:user/frank@acme.com"].linked
