"""posternctl alias add|del|list: SPEC.md "Addresses: posternctl alias" (the ctl part).

The daemon's use of the table (RCPT expansion, forwarding, sender checks) is
tested where it is integrated; here the files and the answers of posternctl.
"""
import os
import stat

import pytest

DOMAINS = {"domains": {"local": "example.test, other.test, empty.test"}}


@pytest.fixture
def p(make_postern):
    """A configuration (no daemon) with alice, bob and carol, and a domain without accounts."""
    p = make_postern(DOMAINS)
    for user in ("alice@example.test", "bob@example.test", "carol@other.test"):
        p.add_user(user)
    return p


def aliases_file(p):
    return os.path.join(p.data_dir, "aliases")


def alias_lines(p):
    """The alias lines of `alias list` (without the postmaster lines)."""
    out = p.ctl("alias", "list").stdout
    return [line for line in out.splitlines() if " -> " not in line]


def postmaster_lines(p):
    out = p.ctl("alias", "list").stdout
    return dict(line.split(" -> ", 1) for line in out.splitlines() if " -> " in line)


def test_add_list_del(p):
    r = p.ctl("alias", "add", "Info@Example.TEST", "alice@example.test,bob@example.test")
    assert r.returncode == 0 and r.stderr.count("replaced") == 0
    p.ctl("alias", "add", "sales@example.test", "info@example.test,", "Dave@Remote.Example")
    assert alias_lines(p) == [
        "info@example.test: alice@example.test, bob@example.test",
        "sales@example.test: info@example.test, Dave@remote.example",
    ]
    with open(aliases_file(p)) as f:
        text = f.read()
    assert text.startswith("# ")
    assert "\ninfo@example.test: alice@example.test, bob@example.test\n" in text
    assert stat.S_IMODE(os.stat(aliases_file(p)).st_mode) == 0o600
    assert os.path.exists(aliases_file(p) + ".lock")
    p.ctl("alias", "del", "SALES@example.test")
    assert alias_lines(p) == ["info@example.test: alice@example.test, bob@example.test"]


def test_add_replaces_targets(p):
    p.ctl("alias", "add", "info@example.test", "alice@example.test, bob@example.test")
    r = p.ctl("alias", "add", "info@example.test", "carol@other.test")
    assert "info@example.test existed: its targets are replaced" in r.stderr
    assert "they were: alice@example.test, bob@example.test" in r.stderr
    assert alias_lines(p) == ["info@example.test: carol@other.test"]


def test_catchall_subaddress_and_postmaster_targets(p):
    p.ctl("alias", "add", "@other.test", "carol@other.test")
    p.ctl("alias", "add", "lists@example.test", "alice+lists@example.test")
    p.ctl("alias", "add", "pm@example.test", "postmaster@other.test")
    assert alias_lines(p) == [
        "@other.test: carol@other.test",
        "lists@example.test: alice+lists@example.test",
        "pm@example.test: postmaster@other.test",
    ]


@pytest.mark.parametrize("args, message", [
    (["add", "nodomain", "alice@example.test"], "nodomain: address has no '@'"),
    (["add", "x@remote.example", "alice@example.test"],
     "x@remote.example: remote.example is not in domains.local"),
    (["add", "@remote.example", "alice@example.test"],
     "@remote.example: remote.example is not in domains.local"),
    (["add", "x@exa_mple.test", "alice@example.test"], "x@exa_mple.test: invalid domain"),
    (["add", "x@example.test", "ghost@example.test"],
     "ghost@example.test: no such account or alias"),
    (["add", "x@example.test", "alice@example.test,ghost@other.test"],
     "ghost@other.test: no such account or alias"),
    (["add", "x@example.test", "postmaster@empty.test"],
     "postmaster@empty.test: no such account or alias"),
    (["add", "x@example.test", "not-an-address"], "not-an-address: address has no '@'"),
    (["add", "x@example.test", "@other.test"],
     "@other.test: a target needs a local part (a catch-all is no target)"),
    (["add", "x@example.test", "a@b@c.test"], "a@b@c.test: address has more than one '@'"),
    (["add", "alice@example.test", "bob@example.test"],
     "alice@example.test: is an account, and an account comes first"),
    (["add", "x@example.test", ","], "no target given"),
    (["del", "nobody@example.test"], "nobody@example.test: no such alias"),
])
def test_validation_errors(p, args, message):
    p.ctl("alias", "add", "keep@example.test", "alice@example.test")
    with open(aliases_file(p)) as f:
        before = f.read()
    r = p.ctl("alias", *args, check=False)
    assert r.returncode == 1, r
    assert "posternctl: " + message in r.stderr
    assert "Sanitizer" not in r.stderr
    with open(aliases_file(p)) as f:
        assert f.read() == before  # nothing saved


@pytest.mark.parametrize("args", [
    [], ["add", "x@example.test"], ["del"], ["del", "a@example.test", "b@example.test"],
    ["list", "extra"], ["frob"], ["add", "-f", "x@example.test", "alice@example.test"],
])
def test_usage_errors(p, args):
    r = p.ctl("alias", *args, check=False)
    assert r.returncode == 2 and "Sanitizer" not in r.stderr
    assert "usage: posternctl [-c FILE] alias add ADDRESS TARGET[,TARGET...]" in r.stderr
    assert not os.path.exists(aliases_file(p))


def test_loop_refused(p):
    p.ctl("alias", "add", "a@example.test", "alice@example.test")
    p.ctl("alias", "add", "b@example.test", "a@example.test")
    r = p.ctl("alias", "add", "a@example.test", "b@example.test", check=False)
    assert r.returncode == 1
    assert "alias loop: a@example.test -> b@example.test -> a@example.test" in r.stderr
    r = p.ctl("alias", "add", "a@example.test", "bob@example.test, b+x@example.test",
              check=False)
    assert r.returncode == 1 and "alias loop: a@example.test -> b@example.test" in r.stderr
    r = p.ctl("alias", "add", "c@example.test", "c@example.test", check=False)
    assert r.returncode == 1
    assert "alias loop: c@example.test -> c@example.test" in r.stderr
    assert alias_lines(p) == ["a@example.test: alice@example.test",
                              "b@example.test: a@example.test"]


def test_depth_refused(p):
    p.ctl("alias", "add", "c10@example.test", "alice@example.test")
    for i in range(9, 0, -1):
        p.ctl("alias", "add", "c%d@example.test" % i, "c%d@example.test" % (i + 1))
    r = p.ctl("alias", "add", "c0@example.test", "c1@example.test", check=False)
    assert r.returncode == 1
    assert "aliases nested deeper than 10 levels: c0@example.test -> c1@example.test" in r.stderr


def test_del_refused_while_a_target(p):
    p.ctl("alias", "add", "a@example.test", "alice@example.test")
    p.ctl("alias", "add", "b@example.test", "a+tag@example.test")
    r = p.ctl("alias", "del", "a@example.test", check=False)
    assert r.returncode == 1
    assert "a@example.test: still a target of b@example.test" in r.stderr
    p.ctl("alias", "del", "b@example.test")
    p.ctl("alias", "del", "a@example.test")
    assert alias_lines(p) == []


def test_list_shows_postmaster_routing(p):
    assert postmaster_lines(p) == {
        "postmaster@example.test": "first account alice@example.test",
        "postmaster@other.test": "first account carol@other.test",
        "postmaster@empty.test": "nowhere: no account in empty.test",
        "postmaster": "first account alice@example.test",
    }
    p.ctl("alias", "add", "postmaster@example.test", "bob@example.test, info@example.test",
          check=False)  # info does not exist yet: refused
    p.ctl("alias", "add", "info@example.test", "bob@example.test, carol@other.test")
    p.ctl("alias", "add", "postmaster@example.test", "info@example.test, alice@example.test")
    p.add_user("postmaster@other.test")
    p.ctl("alias", "add", "@empty.test", "alice@example.test")
    assert postmaster_lines(p) == {
        "postmaster@example.test": "alias: bob@example.test, carol@other.test, alice@example.test",
        "postmaster@other.test": "account postmaster@other.test",
        "postmaster@empty.test": "catch-all @empty.test: alice@example.test",
        "postmaster": "alias: bob@example.test, carol@other.test, alice@example.test",
    }


def test_hand_edited_bad_file(p):
    with open(aliases_file(p), "w") as f:
        f.write("ok@example.test: alice@example.test\nbroken line\n")
    r = p.ctl("alias", "list", check=False)
    assert r.returncode == 1 and "aliases:2: expected ADDRESS: TARGET" in r.stderr
    r = p.ctl("alias", "add", "x@example.test", "alice@example.test", check=False)
    assert r.returncode == 1 and "aliases:2: expected ADDRESS: TARGET" in r.stderr
    with open(aliases_file(p)) as f:
        assert "broken line" in f.read()  # left for the admin to fix


def test_users_file_elsewhere(make_postern, tmp_path):
    """The aliases file sits next to auth.users_file, wherever that is."""
    etc = tmp_path / "etc"
    etc.mkdir()
    p = make_postern({**DOMAINS, "auth": {"users_file": str(etc / "accounts")}})
    p.add_user("alice@example.test")
    p.ctl("alias", "add", "info@example.test", "alice@example.test")
    assert (etc / "aliases").read_text().endswith("info@example.test: alice@example.test\n")
    assert not os.path.exists(aliases_file(p))


def test_changes_with_daemon_running(p):
    """With a daemon up, posternctl tells it (the control socket) and returns promptly."""
    p.start()
    p.ctl("alias", "add", "info@example.test", "alice@example.test")
    p.ctl("alias", "del", "info@example.test")
    assert p.proc.poll() is None
    assert p.stop() == 0
    assert "ERROR: AddressSanitizer" not in p.log()
